"""A small preview image of a recording: head and hand trajectories seen from above and the front.

SVG, so it needs no imaging library, stays a few kilobytes, and is byte-identical for the same
input. Drawn from the anonymized recording, so it shows exactly what researchers get.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from processing.motion.model import Float64Array, Recording

PREVIEW_NAME = "preview.svg"
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
