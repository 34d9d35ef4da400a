"""BVH reading: real samples, forward kinematics against a matrix reference, layout variants."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from processing.motion.formats.bvh import detect_length_unit, read_bvh
from tests.processing.motion.motion_bvh_samples import (
    CHAIN_HIERARCHY,
    CMU,
    HALF_TURN,
    PFNN,
    SINUSOIDAL,
    axis_matrix,
    motion_text,
    quaternion_matrix,
    write,
)


@pytest.mark.parametrize(
    ("path", "joints", "frames", "rate"),
    [(CMU, 31, 2752, 120.0), (PFNN, 31, 60, 30.0), (SINUSOIDAL, 4, 120, 60.0)],
)
def test_real_samples_read_with_their_joints_frames_and_rate(path, joints, frames, rate):
    recording = read_bvh(path)

    assert len(recording.tracks) == joints
    assert recording.skeleton is not None
    assert len(recording.skeleton.joints) == joints
    assert recording.frame_count == frames
    assert recording.frame_rate == rate
    assert recording.duration_s == pytest.approx(frames / rate)
    assert recording.times[0] == 0.0
    assert recording.times[-1] == pytest.approx((frames - 1) / rate)
    assert recording.positions.shape == (joints, frames, 3)
    assert recording.rotations.shape == (joints, frames, 4)
    assert recording.positions.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(recording.rotations, axis=-1), 1.0, atol=1e-6)


def test_cmu_sample_becomes_a_human_sized_figure_in_metres():
    recording = read_bvh(CMU)

    assert recording.conversion["length_unit"] == "cmu"
    heights = recording.positions[:, 1:, 1]  # frame 0 is the T-pose reference frame
    assert 1.2 < float(heights.max() - heights.min()) < 2.0
    assert recording.roles.count("head") == 1
    assert recording.tracks[recording.roles.index("left_hand")] == "LeftHand"
    assert recording.tracks[recording.roles.index("right_hand")] == "RightHand"


def test_cmu_and_pfnn_skeletons_agree_once_in_metres():
    """PFNN's skeleton is the CMU one already converted to metres, so both must match."""
    cmu, pfnn = read_bvh(CMU).skeleton, read_bvh(PFNN).skeleton
    assert cmu is not None
    assert pfnn is not None

    np.testing.assert_allclose(cmu.offsets[2:5], pfnn.offsets[2:5], atol=1e-4)


def _reference_world_positions(path: Path, frames: int) -> tuple[list[str], np.ndarray]:
    """Plain-Python BVH FK with matrices, written independently of the library."""
    text = path.read_text()
    header, motion = text.split("MOTION")
    names, parents, offsets, channels, stack = [], [], [], [], []
    last = -1
    tokens = header.split()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            channels.append([])
            offsets.append(None)
            last = len(names) - 1
            i += 2
        elif token == "End":
            last = None
            i += 2
        elif token == "{":
            stack.append(last)
            i += 1
        elif token == "}":
            stack.pop()
            i += 1
        elif token == "OFFSET":
            if last is not None:
                offsets[last] = np.array([float(v) for v in tokens[i + 1 : i + 4]])
            i += 4
        elif token == "CHANNELS":
            n = int(tokens[i + 1])
            channels[last] = tokens[i + 2 : i + 2 + n]
            i += 2 + n
        else:
            i += 1
    stack_parents = [p for p in parents]
    rows = [list(map(float, line.split())) for line in motion.strip().splitlines()[2 : 2 + frames]]
    result = np.zeros((len(names), frames, 3))
    for f, row in enumerate(rows):
        column = 0
        world_rot, world_pos = {}, {}
        for j, name in enumerate(names):
            del name
            translation = offsets[j].copy()
            rotation = np.eye(3)
            for channel in channels[j]:
                value = row[column]
                column += 1
                if channel.endswith("position"):
                    translation["XYZ".index(channel[0])] = value
                else:
                    rotation = rotation @ axis_matrix(channel[0], value)
            parent = stack_parents[j]
            if parent < 0:
                world_rot[j], world_pos[j] = rotation, translation
            else:
                world_rot[j] = world_rot[parent] @ rotation
                world_pos[j] = world_pos[parent] + world_rot[parent] @ translation
            result[j, f] = world_pos[j]
    return names, result


def test_cmu_forward_kinematics_matches_a_matrix_reference():
    names, expected = _reference_world_positions(CMU, frames=40)
    recording = read_bvh(CMU, length_unit="m")  # file units, so the comparison is direct

    assert recording.tracks == names
    turned = expected @ HALF_TURN.T  # the CMU skeleton faces +Z, so it is turned to -Z
    np.testing.assert_allclose(recording.positions[:, :40], turned, atol=2e-4)


def _chain(tmp_path: Path, rows: list[list[float]], hierarchy: str = CHAIN_HIERARCHY) -> Path:
    return write(tmp_path / "chain.bvh", hierarchy + motion_text(rows))


def test_quarter_turn_about_y_swings_the_child_from_x_to_minus_z(tmp_path):
    # Root turned 90 degrees about +Y: the child offset (1, 0, 0) goes to (0, 0, -1) in the
    # file's frame, which the half turn to canonical -Z-forward makes (0, 0, 1).
    recording = read_bvh(_chain(tmp_path, [[0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0]]), length_unit="m")

    np.testing.assert_allclose(recording.positions[1, 0], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(recording.positions[2, 0], [0, 0, 2], atol=1e-6)
    half = math.sqrt(0.5)
    np.testing.assert_allclose(recording.rotations[0, 0], [0, half, 0, half], atol=1e-6)
    np.testing.assert_allclose(recording.rotations[2, 0], [0, half, 0, half], atol=1e-6)


def test_rotations_compose_down_the_chain(tmp_path):
    # Root: 90 about Y; mid: 90 about Z. tip = mid + Ry(90) Rz(90) (1,0,0) = (0,0,-1) + (0,1,0).
    row = [0, 0, 0, 0, 0, 90, 90, 0, 0, 0, 0, 0]
    recording = read_bvh(_chain(tmp_path, [row]), length_unit="m")

    np.testing.assert_allclose(recording.positions[2, 0], HALF_TURN @ [0, 1, -1], atol=1e-6)
    expected = HALF_TURN @ axis_matrix("Y", 90) @ axis_matrix("Z", 90) @ HALF_TURN
    np.testing.assert_allclose(quaternion_matrix(recording.rotations[1, 0]), expected, atol=1e-6)


def test_euler_channels_apply_in_listed_order(tmp_path):
    angles = {"Z": 30.0, "X": -50.0, "Y": 70.0}
    rows = [[0.5, 1.0, -2.0, angles["Z"], angles["X"], angles["Y"], 0, 0, 0, 0, 0, 0]]
    recording = read_bvh(_chain(tmp_path, rows), length_unit="m")

    rz, rx, ry = (axis_matrix(a, angles[a]) for a in "ZXY")
    expected_mid = np.array([0.5, 1.0, -2.0]) + rz @ rx @ ry @ [1, 0, 0]
    np.testing.assert_allclose(recording.positions[1, 0], HALF_TURN @ expected_mid, atol=1e-6)


def _xyz_angles(matrix: np.ndarray) -> tuple[float, float, float]:
    """Angles (a, b, c) with matrix == Rx(a) @ Ry(b) @ Rz(c), in degrees."""
    b = math.asin(max(-1.0, min(1.0, matrix[0, 2])))
    a = math.atan2(-matrix[1, 2], matrix[2, 2])
    c = math.atan2(-matrix[0, 1], matrix[0, 0])
    return math.degrees(a), math.degrees(b), math.degrees(c)


def test_channel_order_permutations_give_the_same_pose(tmp_path):
    zxy = (25.0, 40.0, -65.0)
    rotation = axis_matrix("Z", zxy[0]) @ axis_matrix("X", zxy[1]) @ axis_matrix("Y", zxy[2])
    xyz = _xyz_angles(rotation)
    first = read_bvh(_chain(tmp_path, [[1, 2, 3, *zxy, *zxy, 0, 0, 0]]), length_unit="m")
    permuted = CHAIN_HIERARCHY.replace(
        "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        "CHANNELS 6 Xrotation Zposition Yrotation Xposition Zrotation Yposition",
    ).replace(
        "\t\tCHANNELS 3 Zrotation Xrotation Yrotation\n\t\tJOINT",
        "\t\tCHANNELS 3 Xrotation Yrotation Zrotation\n\t\tJOINT",
    )
    second_rows = [[xyz[0], 3, xyz[1], 1, xyz[2], 2, *xyz, 0, 0, 0]]
    second = read_bvh(_chain(tmp_path, second_rows, permuted), length_unit="m")

    np.testing.assert_allclose(first.positions, second.positions, atol=1e-5)
    np.testing.assert_allclose(np.abs(first.rotations), np.abs(second.rotations), atol=1e-5)


def test_position_channels_replace_the_offset_on_any_joint(tmp_path):
    hierarchy = CHAIN_HIERARCHY.replace(
        "\t\tOFFSET 1 0 0\n\t\tCHANNELS 3 Zrotation Xrotation Yrotation\n\t\tJOINT tip",
        "\t\tOFFSET 1 0 0\n\t\tCHANNELS 4 Yposition Zrotation Xrotation Yrotation\n\t\tJOINT tip",
    )
    recording = read_bvh(
        _chain(tmp_path, [[0, 0, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0]], hierarchy), length_unit="m"
    )

    np.testing.assert_allclose(recording.positions[1, 0], HALF_TURN @ [1, 0.25, 0], atol=1e-6)


def test_root_offset_applies_when_the_root_has_no_position_channels(tmp_path):
    hierarchy = CHAIN_HIERARCHY.replace(
        "OFFSET 0 0 0\n\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        "OFFSET 0 1 0.5\n\tCHANNELS 3 Zrotation Xrotation Yrotation",
    )
    recording = read_bvh(_chain(tmp_path, [[0] * 9], hierarchy), length_unit="m")

    np.testing.assert_allclose(recording.positions[0, 0], HALF_TURN @ [0, 1, 0.5], atol=1e-6)
    np.testing.assert_allclose(recording.positions[2, 0], HALF_TURN @ [2, 1, 0.5], atol=1e-6)


def test_end_blocks_with_channels_become_joints_and_end_sites_do_not(tmp_path):
    hierarchy = CHAIN_HIERARCHY.replace(
        "\t\t\tEnd Site\n\t\t\t{\n\t\t\t\tOFFSET 0.1 0 0\n",
        "\t\t\tEnd Site\n\t\t\t{\n\t\t\t\tOFFSET 0.1 0 0\n\t\t\t\tCHANNELS 1 Zrotation\n",
    )
    recording = read_bvh(_chain(tmp_path, [[0] * 13], hierarchy), length_unit="m")

    assert recording.tracks == ["root", "mid", "tip", "tip_End"]
    plain = read_bvh(_chain(tmp_path, [[0] * 12]), length_unit="m")
    assert plain.tracks == ["root", "mid", "tip"]
    assert plain.skeleton is not None
    assert plain.skeleton.end_sites == [(2, pytest.approx((-0.1, 0.0, 0.0)))]


def test_names_with_colons_and_spaces_and_comments_are_read(tmp_path):
    hierarchy = "# exported for someone\n" + CHAIN_HIERARCHY.replace(
        "ROOT root", "ROOT Actor:Hips"
    ).replace("JOINT mid", "JOINT Left Arm")
    recording = read_bvh(_chain(tmp_path, [[0] * 12], hierarchy), length_unit="m")

    assert recording.tracks == ["Actor:Hips", "Left Arm", "tip"]
    assert set(recording.source_metadata) == {"comments"}


def test_layout_variants_parse_to_the_same_recording(tmp_path):
    rows = [
        [0.5, 1, -0.25, 10, -20, 30, 40, 50, -60, 5, 6, 7],
        [0.6, 1, -0.2, 11, -21, 31, 41, 51, -61, 6, 7, 8],
    ]
    text = CHAIN_HIERARCHY + motion_text(rows, frame_time="0.0333333")
    baseline = read_bvh(write(tmp_path / "a.bvh", text), length_unit="m")
    variants = {
        "crlf": text.replace("\n", "\r\n"),
        "tabs": text.replace(" ", "\t"),
        "padded": text.replace("\n0.", "\n   0.").replace(" ", "  "),
        "trailing_space": text.replace("\n", " \n"),
        "no_leading_zero": text.replace("Frame Time: 0.0333333", "Frame Time: .0333333"),
        "bom_and_blank_lines": "\ufeff" + text + "\n\n",
    }
    for name, variant in variants.items():
        recording = read_bvh(write(tmp_path / f"{name}.bvh", variant), length_unit="m")
        np.testing.assert_array_equal(recording.positions, baseline.positions, err_msg=name)
        np.testing.assert_array_equal(recording.rotations, baseline.rotations, err_msg=name)
        assert recording.frame_rate == 30.0, name


def test_long_frame_time_gives_exact_rate(tmp_path):
    text = CHAIN_HIERARCHY + motion_text([[0] * 12], frame_time="0.016666666666666666")
    assert read_bvh(write(tmp_path / "a.bvh", text)).frame_rate == 60.0
    ntsc = CHAIN_HIERARCHY + motion_text([[0] * 12], frame_time="0.0333667")
    assert read_bvh(write(tmp_path / "b.bvh", ntsc)).frame_rate == pytest.approx(29.97, abs=1e-3)


def test_centimetre_skeleton_is_detected_and_scaled(tmp_path):
    cm = CHAIN_HIERARCHY.replace("OFFSET 1 0 0", "OFFSET 90 0 0").replace(
        "OFFSET 0.1 0 0", "OFFSET 9 0 0"
    )
    rows = [[10, 100, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
    recording = read_bvh(write(tmp_path / "cm.bvh", cm + motion_text(rows)))

    assert recording.conversion["length_unit"] == "cm"
    np.testing.assert_allclose(recording.positions[0, 0], HALF_TURN @ [0.1, 1.0, 0.2], atol=1e-6)
    np.testing.assert_allclose(recording.positions[1, 0], HALF_TURN @ [1.0, 1.0, 0.2], atol=1e-6)
    assert recording.skeleton is not None
    np.testing.assert_allclose(recording.skeleton.offsets[1], HALF_TURN @ [0.9, 0, 0], atol=1e-9)


def test_caller_unit_hint_overrides_detection(tmp_path):
    recording = read_bvh(
        write(tmp_path / "a.bvh", CHAIN_HIERARCHY + motion_text([[0] * 12])), length_unit="cm"
    )

    assert recording.conversion["length_unit"] == "cm"
    assert recording.conversion["length_unit_source"] == "caller"
    np.testing.assert_allclose(recording.positions[2, 0], HALF_TURN @ [0.02, 0, 0], atol=1e-7)


@pytest.mark.parametrize(
    ("extent", "unit"),
    [(1.75, "m"), (25.0, "cmu"), (172.0, "cm"), (1700.0, "mm"), (0.0, "m")],
)
def test_length_unit_heuristic(extent, unit):
    assert detect_length_unit(np.array([[0.0, 0.0, 0.0], [0.0, extent, 0.0]])) == unit


def test_skeleton_facing_minus_z_is_not_turned(tmp_path):
    faces_minus_z = CHAIN_HIERARCHY.replace("JOINT mid", "JOINT RightArm").replace(
        "ROOT root\n{\n\tOFFSET 0 0 0",
        "ROOT root\n{\n\tOFFSET 0 0 0\n\tJOINT LeftArm\n\t{\n\t\tOFFSET -1 0 0\n\t}",
    )
    # LeftArm at -X, RightArm at +X: the body already faces -Z (OpenXR).
    faces_minus_z = faces_minus_z.replace(
        "\tJOINT LeftArm\n\t{\n\t\tOFFSET -1 0 0\n\t}",
        "\tJOINT LeftArm\n\t{\n\t\tOFFSET -1 0 0\n\t\tCHANNELS 0\n\t}",
    )
    recording = read_bvh(
        write(tmp_path / "a.bvh", faces_minus_z + motion_text([[0] * 12])), length_unit="m"
    )

    assert recording.conversion["rest_facing_turn_deg"] == 0
    assert recording.tracks[1] == "LeftArm"
    np.testing.assert_allclose(recording.positions[1, 0], [-1, 0, 0], atol=1e-6)


def test_quaternions_are_continuous_over_time(tmp_path):
    rows = [[0, 0, 0, 0, 0, angle, 0, 0, 0, 0, 0, 0] for angle in range(0, 720, 10)]
    recording = read_bvh(
        write(tmp_path / "spin.bvh", CHAIN_HIERARCHY + motion_text(rows)), length_unit="m"
    )

    q = recording.rotations[0]
    assert q[0, 3] >= 0
    assert ((q[1:] * q[:-1]).sum(axis=1) > 0).all()
