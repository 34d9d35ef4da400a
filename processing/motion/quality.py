"""How good a recording is as body-motion data: six measured components and a 0-100 score.

``quality_report`` runs on the anonymized recording (``convert_file`` writes the result into
``metadata.json`` under ``quality``; ``inspect`` prints it). Every component is a number; when
it falls outside its limit the report lists the component's stable code (``QUALITY_CODES``).
A failing component is a warning, not a refusal: what is not body motion at all is refused
earlier by validation (``motion.not_body_motion``).

The key tracks are the head and hands (role ``head``, ``left_hand``, ``right_hand``); a
skeleton without them uses its roots and its limb ends (joints with no child), at most
``_MAX_KEY_TRACKS``. Measured on the key tracks only:

* ``body_coverage`` (share 0-1): the larger of (head and hands tracked) / 3 and, for a
  skeleton, min(limb ends, 4) / 4. Fails (``quality.partial_body``) unless there is a head and
  at least one hand, or a skeleton with a root and at least 3 limb ends.
* ``tracking_loss`` (share 0-1): frames where a tracker froze (moved less than FROZEN_M since
  the frame before), or was interpolated (moved, but on an exactly straight, even line:
  second difference under INTERPOLATED_M), plus the tolerated relocations counted by
  validation, over all frames. For head and hand trackers a frame is lost when any of them
  is; for a skeleton only when every key track is (the whole pose repeated or interpolated).
  Fails (``quality.tracking_loss``) above MAX_TRACKING_LOSS.
* ``jitter_mm`` (mm): the median length of the third difference of the key tracks'
  positions divided by sqrt(20): white position noise of standard deviation s gives about s
  per axis, smooth motion adds only jerk * dt^3 (0.14 mm for a brisk 100 m/s^3 at 90 Hz).
  Fails (``quality.jitter``) above MAX_JITTER_MM.
* ``idle_share`` (share 0-1): the share of frames from which no key track moves IDLE_MOVE_M
  within the next IDLE_WINDOW_S. Fails (``quality.mostly_idle``) above MAX_IDLE_SHARE.
* ``timing_gaps`` (share 0-1): frames missing from the clock: each step longer than 1.5
  nominal periods counts round(step / period) - 1 missing frames, over (frames + missing).
  Fails (``quality.timing_gaps``) above MAX_TIMING_GAPS.
* ``body_height_m`` (m, or null when unknown): the standing height ``anonymize.height_of``
  estimates (the skeleton's rest pose, else the head's 95th percentile height / 0.936).
  Fails (``quality.implausible_height``) outside MIN_HEIGHT_M..MAX_HEIGHT_M or when unknown.
  Under the ``normalize`` profile this is the normalized height (1.70 m).

Cost: a recording longer than ``_SAMPLE_FRAMES`` frames is measured on ``_WINDOWS`` evenly
spaced windows of consecutive frames (together ``_SAMPLE_FRAMES`` frames), so the report costs
the same few milliseconds whatever the length; every difference is taken within a window.
Relocations and the height come from the whole recording as validation counted them.

The score (``score_of``; formula version QUALITY_VERSION, written out in README.md) is
round(sum of weight * sub-score), each sub-score in 0..1 and linear between its good and bad
ends, computed from the rounded component values the report publishes, so anyone can
recompute it from ``metadata.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.motion.anonymize import height_of
from processing.motion.errors import RejectedRecording
from processing.motion.model import Recording

QUALITY_VERSION = 1

QUALITY_CODES: dict[str, str] = {
    "quality.partial_body": "Neither a head with at least one hand nor a skeleton with limbs.",
    "quality.tracking_loss": "Too many frames frozen, interpolated or relocated by the tracker.",
    "quality.jitter": "The head and hands shake from frame to frame (tracking noise).",
    "quality.mostly_idle": "Most of the time nothing moves.",
    "quality.timing_gaps": "Frames are missing from the clock (dropped frames).",
    "quality.implausible_height": "The body height is unknown or not a person's.",
}

FROZEN_M = 1e-6
INTERPOLATED_M = 1e-6
MAX_TRACKING_LOSS = 0.05
MAX_JITTER_MM = 2.0
IDLE_WINDOW_S = 0.5
IDLE_MOVE_M = 0.05
MAX_IDLE_SHARE = 0.5
MAX_TIMING_GAPS = 0.02
MIN_HEIGHT_M = 0.9
MAX_HEIGHT_M = 2.4

# Score: (weight, good end, bad end) of each component's linear sub-score.
WEIGHTS: dict[str, float] = {
    "body_coverage": 25.0,
    "tracking_loss": 20.0,
    "jitter_mm": 15.0,
    "idle_share": 15.0,
    "timing_gaps": 15.0,
    "body_height_m": 10.0,
}
_RAMPS: dict[str, tuple[float, float]] = {
    "body_coverage": (1.0, 0.0),
    "tracking_loss": (0.0, 0.20),
    "jitter_mm": (0.5, 5.0),
    "idle_share": (0.2, 0.8),
    "timing_gaps": (0.0, 0.10),
}

_DECIMALS = 4
_SAMPLE_FRAMES = 1 << 14
_WINDOWS = 16
_MAX_KEY_TRACKS = 8
_TRACKER_ROLES = ("head", "left_hand", "right_hand")

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class QualityReport:
    """The components (name -> value, rounded), the failing codes (sorted) and the score."""

    components: dict[str, float | None]
    codes: list[str]
    score: int
    version: int = QUALITY_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "score": self.score,
            "components": dict(self.components),
            "codes": list(self.codes),
        }


def score_of(components: dict[str, float | None]) -> int:
    """The published score (README.md, version QUALITY_VERSION) of rounded component values."""
    total = 0.0
    for name, weight in WEIGHTS.items():
        value = components.get(name)
        if name == "body_height_m":
            sub = 1.0 if value is not None and MIN_HEIGHT_M <= value <= MAX_HEIGHT_M else 0.0
        elif value is None:
            sub = 0.0
        else:
            good, bad = _RAMPS[name]
            sub = min(1.0, max(0.0, (value - bad) / (good - bad)))
        total += weight * sub
    return math.floor(total + 0.5)


def failing_codes(components: dict[str, float | None], *, body_ok: bool) -> list[str]:
    """The codes of the components outside their limits, sorted."""
    codes = []
    if not body_ok:
        codes.append("quality.partial_body")
    if (components["tracking_loss"] or 0.0) > MAX_TRACKING_LOSS:
        codes.append("quality.tracking_loss")
    if (components["jitter_mm"] or 0.0) > MAX_JITTER_MM:
        codes.append("quality.jitter")
    if (components["idle_share"] or 0.0) > MAX_IDLE_SHARE:
        codes.append("quality.mostly_idle")
    if (components["timing_gaps"] or 0.0) > MAX_TIMING_GAPS:
        codes.append("quality.timing_gaps")
    height = components["body_height_m"]
    if height is None or not MIN_HEIGHT_M <= height <= MAX_HEIGHT_M:
        codes.append("quality.implausible_height")
    return sorted(codes)


def quality_report(recording: Recording) -> QualityReport:
    """Measure ``recording`` (see the module docstring); never raises on a validated one."""
    trackers = [i for i, role in enumerate(recording.roles) if role in _TRACKER_ROLES]
    keys = trackers or _skeleton_keys(recording) or list(range(min(3, len(recording.tracks))))
    coverage, body_ok = _coverage(recording)
    window = _window(recording.frame_count)
    frames = _sample_frames(recording.frame_count, window)
    positions = _sampled_positions(recording, keys, frames, window)  # (3, K, windows, W)
    times = recording.times[frames].reshape(-1, window)
    head = recording.roles.index("head") if "head" in recording.roles else None
    components: dict[str, float | None] = {
        "body_coverage": coverage,
        "tracking_loss": _tracking_loss(recording, positions, any_track=bool(trackers)),
        "jitter_mm": _jitter_mm(positions),
        "idle_share": _idle_share(positions, recording.frame_rate),
        "timing_gaps": _timing_gaps(times, recording.frame_rate),
        "body_height_m": _height(recording, head, frames),
    }
    rounded = {
        name: None if value is None else round(float(value), _DECIMALS)
        for name, value in components.items()
    }
    return QualityReport(
        components=rounded,
        codes=failing_codes(rounded, body_ok=body_ok),
        score=score_of(rounded),
    )


def _limb_ends(recording: Recording) -> npt.NDArray[np.intp]:
    skeleton = recording.skeleton
    if skeleton is None or not len(skeleton.parents):
        return np.empty(0, dtype=np.intp)
    parents = np.asarray(skeleton.parents)
    has_child = np.zeros(parents.shape[0], dtype=bool)
    has_child[parents[parents >= 0]] = True
    return np.flatnonzero(~has_child)


def _skeleton_keys(recording: Recording) -> list[int]:
    skeleton = recording.skeleton
    if skeleton is None:
        return []
    roots = [int(i) for i in np.flatnonzero(np.asarray(skeleton.parents) < 0)]
    ends = [int(i) for i in _limb_ends(recording) if int(i) not in roots]
    return (roots + ends)[:_MAX_KEY_TRACKS]


def _coverage(recording: Recording) -> tuple[float, bool]:
    roles = set(recording.roles)
    tracked = len(roles & set(_TRACKER_ROLES))
    trackers_ok = "head" in roles and bool(roles & {"left_hand", "right_hand"})
    share = tracked / 3.0
    skeleton_ok = False
    skeleton = recording.skeleton
    if skeleton is not None and len(skeleton.parents) > 1:
        ends = int(_limb_ends(recording).size)
        share = max(share, min(ends, 4) / 4.0)
        skeleton_ok = bool((np.asarray(skeleton.parents) < 0).any()) and ends >= 3
    return share, trackers_ok or skeleton_ok


def _window(frame_count: int) -> int:
    if frame_count <= _SAMPLE_FRAMES:
        return max(frame_count, 1)
    return _SAMPLE_FRAMES // _WINDOWS


def _sample_frames(frame_count: int, window: int) -> npt.NDArray[np.intp] | slice:
    """Frame indices of the sampled windows, window after window (a slice: every frame)."""
    if window >= frame_count:
        return slice(0, frame_count)
    starts = np.round(np.linspace(0, frame_count - window, _WINDOWS)).astype(np.intp)
    return (starts[:, None] + np.arange(window, dtype=np.intp)).ravel()


def _sampled_positions(
    recording: Recording, keys: list[int], frames: npt.NDArray[np.intp] | slice, window: int
) -> Float32Array:
    """(3 components, K tracks, windows, W frames), float32: each component of each track is
    gathered on its own (contiguous in the BSOR reader's component-major layout), and float32
    keeps a micrometre at room scale (its step at 2 m is 0.24 µm)."""
    out = np.empty(
        (3, len(keys), recording.frame_count if isinstance(frames, slice) else frames.size),
        dtype=np.float32,
    )
    for k, track in enumerate(keys):
        for c in range(3):
            out[c, k] = recording.positions[track, frames, c]
    return out.reshape(3, len(keys), -1, window)


def _squared_lengths(vectors: Float32Array) -> Float32Array:
    """Squared length over the leading component axis."""
    squared: Float32Array = np.square(vectors[0])
    for c in (1, 2):
        squared += np.square(vectors[c])
    return squared


def _tracking_loss(recording: Recording, positions: Float32Array, *, any_track: bool) -> float:
    relocations = recording.conversion.get("tracking_relocations") or {}
    relocated = float(sum(int(count) for count in relocations.values()))
    share = relocated / recording.frame_count if recording.frame_count else 0.0
    if positions.shape[1] == 0 or positions.shape[3] < 2:
        return min(1.0, share)
    steps = np.diff(positions, axis=3)  # (3, K, windows, W - 1)
    lost = _squared_lengths(steps) < FROZEN_M**2
    if positions.shape[3] >= 3:
        straight = _squared_lengths(np.diff(steps, axis=3)) < INTERPOLATED_M**2
        # Step j + 1 continues step j on a straight even line: it was filled in.
        lost[:, :, 1:] |= straight
    per_frame = lost.any(axis=0) if any_track else lost.all(axis=0)
    return min(1.0, float(per_frame.mean()) + share)


def _jitter_mm(positions: Float32Array) -> float:
    if positions.shape[1] == 0 or positions.shape[3] < 4:
        return 0.0
    squared = _squared_lengths(np.diff(positions, n=3, axis=3))
    # The median of the lengths is the root of the median of the squares (sqrt is monotonic).
    return math.sqrt(float(np.median(squared))) / math.sqrt(20.0) * 1000.0


def _idle_share(positions: Float32Array, frame_rate: float) -> float:
    if positions.shape[1] == 0 or positions.shape[3] < 2:
        return 1.0
    lag = min(max(1, round(IDLE_WINDOW_S * frame_rate)), positions.shape[3] - 1)
    moves = positions[..., lag:] - positions[..., :-lag]
    active = (_squared_lengths(moves) >= IDLE_MOVE_M**2).any(axis=0)
    return 1.0 - float(active.mean())


def _timing_gaps(times: FloatArray, frame_rate: float) -> float:
    if times.shape[1] < 2 or frame_rate <= 0:
        return 0.0
    steps = np.diff(times, axis=1) * frame_rate  # in nominal periods
    missing = np.where(steps > 1.5, np.round(steps) - 1.0, 0.0).sum()
    return float(missing / (missing + times.size))


def _height(
    recording: Recording, head: int | None, frames: npt.NDArray[np.intp] | slice
) -> float | None:
    def head_y(track: int) -> FloatArray:
        heights: FloatArray = recording.positions[track, frames, 1].astype(np.float64)
        return heights

    try:
        height = height_of(recording.skeleton, None if head is None else (lambda: head_y(head)))
    except RejectedRecording:
        return None
    return height
