"""Anonymization: recentring, facing, body-size profiles, stripped metadata."""

from __future__ import annotations

import math

import numpy as np
import pytest

from processing.motion import anonymize, read_recording
from processing.motion.anonymize import anchor_index, estimate_height, initial_heading
from processing.motion.formats.bvh import read_bvh
from processing.motion.rotations import quaternion_rotate
from tests.processing.motion.motion_bvh_samples import (
    CHAIN_HIERARCHY,
    CMU,
    PFNN,
    SINUSOIDAL,
    motion_text,
    write,
)


def _facing_xz(recording, index: int) -> np.ndarray:
    forward = quaternion_rotate(
        recording.rotations[index, 0].astype(np.float64), np.array([0.0, 0.0, -1.0])
    )
    flat = np.array([forward[0], forward[2]])
    return flat / np.linalg.norm(flat)


@pytest.mark.parametrize("path", [CMU, PFNN, SINUSOIDAL])
def test_recentring_puts_the_anchor_over_the_origin_facing_minus_z(path):
    source = read_recording(path)
    result, report = anonymize(source)

    anchor = anchor_index(result)
    np.testing.assert_allclose(result.positions[anchor, 0, [0, 2]], 0.0, atol=1e-5)
    assert result.positions[anchor, 0, 1] == pytest.approx(source.positions[anchor, 0, 1])
    np.testing.assert_allclose(_facing_xz(result, anchor), [0.0, -1.0], atol=1e-5)
    assert (result.rotations[:, 0, 3] >= 0).all()
    assert report.recentred


def test_recentring_keeps_the_shape_of_the_motion():
    source = read_recording(CMU)
    result, _ = anonymize(source)

    # Distances between joints and between frames survive a rigid move.
    before = np.linalg.norm(
        source.positions[:, :, None] - source.positions[:, :, None].swapaxes(0, 2), axis=-1
    )
    after = np.linalg.norm(
        result.positions[:, :, None] - result.positions[:, :, None].swapaxes(0, 2), axis=-1
    )
    np.testing.assert_allclose(before, after, atol=1e-4)


def test_head_anchor_is_used_when_present():
    recording = read_recording(CMU)

    assert recording.tracks[anchor_index(recording)] == "Head"


def test_heading_of_a_turned_chain(tmp_path):
    # Root yawed +90 degrees in the file; the half turn to canonical keeps it a 90 degree yaw.
    rows = [[0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0]]
    recording = read_bvh(write(tmp_path / "a.bvh", CHAIN_HIERARCHY + motion_text(rows)))

    assert initial_heading(recording, 0) == pytest.approx(math.pi / 2)
    result, _ = anonymize(recording)
    np.testing.assert_allclose(_facing_xz(result, 0), [0.0, -1.0], atol=1e-6)


def test_normalize_scales_to_the_reference_height():
    result, report = anonymize(read_recording(PFNN), body_size="normalize")

    assert estimate_height(result) == pytest.approx(1.70, rel=1e-6)
    assert report.body_size == "normalize"


def test_noise_scales_within_five_percent_and_repeats_for_a_seed():
    source = read_recording(PFNN)
    kept, _ = anonymize(source)
    first, _ = anonymize(source, body_size="noise", seed=7)
    again, _ = anonymize(source, body_size="noise", seed=7)
    other, _ = anonymize(source, body_size="noise", seed=8)

    ratio = estimate_height(first) / estimate_height(kept)
    assert 0.95 <= ratio <= 1.05
    assert ratio != pytest.approx(1.0, abs=1e-9)
    np.testing.assert_array_equal(first.positions, again.positions)
    assert not np.array_equal(first.positions, other.positions)


def test_source_metadata_and_joint_name_prefixes_are_stripped_by_name_only(tmp_path):
    hierarchy = "# Actor: Jane Example, take 3\n" + CHAIN_HIERARCHY.replace(
        "ROOT root", "ROOT JaneExample:root"
    ).replace("JOINT mid", "JOINT JaneExample:mid")
    recording = read_bvh(write(tmp_path / "a.bvh", hierarchy + motion_text([[0] * 12])))

    result, report = anonymize(recording)

    assert report.stripped_fields == ["comments", "joint_name_prefixes"]
    assert result.tracks == ["root", "mid", "tip"]
    assert result.skeleton is not None
    assert result.skeleton.joints == ["root", "mid", "tip"]
    assert result.source_metadata == {}
    assert "Jane" not in repr(report)


def test_unknown_body_size_profile_is_a_programming_error():
    with pytest.raises(ValueError, match="body_size"):
        anonymize(read_recording(SINUSOIDAL), body_size="shrink")
