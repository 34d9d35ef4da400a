"""XROR writer: what it writes reads back as the canonical poses and events it was given."""

from __future__ import annotations

import json

import numpy as np

from processing.motion import convert_file
from processing.motion.formats.xror import READER, SCHEMA_URL, read_xror
from tests.processing.motion.test_motion_xror_support import (
    RATE,
    raw_document,
    small_events,
    small_motion,
    table,
    write_small,
)


def test_round_trip_gives_back_times_poses_tracks_and_rate(tmp_path):
    motion = small_motion()
    recording = read_xror(write_small(tmp_path / "rt.xror"))

    assert recording.tracks == ["head", "left_hand", "right_hand"]
    assert recording.roles == ["head", "left_hand", "right_hand"]
    assert recording.frame_rate == RATE
    np.testing.assert_allclose(recording.times, motion["times"], atol=1e-6)
    np.testing.assert_allclose(recording.positions, motion["positions"], atol=1e-6)
    np.testing.assert_allclose(recording.rotations, motion["rotations"], atol=1e-6)


def test_round_trip_gives_back_the_events(tmp_path):
    events = small_events()
    recording = read_xror(write_small(tmp_path / "rt.xror"))

    assert recording.events is not None
    assert recording.events.kinds == events.kinds
    np.testing.assert_allclose(recording.events.times, events.times, atol=1e-6)
    for got, given in zip(recording.events.texts(), events.texts(), strict=True):
        assert json.loads(got) == json.loads(given)


def test_file_is_unity_framed_xror_with_synthetic_info_only(tmp_path):
    motion = small_motion()
    path = write_small(tmp_path / "w.xror")
    document = raw_document(path)
    frames = table(document["frames"])

    assert READER.sniff(path.read_bytes()[:4096])
    assert document["$schema"] == SCHEMA_URL
    assert set(document["info"]) == {"hardware", "software"}
    assert [d["joint"] for d in document["info"]["hardware"]["devices"]] == [
        "HEAD",
        "HAND_LEFT",
        "HAND_RIGHT",
    ]
    # Unity: z and the quaternion's x, y are mirrored.
    head_unity = frames[:, 1:8]
    np.testing.assert_allclose(head_unity[:, 2], -motion["positions"][0, :, 2], atol=1e-6)
    np.testing.assert_allclose(head_unity[:, 3:5], -motion["rotations"][0, :, :2], atol=1e-6)
    np.testing.assert_allclose(head_unity[:, 5:7], motion["rotations"][0, :, 2:], atol=1e-6)


def test_written_file_converts_and_writes_the_same_bytes_twice(tmp_path):
    first = write_small(tmp_path / "a.xror").read_bytes()
    second = write_small(tmp_path / "b.xror").read_bytes()
    result = convert_file(tmp_path / "a.xror", tmp_path / "out")

    assert first == second
    assert result.metadata["source_format"] == "xror"
    assert result.metadata["events"]["count"] == 3
