"""XROR reader: real samples, frame convention, clock, w rebuild, sniffing, BSOR agreement.

Expectations come from the files' own declarations (devices, fpzip tables, event types) read
with the reference decoders (bson, fpzip) at test time; only the device counts are pinned.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pyarrow.parquet as pq
import pytest

from processing.motion import convert_file, read_recording
from processing.motion.detect import detect_format
from processing.motion.formats.xror import READER, read_xror
from processing.motion.rotations import quaternion_rotate
from tests.processing.motion.test_motion_xror_support import (
    BSOR_SAMPLE1,
    SAMPLE1,
    TILT,
    compress,
    encode,
    needs_samples,
    raw_document,
    small_motion,
    table,
    write_small,
)

JOINT_ROLES = {"HEAD": "head", "HAND_LEFT": "left_hand", "HAND_RIGHT": "right_hand"}


def _last_of_equal_times(times: np.ndarray) -> np.ndarray:
    return np.r_[np.diff(times) != 0, True]


def _canonical(unity_pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unity (..., 7) position + xyzw -> canonical, written out independently of the reader."""
    x, y, z, qx, qy, qz, qw = np.moveaxis(unity_pose, -1, 0)
    return np.stack([x, y, -z], -1), np.stack([-qx, -qy, qz, qw], -1)


def _same_rotation(a: np.ndarray, b: np.ndarray, tol: float = 1e-6) -> bool:
    return bool((np.abs(np.einsum("...i,...i->...", a, b)) > 1.0 - tol).all())


# Real samples --------------------------------------------------------------------------------


@needs_samples
def test_sample1_reads_its_three_devices_as_head_and_hands_from_their_declared_joints():
    devices = raw_document(SAMPLE1)["info"]["hardware"]["devices"]
    recording = read_recording(SAMPLE1)

    assert len(devices) == 3
    expected = [JOINT_ROLES[d["joint"]] for d in devices]
    assert recording.roles == expected
    assert recording.tracks == expected
    assert recording.source_format == "xror"


@needs_samples
def test_sample1_keeps_the_last_frame_of_each_run_of_equal_times():
    frames = table(raw_document(SAMPLE1)["frames"])
    keep = _last_of_equal_times(frames[:, 0])
    recording = read_recording(SAMPLE1)

    assert recording.frame_count == int(keep.sum())
    assert recording.conversion["dropped_repeated_frames"] == frames.shape[0] - keep.sum()
    np.testing.assert_allclose(recording.times, frames[keep, 0] - frames[keep, 0][0], atol=1e-9)
    assert recording.times[0] == 0.0
    assert (np.diff(recording.times) > 0).all()
    # The file's first frame is the all-zero placeholder, dropped with its equal-time run.
    assert not frames[0, 1:].any()
    assert (np.linalg.norm(recording.rotations, axis=2) > 0.999).all()


@needs_samples
def test_sample1_frame_rate_is_the_whole_rate_its_frame_times_give():
    frames = table(raw_document(SAMPLE1)["frames"])
    times = frames[_last_of_equal_times(frames[:, 0]), 0]
    overall = (times.shape[0] - 1) / (times[-1] - times[0])

    assert read_recording(SAMPLE1).frame_rate == round(overall)


@needs_samples
def test_sample1_poses_are_the_bsor_replay_frames_it_was_made_from():
    """Independent check: the .bsor frames (found by their section marker and the count the
    XROR declares), converted by hand, equal the reader's poses frame by frame."""
    frames = table(raw_document(SAMPLE1)["frames"])
    data = BSOR_SAMPLE1.read_bytes()
    marker = b"\x01" + struct.pack("<i", frames.shape[0])
    start = data.index(marker) + len(marker)
    dtype = np.dtype([("time", "<f4"), ("fps", "<i4"), ("pose", "<f4", (3, 7))])
    bsor = np.frombuffer(data, dtype=dtype, count=frames.shape[0], offset=start)
    keep = _last_of_equal_times(bsor["time"].astype(np.float64))
    positions, rotations = _canonical(bsor["pose"][keep].astype(np.float64).transpose(1, 0, 2))
    recording = read_recording(SAMPLE1)

    assert np.array_equal(bsor["time"], frames[:, 0].astype(np.float32))
    np.testing.assert_allclose(recording.positions, positions, atol=1e-6)
    assert _same_rotation(recording.rotations.astype(np.float64), rotations)
    # First frames, numerically: the head stands about 1.7 m up.
    assert 1.5 < recording.positions[0, 0, 1] < 1.9


@needs_samples
def test_sample1_reads_exactly_as_its_bsor_replay_through_the_bsor_reader():
    from processing.motion.formats.bsor import read_bsor

    bsor = read_bsor(BSOR_SAMPLE1)
    xror = read_xror(SAMPLE1)

    assert xror.tracks == bsor.tracks
    assert xror.roles == bsor.roles
    assert xror.frame_rate == bsor.frame_rate
    np.testing.assert_array_equal(xror.times, bsor.times)
    np.testing.assert_array_equal(xror.positions, bsor.positions)
    np.testing.assert_array_equal(xror.rotations, bsor.rotations)
    assert xror.events is not None
    assert bsor.events is not None
    bsor_events = sorted(
        (t, k, json.dumps(json.loads(d, parse_int=float), sort_keys=True))
        for t, k, d in zip(bsor.events.times, bsor.events.kinds, bsor.events.texts(), strict=True)
        if k != "height"  # the XROR reader leaves the player's height out (module docstring)
    )
    xror_events = sorted(
        (t, k, json.dumps(json.loads(d, parse_int=float), sort_keys=True))
        for t, k, d in zip(xror.events.times, xror.events.kinds, xror.events.texts(), strict=True)
    )
    assert xror_events == bsor_events


@needs_samples
def test_sample1_events_are_the_declared_occurrences_of_the_kept_types():
    declared = {e["id"]: e for e in raw_document(SAMPLE1)["events"]}
    kept = {"gc": "note_good_cut", "bc": "note_bad_cut", "m": "note_miss", "b": "bomb_cut"}
    kept |= {"wh": "wall_hit", "p": "pause"}
    expected = {
        kept[i]: table(e["floatData"]).shape[0]
        for i, e in declared.items()
        if i in kept and "floatData" in e
    }
    recording = read_recording(SAMPLE1)

    assert recording.events is not None
    kinds, counts = np.unique(recording.events.kinds, return_counts=True)
    assert dict(zip(kinds.tolist(), counts.tolist(), strict=True)) == expected
    assert recording.conversion["dropped_event_types"] == sorted(
        i for i in declared if i in {"f", "h", "g"}
    )
    good = [
        json.loads(d)
        for k, d in zip(recording.events.kinds, recording.events.texts(), strict=True)
        if k == "note_good_cut"
    ]
    assert all({"saber_speed", "cut_point", "cut_normal"}.isdisjoint(g) for g in good)
    gc_times = np.sort(table(declared["gc"]["floatData"])[:, 0])
    frames = table(raw_document(SAMPLE1)["frames"])
    np.testing.assert_allclose(
        np.sort(
            np.asarray(recording.events.times)[np.array(recording.events.kinds) == "note_good_cut"]
        ),
        gc_times - frames[_last_of_equal_times(frames[:, 0]), 0][0],
        atol=1e-9,
    )


@needs_samples
def test_tilt_sample_is_one_brush_track_from_the_non_overlapping_stroke_runs():
    document = raw_document(TILT)
    devices = document["info"]["hardware"]["devices"]
    frames = table(document["frames"])
    # Runs of non-decreasing time; a run is kept when it starts after the last kept one ended.
    starts = np.flatnonzero(np.r_[True, np.diff(frames[:, 0]) < 0])
    kept, last_end = [], -math.inf
    for start, end in zip(starts, [*starts[1:], frames.shape[0]], strict=True):
        if frames[start, 0] > last_end:
            kept.extend(range(start, end))
            last_end = frames[end - 1, 0]
    rows = frames[kept]
    rows = rows[_last_of_equal_times(rows[:, 0])]
    recording = read_xror(TILT)  # the reader alone: validation refuses it as not body motion

    assert len(devices) == 1
    assert devices[0]["axes"] == ["x", "y", "z", "i", "j", "k", "1", "p"]
    assert recording.tracks == ["brush"]
    assert recording.roles == ["joint"]
    assert recording.frame_count == rows.shape[0]
    assert recording.conversion["skipped_overlapping_frames"] == frames.shape[0] - len(kept)
    np.testing.assert_allclose(recording.times, (rows[:, 0] - rows[0, 0]) / 1000.0, atol=1e-9)
    # Decimetres to metres, Z mirrored.
    np.testing.assert_allclose(
        recording.positions[0], rows[:, 1:4] * [0.1, 0.1, -0.1], rtol=1e-6, atol=1e-6
    )
    stroke = document["events"][0]
    assert recording.events is not None
    assert recording.events.kinds == ["stroke"] * len(stroke["otherData"])
    assert set(json.loads(recording.events.texts()[0])) == {
        "brush", "color_a", "color_b", "color_g", "color_r", "scale", "size",
    }  # fmt: skip


@needs_samples
@pytest.mark.parametrize("sample", [SAMPLE1], ids=["sample1"])  # tilt: test_motion_quality
def test_real_sample_converts_to_artifacts(sample, tmp_path):
    recording = read_recording(sample)
    result = convert_file(sample, tmp_path)

    metadata = result.metadata
    assert metadata["source_format"] == "xror"
    assert metadata["frame_count"] == recording.frame_count
    assert metadata["frame_rate"] == recording.frame_rate
    assert [t["name"] for t in metadata["tracks"]] == recording.tracks
    table_ = pq.read_table(result.artifacts["motion.parquet"])
    assert table_.num_rows == recording.frame_count * len(recording.tracks)
    events = pq.read_table(result.artifacts["events.parquet"])
    assert recording.events is not None
    assert events.num_rows == len(recording.events) == metadata["events"]["count"]


# Conventions -------------------------------------------------------------------------------


def _unity_file(path, devices, rows):
    document = {
        "$schema": "https://metaguard.github.io/xror/schema/v1.0.0/schema.json",
        "info": {"hardware": {"devices": devices}},
        "frames": compress(np.asarray(rows, dtype=np.float64)),
    }
    path.write_bytes(encode(document))
    return path


def test_unity_right_and_forward_become_canonical_right_and_minus_z(tmp_path):
    """Unity: +X right, +Y up, +Z forward (left-handed). A +90 degree Unity yaw turns a
    device's forward (+Z) to the right (+X); in the canonical frame the same device must face
    +X, with its forward being its local -Z."""
    s = math.sqrt(0.5)
    head = [0.0, 1.6, 0.0, 0.0, 0.0, 0.0, 1.0]
    right = [0.3, 1.2, 0.4, 0.0, s, 0.0, s]  # right of and in front of the head, turned right
    left = [-0.3, 1.2, 0.4, 0.0, 0.0, 0.0, 1.0]
    axes = ["x", "y", "z", "i", "j", "k", "1"]
    devices = [
        {"type": "HMD", "joint": "HEAD", "axes": axes},
        {"type": "CONTROLLER", "joint": "HAND_LEFT", "axes": axes},
        {"type": "CONTROLLER", "joint": "HAND_RIGHT", "axes": axes},
    ]
    rows = [[t, *head, *left, *right] for t in (0.0, 1 / 90)]
    recording = read_xror(_unity_file(tmp_path / "u.xror", devices, rows))

    head_q, right_q = recording.rotations[0, 0], recording.rotations[2, 0]
    forward = np.array([0.0, 0.0, -1.0])
    np.testing.assert_allclose(quaternion_rotate(head_q.astype(float), forward), forward)
    np.testing.assert_allclose(recording.positions[2, 0], [0.3, 1.2, -0.4], atol=1e-7)
    np.testing.assert_allclose(recording.positions[1, 0], [-0.3, 1.2, -0.4], atol=1e-7)
    np.testing.assert_allclose(
        quaternion_rotate(right_q.astype(float), forward), [1.0, 0.0, 0.0], atol=1e-6
    )
    up = quaternion_rotate(right_q.astype(float), np.array([0.0, 1.0, 0.0]))
    np.testing.assert_allclose(up, [0.0, 1.0, 0.0], atol=1e-6)


def test_devices_without_w_get_it_rebuilt_non_negative(tmp_path):
    motion = small_motion()
    with_w = read_xror(write_small(tmp_path / "w.xror"))
    without_w = read_xror(write_small(tmp_path / "no_w.xror", store_w=False))

    assert without_w.conversion["rotation_w_rebuilt"] == 3
    assert "rotation_w_rebuilt" not in with_w.conversion
    assert _same_rotation(without_w.rotations.astype(float), with_w.rotations.astype(float), 1e-6)
    assert _same_rotation(without_w.rotations.astype(float), motion["rotations"], 1e-6)


def test_a_controller_without_joint_takes_its_side_from_its_name(tmp_path):
    axes = ["x", "y", "z", "i", "j", "k", "1"]
    pose = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    devices = [
        {"type": "CONTROLLER", "name": "Knuckles Right", "axes": axes},
        {"type": "CONTROLLER", "name": "Knuckles Left", "axes": axes},
        {"type": "TRACKER", "axes": axes},
    ]
    rows = [[t, *pose, *pose, *pose] for t in (0.0, 0.1)]
    recording = read_xror(_unity_file(tmp_path / "c.xror", devices, rows))

    assert recording.roles == ["right_hand", "left_hand", "joint"]
    assert recording.tracks == ["right_hand", "left_hand", "tracker_3"]


# Sniffing ------------------------------------------------------------------------------------


@needs_samples
def test_real_files_are_detected_as_xror_by_content():
    assert detect_format(SAMPLE1) is READER
    assert detect_format(TILT) is READER


def test_sniff_refuses_random_bytes_other_bson_and_text():
    import bson

    rng = np.random.default_rng(7)
    randoms = [rng.bytes(n) for n in (0, 3, 5, 64, 4096) for _ in range(50)]
    assert not any(READER.sniff(b) for b in randoms)
    assert not READER.sniff(bson.encode({"$schema": "https://json-schema.org/x", "a": 1}))
    assert not READER.sniff(bson.encode({"info": {}, "frames": b"x"}))
    assert not READER.sniff(b"HIERARCHY\nROOT Hips\n{\n")
    valid = bson.encode({"$schema": "https://metaguard.github.io/xror/schema/v1.0.0/x.json"})
    assert READER.sniff(valid)
    assert READER.sniff(bson.encode({"$id": 5, "$schema": "xror", "info": {}}))
