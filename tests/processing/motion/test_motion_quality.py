"""The quality report: each component on a recording built to trigger it, the real samples,
the score formula, and the refusal of what is not body motion."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from processing.motion import RejectedRecording, convert_file, read_recording, validate
from processing.motion.__main__ import main
from processing.motion.anonymize import anonymize_in_place
from processing.motion.convert import convert_recording
from processing.motion.model import Recording
from processing.motion.quality import (
    MAX_HEIGHT_M,
    QUALITY_CODES,
    QUALITY_VERSION,
    WEIGHTS,
    quality_report,
    score_of,
)
from processing.motion.synthetic import synthetic_bvh
from tests.processing.motion.motion_bvh_samples import SHARED_SAMPLES
from tests.processing.motion.test_motion_xror_support import SAMPLE1, TILT, needs_samples

README = Path(__file__).resolve().parents[3] / "processing" / "motion" / "README.md"
BSOR_SAMPLES = sorted((SHARED_SAMPLES / "bsor").glob("*.bsor"))
CMU = SHARED_SAMPLES / "bvh" / "cmu_01_01_fairmotion.bvh"
CHAIN = SHARED_SAMPLES / "bvh" / "sinusoidal_fairmotion.bvh"


def _vr(seconds: float = 20.0, rate: float = 90.0, seed: int = 0) -> Recording:
    """Someone standing, swaying and waving both controllers, with 0.2 mm tracking noise."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * rate)
    t = np.arange(frames) / rate
    positions = np.empty((3, frames, 3))
    positions[0] = np.stack([0.05 * np.sin(0.7 * t), 1.65 + 0.02 * np.sin(1.1 * t), 0 * t], 1)
    for track, side in ((1, -1.0), (2, 1.0)):
        swing = 0.3 * np.sin(2 * np.pi * (0.6 + 0.1 * track) * t + track)
        positions[track] = np.stack(
            [side * 0.3 + swing, 1.2 + 0.5 * swing, -0.3 + 0.2 * np.cos(3 * t)], 1
        )
    positions += rng.normal(0, 0.0002, positions.shape)
    rotations = np.zeros((3, frames, 4), dtype=np.float32)
    rotations[..., 3] = 1.0
    return Recording(
        source_format="test",
        tracks=["head", "left_hand", "right_hand"],
        roles=["head", "left_hand", "right_hand"],
        times=t,
        positions=positions.astype(np.float32),
        rotations=rotations,
        frame_rate=rate,
    )


def _with_positions(recording: Recording, positions: np.ndarray) -> Recording:
    return replace(recording, positions=positions.astype(np.float32))


def test_a_clean_head_and_hands_recording_scores_100_with_no_codes():
    report = quality_report(_vr())

    assert report.codes == []
    assert report.score == 100
    assert report.components["body_coverage"] == 1.0
    assert report.components["tracking_loss"] == 0.0
    assert report.components["timing_gaps"] == 0.0
    assert report.version == QUALITY_VERSION


def test_a_head_alone_is_partial_body():
    recording = _vr()
    head = replace(
        recording,
        tracks=["head"],
        roles=["head"],
        positions=recording.positions[:1],
        rotations=recording.rotations[:1],
    )

    report = quality_report(head)

    assert report.components["body_coverage"] == pytest.approx(1 / 3, abs=1e-4)
    assert "quality.partial_body" in report.codes


def test_frozen_hands_are_tracking_loss():
    recording = _vr()
    positions = recording.positions.copy()
    frames = recording.frame_count
    positions[1, frames // 2 : frames // 2 + frames // 5] = positions[1, frames // 2]

    report = quality_report(_with_positions(recording, positions))

    assert report.components["tracking_loss"] == pytest.approx(0.2, abs=0.01)
    assert "quality.tracking_loss" in report.codes


def test_interpolated_stretches_are_tracking_loss():
    recording = _vr()
    positions = recording.positions.astype(np.float64)
    start, stop = 300, 900  # a straight, even line between the two ends (a filled gap)
    share = np.linspace(0.0, 1.0, stop - start + 1)[:, None]
    positions[2, start : stop + 1] = (1 - share) * positions[2, start] + share * positions[2, stop]

    report = quality_report(_with_positions(recording, positions))

    assert report.components["tracking_loss"] == pytest.approx(600 / 1800, abs=0.01)
    assert "quality.tracking_loss" in report.codes


def test_relocations_counted_by_validation_are_tracking_loss():
    recording = _vr()
    relocated = replace(recording, conversion={"tracking_relocations": {"left hand": 180}})

    assert quality_report(relocated).components["tracking_loss"] == pytest.approx(0.1)


def test_position_noise_is_jitter_of_about_its_size():
    recording = _vr()
    noisy = recording.positions + np.random.default_rng(1).normal(0, 0.005, (3, 1800, 3))

    report = quality_report(_with_positions(recording, noisy))

    assert 3.0 < report.components["jitter_mm"] < 8.0  # noise of 5 mm per axis
    assert "quality.jitter" in report.codes
    assert quality_report(recording).components["jitter_mm"] < 0.5


def test_standing_still_is_idle():
    recording = _vr()
    positions = recording.positions.copy()
    positions[:, 360:] = positions[:, 360:361]  # still after 4 s, with tracker noise only
    positions[:, 360:] += np.random.default_rng(2).normal(0, 0.0002, (3, 1440, 3))

    report = quality_report(_with_positions(recording, positions))

    assert report.components["idle_share"] == pytest.approx(0.8, abs=0.03)
    assert report.components["tracking_loss"] == 0.0  # noise: not frozen
    assert "quality.mostly_idle" in report.codes


def test_dropped_frames_are_timing_gaps():
    recording = _vr()
    keep = np.arange(recording.frame_count) % 10 != 9  # every tenth frame dropped
    dropped = replace(
        recording,
        times=recording.times[keep],
        positions=np.ascontiguousarray(recording.positions[:, keep]),
        rotations=np.ascontiguousarray(recording.rotations[:, keep]),
    )

    report = quality_report(dropped)

    assert report.components["timing_gaps"] == pytest.approx(0.1, abs=0.002)
    assert "quality.timing_gaps" in report.codes


def test_a_head_three_metres_up_is_an_implausible_height():
    recording = _vr()
    positions = recording.positions.copy()
    positions[:, :, 1] += 1.5

    report = quality_report(_with_positions(recording, positions))

    assert report.components["body_height_m"] > MAX_HEIGHT_M
    assert "quality.implausible_height" in report.codes
    assert 1.7 < quality_report(recording).components["body_height_m"] < 1.8  # 1.67 / 0.936


def test_a_skeleton_with_limbs_covers_the_body(tmp_path):
    path = tmp_path / "s.bvh"
    path.write_text(synthetic_bvh(seconds=4, seed=3))

    report = quality_report(read_recording(path))

    assert report.components["body_coverage"] == 1.0
    assert "quality.partial_body" not in report.codes


def test_long_recordings_are_sampled_in_windows_with_the_same_verdicts():
    recording = _vr(seconds=1200.0, rate=90.0)  # 108,000 frames: above the sampling threshold
    positions = recording.positions.copy()
    half = recording.frame_count // 2
    positions[1, half:] = positions[1, half]  # the left hand is lost for the second half

    clean = quality_report(recording)
    lost = quality_report(_with_positions(recording, positions))

    assert clean.codes == []
    assert lost.components["tracking_loss"] == pytest.approx(0.5, abs=0.04)
    assert "quality.tracking_loss" in lost.codes


def test_the_score_formula_is_the_published_one():
    perfect = {
        "body_coverage": 1.0,
        "tracking_loss": 0.0,
        "jitter_mm": 0.3,
        "idle_share": 0.1,
        "timing_gaps": 0.0,
        "body_height_m": 1.75,
    }
    assert sum(WEIGHTS.values()) == 100
    assert score_of(perfect) == 100
    # Halfway down each ramp loses half its weight; an unknown height loses all of its.
    assert score_of({**perfect, "tracking_loss": 0.10}) == 90
    assert score_of({**perfect, "jitter_mm": 2.75}) == 93  # 92.5 rounds half up
    assert score_of({**perfect, "idle_share": 0.5}) == 93
    assert score_of({**perfect, "timing_gaps": 0.05}) == 93
    assert score_of({**perfect, "body_coverage": 2 / 3}) == 92
    assert score_of({**perfect, "body_height_m": None}) == 90
    worst = {**perfect, "body_coverage": 0.0, "tracking_loss": 1.0, "jitter_mm": 9.0}
    assert score_of({**worst, "idle_share": 1.0, "timing_gaps": 0.5, "body_height_m": 3.0}) == 0


def test_the_score_is_deterministic_and_recomputable_from_the_published_report():
    recording = _vr(seed=4)
    first, second = quality_report(recording).as_dict(), quality_report(recording).as_dict()

    assert first == second
    assert score_of(first["components"]) == first["score"]


def test_the_readme_documents_the_formula_and_every_quality_code():
    readme = README.read_text(encoding="utf-8")

    assert f"QUALITY_VERSION = {QUALITY_VERSION}" in readme
    assert all(f"`{code}`" in readme for code in QUALITY_CODES)
    assert all(f"`{name}`" in readme for name in WEIGHTS)
    assert "python -m processing.motion inspect" in readme


# Real samples --------------------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize("path", [*BSOR_SAMPLES, SAMPLE1], ids=lambda p: p.name)
def test_real_head_and_hands_recordings_pass(path, tmp_path):
    metadata = convert_file(path, tmp_path).metadata
    quality = metadata["quality"]

    assert quality["version"] == QUALITY_VERSION
    assert quality["components"]["body_coverage"] == 1.0
    assert quality["codes"] == []
    assert quality["score"] >= 90
    written = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert written["quality"] == quality


@needs_samples
def test_the_streamed_and_whole_bsor_paths_give_the_same_report(tmp_path):
    path = BSOR_SAMPLES[0]
    streamed = convert_file(path, tmp_path / "streamed").metadata["quality"]
    whole = convert_recording(read_recording(path), tmp_path / "whole").metadata["quality"]

    assert streamed == whole


@needs_samples
def test_real_mocap_skeleton_covers_the_body_and_a_joint_chain_does_not():
    cmu = quality_report(anonymize_in_place(read_recording(CMU))[0])
    chain = quality_report(anonymize_in_place(read_recording(CHAIN))[0])

    assert cmu.components["body_coverage"] == 1.0
    assert cmu.codes == []
    assert chain.components["body_coverage"] == 0.25  # one limb end of the four counted
    assert "quality.partial_body" in chain.codes


# Not body motion -----------------------------------------------------------------------------


@needs_samples
def test_the_tilt_brush_xror_is_refused_as_not_body_motion(tmp_path):
    with pytest.raises(RejectedRecording) as caught:
        convert_file(TILT, tmp_path / "out")

    assert caught.value.code == "motion.not_body_motion"
    assert "'brush'" in caught.value.message
    assert "headset and controllers" in caught.value.message
    assert not (tmp_path / "out").exists()


@needs_samples
@pytest.mark.parametrize("command", ["inspect", "convert"])
def test_the_cli_refuses_the_tilt_brush_xror_with_exit_2(command, tmp_path, capsys):
    args = [command, str(TILT)] + ([str(tmp_path / "out")] if command == "convert" else [])

    assert main(args) == 2
    assert capsys.readouterr().err.startswith("rejected: motion.not_body_motion: ")


def test_a_single_tracker_without_head_or_hands_is_refused():
    recording = _vr()
    single = replace(
        recording,
        tracks=["puck"],
        roles=["joint"],
        positions=recording.positions[1:2],
        rotations=recording.rotations[1:2],
    )

    with pytest.raises(RejectedRecording) as caught:
        validate(single)
    assert caught.value.code == "motion.not_body_motion"
    validate(recording)  # head and hands: body motion


@needs_samples
def test_cli_inspect_prints_the_quality_report(capsys):
    assert main(["inspect", str(BSOR_SAMPLES[0])]) == 0

    quality = json.loads(capsys.readouterr().out)["quality"]
    assert quality["version"] == QUALITY_VERSION
    assert set(quality["components"]) == set(WEIGHTS)
    assert quality["score"] == score_of(quality["components"])
