"""Write canonical poses as pose-stream JSON, pose-stream CSV or A-Frame recorder JSON.

The inverse of the readers in ``formats/posejson.py`` and ``formats/posecsv.py``: poses in the
canonical frame (metres, seconds, right-handed, +Y up, -Z forward, xyzw) are written in any
declared frame, so a round trip through a reader exercises the conversion. Used for tests,
demos and for researchers who want the platform's input format from their own data.

Inputs: ``times`` (F,) seconds, ``positions`` (T, F, 3) metres, ``rotations`` (T, F, 4) unit
quaternions xyzw, one name and role per track. Output is deterministic (same input, same bytes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.motion.formats.posecsv import declaration_line, header_line
from processing.motion.formats.posejson import (
    FORMAT_NAME,
    FORMAT_VERSION,
    TIME_SCALES,
    FrameDeclaration,
)
from processing.motion.model import Float64Array

ArrayLike = npt.ArrayLike
_AFRAME_IDS = {"head": "camera", "left_hand": "left-controller", "right_hand": "right-controller"}


def write_pose_json(
    path: Path,
    *,
    names: Sequence[str],
    roles: Sequence[str],
    times: ArrayLike,
    positions: ArrayLike,
    rotations: ArrayLike,
    declaration: FrameDeclaration | None = None,
    events: Sequence[dict[str, Any]] = (),
    start_time: float = 0.0,
    extra: dict[str, Any] | None = None,
) -> None:
    """A ``metagen-pose-stream`` v1 JSON file in ``declaration``'s units and frame.

    ``events`` are ``{"t": seconds, "kind": ..., "data": {...}}`` on the canonical clock;
    ``start_time`` (seconds) is added to every time, as a recorder's clock would;
    ``extra`` adds top-level keys (metadata such as ``user``), written after the format's own.
    """
    declaration = declaration or FrameDeclaration()
    scale = 1.0 / TIME_SCALES[declaration.time]
    t, p, q = _arrays(times, positions, rotations)
    p_out = declaration.positions_from_canonical(p)
    q_out = declaration.rotations_from_canonical(q)
    frames: dict[str, Any] = {"t": ((t + start_time) * scale).tolist()}
    for k, name in enumerate(names):
        frames[name] = {"position": p_out[k].tolist(), "rotation": q_out[k].tolist()}
    document: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "units": {"length": declaration.length, "time": declaration.time},
        "frame": {
            "handedness": declaration.handedness,
            "up": declaration.up,
            "forward": declaration.forward,
            "quaternion_order": declaration.quaternion_order,
        },
        "tracks": [{"name": n, "role": r} for n, r in zip(names, roles, strict=True)],
        "frames": frames,
    }
    if events:
        document["events"] = [
            {**event, "t": (float(event["t"]) + start_time) * scale} for event in events
        ]
    document.update(extra or {})
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")


def write_pose_csv(
    path: Path,
    *,
    names: Sequence[str],
    roles: Sequence[str],
    times: ArrayLike,
    positions: ArrayLike,
    rotations: ArrayLike,
    declaration: FrameDeclaration | None = None,
    start_time: float = 0.0,
) -> None:
    """A wide-CSV pose stream (declaration line, header, one row per frame)."""
    declaration = declaration or FrameDeclaration()
    t, p, q = _arrays(times, positions, rotations)
    p_out = declaration.positions_from_canonical(p)
    q_out = declaration.rotations_from_canonical(q)
    columns = [((t + start_time) / TIME_SCALES[declaration.time])[:, None]]
    for k in range(p.shape[0]):
        columns += [p_out[k], q_out[k]]
    table = np.hstack(columns)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(declaration_line(declaration, list(names), list(roles)) + "\n")
        f.write(header_line(list(names), declaration.quaternion_order) + "\n")
        formats = ["%.17g"] + ["%.9g"] * (table.shape[1] - 1)
        np.savetxt(f, table, fmt=formats, delimiter=",")


def write_aframe_json(
    path: Path,
    *,
    roles: Sequence[str],
    times: ArrayLike | Sequence[ArrayLike],
    positions: ArrayLike | Sequence[ArrayLike],
    rotations: ArrayLike | Sequence[ArrayLike],
    ids: Sequence[str] | None = None,
    start_ms: float = 0.0,
    position_style: str = "object",
    gamepad: bool = True,
) -> None:
    """An A-Frame ``avatar-recorder`` JSON: ``camera`` plus one entry per controller.

    ``times`` is one (F,) array shared by all tracks or one array per track (controllers
    sampled at their own times); ``positions``/``rotations`` then hold one array per track.
    Rotations are written as three.js 'YXZ' Euler angles in degrees, the way A-Frame's rotation
    component stores them; ``position_style`` "string" writes "x y z" texts instead of objects.
    ``ids`` overrides the element ids (default: camera, left-controller, right-controller,
    controller-<n>); ``gamepad`` adds the recorder's gamepad details to hand controllers.
    """
    track_times = _per_track(times, len(roles))
    track_positions = _per_track(positions, len(roles))
    track_rotations = _per_track(rotations, len(roles))
    keys = list(ids) if ids is not None else _default_ids(roles)
    document: dict[str, Any] = {}
    for k, role in enumerate(roles):
        stamps = (np.asarray(track_times[k], dtype=np.float64) * 1000.0 + start_ms).tolist()
        xyz = np.asarray(track_positions[k], dtype=np.float64)
        degrees = quaternion_to_euler_yxz_degrees(np.asarray(track_rotations[k], np.float64))
        poses = [
            {"position": _vec(p, position_style), "rotation": _vec(r, position_style),
             "timestamp": s}
            for p, r, s in zip(xyz.tolist(), degrees.tolist(), stamps, strict=True)
        ]  # fmt: skip
        entry: dict[str, Any] = {"poses": poses, "events": []}
        if gamepad and role in ("left_hand", "right_hand"):
            hand = role.split("_")[0]
            entry["gamepad"] = {"id": f"Synthetic Touch ({hand.title()})", "hand": hand, "index": k}
        document[keys[k]] = entry
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")


def quaternion_to_euler_yxz_degrees(q: Float64Array) -> Float64Array:
    """Unit quaternions (N, 4) xyzw to three.js 'YXZ' Euler angles (N, 3) as (x, y, z) degrees.

    Follows three.js ``Euler.setFromRotationMatrix`` for order 'YXZ' (R = Ry @ Rx @ Rz).
    """
    x, y, z, w = (q[:, i] for i in range(4))
    m13 = 2.0 * (x * z + y * w)
    m33 = 1.0 - 2.0 * (x * x + y * y)
    m21 = 2.0 * (x * y + z * w)
    m22 = 1.0 - 2.0 * (x * x + z * z)
    m23 = np.clip(2.0 * (y * z - x * w), -1.0, 1.0)
    m31 = 2.0 * (x * z - y * w)
    m11 = 1.0 - 2.0 * (y * y + z * z)
    regular = np.abs(m23) < 0.9999999
    ex = np.arcsin(-m23)
    ey = np.where(regular, np.arctan2(m13, m33), np.arctan2(-m31, m11))
    ez = np.where(regular, np.arctan2(m21, m22), 0.0)
    degrees: Float64Array = np.degrees(np.stack([ex, ey, ez], axis=1))
    return degrees


def _arrays(
    times: ArrayLike, positions: ArrayLike, rotations: ArrayLike
) -> tuple[Float64Array, Float64Array, Float64Array]:
    return (
        np.asarray(times, dtype=np.float64),
        np.asarray(positions, dtype=np.float64),
        np.asarray(rotations, dtype=np.float64),
    )


def _per_track(values: Any, tracks: int) -> list[Any]:
    if isinstance(values, list | tuple) and len(values) == tracks:
        return list(values)
    array = np.asarray(values)
    if array.ndim == 1:  # one shared timeline
        return [array] * tracks
    return list(array)


def _default_ids(roles: Sequence[str]) -> list[str]:
    ids, others = [], 0
    for role in roles:
        if role in _AFRAME_IDS and _AFRAME_IDS[role] not in ids:
            ids.append(_AFRAME_IDS[role])
        else:
            others += 1
            ids.append(f"controller-{others}")
    return ids


def _vec(values: list[float], style: str) -> dict[str, float] | str:
    if style == "string":
        return " ".join(repr(v) for v in values)
    return {"x": values[0], "y": values[1], "z": values[2]}
