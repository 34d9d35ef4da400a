"""What a format reader is: the contract every entry of the registry fulfils."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from processing.motion.errors import RejectedRecording
from processing.motion.limits import MAX_FILE_BYTES
from processing.motion.model import Recording


def checked_file_size(path: Path) -> int:
    """The file's size in bytes, refused before a byte is read when empty or too large."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RejectedRecording(
            "motion.file_too_large",
            f"The file is larger than {MAX_FILE_BYTES // 1024**3} GB, the most we accept. "
            "Split the recording into shorter takes.",
        )
    if size == 0:
        raise RejectedRecording("motion.empty_file", "The file is empty. Export it again.")
    return size


@dataclass(frozen=True)
class ReadOptions:
    """Caller hints a reader may use. ``length_unit`` overrides unit detection (see bvh.py)."""

    length_unit: str | None = None


class FormatReader(Protocol):
    """A reader turns one file into a canonical Recording or raises RejectedRecording."""

    @property
    def name(self) -> str:
        """Stable identifier stored as ``source_format``, e.g. "bvh"."""
        ...

    @property
    def label(self) -> str:
        """Name shown to donors, e.g. "BVH"."""
        ...

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a file look like this format (content only, never names)."""
        ...

    def read(self, path: Path, options: ReadOptions) -> Recording:
        """Read and convert to the canonical model; RejectedRecording on bad input."""
        ...
