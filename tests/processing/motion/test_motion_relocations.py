"""Isolated one-frame tracking relocations are kept and counted; anything else is refused."""

import numpy as np
import pytest

from processing.motion import Recording, RejectedRecording, validate
from processing.motion.validate import count_tracking_relocations

RATE = 90.0


def _hand_recording(jumps: dict[int, float], seconds: float = 60.0) -> Recording:
    """Head still; left hand moving slowly, displaced by `metres` along x from frame i on."""
    frames = int(seconds * RATE)
    positions = np.zeros((2, frames, 3), dtype=np.float32)
    positions[0, :, 1] = 1.6
    positions[1, :, 0] = np.linspace(0.0, 0.5, frames)
    for frame, metres in jumps.items():
        positions[1, frame:, 0] += metres
    rotations = np.zeros((2, frames, 4), dtype=np.float32)
    rotations[..., 3] = 1.0
    return Recording(
        source_format="test",
        tracks=["head", "left"],
        roles=["head", "left_hand"],
        times=np.arange(frames) / RATE,
        positions=positions,
        rotations=rotations,
        frame_rate=RATE,
    )


def test_a_few_isolated_relocations_under_a_metre_are_kept_and_counted():
    recording = _hand_recording({900: 0.6, 2000: -0.7, 4000: 0.8})  # 54-72 m/s at 90 Hz
    validate(recording)
    counted = count_tracking_relocations(recording)
    assert counted.conversion["tracking_relocations"] == {"left hand": 3}
    assert np.array_equal(counted.positions, recording.positions)  # kept as recorded


def test_a_recording_without_jumps_gets_no_relocation_note():
    recording = _hand_recording({})
    assert "tracking_relocations" not in count_tracking_relocations(recording).conversion


@pytest.mark.parametrize(
    ("jumps", "why"),
    [
        ({900: 1.5}, "more than a metre is a teleport"),
        ({900: 0.6, 901: 0.6}, "two consecutive jumps are not one relocation"),
        ({100 * k: 0.6 for k in range(1, 6)}, "five in a minute is more than tolerated"),
    ],
)
def test_other_jumps_are_refused_as_implausible_speed(jumps, why):
    with pytest.raises(RejectedRecording) as caught:
        validate(_hand_recording(jumps))
    assert caught.value.code == "motion.implausible_speed", why
    assert caught.value.message.startswith("The left hand jumps at ")
