"""Previews of a recording, both built from the anonymized recording (what researchers get).

* ``preview.svg``: head and hand trajectories seen from above and the front. SVG, so it needs no
  imaging library, stays a few kilobytes, and is byte-identical for the same input.
* ``preview.json``: the poses downsampled for a 3D replay in the browser (see
  ``build_motion_preview``). Sorted keys, no whitespace: byte-identical for the same input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.motion.model import Float64Array, Recording

PREVIEW_NAME = "preview.svg"
MOTION_PREVIEW_NAME = "preview.json"
MOTION_PREVIEW_VERSION = 1
# A browser replays ~30 frames/s smoothly; a bounded frame count keeps the file small whatever
# the recording's length (a long take is strided more coarsely, still over its whole length).
MOTION_PREVIEW_MAX_RATE = 30.0
MOTION_PREVIEW_MAX_FRAMES = 1800
# Full-body skeletons have ~20-70 joints; beyond this the replay shows no more than a blur.
MOTION_PREVIEW_MAX_TRACKS = 64
_PANEL = 220  # px, square panels
_PAD = 14
_MAX_POINTS = 400
_COLOURS = {"head": "#1d4ed8", "left_hand": "#15803d", "right_hand": "#c2410c", "root": "#6b7280"}
_LABELS = {"head": "head", "left_hand": "left hand", "right_hand": "right hand", "root": "root"}


def _tracks_to_draw(recording: Recording) -> list[tuple[str, int]]:
    roles: list[str] = list(recording.roles)
    chosen: list[tuple[str, int]] = [
        (role, roles.index(role)) for role in ("head", "left_hand", "right_hand") if role in roles
    ]
    return chosen or [("root", 0)]


def _polyline(points: Float64Array, lo: Float64Array, scale: float, x0: float) -> str:
    xy = (points - lo) * scale
    xs = x0 + _PAD + xy[:, 0]
    ys = _PAD + _PANEL - 2 * _PAD - xy[:, 1]  # SVG's y grows downwards
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def render_preview_svg(recording: Recording) -> str:
    """Top view (x right, -z up: forward is up) and front view (x right, y up) of the tracks."""
    drawn = _tracks_to_draw(recording)
    step = max(1, recording.frame_count // _MAX_POINTS)
    views: dict[str, Callable[[Float64Array], Float64Array]] = {
        "top": lambda p: np.stack([p[:, 0], -p[:, 2]], axis=1),
        "front": lambda p: np.stack([p[:, 0], p[:, 1]], axis=1),
    }
    panels = []
    for index, (view, project) in enumerate(views.items()):
        series = [
            (role, project(recording.positions[t, ::step].astype(np.float64))) for role, t in drawn
        ]
        stacked = np.concatenate([pts for _role, pts in series])
        finite = stacked[np.isfinite(stacked).all(axis=1)]
        lo = finite.min(axis=0) if len(finite) else np.zeros(2)
        span = float(max((finite.max(axis=0) - lo).max(), 1e-3)) if len(finite) else 1.0
        scale = (_PANEL - 2 * _PAD) / span
        x0 = index * _PANEL
        lines = [
            f'<rect x="{x0 + 1}" y="1" width="{_PANEL - 2}" height="{_PANEL - 2}" '
            'fill="#f9fafb" stroke="#d1d5db"/>',
            f'<text x="{x0 + 8}" y="{_PANEL + 14}" font-size="11" fill="#374151">'
            f"{'from above (forward is up)' if view == 'top' else 'from the front'}</text>",
        ]
        for role, pts in series:
            lines.append(
                f'<polyline fill="none" stroke="{_COLOURS[role]}" stroke-width="1.5" '
                f'points="{_polyline(pts, lo, scale, x0)}"/>'
            )
        panels.extend(lines)
    legend = " · ".join(_LABELS[role] for role, _t in drawn)
    coloured = " · ".join(
        f'<tspan fill="{_COLOURS[role]}">{_LABELS[role]}</tspan>' for role, _t in drawn
    )
    width, height = 2 * _PANEL, _PANEL + 36
    body = "\n".join(panels)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Trajectories: {legend}">\n'
        f"<title>Trajectories: {legend}</title>\n{body}\n"
        f'<text x="8" y="{height - 4}" font-size="11" fill="#374151">{coloured}</text>\n</svg>\n'
    )


def write_preview(recording: Recording, path: Path) -> None:
    path.write_text(render_preview_svg(recording), encoding="utf-8")


def _preview_frames(recording: Recording) -> npt.NDArray[np.intp]:
    """Frame indices spread evenly over the whole recording, first and last included."""
    frames = recording.frame_count
    if frames == 0:
        return np.zeros(0, dtype=np.intp)
    stride = max(1.0, recording.frame_rate / MOTION_PREVIEW_MAX_RATE)
    count = min(MOTION_PREVIEW_MAX_FRAMES, frames, max(2, math.ceil(frames / stride)))
    picked = np.rint(np.linspace(0, frames - 1, count)).astype(np.intp)
    return np.unique(picked)


def _preview_tracks(recording: Recording) -> tuple[list[int], list[int | None]]:
    """Track indices to show (head and hands first claim a place, then joints in order) and
    each one's parent as an index into that list, re-attached to the nearest kept ancestor."""
    roles = list(recording.roles)
    named = [i for i, role in enumerate(roles) if role != "joint"]
    room = max(0, MOTION_PREVIEW_MAX_TRACKS - len(named))
    joints = [i for i, role in enumerate(roles) if role == "joint"][:room]
    kept = sorted(named[:MOTION_PREVIEW_MAX_TRACKS] + joints)
    position = {track: index for index, track in enumerate(kept)}
    skeleton = recording.skeleton
    parents: list[int | None] = []
    for track in kept:  # per track, never per frame
        parent: int | None = None
        if skeleton is not None and track < len(skeleton.parents):
            ancestor = int(skeleton.parents[track])
            while ancestor >= 0 and ancestor not in position:
                ancestor = int(skeleton.parents[ancestor])
            parent = position.get(ancestor)
        parents.append(parent)
    return kept, parents


def build_motion_preview(recording: Recording) -> dict[str, Any]:
    """The anonymized poses for a 3D replay: at most MOTION_PREVIEW_MAX_RATE frames/s and
    MOTION_PREVIEW_MAX_FRAMES frames, strided evenly over the whole recording; at most
    MOTION_PREVIEW_MAX_TRACKS tracks. Positions in integer millimetres (``positions_mm[f]`` is
    x, y, z of every track in order), times in integer milliseconds; ``parent`` is a track's
    skeleton parent (index into ``tracks``) or null. Holds only what ``metadata.json`` and
    ``motion.parquet`` already hold: names and roles of tracks, positions, times and the facts.
    """
    frames = _preview_frames(recording)
    kept, parents = _preview_tracks(recording)
    # (F', T', 3) in millimetres; float64 before rounding so large values stay exact.
    # np.ix_ picks only the kept frames: positions[kept] would copy every frame of the tracks.
    poses = (
        recording.positions[np.ix_(np.asarray(kept, dtype=np.intp), frames)]
        .astype(np.float64)
        .transpose(1, 0, 2)
    )
    millimetres = np.rint(poses * 1000.0).astype(np.int64)
    flat = millimetres.reshape(len(frames), -1)
    if flat.size:
        low, high = millimetres.min(axis=(0, 1)).tolist(), millimetres.max(axis=(0, 1)).tolist()
    else:
        low, high = [0, 0, 0], [0, 0, 0]
    return {
        "version": MOTION_PREVIEW_VERSION,
        "facts": {
            "source_format": recording.source_format,
            "duration_s": round(recording.duration_s, 3),
            "frame_rate": round(float(recording.frame_rate), 3),
            "frame_count": recording.frame_count,
            "tracks": len(recording.tracks),
        },
        "tracks": [
            {"name": recording.tracks[t], "role": recording.roles[t], "parent": parent}
            for t, parent in zip(kept, parents, strict=True)
        ],
        "tracks_omitted": len(recording.tracks) - len(kept),
        "units": {"length": "mm", "time": "ms"},
        "bounds_mm": {"min": low, "max": high},
        "times_ms": np.rint(recording.times[frames] * 1000.0).astype(np.int64).tolist(),
        "positions_mm": flat.tolist(),
    }


def render_motion_preview(recording: Recording) -> str:
    """``build_motion_preview`` as compact JSON with sorted keys (deterministic bytes)."""
    return json.dumps(
        build_motion_preview(recording), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def write_motion_preview(recording: Recording, path: Path) -> None:
    path.write_text(render_motion_preview(recording), encoding="utf-8")
