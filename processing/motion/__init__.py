"""Motion library: read donated recordings, validate, anonymize and convert them to the canonical
Parquet + JSON artifacts. Depends on numpy, pyarrow and the standard library only (no Django), so
researchers can run it on their own files: ``python -m processing.motion --help``.
"""

from processing.motion.anonymize import BODY_SIZES, AnonymizationReport, anonymize
from processing.motion.convert import (
    MOTION_SCHEMA,
    ConversionResult,
    build_metadata,
    convert_file,
    read_recording,
    write_parquet,
)
from processing.motion.detect import detect_format
from processing.motion.errors import CODES, RejectedRecording
from processing.motion.model import Events, Recording, Skeleton
from processing.motion.validate import validate

__all__ = [
    "BODY_SIZES",
    "CODES",
    "MOTION_SCHEMA",
    "AnonymizationReport",
    "ConversionResult",
    "Events",
    "Recording",
    "RejectedRecording",
    "Skeleton",
    "anonymize",
    "build_metadata",
    "convert_file",
    "detect_format",
    "read_recording",
    "validate",
    "write_parquet",
]
