"""Motion library: read donated recordings, validate, anonymize and convert them to the canonical
Parquet + JSON artifacts. Depends on numpy, pyarrow and the standard library only (no Django), so
researchers can run it on their own files: ``python -m processing.motion --help``.
"""

from typing import TYPE_CHECKING, Any

from processing.motion.anonymize import BODY_SIZES, AnonymizationReport, anonymize
from processing.motion.convert import (
    ConversionResult,
    build_metadata,
    convert_file,
    read_recording,
)
from processing.motion.detect import detect_format
from processing.motion.errors import CODES, RejectedRecording
from processing.motion.model import Events, Recording, Skeleton
from processing.motion.tables import MOTION_SCHEMA, write_parquet
from processing.motion.validate import validate

if TYPE_CHECKING:
    from processing.motion.audio import convert_audio

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
    "convert_audio",
    "convert_file",
    "detect_format",
    "read_recording",
    "validate",
    "write_parquet",
]


def __getattr__(name: str) -> Any:
    # Audio needs soundfile (libsndfile); import it on first use so motion-only users never do.
    if name == "convert_audio":
        from processing.motion.audio import convert_audio

        return convert_audio
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
