"""Rules every canonical recording must meet before it is anonymized and stored.

Each rule raises RejectedRecording with a stable code (catalogue: errors.CODES; limits:
limits.py):

* motion.no_tracks / motion.too_many_tracks: 1 to MAX_TRACKS tracks.
* motion.no_frames: at least one frame.
* motion.frame_rate_out_of_range: nominal rate within MIN_FRAME_RATE..MAX_FRAME_RATE Hz.
* motion.too_long: duration (frames / rate, and the last frame time) at most MAX_DURATION_S.
* motion.time_not_increasing: frame times strictly increase.
* motion.non_finite: every position and rotation component is finite.
* motion.bad_rotation: every quaternion has unit norm within QUATERNION_NORM_TOLERANCE.
* motion.implausible_speed: head and hands (or, without them, the skeleton roots) never move
  faster than MAX_SPEED_M_S between consecutive frames. Other joints are not checked: their
  speed follows from these and the skeleton, and mocap fingers and toes glitch harmlessly.
  Exception: a few isolated one-frame relocations of at most MAX_RELOCATION_M (a tracker
  re-acquiring a controller; see limits.py) are kept and counted per track in
  ``conversion["tracking_relocations"]`` by ``count_tracking_relocations``, so researchers can
  filter them. Larger, consecutive or frequent jumps are refused.
* motion.not_body_motion: a head or hand track, or a skeleton of more than one joint. A single
  object or brush track (a Tilt Brush sketch as XROR), or trackers with neither head nor hands
  and no skeleton, are not a person's motion. Checked last, so a damaged file still gets the
  code of its damage.

``drop_leading_jumps`` runs before the rules: exporters often prepend a reference pose (the CMU
BVH conversions start with a T-pose frame) and trackers emit a frame or two before they lock on.
When every implausible jump lies within the first MAX_LEADING_DROP frames, those frames are cut
(and counted in ``conversion["dropped_leading_frames"]``) instead of refusing the recording.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from processing.motion.errors import RejectedRecording
from processing.motion.limits import (
    MAX_DURATION_S,
    MAX_FRAME_RATE,
    MAX_LEADING_DROP,
    MAX_RELOCATION_M,
    MAX_RELOCATIONS,
    MAX_RELOCATIONS_PER_MINUTE,
    MAX_SPEED_M_S,
    MAX_TRACKS,
    MIN_FRAME_RATE,
    QUATERNION_NORM_TOLERANCE,
)
from processing.motion.model import Recording

_CHUNK_FRAMES = 1 << 16
_SPEED_ROLES = {"head": "head", "left_hand": "left hand", "right_hand": "right hand"}


def validate(recording: Recording) -> None:
    """Raise RejectedRecording on the first rule the recording breaks; return None if it passes."""
    _validate(recording, _JumpsByTrack(recording))


def checked(recording: Recording) -> Recording:
    """``drop_leading_jumps``, ``validate`` and ``count_tracking_relocations`` in one go.

    What ``read_recording`` runs; the same result as the three in turn, with each checked
    track's speeds computed once (again only after leading frames were cut).
    """
    speeds = _JumpsByTrack(recording)
    if recording.frame_count >= 2 and recording.tracks:
        speeds.prefetch([index for index, _ in _speed_tracks(recording)])
    dropped = _drop_leading_jumps(recording, speeds)
    if dropped is not recording:
        speeds = _JumpsByTrack(dropped)
    _validate(dropped, speeds)
    return _count_tracking_relocations(dropped, speeds)


@dataclass(frozen=True)
class _Jumps:
    """Where one track moves faster than MAX_SPEED_M_S: the steps (step i joins frames i and
    i + 1) and their speeds. All the speed rules need; the (F - 1,) speeds are not kept."""

    at: npt.NDArray[np.intp]
    speed: npt.NDArray[np.float64]

    @staticmethod
    def joined(parts: list[_Jumps]) -> _Jumps:
        if not parts:  # a one-frame recording has no steps
            return _Jumps(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64))
        if len(parts) == 1:
            return parts[0]
        return _Jumps(
            np.concatenate([part.at for part in parts]).astype(np.intp),
            np.concatenate([part.speed for part in parts]),
        )


class _JumpsByTrack:
    """Per-track jumps of one recording, computed on first use."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.by_track: dict[int, _Jumps] = {}
        self._steps: npt.NDArray[np.float64] | None = None

    def steps(self) -> npt.NDArray[np.float64]:
        if self._steps is None:
            self._steps = np.diff(self.recording.times)
        return self._steps

    def prefetch(self, indices: list[int]) -> None:
        """Compute these tracks' jumps now, two at a time (numpy releases the GIL)."""
        todo = [index for index in dict.fromkeys(indices) if index not in self.by_track]
        if len(todo) < 2:
            return
        steps = self.steps()
        with ThreadPoolExecutor(max_workers=2) as pool:
            found = pool.map(
                lambda index: _track_jumps(self.recording.positions[index], steps), todo
            )
            self.by_track.update(zip(todo, found, strict=True))

    def __call__(self, index: int) -> _Jumps:
        jumps = self.by_track.get(index)
        if jumps is None:
            jumps = _track_jumps(self.recording.positions[index], self.steps())
            self.by_track[index] = jumps
        return jumps


class BlockChecks:
    """``checked`` for a recording whose frames become final block by block (convert_file's
    streamed path), with the same results: each block's values and speeds are checked before
    the caller anonymizes it in place, the verdict is given in ``finish``.

    ``recording``'s arrays are full-size but only written up to what the caller says. Jumps
    are found per step, so blocks find the same ones as the whole recording. Leading jumps are
    not cut here: a caller that finds one (``leading_jump``) must use ``checked`` instead.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.jumps: dict[int, list[_Jumps]] = {i: [] for i, _ in _speed_tracks(recording)}
        self.finite = True
        self.unit_rotations = True

    def add(self, start: int, stop: int, available: int) -> None:
        """Check frames [start, stop) and the steps out of them, while frames up to
        ``available`` (exclusive) hold their read values; ``start`` is the previous block's
        ``stop``."""
        recording = self.recording
        positions, rotations = (
            recording.positions[:, start:stop],
            recording.rotations[:, start:stop],
        )
        if self.finite:
            self.finite = _all_finite(positions) and _all_finite(rotations)
        if self.finite and self.unit_rotations:
            self.unit_rotations = _unit_rotations(rotations)
        last_step = min(stop, available - 1)
        count = last_step - start
        if count <= 0:
            return
        steps = np.diff(recording.times[start : last_step + 1])
        limits = _screen_limits(steps)
        for index, parts in self.jumps.items():
            jumps = _track_jumps(recording.positions[index, start : last_step + 1], steps, limits)
            parts.append(_Jumps(jumps.at + start, jumps.speed))

    def values_ok(self) -> bool:
        """Whether every value added so far is finite and every rotation a unit one."""
        return self.finite and self.unit_rotations

    def leading_jump(self) -> bool:
        """Whether a speed track jumps within the first MAX_LEADING_DROP steps (checked)."""
        firsts = [parts[0].at for parts in self.jumps.values() if parts]
        return any(at.size > 0 and at[0] < MAX_LEADING_DROP for at in firsts)

    def finish(self, recording: Recording) -> Recording:
        """``checked``'s verdict on the whole recording, every frame having been added."""
        speeds = _JumpsByTrack(recording)
        speeds.by_track = {index: _Jumps.joined(parts) for index, parts in self.jumps.items()}
        _validate(recording, speeds, values=(self.finite, self.unit_rotations))
        return _count_tracking_relocations(recording, speeds)


def _validate(
    recording: Recording, speeds: _JumpsByTrack, values: tuple[bool, bool] | None = None
) -> None:
    """``values``: whether every value is finite and every rotation a unit one, if known."""
    _check_shape(recording)
    _check_timing(recording, speeds)
    _check_values(recording, values)
    _check_speed(recording, speeds)
    _check_body(recording)


def _check_body(recording: Recording) -> None:
    if any(role in _SPEED_ROLES for role in recording.roles):
        return
    skeleton = recording.skeleton
    if skeleton is not None and len(skeleton.parents) > 1:
        return
    names = ", ".join(f"'{name[:40]}'" for name in recording.tracks[:3])
    more = f" and {len(recording.tracks) - 3} more" if len(recording.tracks) > 3 else ""
    raise RejectedRecording(
        "motion.not_body_motion",
        f"This recording tracks {names}{more}, but no headset, no hand controllers and no "
        "body skeleton, so it is not a person's motion (a drawing brush or an object track, "
        "for example). Donate a recording of your headset and controllers, or a full-body "
        "motion capture with a skeleton.",
    )


def _check_shape(recording: Recording) -> None:
    if not recording.tracks:
        raise RejectedRecording(
            "motion.no_tracks", "The recording contains no tracked body parts or devices."
        )
    if len(recording.tracks) > MAX_TRACKS:
        raise RejectedRecording(
            "motion.too_many_tracks",
            f"The recording has {len(recording.tracks)} tracks; we accept at most {MAX_TRACKS}.",
        )
    if recording.frame_count == 0:
        raise RejectedRecording(
            "motion.no_frames", "The recording has no frames. Export it again with the motion."
        )


def _check_timing(recording: Recording, speeds: _JumpsByTrack) -> None:
    rate = recording.frame_rate
    if not MIN_FRAME_RATE <= rate <= MAX_FRAME_RATE:
        raise RejectedRecording(
            "motion.frame_rate_out_of_range",
            f"The recording runs at {rate:.4g} frames per second; we accept "
            f"{MIN_FRAME_RATE:.0f} to {MAX_FRAME_RATE:.0f}. Check the export settings.",
        )
    last_time = float(recording.times[-1]) if recording.frame_count else 0.0
    if max(recording.duration_s, last_time) > MAX_DURATION_S:
        raise RejectedRecording(
            "motion.too_long",
            f"The recording lasts more than {MAX_DURATION_S / 3600:.0f} hours, the most we "
            "accept. Split it into shorter takes.",
        )
    times = recording.times
    steps = speeds.steps()
    if not np.isfinite(times).all() or (steps.size and not steps.min() > 0):
        raise RejectedRecording(
            "motion.time_not_increasing",
            "Some frames do not come after the frame before them. Export the recording again.",
        )


def _all_finite(values: npt.NDArray[np.float32]) -> bool:
    # A float64 sum of float32 values cannot overflow, so it is finite iff every value is:
    # one pass, no full-size temporary.
    return math.isfinite(float(np.sum(values, dtype=np.float64)))


def _unit_rotations(rotations: npt.NDArray[np.float32]) -> bool:
    low, high = 1.0 - 2.0 * QUATERNION_NORM_TOLERANCE, 1.0 + 2.0 * QUATERNION_NORM_TOLERANCE
    for start in range(0, rotations.shape[1], _CHUNK_FRAMES):  # bounded temporaries
        chunk = rotations[:, start : start + _CHUNK_FRAMES]
        squared = np.einsum("...i,...i->...", chunk, chunk)  # |q|^2 - 1 ~ 2 (|q| - 1)
        if not (low <= squared.min() and squared.max() <= high):
            return False
    return True


def _check_values(recording: Recording, values: tuple[bool, bool] | None = None) -> None:
    finite = (
        values[0]
        if values
        else (_all_finite(recording.positions) and _all_finite(recording.rotations))
    )
    if not finite:
        raise RejectedRecording(
            "motion.non_finite",
            "Some positions or rotations are not numbers. Export the recording again.",
        )
    if not (values[1] if values else _unit_rotations(recording.rotations)):
        raise RejectedRecording(
            "motion.bad_rotation",
            "Some rotations are not valid orientations. Export the recording again.",
        )


def _speed_tracks(recording: Recording) -> list[tuple[int, str]]:
    checked = [(i, _SPEED_ROLES[r]) for i, r in enumerate(recording.roles) if r in _SPEED_ROLES]
    if checked:
        return checked
    if recording.skeleton is not None:
        roots = np.flatnonzero(recording.skeleton.parents < 0)
        return [(int(i), f"joint '{recording.tracks[i][:40]}'") for i in roots]
    return [(0, f"track '{recording.tracks[0][:40]}'")]


# The speed rule compares squared float32 distances with squared limits first, with a margin far
# beyond float32 rounding (1e-3 against ~1e-7): only the steps this lets through, a few in a
# clean recording, get their exact float64 speed, and exactly those over MAX_SPEED_M_S are jumps.
_SCREEN = (MAX_SPEED_M_S * (1.0 - 1e-3)) ** 2


def _screen_limits(steps: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    limits: npt.NDArray[np.float64] = np.square(steps)
    limits *= _SCREEN
    return limits


def _track_jumps(
    positions: npt.NDArray[np.float32],
    steps: npt.NDArray[np.float64],
    limits: npt.NDArray[np.float64] | None = None,
) -> _Jumps:
    """The jumps of one track over each step (step i joins frames i and i + 1 of
    ``positions``, which holds one frame more than ``steps``). Chunk by chunk of frames into one
    scratch buffer. A zero step gives an infinite speed, a jump; NaN and negative speeds are
    none (the timing and value rules refuse what makes them)."""
    count = steps.shape[0]
    if limits is None:
        limits = _screen_limits(steps)
    moved = np.empty(min(_CHUNK_FRAMES, count), dtype=np.float32)
    squared = np.empty(moved.shape[0], dtype=np.float32)
    candidates = []
    for first in range(0, count, _CHUNK_FRAMES):
        last = min(first + _CHUNK_FRAMES, count)
        n = last - first
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(3):  # component by component: contiguous in a component-major layout
                column = positions[:, k]
                np.subtract(column[first + 1 : last + 1], column[first:last], out=moved[:n])
                if k == 0:
                    np.multiply(moved[:n], moved[:n], out=squared[:n])
                else:
                    np.multiply(moved[:n], moved[:n], out=moved[:n])
                    np.add(squared[:n], moved[:n], out=squared[:n])
        found = np.flatnonzero(squared[:n] > limits[first:last])
        if found.size:
            candidates.append(found + first)
    if not candidates:
        return _Jumps(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64))
    at = np.concatenate(candidates)
    exact = np.subtract(positions[at + 1], positions[at], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.sqrt(np.einsum("ij,ij->i", exact, exact)) / steps[at]
    jump = speed > MAX_SPEED_M_S
    return _Jumps(at[jump], speed[jump])


def drop_leading_jumps(recording: Recording) -> Recording:
    """Cut leading frames that only a jump connects to the rest (see module docstring)."""
    return _drop_leading_jumps(recording, _JumpsByTrack(recording))


def _drop_leading_jumps(recording: Recording, speeds: _JumpsByTrack) -> Recording:
    if recording.frame_count < 2 or not recording.tracks:
        return recording
    last_jump = -1
    for index, _ in _speed_tracks(recording):
        jumps = speeds(index).at
        if jumps.size:
            last_jump = max(last_jump, int(jumps[-1]))
    drop = last_jump + 1  # step i joins frames i and i + 1
    if drop == 0 or drop > MAX_LEADING_DROP or drop >= recording.frame_count:
        return recording
    return replace(
        recording,
        times=recording.times[drop:] - recording.times[drop],
        positions=np.ascontiguousarray(recording.positions[:, drop:]),
        rotations=np.ascontiguousarray(recording.rotations[:, drop:]),
        conversion={**recording.conversion, "dropped_leading_frames": drop},
    )


def _tolerated_relocations(
    recording: Recording, jumps: _Jumps, steps: npt.NDArray[np.float64]
) -> int | None:
    """How many jumps of this track are tolerated relocations, or None if any jump is not."""
    if not jumps.at.size:
        return 0
    distance = jumps.speed * steps[jumps.at]
    allowed = max(MAX_RELOCATIONS, MAX_RELOCATIONS_PER_MINUTE * recording.duration_s / 60.0)
    isolated = jumps.at.size == 1 or bool((np.diff(jumps.at) > 1).all())
    if isolated and distance.max() <= MAX_RELOCATION_M and jumps.at.size <= allowed:
        return int(jumps.at.size)
    return None


def count_tracking_relocations(recording: Recording) -> Recording:
    """Record per track how many tolerated relocations it has (see module docstring)."""
    return _count_tracking_relocations(recording, _JumpsByTrack(recording))


def _count_tracking_relocations(recording: Recording, speeds: _JumpsByTrack) -> Recording:
    if recording.frame_count < 2:
        return recording
    counts = {}
    for index, label in _speed_tracks(recording):
        tolerated = _tolerated_relocations(recording, speeds(index), speeds.steps())
        if tolerated:
            counts[label] = tolerated
    if not counts:
        return recording
    return replace(recording, conversion={**recording.conversion, "tracking_relocations": counts})


def _check_speed(recording: Recording, speeds: _JumpsByTrack) -> None:
    if recording.frame_count < 2:
        return
    for index, label in _speed_tracks(recording):
        jumps = speeds(index)
        if _tolerated_relocations(recording, jumps, speeds.steps()) is not None:
            continue
        # The fastest jump, the first of equals (the timing and value rules already refused
        # what would make a speed NaN).
        worst = int(jumps.at[int(np.argmax(jumps.speed))])
        at = recording.times[worst + 1]  # the frame the jump lands on
        raise RejectedRecording(
            "motion.implausible_speed",
            f"The {label} jumps at {at:.2f} s as if moving faster than "
            f"{MAX_SPEED_M_S:.0f} m/s, which a person cannot do. Tracking may have been "
            "lost, or the file uses different length units; export the recording again.",
        )
