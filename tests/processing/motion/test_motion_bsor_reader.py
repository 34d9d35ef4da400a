"""BSOR (BeatLeader replay) reader: real samples, frame convention, clock policy, events, privacy.

The real samples hold a real player's platform id and name. Tests take those values from the
input at test time (py-bsor's parse, an independent reader) and only ever assert on booleans, so
a failure never prints them.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from processing.motion import anonymize, convert_file, read_recording
from processing.motion.errors import RejectedRecording
from processing.motion.formats import bsor as bsor_format
from processing.motion.formats.bsor import read_bsor
from processing.motion.rotations import quaternion_multiply, quaternion_rotate
from processing.motion.writers.bsor import BsorCut, BsorNote, write_bsor
from tests.processing.motion.motion_bvh_samples import SHARED_SAMPLES

SAMPLE1 = SHARED_SAMPLES / "bsor" / "xror_sample1.bsor"
SAMPLE2 = SHARED_SAMPLES / "bsor" / "xror_sample2.bsor"
needs_samples = pytest.mark.skipif(
    not SHARED_SAMPLES.exists(), reason="/work/shared real samples are not mounted here"
)
RATE = 90.0
IDENTIFYING = (
    "player_id",
    "player_name",
    "platform",
    "tracking_system",
    "hmd",
    "controller",
    "timestamp",
    "map_hash",
    "song_name",
    "mapper",
    "difficulty",
    "score",
    "mode",
    "environment",
    "modifiers",
    "game_version",
    "mod_version",
    "left_handed",
    "player_height",
    "jump_distance",
)


# -- helpers (also used by test_motion_bsor_malformed.py) ---------------------------------------


def unit(q: np.ndarray) -> np.ndarray:
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def yaw_pitch(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Canonical quaternions: yaw about +Y then pitch about +X (smooth, w > 0 for small angles)."""
    qy = np.stack([0 * yaw, np.sin(yaw / 2), 0 * yaw, np.cos(yaw / 2)], axis=-1)
    qx = np.stack([np.sin(pitch / 2), 0 * pitch, 0 * pitch, np.cos(pitch / 2)], axis=-1)
    return quaternion_multiply(qy, qx)


def synthetic_poses(frames: int, rate: float = RATE) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Someone standing 1.7 m tall, swaying, nodding and swinging both hands (canonical)."""
    t = np.arange(frames) / rate
    head = np.stack([0.05 * np.sin(t), 1.6 + 0.02 * np.sin(2 * t), -0.1 * np.cos(0.5 * t)], 1)
    left = np.stack([-0.3 + 0.2 * np.sin(3 * t), 1.1 + 0.3 * np.cos(3 * t), -0.4 + 0 * t], 1)
    right = np.stack([0.3 + 0.2 * np.cos(3 * t), 1.1 + 0.3 * np.sin(3 * t), -0.4 + 0 * t], 1)
    return {
        "head": (head, yaw_pitch(0.3 * np.sin(t), 0.2 * np.sin(0.7 * t))),
        "left": (left, yaw_pitch(0.5 * np.sin(2 * t), 0.8 * np.cos(3 * t))),
        "right": (right, yaw_pitch(-0.5 * np.sin(2 * t), 0.8 * np.sin(3 * t))),
    }


def write_synthetic(path: Path, frames: int = 180, *, times=None, **kwargs) -> Path:
    poses = synthetic_poses(frames)
    song = np.arange(frames) / RATE if times is None else times
    write_bsor(path, times=song, **poses, **kwargs)
    return path


def sample_parse(path: Path):
    """py-bsor's parse of a real sample (independent of our reader)."""
    from bsor.Bsor import make_bsor

    with path.open("rb") as f:
        return make_bsor(f)


def repeated_before_next(times: np.ndarray) -> int:
    """Frames whose successor is not later: what our clock policy drops."""
    return int((np.diff(times) <= 0).sum())


def artifact_bytes(out_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out_dir.iterdir()) if p.is_file()}


# -- real samples ----------------------------------------------------------------------------------


@needs_samples
def test_real_sample1_converts_with_declared_frames_rate_and_duration(tmp_path):
    replay = sample_parse(SAMPLE1)
    song = np.array([f.time for f in replay.frames], dtype=np.float64)
    repeated = repeated_before_next(song)

    result = convert_file(SAMPLE1, tmp_path)

    meta = result.metadata
    assert len(replay.frames) == 27931
    assert repeated == 3  # the first four frames share song time 0; the first is all zeros
    assert meta["conversion"]["declared_frames"] == 27931
    assert meta["conversion"]["dropped_repeated_frames"] == repeated
    assert meta["frame_count"] == 27931 - repeated
    assert meta["frame_rate"] == 90.0
    assert meta["duration_s"] == pytest.approx(310.3, abs=0.1)
    assert meta["duration_s"] == pytest.approx(song[-1] - song[0], abs=0.05)
    assert [(t["name"], t["role"]) for t in meta["tracks"]] == [
        ("head", "head"),
        ("left_hand", "left_hand"),
        ("right_hand", "right_hand"),
    ]
    assert meta["conversion"]["device_class"] == "pc_vr"
    assert meta["events"]["kinds"] == {"note_bad_cut": 2, "note_good_cut": 1641, "note_miss": 2}
    assert meta["events"]["count"] == len(replay.notes) == 1645


@needs_samples
def test_real_sample1_poses_match_py_bsor_mirrored_into_the_canonical_frame():
    replay = sample_parse(SAMPLE1)
    song = np.array([f.time for f in replay.frames])
    kept = np.append(np.diff(song) > 0, True)
    recording = read_bsor(SAMPLE1)

    for track, device in enumerate(("head", "left_hand", "right_hand")):
        objects = [getattr(f, device) for f in replay.frames]
        position = np.array([o.position for o in objects], dtype=np.float32)[kept]
        rotation = np.array([o.rotation for o in objects], dtype=np.float32)[kept]
        position[:, 2] *= -1
        rotation[:, :2] *= -1
        np.testing.assert_array_equal(recording.positions[track], position)
        same_sign = np.sign((recording.rotations[track] * rotation).sum(axis=1))
        np.testing.assert_array_equal(recording.rotations[track], rotation * same_sign[:, None])
    np.testing.assert_allclose(recording.times, song[kept] - song[kept][0])


@needs_samples
def test_real_sample2_reads_with_declared_frames_notes_and_heights():
    replay = sample_parse(SAMPLE2)
    song = np.array([f.time for f in replay.frames], dtype=np.float64)

    recording = read_bsor(SAMPLE2)

    assert len(replay.frames) == 26556
    assert recording.conversion["declared_frames"] == 26556
    assert recording.frame_count == 26556 - repeated_before_next(song) == 26554
    assert recording.frame_rate == 90.0  # although the fps field reads 3 in the first frame
    assert replay.frames[0].fps == 3
    assert recording.duration_s == pytest.approx(song[-1] - song[0], abs=0.3)
    assert recording.tracks == ["head", "left_hand", "right_hand"]
    assert recording.conversion["device_class"] == "standalone"
    kinds = dict(zip(*np.unique(recording.events.kinds, return_counts=True), strict=True))
    assert len(replay.notes) == 2883
    assert kinds == {"height": 3892, "note_bad_cut": 5, "note_good_cut": 2867, "note_miss": 11}
    assert len(replay.heights) == 3892


@needs_samples
def test_real_sample2_converts_and_counts_its_left_hand_tracking_relocations(tmp_path):
    # Three single-frame relocations of the Quest's left controller (0.5-0.6 m in 11 ms,
    # plausible speeds before and after): a tracker re-acquiring it. Kept, and counted.
    result = convert_file(SAMPLE2, tmp_path)

    assert result.metadata["frame_count"] == 26_554
    assert result.metadata["frame_rate"] == 90.0
    assert result.metadata["conversion"]["tracking_relocations"] == {"left hand": 3}
    assert result.metadata["events"]["kinds"]["height"] == 3892


@needs_samples
@pytest.mark.parametrize("sample", [SAMPLE1, SAMPLE2], ids=["sample1", "sample2"])
def test_real_sample_player_id_and_name_reach_no_artifact(tmp_path, sample):
    info = sample_parse(sample).info
    player_id, player_name = info.playerId, info.playerName
    assert player_id
    assert player_name
    needles = [player_id.encode(), player_name.encode()]
    if player_id.isdigit():
        needles.append(int(player_id).to_bytes(8, "little"))
    if sample == SAMPLE1:
        convert_file(sample, tmp_path / "out")
        artifacts = artifact_bytes(tmp_path / "out")
    else:
        artifacts = {
            name: path.read_bytes()
            for name, path in convert_file(sample, tmp_path / "out").artifacts.items()
        }
    recording = read_bsor(sample)

    assert {"motion.parquet", "events.parquet", "metadata.json"} <= set(artifacts)  # and more
    leaks = [name for name, data in artifacts.items() for needle in needles if needle in data]
    assert leaks == [], "an identifying value of the input is in an artifact"
    same_id = recording.source_metadata["player_id"] == player_id
    same_name = recording.source_metadata["player_name"] == player_name
    assert same_id, "our info parse disagrees with py-bsor's"
    assert same_name, "our info parse disagrees with py-bsor's"
    metadata = json.loads(artifacts["metadata.json"])
    stripped = metadata["anonymization"]["stripped_fields"]
    assert set(IDENTIFYING) <= set(stripped)
    assert "hmd" not in json.dumps(metadata["conversion"])


@needs_samples
def test_real_sample_events_parquet_holds_only_documented_fields(tmp_path):
    result = convert_file(SAMPLE1, tmp_path)

    table = pq.read_table(result.artifacts["events.parquet"])
    keys = set()
    for text in table.column("data").to_pylist():
        keys |= set(json.loads(text))
    assert keys == {
        "after_cut_rating",
        "before_cut_rating",
        "color",
        "cut_angle_deg",
        "cut_direction",
        "cut_direction_deviation_deg",
        "direction_ok",
        "line_index",
        "line_layer",
        "note_time_s",
        "saber",
        "saber_type_ok",
        "scoring_type",
        "speed_ok",
        "time_deviation_s",
        "was_cut_too_soon",
    }
    times = table.column("t").to_numpy()
    assert (np.diff(times) >= 0).all()
    assert 0.0 < times[0] < times[-1] < result.metadata["duration_s"]


# -- frame convention ------------------------------------------------------------------------------


def _single_pose_file(path: Path, unity_position, unity_rotation) -> Path:
    """A file whose head holds one Unity-frame pose for all frames (hands stay still)."""
    frames = 30
    p = np.array(unity_position, dtype=np.float64) * (1, 1, -1)  # the writer takes canonical
    q = np.array(unity_rotation, dtype=np.float64) * (-1, -1, 1, 1)
    still = (np.tile([0.2, 1.0, -0.3], (frames, 1)), np.tile([0.0, 0.0, 0.0, 1.0], (frames, 1)))
    write_bsor(
        path,
        times=np.arange(frames) / RATE,
        head=(np.tile(p, (frames, 1)), np.tile(q, (frames, 1))),
        left=still,
        right=still,
    )
    return path


def _forward(recording, track: int = 0) -> np.ndarray:
    """World direction of a track's local forward (-Z in the canonical frame) at frame 0."""
    q = recording.rotations[track, 0].astype(np.float64)
    return quaternion_rotate(q, np.array([0.0, 0.0, -1.0]))


def test_a_unity_yaw_of_plus_90_degrees_faces_right_in_the_canonical_frame(tmp_path):
    # In Unity (left-handed), +90 degrees about +Y turns forward (+Z) onto +X: the head looks
    # to its right. Right is +X in the canonical frame as well.
    half = math.radians(90) / 2
    path = _single_pose_file(
        tmp_path / "yaw.bsor", (0, 1.7, 0), (0, math.sin(half), 0, math.cos(half))
    )

    recording = read_bsor(path)

    np.testing.assert_allclose(_forward(recording), [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(
        recording.rotations[0, 0], [0, -math.sin(half), 0, math.cos(half)], atol=1e-7
    )


def test_a_unity_pitch_of_plus_90_degrees_looks_down(tmp_path):
    # Unity: +90 degrees about +X turns forward (+Z) onto -Y.
    half = math.radians(90) / 2
    path = _single_pose_file(
        tmp_path / "pitch.bsor", (0, 1.7, 0), (math.sin(half), 0, 0, math.cos(half))
    )

    np.testing.assert_allclose(_forward(read_bsor(path)), [0.0, -1.0, 0.0], atol=1e-6)


def test_unity_forward_plus_z_becomes_canonical_minus_z(tmp_path):
    # A controller held 0.5 m in front of the player (Unity +Z) with identity rotation.
    path = _single_pose_file(tmp_path / "ahead.bsor", (0.0, 1.2, 0.5), (0, 0, 0, 1))

    recording = read_bsor(path)

    np.testing.assert_allclose(recording.positions[0, 0], [0.0, 1.2, -0.5], atol=1e-7)
    np.testing.assert_allclose(_forward(recording), [0.0, 0.0, -1.0], atol=1e-7)


def test_mirrored_pose_moves_every_local_point_to_its_mirror_image(tmp_path):
    # For any Unity pose (p, q) and local point v, the world point p + R v, mirrored in Z, must
    # be where the converted pose puts the mirrored local point: M(p + R v) = p' + R' (M v).
    rng = np.random.default_rng(3)
    frames = 40
    q_unity = unit(rng.normal(size=(frames, 4)))
    p_unity = rng.normal(size=(frames, 3))
    mirror = np.array([1.0, 1.0, -1.0])
    still = (np.tile([0.2, 1.0, -0.3], (frames, 1)), np.tile([0.0, 0.0, 0.0, 1.0], (frames, 1)))
    write_bsor(
        tmp_path / "r.bsor",
        times=np.arange(frames) / RATE,
        head=(p_unity * mirror, q_unity * (-1, -1, 1, 1)),
        left=still,
        right=still,
    )
    recording = read_bsor(tmp_path / "r.bsor")
    local = rng.normal(size=(frames, 3))

    unity_world = p_unity + quaternion_rotate(q_unity, local)
    canonical_world = recording.positions[0] + quaternion_rotate(
        recording.rotations[0].astype(np.float64), local * mirror
    )
    np.testing.assert_allclose(canonical_world, unity_world * mirror, atol=1e-5)


# -- round trip and clock --------------------------------------------------------------------------


def test_canonical_poses_round_trip_through_write_bsor_and_read_recording(tmp_path):
    frames = 300
    poses = synthetic_poses(frames)
    path = write_synthetic(tmp_path / "rt.bsor", frames)

    recording = read_recording(path)

    assert recording.frame_count == frames
    assert recording.frame_rate == RATE
    np.testing.assert_allclose(recording.times, np.arange(frames) / RATE, atol=1e-5)
    for track, key in enumerate(("head", "left", "right")):
        np.testing.assert_allclose(recording.positions[track], poses[key][0], atol=1e-6)
        np.testing.assert_allclose(recording.rotations[track], poses[key][1], atol=1e-6)


def test_convert_file_of_a_synthetic_replay_recentres_onto_the_written_poses(tmp_path):
    frames = 120
    path = write_synthetic(tmp_path / "c.bsor", frames)
    expected, _ = anonymize(read_recording(path))

    result = convert_file(path, tmp_path / "out")

    table = pq.read_table(result.artifacts["motion.parquet"], filters=[("track", "=", "head")])
    xyz = np.stack([table.column(c).to_numpy() for c in ("px", "py", "pz")], axis=1)
    np.testing.assert_allclose(xyz, expected.positions[0], atol=1e-6)
    assert xyz[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert xyz[0, 2] == pytest.approx(0.0, abs=1e-6)


def test_repeated_song_times_keep_the_last_pose_logged_at_that_time(tmp_path):
    frames = 100
    poses = synthetic_poses(frames)
    poses["head"][0][0] = 0.0  # a zeroed first frame, as in real replays
    poses["head"][1][0] = (0.0, 0.0, 0.0, 1.0)
    song = np.arange(frames) / RATE
    song[:4] = 0.0
    write_bsor(tmp_path / "d.bsor", times=song, **poses)

    recording = read_recording(tmp_path / "d.bsor")

    assert recording.conversion["dropped_repeated_frames"] == 3
    assert recording.frame_count == frames - 3
    assert recording.times[0] == 0.0
    assert recording.times[1] == pytest.approx(song[4], abs=1e-6)
    np.testing.assert_allclose(recording.positions[0, 0], poses["head"][0][3], atol=1e-6)


def test_a_small_clock_step_back_drops_the_frame_before_it(tmp_path):
    song = np.arange(100) / RATE
    song[50] = song[49] - 0.004  # audio clock jitter: 4 ms back

    recording = read_recording(write_synthetic(tmp_path / "j.bsor", 100, times=song))

    assert recording.frame_count == 99
    assert recording.conversion["dropped_repeated_frames"] == 1
    assert (np.diff(recording.times) > 0).all()
    head = synthetic_poses(100)["head"][0]
    np.testing.assert_allclose(recording.positions[0], np.delete(head, 49, axis=0), atol=1e-6)


def test_faster_song_modifier_turns_song_time_into_real_time(tmp_path):
    # FS plays the song at 1.2x: 90 real frames a second advance song time by 1.2/90 each.
    song = np.arange(180) * 1.2 / RATE
    path = write_synthetic(tmp_path / "fs.bsor", 180, times=song, info={"modifiers": "FS,GN"})

    recording = read_recording(path)

    assert recording.conversion["song_speed"] == 1.2
    assert recording.frame_rate == RATE
    np.testing.assert_allclose(recording.times, np.arange(180) / RATE, atol=1e-5)


def test_pause_duration_is_inserted_so_the_resume_is_not_a_teleport(tmp_path):
    frames = 180
    poses = synthetic_poses(frames)
    poses["left"][0][90:] += (0.0, 0.0, 1.5)  # the player walked 1.5 m during the pause
    song = np.arange(frames) / RATE
    write_bsor(tmp_path / "p.bsor", times=song, pauses=[(4, float(song[90]))], **poses)

    recording = read_recording(tmp_path / "p.bsor")

    gap = recording.times[90] - recording.times[89]
    assert gap == pytest.approx(4.0 + 1 / RATE, abs=1e-5)
    assert recording.events.kinds == ["pause"]
    assert recording.events.times[0] == pytest.approx(song[90], abs=1e-5)
    assert json.loads(recording.events.texts()[0]) == {"duration_s": 4.0}
    assert recording.frame_rate == RATE


def test_saber_offsets_are_removed_to_give_controller_poses_and_are_stripped(tmp_path):
    frames = 90
    controllers = synthetic_poses(frames)
    offset_rotation = unit(np.array([0.2, -0.1, 0.05, 1.0]))
    offset_position = np.array([0.01, -0.02, 0.08])
    sabers = {}
    for key in ("left", "right"):
        p, q = controllers[key]
        saber_q = quaternion_multiply(q, offset_rotation)
        sabers[key] = (p + quaternion_rotate(q, np.broadcast_to(offset_position, p.shape)), saber_q)
    offsets = ((offset_position, offset_rotation), (offset_position, offset_rotation))
    write_bsor(
        tmp_path / "o.bsor",
        times=np.arange(frames) / RATE,
        head=controllers["head"],
        saber_offsets=offsets,
        **sabers,
    )

    recording = read_recording(tmp_path / "o.bsor")

    assert recording.conversion["hand_pose"] == "controller (saber offsets removed)"
    np.testing.assert_allclose(recording.positions[1], controllers["left"][0], atol=1e-5)
    np.testing.assert_allclose(recording.rotations[2], controllers["right"][1], atol=1e-5)
    _, report = anonymize(recording)
    assert "saber_offsets" in report.stripped_fields


def test_user_data_is_skipped_and_only_its_name_is_listed(tmp_path):
    marker = b"USER-DATA-MARKER-7f3a"
    path = write_synthetic(tmp_path / "u.bsor", user_data=[("some.mod:key", marker * 10)])

    result = convert_file(path, tmp_path / "out")

    assert "user_data" in result.metadata["anonymization"]["stripped_fields"]
    assert all(marker not in data for data in artifact_bytes(tmp_path / "out").values())


def test_note_wall_height_and_bomb_events_are_decoded_on_the_recording_clock(tmp_path):
    song = 2.0 + np.arange(180) / RATE  # the song clock does not start at zero
    notes = [
        BsorNote(31016, 2.5, 2.48, 0, BsorCut(saber_type=1, time_deviation=0.02, cut_angle=80.0)),
        BsorNote(30204, 2.6, 2.45, 2),
        BsorNote(30999, 2.7, 2.69, 3),  # a bomb: colour -1 makes the id end in ...99
        BsorNote(123456, 2.8, 2.79, 1),  # mapping-extension id, kept raw
    ]
    path = write_synthetic(
        tmp_path / "e.bsor",
        times=song,
        notes=notes,
        walls=[(121, 0.5, 3.0, 2.9)],
        heights=[(1.75, 2.1)],
    )

    events = read_recording(path).events

    decoded = {k: json.loads(d) for k, d in zip(events.kinds, events.texts(), strict=True)}
    np.testing.assert_allclose(events.times, [0.5, 0.6, 0.7, 0.8, 1.0, 0.1], atol=1e-5)
    good = decoded["note_good_cut"]
    assert (good["line_index"], good["line_layer"], good["color"], good["cut_direction"]) == (
        1,
        0,
        "right",
        6,
    )
    assert good["scoring_type"] == 3
    assert good["saber"] == "right"
    assert good["time_deviation_s"] == pytest.approx(0.02)
    assert good["note_time_s"] == pytest.approx(0.48, abs=1e-5)
    assert not {"saber_speed", "cut_point", "cut_normal", "saber_dir"} & set(good)
    assert decoded["note_miss"]["color"] == "left"
    assert decoded["bomb_cut"] == {
        "color": "none",
        "cut_direction": 9,
        "line_index": 1,
        "line_layer": 0,
        "note_time_s": pytest.approx(0.69, abs=1e-5),
        "scoring_type": 3,
    }
    assert decoded["note_bad_cut"]["note_id"] == 123456
    assert decoded["wall_hit"] == {
        "energy": 0.5,
        "line_index": 1,
        "obstacle_type": 2,
        "wall_time_s": pytest.approx(0.9, abs=1e-5),
        "width": 1,
    }
    assert decoded["height"] == {"height_m": pytest.approx(1.75)}


def test_height_events_scale_with_the_body_so_they_do_not_reveal_it(tmp_path):
    path = write_synthetic(tmp_path / "h.bsor", heights=[(1.9, 0.5)])
    recording = read_recording(path)

    scaled, _ = anonymize(recording, body_size="normalize")

    factor = scaled.positions[0, :, 1].max() / recording.positions[0, :, 1].max()
    assert json.loads(scaled.events.texts()[0])["height_m"] == pytest.approx(1.9 * factor, rel=1e-5)
    assert factor != pytest.approx(1.0)


def test_sniff_accepts_the_magic_only(tmp_path):
    from processing.motion.formats.bsor import READER

    data = write_synthetic(tmp_path / "s.bsor").read_bytes()

    assert READER.sniff(data[:64])
    assert not READER.sniff(b"HIERARCHY\n" + data)
    assert not READER.sniff(data[1:64])


def test_name_written_with_a_utf16_length_by_old_builds_is_recovered(tmp_path):
    name = "J\u00fcrgen \u2605 \U0001f3b5"  # 2-, 3- and 4-byte UTF-8 characters
    encoded = name.encode()
    path = write_synthetic(tmp_path / "n.bsor", info={"player_name": name, "mapper": name})
    data = path.read_bytes()
    utf16_units = len(name.encode("utf-16-le")) // 2
    declared = struct.pack("<i", len(encoded)) + encoded
    assert data.count(declared) == 2
    path.write_bytes(data.replace(declared, struct.pack("<i", utf16_units) + encoded))

    recording = read_recording(path)

    assert recording.source_metadata["player_name"] == name
    assert recording.source_metadata["mapper"] == name
    assert recording.source_metadata["difficulty"] == "Normal"


# -- chunked decoding --------------------------------------------------------------------------


def _stalling_replay(path: Path, frames: int = 200) -> Path:
    """Stalled clocks at and across chunk boundaries, hemisphere flips, saber offsets."""
    song = np.arange(frames) / RATE
    for stall in (6, 7, 13, 14, 15, 40):  # frame i repeats its predecessor's song time
        song[stall] = song[stall - 1]
    poses = synthetic_poses(frames)
    head_p, _ = poses["head"]
    # A full turn and more: continuity takes w below zero; the stored signs are arbitrary.
    head_q = yaw_pitch(np.linspace(0.0, 2.5 * np.pi, frames), np.zeros(frames))
    head_q[::5] *= -1.0
    offsets = ((np.array([0.01, -0.02, 0.08]), unit(np.array([0.2, -0.1, 0.05, 1.0]))),) * 2
    write_bsor(
        path,
        times=song,
        head=(head_p, head_q),
        left=poses["left"],
        right=poses["right"],
        saber_offsets=offsets,
        pauses=[(2, float(song[100]))],
    )
    return path


def test_a_near_orthogonal_pair_across_chunks_flips_as_within_one(tmp_path, monkeypatch):
    # Consecutive quaternions whose dot product is ~0 (a half turn in one frame): the sign
    # test must give the same answer across a chunk boundary as inside a chunk.
    first = np.array(
        [-0.7742469906806946, 0.041584793478250504, 0.3860520124435425, 0.49977606534957886],
        np.float32,
    )
    second = np.array(
        [0.20871928334236145, -0.8773984313011169, 0.4268069565296173, 0.06666390597820282],
        np.float32,
    )
    poses = synthetic_poses(10)
    head_q = np.array([first] * 5 + [second] * 5)
    path = tmp_path / "h.bsor"
    write_bsor(
        path,
        times=np.arange(10) / RATE,
        head=(poses["head"][0], head_q),
        left=poses["left"],
        right=poses["right"],
    )
    whole = read_bsor(path)

    monkeypatch.setattr(bsor_format, "_FRAME_CHUNK", 6)  # the pair straddles a boundary

    assert np.array_equal(read_bsor(path).rotations, whole.rotations)


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_chunked_decoding_gives_the_one_pass_result(tmp_path, monkeypatch, chunk):
    path = _stalling_replay(tmp_path / "s.bsor")
    whole = read_bsor(path)  # one window: the file is smaller than a default chunk

    monkeypatch.setattr(bsor_format, "_FRAME_CHUNK", chunk)
    chunked = read_bsor(path)

    assert whole.conversion["dropped_repeated_frames"] == 6
    assert whole.conversion["hand_pose"] == "controller (saber offsets removed)"
    for name in ("times", "positions", "rotations"):
        assert np.array_equal(getattr(chunked, name), getattr(whole, name)), name
    assert (chunked.frame_rate, chunked.conversion) == (whole.frame_rate, whole.conversion)
    assert (np.einsum("fi,fi->f", whole.rotations[0, 1:], whole.rotations[0, :-1]) > 0).all()
    assert whole.rotations[0, -1, 3] < 0


def _back_and_forth(song: np.ndarray) -> None:
    song[30] = song[29] + 0.02  # 29 is kept (30 is later), 30 is not (31 is earlier) ...
    song[31] = song[29] - 0.01  # ... and 31, kept, comes before 29: back by a tolerated 0.03 s


def _two_step_backs(song: np.ndarray) -> None:
    song[50:] -= 0.2  # back 0.2 s at frame 51 ...
    song[90:] -= 0.2  # ... and again at frame 91: the first is reported


@pytest.mark.parametrize("chunk", [1, 2, 3, 64])
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_back_and_forth, "go back and forth"),
        (_two_step_backs, "jumps back by 0.19 s at frame 51"),
    ],
    ids=["back-and-forth", "step-back"],
)
def test_chunked_decoding_refuses_clock_faults_across_chunks(
    tmp_path, monkeypatch, chunk, damage, message
):
    song = np.arange(120) / RATE
    damage(song)
    path = write_synthetic(tmp_path / "z.bsor", 120, times=song)
    monkeypatch.setattr(bsor_format, "_FRAME_CHUNK", chunk)

    with pytest.raises(RejectedRecording) as caught:
        read_bsor(path)

    assert caught.value.code == "motion.time_not_increasing"
    assert message in caught.value.message
