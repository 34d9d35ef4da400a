"""Validation rules on canonical recordings, one code each."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from processing.motion import Recording, RejectedRecording, validate
from processing.motion.validate import drop_leading_jumps


def _recording(frames: int = 10, rate: float = 60.0, tracks: int = 3) -> Recording:
    positions = np.zeros((tracks, frames, 3), dtype=np.float32)
    positions[:, :, 1] = 1.6
    rotations = np.zeros((tracks, frames, 4), dtype=np.float32)
    rotations[..., 3] = 1.0
    roles = ["head", "left_hand", "right_hand"][:tracks] + ["joint"] * max(0, tracks - 3)
    return Recording(
        source_format="test",
        tracks=[f"t{i}" for i in range(tracks)],
        roles=roles,  # type: ignore[arg-type]
        times=np.arange(frames) / rate,
        positions=positions,
        rotations=rotations,
        frame_rate=rate,
    )


def _code(recording: Recording) -> str:
    with pytest.raises(RejectedRecording) as caught:
        validate(recording)
    return caught.value.code


def test_a_still_recording_passes():
    validate(_recording())


def test_no_tracks():
    recording = _recording()
    empty = replace(
        recording,
        tracks=[],
        roles=[],
        positions=recording.positions[:0],
        rotations=recording.rotations[:0],
    )
    assert _code(empty) == "motion.no_tracks"


def test_too_many_tracks():
    assert _code(_recording(tracks=257)) == "motion.too_many_tracks"


def test_no_frames():
    assert _code(_recording(frames=0)) == "motion.no_frames"


@pytest.mark.parametrize("rate", [9.99, 240.01])
def test_frame_rate_out_of_range(rate):
    assert _code(_recording(rate=rate)) == "motion.frame_rate_out_of_range"


def test_too_many_frames_for_the_rate_is_too_long():
    assert _code(_recording(frames=4 * 3600 * 10 + 1, rate=10.0, tracks=1)) == "motion.too_long"


def test_timestamps_spanning_more_than_four_hours_are_too_long():
    recording = _recording(frames=2, rate=10.0)
    assert _code(replace(recording, times=np.array([0.0, 4 * 3600.0 + 1]))) == "motion.too_long"


def test_time_not_increasing():
    recording = _recording()
    times = recording.times.copy()
    times[5] = times[4]
    assert _code(replace(recording, times=times)) == "motion.time_not_increasing"


def test_non_finite_position():
    recording = _recording()
    recording.positions[1, 3, 0] = np.nan
    assert _code(recording) == "motion.non_finite"


def test_non_unit_quaternion():
    recording = _recording()
    recording.rotations[0, 2] = (0.0, 0.0, 0.0, 0.9)
    assert _code(recording) == "motion.bad_rotation"


def test_hand_teleport_is_implausible_and_a_fast_swing_is_not():
    recording = _recording()
    recording.positions[1, 5:, 0] = 0.5  # 0.5 m in 1/60 s = 30 m/s: a fast but human swing
    validate(recording)
    recording.positions[1, 6:, 0] = 2.0  # 1.5 m in 1/60 s = 90 m/s
    assert _code(recording) == "motion.implausible_speed"


def test_a_jumping_first_frame_is_dropped_and_counted():
    recording = _recording()
    recording.positions[0, 0] = (5.0, 0.0, 5.0)  # tracker start-up frame

    trimmed = drop_leading_jumps(recording)

    assert trimmed.frame_count == 9
    assert trimmed.times[0] == 0.0
    assert trimmed.conversion["dropped_leading_frames"] == 1
    validate(trimmed)


def test_a_jump_later_in_the_recording_is_not_trimmed():
    recording = _recording()
    recording.positions[0, 6:] = (5.0, 0.0, 5.0)

    assert drop_leading_jumps(recording) is recording
