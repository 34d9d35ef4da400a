"""What a format reader is: the contract every entry of the registry fulfils."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from processing.motion.errors import RejectedRecording
from processing.motion.limits import MAX_FILE_BYTES
from processing.motion.model import Events, Float32Array, Float64Array, Recording, Role


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


class FrameStream(Protocol):
    """A recording read a block of frames at a time, for readers whose format allows it
    (``open_stream``): convert_file then checks, anonymizes and writes early frames while later
    ones are read. Iterating yields how many leading frames are final in ``times``,
    ``positions`` and ``rotations`` (full-size arrays, later frames not yet written); once it
    is drained, ``recording()`` raises what the reader found anywhere or returns the Recording
    over the same arrays. ``source_metadata`` is known from the start.
    """

    source_format: str
    tracks: tuple[str, ...]
    roles: tuple[Role, ...]
    source_metadata: dict[str, Any]
    times: Float64Array
    positions: Float32Array
    rotations: Float32Array

    def __iter__(self) -> Iterator[int]: ...

    def after_events(self, use: Callable[[Events | None], None]) -> Future[None] | None:
        """Run ``use(events)`` as soon as the recording's events exist, if the reader knows
        them before ``recording()`` (convert_file writes them while frames are still read);
        None if it does not."""
        ...

    def recording(self) -> Recording: ...

    def close(self) -> None: ...
