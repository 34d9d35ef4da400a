import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from processing.motion import Recording, Skeleton, convert_file, read_recording
from processing.motion.anonymize import anonymize
from processing.motion.preview import (
    build_motion_preview,
    render_motion_preview,
    render_preview_svg,
)
from processing.motion.synthetic import synthetic_bvh
from tests.processing.motion.test_motion_bsor_reader import SAMPLE2, needs_samples, sample_parse
from tests.processing.motion.test_motion_posestream_samples import write_json

SVG = "{http://www.w3.org/2000/svg}"


def _recording(tmp_path: Path, seed: int = 0):  # type: ignore[no-untyped-def]
    src = tmp_path / "take.bvh"
    src.write_text(synthetic_bvh(seconds=3, fps=60, seed=seed))
    recording, _report = anonymize(read_recording(src), body_size="keep")
    return recording


def test_preview_draws_head_and_both_hands_in_two_views(tmp_path):
    svg = ET.fromstring(render_preview_svg(_recording(tmp_path)))
    polylines = svg.findall(f"{SVG}polyline")
    assert len(polylines) == 2 * 3  # top and front view, for head, left hand, right hand
    assert svg.find(f"{SVG}title").text == "Trajectories: head · left hand · right hand"
    for line in polylines:
        points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        assert len(points) == 180
        assert all(0 <= x <= 440 and 0 <= y <= 220 for x, y in points)


def test_preview_is_byte_identical_for_the_same_recording_and_differs_for_another(tmp_path):
    first = render_preview_svg(_recording(tmp_path, seed=1))
    assert render_preview_svg(_recording(tmp_path, seed=1)) == first
    assert render_preview_svg(_recording(tmp_path, seed=2)) != first


def test_convert_writes_the_preview_beside_the_table(tmp_path):
    src = tmp_path / "take.bvh"
    src.write_text(synthetic_bvh(seconds=2, fps=60, seed=4))
    result = convert_file(src, tmp_path / "out")
    assert result.artifacts["preview.svg"].read_text().startswith("<svg")


# -- preview.json: the poses for the 3D replay -----------------------------------------------------


def _motion_preview(result):  # type: ignore[no-untyped-def]
    return json.loads(result.artifacts["preview.json"].read_bytes())


def test_motion_preview_holds_the_anonymized_poses_at_most_30_fps_with_facts_and_skeleton(
    tmp_path,
):
    src = tmp_path / "take.bvh"
    src.write_text(synthetic_bvh(seconds=3, fps=60, seed=5))
    result = convert_file(src, tmp_path / "out")
    preview = _motion_preview(result)

    assert preview["facts"] == {
        "source_format": "bvh",
        "duration_s": 3.0,
        "frame_rate": 60.0,
        "frame_count": 180,
        "tracks": 10,
    }
    assert [t["name"] for t in preview["tracks"]] == [t["name"] for t in result.metadata["tracks"]]
    assert [t["role"] for t in preview["tracks"]] == [t["role"] for t in result.metadata["tracks"]]
    assert [t["parent"] for t in preview["tracks"]] == [None, 0, 1, 2, 1, 4, 5, 1, 7, 8]
    assert preview["tracks_omitted"] == 0
    assert preview["units"] == {"length": "mm", "time": "ms"}
    times = np.array(preview["times_ms"])
    assert len(times) == 90  # 60 fps halved to 30, spread over the whole take
    assert times[0] == 0
    assert times[-1] == round(179 / 60 * 1000)
    assert (np.diff(times) >= 33).all()
    assert all(len(frame) == 10 * 3 for frame in preview["positions_mm"])
    # Exactly what researchers get in motion.parquet, to the millimetre.
    table = pq.read_table(result.artifacts["motion.parquet"], filters=[("track", "=", "Head")])
    assert table.column("frame").to_pylist() == list(range(180))
    frames = np.rint(times / 1000 * 60).astype(int)
    head = np.stack([table.column(c).to_numpy().astype(np.float64) for c in ("px", "py", "pz")], 1)
    expected = np.rint(head[frames] * 1000)
    got = np.array(preview["positions_mm"])[:, 3 * 3 : 3 * 3 + 3]
    np.testing.assert_array_equal(got, expected)
    every = np.array(preview["positions_mm"]).reshape(-1, 3)
    low, high = every.min(axis=0), every.max(axis=0)
    assert preview["bounds_mm"] == {"min": low.tolist(), "max": high.tolist()}


def test_motion_preview_is_byte_identical_for_the_same_input_and_differs_for_another(tmp_path):
    def convert(seed: int, out: str) -> bytes:
        src = tmp_path / f"take-{seed}.bvh"
        src.write_text(synthetic_bvh(seconds=2, fps=60, seed=seed))
        return convert_file(src, tmp_path / out).artifacts["preview.json"].read_bytes()

    first = convert(1, "a")
    assert convert(1, "b") == first
    assert convert(2, "c") != first
    assert b" " not in first  # compact
    assert first == json.dumps(json.loads(first), sort_keys=True, separators=(",", ":")).encode()


def _big_recording(*, tracks: int, seconds: float, rate: float) -> Recording:
    frames = int(seconds * rate)
    rng = np.random.default_rng(0)
    positions = rng.uniform(-2.5, 2.5, size=(tracks, frames, 3)).astype(np.float32)
    rotations = np.zeros((tracks, frames, 4), dtype=np.float32)
    rotations[..., 3] = 1
    names = [f"j{i}" for i in range(tracks)]
    roles = ["joint"] * tracks
    roles[tracks - 1] = "head"  # the head is listed last: it still gets a place
    parents = np.array([-1, *range(tracks - 1)], dtype=np.int32)  # a chain
    skeleton = Skeleton(joints=names, parents=parents, offsets=np.zeros((tracks, 3)))
    return Recording(
        source_format="bvh",
        tracks=names,
        roles=roles,
        times=np.arange(frames) / rate,
        positions=positions,
        rotations=rotations,
        frame_rate=rate,
        skeleton=skeleton,
    )


def test_motion_preview_of_the_largest_recording_is_bounded_in_frames_tracks_and_bytes():
    recording = _big_recording(tracks=256, seconds=600, rate=240.0)

    text = render_motion_preview(recording)
    preview = json.loads(text)

    assert len(preview["times_ms"]) == 1800
    assert preview["times_ms"][0] == 0
    assert preview["times_ms"][-1] == round(recording.times[-1] * 1000)
    assert len(preview["tracks"]) == 64
    assert preview["tracks_omitted"] == 192
    assert [t["name"] for t in preview["tracks"]][-2:] == ["j62", "j255"]
    # The head's parent chain runs through omitted joints: it hangs from the last one kept.
    assert preview["tracks"][-1] == {"name": "j255", "role": "head", "parent": 62}
    assert all(len(frame) == 64 * 3 for frame in preview["positions_mm"])
    assert all(-2500 <= v <= 2500 for frame in preview["positions_mm"] for v in frame)
    assert len(text.encode()) < 2_500_000


def test_motion_preview_of_a_short_low_rate_recording_keeps_every_frame():
    recording = _big_recording(tracks=3, seconds=1, rate=20.0)
    preview = build_motion_preview(recording)
    assert preview["times_ms"] == [round(i * 50) for i in range(20)]


def test_motion_preview_without_a_skeleton_has_no_parents(tmp_path):
    path = write_json(tmp_path / "take.json")
    preview = _motion_preview(convert_file(path, tmp_path / "out"))
    assert [t["parent"] for t in preview["tracks"]] == [None, None, None]
    assert {t["role"] for t in preview["tracks"]} == {"head", "left_hand", "right_hand"}


def test_motion_preview_holds_nothing_identifying_from_the_input(tmp_path):
    secrets = {
        "user": {"name": "Alice Donorova", "email": "alice@example.org"},
        "device": "Quest 3 serial 2G0YC5ZF9K0B1X",
        "session": "session-7f3a9c",
        "recorded_at": "2031-04-05T10:11:12Z",
    }
    path = write_json(
        tmp_path / "take.json",
        start_time=1_900_000_000.25,
        extra=secrets,
        events=[{"t": 0.5, "kind": "pause", "data": {"reason": "phone call from Carol"}}],
    )

    preview = convert_file(path, tmp_path / "out").artifacts["preview.json"].read_bytes()

    for needle in (b"Alice", b"alice@", b"2G0YC5ZF9K0B1X", b"7f3a9c", b"2031", b"Carol",
                   b"1900000000", b"Quest"):  # fmt: skip
        assert needle not in preview
    assert json.loads(preview)["times_ms"][0] == 0  # relative times, not the absolute start


@needs_samples
def test_motion_preview_of_a_real_replay_holds_not_the_players_id_or_name(tmp_path):
    info = sample_parse(SAMPLE2).info
    needles = [info.playerId.encode(), info.playerName.encode()]
    assert all(needles)

    preview = convert_file(SAMPLE2, tmp_path / "out").artifacts["preview.json"].read_bytes()

    leaked = any(needle in preview for needle in needles)
    assert not leaked, "an identifying value of the replay is in preview.json"
    assert len(json.loads(preview)["times_ms"]) == 1800
