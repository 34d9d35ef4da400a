"""Write canonical poses as an XROR file (BSON + fpzip), the inverse of ``formats/xror.py``.

Poses in the canonical frame (metres, seconds, right-handed, +Y up, -Z forward, quaternions
xyzw) are written in XROR's Unity convention, p -> (x, y, -z) and q -> (-x, -y, z, w), into one
fpzip-compressed float32 frame table, with synthetic ``info`` only (no user, no timestamp, no
hardware names beyond the track names). For round-trip tests, demos and researchers who want
XROR from their own data. Same input, same bytes.

* Devices: head -> HMD at joint HEAD, left_hand / right_hand -> CONTROLLER at HAND_LEFT /
  HAND_RIGHT, other tracks -> OTHER (at the schema joint their name spells, if any).
* ``store_w=False`` writes rotations as ``i j k`` only, after choosing the hemisphere w >= 0,
  the layout whose w the reader rebuilds.
* Events: each kind becomes one event type. Kinds the reader knows are written under their
  XROR id with the source attribute names (Beat Saber note and wall fields re-encoded as the
  noteID and wallID),
  so they read back as they were; other kinds keep their names. Numbers go to ``floatData``,
  everything else to ``otherData``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.motion.formats.xror import EVENT_TYPES, JOINTS, SCHEMA_URL
from processing.motion.model import Events

_DEVICES = {
    "head": {"type": "HMD", "joint": "HEAD"},
    "left_hand": {"type": "CONTROLLER", "joint": "HAND_LEFT"},
    "right_hand": {"type": "CONTROLLER", "joint": "HAND_RIGHT"},
}
_NOTE_PARTS = ("scoring_type", "line_index", "line_layer", "color", "cut_direction")
_WALL_PARTS = ("line_index", "obstacle_type", "width")
_COLOR_CODES = {"left": 0, "right": 1, "none": -1}


def write_xror(
    path: Path,
    *,
    times: npt.ArrayLike,
    tracks: Sequence[tuple[str, str]],
    positions: npt.ArrayLike,
    rotations: npt.ArrayLike,
    events: Events | None = None,
    store_w: bool = True,
    app_name: str = "MetaGen synthetic",
) -> Path:
    """Write ``tracks`` ((name, role) each), ``positions`` (T, F, 3) and ``rotations`` (T, F, 4)
    sampled at ``times`` (F,) as an XROR file at ``path``; returns ``path``."""
    document = xror_document(
        times=times,
        tracks=tracks,
        positions=positions,
        rotations=rotations,
        events=events,
        store_w=store_w,
        app_name=app_name,
    )
    import bson

    path.write_bytes(bson.encode(document))
    return path


def xror_document(
    *,
    times: npt.ArrayLike,
    tracks: Sequence[tuple[str, str]],
    positions: npt.ArrayLike,
    rotations: npt.ArrayLike,
    events: Events | None = None,
    store_w: bool = True,
    app_name: str = "MetaGen synthetic",
) -> dict[str, Any]:
    """The BSON-ready document ``write_xror`` encodes (tests edit it to make bad files)."""
    t = np.asarray(times, dtype=np.float64)
    p = np.asarray(positions, dtype=np.float64).reshape(len(tracks), t.shape[0], 3)
    q = np.asarray(rotations, dtype=np.float64).reshape(len(tracks), t.shape[0], 4)
    # Canonical -> Unity: mirror Z (an involution, the same map as the reader's).
    unity_p = p * np.array([1.0, 1.0, -1.0])
    unity_q = q * np.array([-1.0, -1.0, 1.0, 1.0])
    if not store_w:
        unity_q = np.where(unity_q[..., 3:] < 0, -unity_q, unity_q)[..., :3]
    per_track = np.concatenate([unity_p, unity_q], axis=2)  # (T, F, 6 or 7)
    table = np.concatenate([t[:, None], per_track.transpose(1, 0, 2).reshape(t.shape[0], -1)], 1)
    axes = ["x", "y", "z", "i", "j", "k"] + (["1"] if store_w else [])
    devices = []
    for name, role in tracks:
        device: dict[str, Any] = {"name": name, **_DEVICES.get(role, {"type": "OTHER"})}
        if role not in _DEVICES and name.upper() in JOINTS:
            device["joint"] = name.upper()
        device["axes"] = list(axes)
        devices.append(device)
    return {
        "$schema": SCHEMA_URL,
        "info": {"hardware": {"devices": devices}, "software": {"app": {"name": app_name}}},
        "frames": _compress(table),
        "events": _event_types(events),
    }


def _compress(table: npt.NDArray[Any]) -> bytes:
    import fpzip

    data: bytes = fpzip.compress(np.ascontiguousarray(table, dtype=np.float32))
    return data


def _event_types(events: Events | None) -> list[dict[str, Any]]:
    if events is None or not len(events):
        return []
    by_kind: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for time, kind, text in zip(events.times.tolist(), events.kinds, events.texts(), strict=True):
        by_kind.setdefault(kind, []).append((time, json.loads(text)))
    ids = {event_type.kind: xror_id for xror_id, event_type in EVENT_TYPES.items()}
    result = []
    for kind, occurrences in by_kind.items():
        xror_id = ids.get(kind, kind)
        known = EVENT_TYPES.get(xror_id)
        fields_of = known.fields.items() if known else ()
        sources = {name: source for source, (name, _) in fields_of}
        rows = [(time, _source_fields(fields, sources)) for time, fields in occurrences]
        if xror_id == "p":  # the reader places a pause where it began; XROR logs its end
            rows = [(time + float(f.get("duration", 0.0)), f) for time, f in rows]
        result.append(_event_type(xror_id, kind, rows))
    return result


def _source_fields(fields: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
    out = dict(fields)
    if all(part in out for part in _NOTE_PARTS):
        color = _COLOR_CODES[out.pop("color")]
        scoring, line, layer, direction = (out.pop(k) for k in _NOTE_PARTS if k != "color")
        code = scoring * 10000 + line * 1000 + layer * 100 + color * 10 + direction
        out["note_id"] = code
    if all(part in out for part in _WALL_PARTS):
        line, kind, width = (out.pop(k) for k in _WALL_PARTS)
        out["wall_id"] = line * 100 + kind * 10 + width
    if "saber" in out:
        out["saber"] = {"left": 0, "right": 1}.get(out["saber"], out["saber"])
    return {sources.get(name, name): value for name, value in out.items()}


def _event_type(
    xror_id: str, kind: str, rows: list[tuple[float, dict[str, Any]]]
) -> dict[str, Any]:
    names = sorted({name for _, fields in rows for name in fields})
    numeric = [
        n
        for n in names
        if all(
            isinstance(f.get(n), int | float) and not isinstance(f.get(n), bool)
            for _, f in rows
            if n in f
        )
        and all(n in f for _, f in rows)
    ]
    other = [n for n in names if n not in numeric]
    floats = np.array([[time, *(f[n] for n in numeric)] for time, f in rows], dtype=np.float32)
    entry: dict[str, Any] = {
        "id": xror_id,
        "name": kind,
        "attr": numeric + other,
        "floatData": _compress(floats),
    }
    if other:
        entry["otherData"] = [[f.get(n) for n in other] for _, f in rows]
    return entry
