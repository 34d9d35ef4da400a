"""Write BSOR v1 replays from canonical-frame arrays: test fixtures, round trips, benchmarks.

The inverse of formats/bsor.py's frame conversion (the Z mirror is its own inverse): positions
(x, y, z) -> (x, y, -z), quaternions (x, y, z, w) -> (-x, -y, z, w). The info block is filled
with synthetic values (``SYNTHETIC_INFO``; override any of them with ``info``), so a file written
here never carries a real person's id or name unless a caller passes one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import numpy.typing as npt

from processing.motion.formats.bsor import (
    FRAME_DTYPE,
    HEIGHT_DTYPE,
    INFO_FIELDS,
    MAGIC_BYTES,
    NOTE_BAD,
    NOTE_GOOD,
    PAUSE_DTYPE,
    SECTION_FRAMES,
    SECTION_HEIGHTS,
    SECTION_INFO,
    SECTION_NOTES,
    SECTION_PAUSES,
    SECTION_SABER_OFFSETS,
    SECTION_USER_DATA,
    SECTION_WALLS,
    VERSION,
    WALL_DTYPE,
)

SYNTHETIC_INFO: dict[str, Any] = {
    "mod_version": "0.0.0-synthetic",
    "game_version": "0.0.0",
    "timestamp": "0",
    "player_id": "0",
    "player_name": "synthetic",
    "platform": "steam",
    "tracking_system": "synthetic",
    "hmd": "synthetic",
    "controller": "synthetic",
    "map_hash": "0" * 40,
    "song_name": "synthetic",
    "mapper": "synthetic",
    "difficulty": "Normal",
    "score": 0,
    "mode": "Standard",
    "environment": "synthetic",
    "modifiers": "",
    "jump_distance": 18.0,
    "left_handed": False,
    "player_height": 1.7,
    "start_time": 0.0,
    "fail_time": 0.0,
    "practice_speed": 0.0,
}

Pose = tuple[npt.ArrayLike, npt.ArrayLike]  # positions (F, 3), rotations (F, 4) xyzw


class BsorCut(NamedTuple):
    """Cut info of a good or bad cut, file order; vectors are written as given (Unity frame)."""

    speed_ok: bool = True
    direction_ok: bool = True
    saber_type_ok: bool = True
    was_cut_too_soon: bool = False
    saber_speed: float = 3.0
    saber_dir: tuple[float, float, float] = (0.0, -1.0, 0.0)
    saber_type: int = 0
    time_deviation: float = 0.0
    cut_dir_deviation: float = 0.0
    cut_point: tuple[float, float, float] = (0.0, 1.0, 1.0)
    cut_normal: tuple[float, float, float] = (1.0, 0.0, 0.0)
    cut_distance_to_center: float = 0.1
    cut_angle: float = 90.0
    before_cut_rating: float = 1.0
    after_cut_rating: float = 1.0


class BsorNote(NamedTuple):
    note_id: int
    event_time: float
    spawn_time: float
    event_type: int
    cut: BsorCut | None = None  # default cut for good/bad cuts when None


@dataclass
class BsorLayout:
    """Byte offsets of what was written: each section's type byte, the first frame, the end."""

    sections: dict[int, int] = field(default_factory=dict)
    first_frame: int = 0
    size: int = 0


_CUT_STRUCT = struct.Struct("<????f3fiff3f3fffff")


def to_unity(positions: npt.ArrayLike, rotations: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Canonical (F, 3) positions and (F, 4) quaternions -> (F, 7) Unity-frame pose floats."""
    pose = np.concatenate(
        [
            np.asarray(positions, dtype=np.float32).reshape(-1, 3),
            np.asarray(rotations, dtype=np.float32).reshape(-1, 4),
        ],
        axis=1,
    )
    pose[:, 2] *= -1.0
    pose[:, 3:5] *= -1.0
    return pose


def write_bsor(
    path: Path,
    *,
    times: npt.ArrayLike,
    head: Pose,
    left: Pose,
    right: Pose,
    fps: npt.ArrayLike | None = None,
    info: Mapping[str, Any] | None = None,
    notes: Iterable[BsorNote] = (),
    walls: Sequence[tuple[int, float, float, float]] = (),
    heights: Sequence[tuple[float, float]] = (),
    pauses: Sequence[tuple[int, float]] = (),
    saber_offsets: tuple[Pose, Pose] | None = None,
    user_data: Sequence[tuple[str, bytes]] = (),
) -> BsorLayout:
    """Write one BSOR v1 file; poses are canonical-frame arrays, times song seconds.

    ``walls`` are (wallID, energy, time, spawn time), ``heights`` (height, time), ``pauses``
    (duration in whole seconds, time). ``saber_offsets`` are the left and right saber poses in
    their controller's frame, canonical axes, each ((3,), (4,)). Returns the byte layout, so tests
    can cut or corrupt the file at a known place.
    """
    song = np.asarray(times, dtype=np.float32)
    frames = np.zeros(song.shape[0], dtype=FRAME_DTYPE)
    frames["time"] = song
    frames["fps"] = 90 if fps is None else np.asarray(fps, dtype=np.int32)
    for device, (positions, rotations) in enumerate((head, left, right)):
        frames["pose"][:, device] = to_unity(positions, rotations)
    fields = {**SYNTHETIC_INFO, **(info or {})}
    layout = BsorLayout()
    with path.open("wb") as f:
        f.write(MAGIC_BYTES + bytes([VERSION]))
        layout.sections[SECTION_INFO] = f.tell()
        f.write(bytes([SECTION_INFO]))
        _write_info(f, fields)
        layout.sections[SECTION_FRAMES] = f.tell()
        f.write(bytes([SECTION_FRAMES]) + struct.pack("<i", frames.shape[0]))
        layout.first_frame = f.tell()
        f.write(frames.tobytes())
        layout.sections[SECTION_NOTES] = f.tell()
        _write_notes(f, list(notes))
        for section, dtype, rows in (
            (SECTION_WALLS, WALL_DTYPE, walls),
            (SECTION_HEIGHTS, HEIGHT_DTYPE, heights),
            (SECTION_PAUSES, PAUSE_DTYPE, pauses),
        ):
            layout.sections[section] = f.tell()
            block = np.array([tuple(row) for row in rows], dtype=dtype)
            f.write(bytes([section]) + struct.pack("<i", block.shape[0]) + block.tobytes())
        if saber_offsets is not None:
            layout.sections[SECTION_SABER_OFFSETS] = f.tell()
            pose = np.concatenate(
                [to_unity(np.reshape(p, (1, 3)), np.reshape(q, (1, 4))) for p, q in saber_offsets]
            )
            f.write(bytes([SECTION_SABER_OFFSETS]) + pose.astype("<f4").tobytes())
        if user_data:
            layout.sections[SECTION_USER_DATA] = f.tell()
            f.write(bytes([SECTION_USER_DATA]) + struct.pack("<i", len(user_data)))
            for key, value in user_data:
                _write_string(f, key)
                f.write(struct.pack("<i", len(value)) + value)
        layout.size = f.tell()
    return layout


def _write_string(f: BinaryIO, text: str) -> None:
    data = text.encode("utf-8")
    f.write(struct.pack("<i", len(data)) + data)


def _write_info(f: BinaryIO, fields: Mapping[str, Any]) -> None:
    for name, kind in INFO_FIELDS:
        value = fields[name]
        if kind in ("string", "name"):
            _write_string(f, str(value))
        elif kind == "int":
            f.write(struct.pack("<i", int(value)))
        elif kind == "float":
            f.write(struct.pack("<f", float(value)))
        else:
            f.write(struct.pack("<?", bool(value)))


def _write_notes(f: BinaryIO, notes: list[BsorNote]) -> None:
    f.write(bytes([SECTION_NOTES]) + struct.pack("<i", len(notes)))
    for note in notes:
        f.write(
            struct.pack("<iffi", note.note_id, note.event_time, note.spawn_time, note.event_type)
        )
        if note.event_type in (NOTE_GOOD, NOTE_BAD):
            cut = note.cut or BsorCut()
            f.write(
                _CUT_STRUCT.pack(
                    cut.speed_ok,
                    cut.direction_ok,
                    cut.saber_type_ok,
                    cut.was_cut_too_soon,
                    cut.saber_speed,
                    *cut.saber_dir,
                    cut.saber_type,
                    cut.time_deviation,
                    cut.cut_dir_deviation,
                    *cut.cut_point,
                    *cut.cut_normal,
                    cut.cut_distance_to_center,
                    cut.cut_angle,
                    cut.before_cut_rating,
                    cut.after_cut_rating,
                )
            )


__all__ = ["SYNTHETIC_INFO", "BsorCut", "BsorLayout", "BsorNote", "to_unity", "write_bsor"]
