"""What a format reader is: the contract every entry of the registry fulfils."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from processing.motion.model import Recording


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
