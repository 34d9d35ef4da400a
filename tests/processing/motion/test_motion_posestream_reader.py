"""Pose streams (JSON, wide CSV, A-Frame recorder JSON) read into the canonical model."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from processing.motion import convert_file, detect_format, read_recording
from processing.motion.formats import READERS, posejson
from processing.motion.formats.posejson import FrameDeclaration, pose_stream_recording
from processing.motion.rotations import quaternion_rotate
from processing.motion.writers.posestream import write_aframe_json
from tests.processing.motion.motion_bvh_samples import SHARED_SAMPLES, SINUSOIDAL
from tests.processing.motion.test_motion_posestream_samples import (
    DECLARATIONS,
    NAMES,
    ROLES,
    canonical_poses,
    quaternions_from_euler_deg,
    small_aframe,
    small_document,
    write_aframe,
    write_csv,
    write_json,
)

FLOAT32 = 2e-6  # float32 rounding of metre-scale values and unit quaternions


def _assert_same_poses(recording, poses, tolerance=FLOAT32):
    np.testing.assert_allclose(recording.times, poses["times"], atol=1e-9)
    np.testing.assert_allclose(recording.positions, poses["positions"], atol=tolerance)
    np.testing.assert_allclose(recording.rotations, poses["rotations"], atol=tolerance)


@pytest.mark.parametrize("declared", sorted(DECLARATIONS))
def test_json_round_trip_in_any_declared_frame_gives_the_same_canonical_poses(tmp_path, declared):
    path = write_json(tmp_path / "take.json", DECLARATIONS[declared], start_time=1234.5)

    recording = read_recording(path)

    assert recording.source_format == "posejson"
    assert recording.tracks == NAMES
    assert recording.roles == ROLES
    assert recording.frame_rate == 90.0
    _assert_same_poses(recording, canonical_poses())


@pytest.mark.parametrize("declared", sorted(DECLARATIONS))
def test_csv_round_trip_in_any_declared_frame_gives_the_same_canonical_poses(tmp_path, declared):
    path = write_csv(tmp_path / "take.csv", DECLARATIONS[declared])

    recording = read_recording(path)

    assert recording.source_format == "posecsv"
    assert recording.roles == ROLES
    _assert_same_poses(recording, canonical_poses())


@pytest.mark.parametrize("style", ["object", "string"])
def test_aframe_round_trip_gives_the_same_canonical_poses(tmp_path, style):
    path = write_aframe(tmp_path / "rec.json", start_ms=305_000.0, position_style=style)

    recording = read_recording(path)

    assert recording.source_format == "aframe"
    assert recording.tracks == ["head", "left_hand", "right_hand"]
    assert recording.roles == ROLES
    _assert_same_poses(recording, canonical_poses(), tolerance=1e-5)


def test_unity_declaration_flips_z_and_mirrors_quaternions_exactly():
    doc = small_document()
    doc["units"] = {"length": "cm", "time": "ms"}
    doc["frame"] = {"handedness": "left", "up": "+Y", "forward": "+Z", "quaternion_order": "wxyz"}
    doc["frames"]["t"] = [i * 1000.0 / 90 for i in range(12)]
    doc["frames"]["head"]["position"][0] = [10.0, 160.0, 30.0]
    w, x, y, z = 0.9, 0.1, 0.3, -0.2
    norm = float(np.sqrt(w * w + x * x + y * y + z * z))
    doc["frames"]["head"]["rotation"] = [[w / norm, x / norm, y / norm, z / norm]] * 12

    recording = pose_stream_recording(doc)

    np.testing.assert_allclose(recording.positions[0, 0], [0.1, 1.6, -0.3], atol=1e-7)
    np.testing.assert_allclose(recording.rotations[0, 0], np.array([-x, -y, z, w]) / norm, 1e-6)
    assert recording.times[1] == pytest.approx(1 / 90)
    assert recording.conversion["mirrored"] is True
    assert recording.conversion["axis_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 0, -1]]


VALID_DECLARATIONS = [
    (h, up, fwd)
    for h, up, fwd in itertools.product(posejson.HANDEDNESS, posejson.AXES, posejson.AXES)
    if up[1] != fwd[1]
]


def _axis(name):
    return posejson._axis_vector(name)


@pytest.mark.parametrize(("handedness", "up", "forward"), VALID_DECLARATIONS)
def test_every_declared_frame_keeps_up_forward_and_motion_physically_the_same(
    handedness, up, forward
):
    """A device whose own forward/up axes point along the declared ones ends up facing -Z / +Y
    after rotation, its position's height and forward distance are kept, and a mirrored
    declaration still gives proper rotations."""
    rng = np.random.default_rng(len(VALID_DECLARATIONS))
    q_declared = rng.normal(size=(12, 4))
    q_declared /= np.linalg.norm(q_declared, axis=1, keepdims=True)
    p_declared = rng.normal(size=(12, 3))
    doc = small_document()
    doc["frame"] = {
        "handedness": handedness, "up": up, "forward": forward, "quaternion_order": "xyzw",
    }  # fmt: skip
    doc["frames"]["head"]["rotation"] = q_declared.tolist()
    doc["frames"]["head"]["position"] = p_declared.tolist()

    recording = pose_stream_recording(doc)

    q = recording.rotations[0].astype(np.float64)
    u, f = _axis(up), _axis(forward)
    # The device's declared forward/up, seen in declared world coordinates ...
    world_forward = quaternion_rotate(q_declared, np.broadcast_to(f, (12, 3)))
    world_up = quaternion_rotate(q_declared, np.broadcast_to(u, (12, 3)))
    # ... are, in canonical coordinates, the canonical device's -Z and +Y.
    canonical_forward = quaternion_rotate(q, np.broadcast_to([0.0, 0.0, -1.0], (12, 3)))
    canonical_up = quaternion_rotate(q, np.broadcast_to([0.0, 1.0, 0.0], (12, 3)))
    np.testing.assert_allclose(-canonical_forward[:, 2], world_forward @ f, atol=1e-5)
    np.testing.assert_allclose(canonical_up[:, 1], world_up @ u, atol=1e-5)
    p = recording.positions[0].astype(np.float64)
    np.testing.assert_allclose(p[:, 1], p_declared @ u, atol=1e-5)  # height
    np.testing.assert_allclose(-p[:, 2], p_declared @ f, atol=1e-5)  # distance ahead
    right = np.cross(f, u) if handedness == "right" else np.cross(u, f)
    np.testing.assert_allclose(p[:, 0], p_declared @ right, atol=1e-5)
    assert recording.conversion["mirrored"] is (handedness == "left")


def test_aframe_rotation_is_a_yxz_euler_in_degrees():
    """rotation="30 90 0" on an A-Frame camera: turned 90 degrees left, looking 30 up."""
    doc = small_aframe()
    for pose in doc["camera"]["poses"]:
        pose["rotation"] = {"x": 30.0, "y": 90.0, "z": 0.0}

    recording = posejson.aframe_recording(doc)

    q = recording.rotations[0, 0].astype(np.float64)
    forward = quaternion_rotate(q, np.array([0.0, 0.0, -1.0]))
    np.testing.assert_allclose(forward, [-np.cos(np.pi / 6), 0.5, 0.0], atol=1e-6)
    expected = quaternions_from_euler_deg("YX", np.array([[90.0, 30.0]]))[0]
    np.testing.assert_allclose(q, expected, atol=1e-6)


def test_aframe_controllers_on_their_own_clock_are_resampled_onto_the_camera_times(tmp_path):
    t = np.arange(270) / 90.0
    camera_t = t
    controller_t = np.arange(0.05, 3.0, 1 / 72)  # 72 Hz, starting 50 ms late
    lin = np.stack([0.2 * t, 1.0 + 0.1 * t, -0.3 * t], axis=1)
    yaw = 30.0 * t  # 30 degrees a second
    head_q = quaternions_from_euler_deg("YXZ", np.stack([yaw, 0 * t, 0 * t], 1))
    ctrl_lin = np.stack([0.2 * controller_t, 1.0 + 0.1 * controller_t, -0.3 * controller_t], 1)
    ctrl_q = quaternions_from_euler_deg(
        "YXZ", np.stack([30.0 * controller_t, 0 * controller_t, 0 * controller_t], 1)
    )
    write_aframe_json(
        tmp_path / "rec.json",
        roles=["head", "right_hand"],
        times=[camera_t, controller_t],
        positions=[lin, ctrl_lin],
        rotations=[head_q, ctrl_q],
    )

    recording = read_recording(tmp_path / "rec.json")

    assert recording.frame_count == camera_t.size
    inside = (camera_t >= controller_t[0]) & (camera_t <= controller_t[-1])
    # Linear motion interpolates exactly; a steady turn by nlerp to well under a milliradian.
    np.testing.assert_allclose(recording.positions[1][inside], lin[inside], atol=1e-5)
    dots = np.abs(np.sum(recording.rotations[1][inside] * head_q[inside], axis=1))
    assert np.all(2 * np.arccos(np.clip(dots, -1, 1)) < 1e-3)
    # Before the controller's first sample (within the tolerance) its first pose is held.
    early = camera_t < controller_t[0]
    assert early.sum() == 5
    np.testing.assert_allclose(recording.positions[1][early], np.repeat(ctrl_lin[:1], 5, 0), 1e-5)
    assert recording.conversion["timeline"] == "camera"


def test_aframe_roles_come_from_gamepad_hand_then_element_id():
    doc = small_aframe()
    doc["controller1"] = doc.pop("leftHand")
    doc["controller1"]["gamepad"] = {"id": "Oculus Touch (Right)", "hand": "right", "index": 0}
    doc["controller2"] = doc.pop("rightHand")

    recording = posejson.aframe_recording(doc)

    assert recording.tracks == ["head", "right_hand", "controller_1"]
    assert recording.roles == ["head", "right_hand", "joint"]
    assert recording.source_metadata["element_ids"] == ["camera", "controller1", "controller2"]
    assert "gamepad" in recording.source_metadata["controller_details"]["controller1"]


def test_aframe_controller_without_poses_is_left_out_and_counted():
    doc = small_aframe()
    doc["rightHand"]["poses"] = []

    recording = posejson.aframe_recording(doc)

    assert recording.tracks == ["head", "left_hand"]
    assert recording.conversion["dropped_empty_tracks"] == 1


def test_aframe_events_keep_name_and_numbers_and_drop_text():
    doc = small_aframe()
    doc["rightHand"]["events"] = [
        {"name": "buttondown", "detail": {"id": 1, "state": {"pressed": True, "value": 1}},
         "timestamp": 1050.0},
        {"name": "axismove", "detail": {"axis": [0.5, -0.25], "changed": [True, False],
                                        "note": "Alice"}, "timestamp": 1100.0},
        {"name": "buttonup", "detail": {"id": 1}},  # no timestamp: dropped
    ]  # fmt: skip

    recording = posejson.aframe_recording(doc)

    events = recording.events
    assert events.kinds == ["buttondown", "axismove"]
    np.testing.assert_allclose(events.times, [0.05, 0.1])
    assert json.loads(events.texts()[0]) == {
        "id": 1, "state.pressed": True, "state.value": 1, "track": "right_hand",
    }  # fmt: skip
    assert json.loads(events.texts()[1]) == {"axis": [0.5, -0.25], "track": "right_hand"}
    assert "Alice" not in "".join(events.texts())
    assert recording.source_metadata["event_text"] is True


def test_pose_stream_events_are_on_the_frames_clock_in_seconds(tmp_path):
    path = write_json(
        tmp_path / "take.json",
        DECLARATIONS["unity_cm_ms_wxyz"],
        start_time=100.0,
        events=[{"t": 1.5, "kind": "note_cut", "data": {"lane": 2, "good": True, "by": "Bob"}}],
    )

    recording = read_recording(path)

    np.testing.assert_allclose(recording.events.times, [1.5])
    assert recording.events.kinds == ["note_cut"]
    assert json.loads(recording.events.texts()[0]) == {"good": True, "lane": 2}


def test_identifying_fields_never_reach_the_artifacts(tmp_path):
    secrets = {
        "user": {"name": "Alice Donorova", "email": "alice@example.org"},
        "device": "Quest 3 serial 2G0YC5ZF9K0B1X",
        "session": "session-7f3a9c",
        "recorded_at": "2031-04-05T10:11:12Z",
        "meta": {"notes": "living room, Lisbon"},
    }
    path = write_json(
        tmp_path / "take.json",
        start_time=1_900_000_000.25,
        extra=secrets,
        events=[{"t": 0.5, "kind": "pause", "data": {"reason": "phone call from Carol"}}],
    )

    result = convert_file(path, tmp_path / "out")

    blob = b"".join(p.read_bytes() for p in result.artifacts.values())
    for needle in ("Alice", "alice@", "2G0YC5ZF9K0B1X", "7f3a9c", "2031-04", "Lisbon", "Carol",
                   "1900000000"):  # fmt: skip
        assert needle.encode() not in blob
    stripped = result.metadata["anonymization"]["stripped_fields"]
    assert stripped == sorted(
        ["absolute_start_time", "device", "event_text", "meta", "recorded_at", "session", "user"]
    )
    table = pq.read_table(result.artifacts["motion.parquet"])
    assert table.column("t").to_numpy()[0] == 0.0


def test_aframe_identifying_details_never_reach_the_artifacts(tmp_path):
    doc = small_aframe()
    doc["rightHand"]["gamepad"] = {"id": "Oculus Touch (Right) SN-99812", "hand": "right"}
    doc["leftHand"]["gamepad"] = {"id": "Oculus Touch (Left) SN-99813", "hand": "left"}
    doc["Alices-left-hand"] = doc.pop("leftHand")
    (tmp_path / "rec.json").write_text(json.dumps(doc))

    result = convert_file(tmp_path / "rec.json", tmp_path / "out")

    blob = b"".join(p.read_bytes() for p in result.artifacts.values())
    for needle in (b"SN-998", b"Alices", b"Oculus"):
        assert needle not in blob
    assert "element_ids" in result.metadata["anonymization"]["stripped_fields"]


def test_conversion_records_the_declaration_not_the_metadata(tmp_path):
    path = write_csv(tmp_path / "take.csv", DECLARATIONS["ros_mm"])

    result = convert_file(path, tmp_path / "out")

    conversion = result.metadata["conversion"]
    assert conversion["declared"]["length"] == "mm"
    assert conversion["axis_matrix"] == [[0, -1, 0], [0, 0, 1], [-1, 0, 0]]
    assert result.metadata["source_format"] == "posecsv"


# --- Sniffing: content only -------------------------------------------------------------------


def test_formats_are_detected_from_content_whatever_the_file_name(tmp_path):
    json_path = write_json(tmp_path / "motion.csv")
    csv_path = write_csv(tmp_path / "motion.bvh")
    aframe_path = write_aframe(tmp_path / "motion.json.txt")

    assert detect_format(json_path).name == "posejson"
    assert detect_format(csv_path).name == "posecsv"
    assert detect_format(aframe_path).name == "aframe"


def test_bvh_stays_the_first_reader():
    assert READERS[0].name == "bvh"


@pytest.mark.parametrize(
    "head",
    [
        SINUSOIDAL.read_bytes()[:4096],
        # BSOR: magic 0x442D3D69 little-endian, then version and a JSON-ish info block.
        bytes.fromhex("693d2d4401") + b'\x00{"poses":[' + bytes(200),
        # XROR: a BSON document (little-endian length, then typed elements).
        (300).to_bytes(4, "little") + b'\x02$schema\x00\x10\x00\x00\x00{"poses":[ xror\x00',
        # A BSON document whose length byte happens to be "{".
        b'{\x01\x00\x00\x02"poses": [' + bytes(50),
        b'[{"poses": []}]',
        b"t,head.px\n0,1\n",
    ],
    ids=["bvh", "bsor", "xror", "bson-brace", "json-array", "csv-without-declaration"],
)
def test_other_formats_are_not_claimed_by_pose_stream_readers(head):
    for reader in READERS:
        if reader.name in ("posejson", "posecsv", "aframe"):
            assert not reader.sniff(head), reader.name


@pytest.mark.parametrize("sample", ["bsor", "xror", "tilt"])
def test_real_binary_recordings_are_not_claimed_by_pose_stream_readers(sample):
    files = sorted((SHARED_SAMPLES / sample).glob("*"))
    if not files:
        pytest.skip(f"shared sample folder absent: {SHARED_SAMPLES / sample}")
    for path in files:
        head = path.read_bytes()[:4096]
        for reader in READERS:
            if reader.name in ("posejson", "posecsv", "aframe"):
                assert not reader.sniff(head), (reader.name, path.name)


def test_pose_stream_heads_are_claimed_by_exactly_one_reader(tmp_path):
    for path in (
        write_json(tmp_path / "a"),
        write_csv(tmp_path / "b"),
        write_aframe(tmp_path / "c"),
    ):
        head = path.read_bytes()[:4096]
        assert sum(reader.sniff(head) for reader in READERS) == 1


def test_declaration_objects_round_trip_through_their_matrices():
    for handedness, up, forward in VALID_DECLARATIONS:
        declaration = FrameDeclaration(handedness=handedness, up=up, forward=forward)
        matrix = declaration.axis_matrix()
        np.testing.assert_array_equal(matrix @ matrix.T, np.eye(3))
        assert round(np.linalg.det(matrix)) == (1 if handedness == "right" else -1)
