"""convert_file's streamed path (BSOR): blocks checked, anonymized and written while the replay
is still read must give the bytes, the verdicts and the messages of converting it whole.

Block and chunk sizes are shrunk so that a few hundred frames make several blocks and the
reader hands over frames in several steps.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from processing.motion import RejectedRecording, convert_file, read_recording
from processing.motion import convert as convert_module
from processing.motion import tables as tables_module
from processing.motion.formats import bsor as bsor_format
from processing.motion.formats.bsor import read_bsor
from processing.motion.validate import checked
from processing.motion.writers.bsor import BsorNote, write_bsor
from tests.processing.motion.test_motion_bsor_reader import (
    RATE,
    _stalling_replay,
    synthetic_poses,
)

validate_module = importlib.import_module("processing.motion.validate")  # the package
# re-exports a function of the same name

BLOCK = 64


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(validate_module, "_CHUNK_FRAMES", BLOCK // 2)
    monkeypatch.setattr(tables_module, "BLOCK_FRAMES", BLOCK)
    monkeypatch.setattr(bsor_format, "_FRAME_CHUNK", 23)


def _whole(path: Path, out: Path) -> dict[str, bytes]:
    """The reference: read and checked whole, then converted."""
    convert_module.convert_recording(checked(read_bsor(path)), out)
    return _artifacts(out)


def _artifacts(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _replay(path: Path, song: np.ndarray, *, head_position=None) -> Path:
    poses = synthetic_poses(song.shape[0])
    if head_position is not None:
        poses["head"] = (head_position, poses["head"][1])
    notes = [BsorNote(10000 + i, float(t), float(t) - 0.5, i % 4) for i, t in enumerate(song[::9])]
    write_bsor(path, times=song, notes=notes, heights=[(1.7, 0.5)], **poses)
    return path


def _rejection(call) -> RejectedRecording:
    with pytest.raises(RejectedRecording) as caught:
        call()
    return caught.value


def test_streamed_conversion_writes_the_bytes_of_the_whole_conversion(tmp_path):
    path = _stalling_replay(tmp_path / "s.bsor", frames=300)

    result = convert_file(path, tmp_path / "streamed")

    assert _artifacts(tmp_path / "streamed") == _whole(path, tmp_path / "whole")
    assert result.metadata["frame_count"] == 294  # 6 stalled frames dropped
    assert result.metadata["artifact"]["frame_block"] == BLOCK


def test_row_groups_are_one_track_of_one_block_and_each_track_reads_back_in_order(tmp_path):
    path = _replay(tmp_path / "r.bsor", np.arange(200) / RATE)

    result = convert_file(path, tmp_path / "out")

    parquet = pq.ParquetFile(result.artifacts["motion.parquet"])
    layout = []
    for index in range(parquet.metadata.num_row_groups):
        group = parquet.read_row_group(index, columns=["track", "frame"])
        assert len(set(group.column("track").to_pylist())) == 1
        frames = group.column("frame").to_pylist()
        layout.append((group.column("track")[0].as_py(), frames[0], frames[-1]))
    tracks = ["head", "left_hand", "right_hand"]
    blocks = [(0, 63), (64, 127), (128, 191), (192, 199)]
    assert layout == [(track, *block) for block in blocks for track in tracks]
    assert result.metadata["artifact"]["order"] == ["frame_block", "track", "frame"]
    head = pq.read_table(result.artifacts["motion.parquet"], filters=[("track", "=", "head")])
    assert head.column("frame").to_pylist() == list(range(200))


def test_a_jump_in_a_late_block_is_refused_as_the_whole_path_refuses_it(tmp_path):
    head = synthetic_poses(300)["head"][0].copy()
    head[250:] += np.array([0.0, 0.0, 3.0])  # the head jumps 3 m between frames 249 and 250
    path = _replay(tmp_path / "t.bsor", np.arange(300) / RATE, head_position=head)
    out = tmp_path / "out"

    streamed = _rejection(lambda: convert_file(path, out))

    whole = _rejection(lambda: read_recording(path))
    assert (streamed.code, streamed.message) == (whole.code, whole.message)
    assert streamed.code == "motion.implausible_speed"
    assert not out.exists()  # blocks were written, then discarded with the folder made for them


def test_a_refusal_leaves_a_folder_that_existed_empty(tmp_path):
    head = synthetic_poses(300)["head"][0].copy()
    head[280, 1] = np.nan  # a damaged value in the last block
    path = _replay(tmp_path / "n.bsor", np.arange(300) / RATE, head_position=head)
    out = tmp_path / "out"
    out.mkdir()

    streamed = _rejection(lambda: convert_file(path, out))

    assert streamed.code == _rejection(lambda: read_recording(path)).code == "motion.non_finite"
    assert list(out.iterdir()) == []


def test_a_clock_fault_found_after_blocks_were_written_is_the_readers_refusal(tmp_path):
    song = np.arange(300) / RATE
    song[260:] -= 0.5  # the song restarts: a reader rule, checked over the whole frame block
    path = _replay(tmp_path / "c.bsor", song)

    streamed = _rejection(lambda: convert_file(path, tmp_path / "out"))

    whole = _rejection(lambda: read_bsor(path))
    assert (streamed.code, streamed.message) == (whole.code, whole.message)
    assert not (tmp_path / "out").exists()


def test_a_leading_jump_is_dropped_by_converting_the_replay_whole(tmp_path):
    head = synthetic_poses(300)["head"][0].copy()
    head[0] = [0.0, 0.0, 0.0]  # the tracker's first frame, before it locked on
    path = _replay(tmp_path / "j.bsor", np.arange(300) / RATE, head_position=head)

    result = convert_file(path, tmp_path / "streamed")

    assert result.metadata["conversion"]["dropped_leading_frames"] == 1
    assert result.metadata["frame_count"] == 299
    assert _artifacts(tmp_path / "streamed") == _whole(path, tmp_path / "whole")


def test_damaged_values_in_the_first_block_are_refused_by_the_whole_paths_rules(tmp_path):
    song = np.arange(300) / RATE
    song[200:] -= 0.5  # a reader rule broken later on ...
    head = synthetic_poses(300)["head"][0].copy()
    head[3, 0] = np.inf  # ... and a damaged value first: the reader's refusal comes first
    path = _replay(tmp_path / "d.bsor", song, head_position=head)

    streamed = _rejection(lambda: convert_file(path, tmp_path / "out"))

    whole = _rejection(lambda: read_recording(path))
    assert (streamed.code, streamed.message) == (whole.code, whole.message)
    assert streamed.code == "motion.time_not_increasing"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "song", [np.zeros(1), np.full(50, 1.0)], ids=["one-frame", "all-at-one-time"]
)
def test_a_replay_that_keeps_one_frame_converts_as_whole(tmp_path, song):
    path = tmp_path / "o.bsor"
    write_bsor(path, times=song, **synthetic_poses(song.shape[0]))

    result = convert_file(path, tmp_path / "streamed")

    assert result.metadata["frame_count"] == 1
    assert _artifacts(tmp_path / "streamed") == _whole(path, tmp_path / "whole")


def test_a_refusal_removes_every_folder_it_made(tmp_path):
    head = synthetic_poses(300)["head"][0].copy()
    head[250:] += np.array([0.0, 0.0, 3.0])
    path = _replay(tmp_path / "t.bsor", np.arange(300) / RATE, head_position=head)

    _rejection(lambda: convert_file(path, tmp_path / "a" / "b" / "out"))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.bsor"]


def test_a_failing_disk_raises_its_own_error_and_leaves_nothing(tmp_path, monkeypatch):
    path = _replay(tmp_path / "r.bsor", np.arange(300) / RATE)
    real = tables_module.pa.output_stream
    # Every write fails as on a full disk; closing the stream fails the same way again.
    monkeypatch.setattr(
        tables_module.pa, "output_stream", lambda _path, **_: real("/dev/full", buffer_size=1024)
    )

    with pytest.raises(OSError, match="No space left on device") as caught:
        convert_file(path, tmp_path / "out")

    # The write's own error, not the same failure again from cleaning up after it.
    assert "abort" not in [entry.name for entry in caught.traceback]
    assert not (tmp_path / "out").exists()
