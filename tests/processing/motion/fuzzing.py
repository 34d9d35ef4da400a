"""The fuzzing harness shared by the malformed-corpus tests: any bytes, any reader, one outcome."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

from processing.motion import RejectedRecording, convert_file

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def convert_bytes(content: bytes) -> None:
    """Convert `content` as an upload: it may convert or be refused, nothing else may happen."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.bin"
        path.write_bytes(content)
        try:
            convert_file(path, Path(tmp) / "out")
        except RejectedRecording as exc:
            assert exc.message  # noqa: PT017 - any refusal must carry a donor message
