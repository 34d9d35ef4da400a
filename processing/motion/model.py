"""The canonical motion model every reader produces and every later stage consumes.

Units and frame (DESIGN.md): metres, seconds, right-handed, +Y up, -Z forward (OpenXR/WebXR);
rotations are unit quaternions ordered (x, y, z, w). A track's own -Z axis is its forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

Role = Literal["head", "left_hand", "right_hand", "joint"]
ROLES: tuple[Role, ...] = ("head", "left_hand", "right_hand", "joint")

Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass
class Skeleton:
    """Joint hierarchy in the canonical frame; ``joints`` are the same names as the tracks.

    ``parents[j]`` is the index of j's parent or -1 for a root; parents precede children.
    ``offsets`` (J, 3) are rest offsets from the parent in metres. ``end_sites`` are the
    channel-less leaf markers of BVH (``End Site``): (parent joint index, offset in metres).
    """

    joints: list[str]
    parents: IntArray
    offsets: Float64Array
    end_sites: list[tuple[int, tuple[float, float, float]]] = field(default_factory=list)

    def rest_points(self) -> Float64Array:
        """Rest-pose positions of every joint and end site (zero rotations), (J + E, 3)."""
        world = np.zeros_like(self.offsets)
        for j, parent in enumerate(self.parents):
            world[j] = self.offsets[j] + (world[parent] if parent >= 0 else 0.0)
        ends = [world[p] + np.asarray(off) for p, off in self.end_sites]
        return np.vstack([world, *ends]) if ends else world


@dataclass
class Events:
    """Timed in-app events (game actions, pauses, height changes), on the recording's clock.

    ``kinds`` are short stable names (e.g. "note_cut", "pause"); ``data`` holds one JSON object
    text per event (sorted keys) with only non-identifying fields, spatial values already in the
    canonical frame: a list, or an Arrow string array when a reader builds the texts in Arrow
    (BSOR: tens of thousands of notes, never turned into Python strings on the way to
    ``events.parquet``); ``texts()`` gives a list either way. Times are seconds from the
    recording's first frame (may be negative or past the end when the source logs events
    outside the motion).
    """

    times: Float64Array  # (E,)
    kinds: list[str]
    data: list[str] | pa.Array

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def texts(self) -> list[str]:
        if isinstance(self.data, pa.Array):
            texts: list[str] = self.data.to_pylist()
            return texts
        return self.data

    def data_array(self) -> pa.Array:
        if isinstance(self.data, pa.Array):
            return self.data
        return pa.array(self.data, pa.string())


@dataclass
class Recording:
    """One recording: T tracks sampled at F frame times, world-space poses per track and frame."""

    source_format: str
    tracks: list[str]
    roles: list[Role]
    times: Float64Array  # (F,) seconds, starting at 0
    positions: Float32Array  # (T, F, 3) metres
    rotations: Float32Array  # (T, F, 4) unit quaternions xyzw
    frame_rate: float  # nominal, Hz
    skeleton: Skeleton | None = None
    # Raw fields of the source that could identify someone; anonymize drops them and records
    # only their names.
    source_metadata: dict[str, Any] = field(default_factory=dict)
    # How the reader mapped the source into the canonical frame (units, axes); not identifying.
    conversion: dict[str, Any] = field(default_factory=dict)
    events: Events | None = None

    @property
    def frame_count(self) -> int:
        return int(self.times.shape[0])

    @property
    def duration_s(self) -> float:
        """Time covered by the frames: frame_count / frame_rate (each frame lasts one period)."""
        return self.frame_count / self.frame_rate if self.frame_rate > 0 else 0.0
