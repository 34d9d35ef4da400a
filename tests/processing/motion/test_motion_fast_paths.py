"""The performance paths give the same results as the straightforward ones they replace."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from processing.motion import convert_file
from processing.motion.anonymize import anonymize_deferred, anonymize_in_place
from processing.motion.columns import arrow_array
from processing.motion.formats.bsor import _ORIGIN_PEEK, _median, read_bsor
from processing.motion.limits import MAX_SPEED_M_S
from processing.motion.model import Recording
from processing.motion.tables import MOTION_SCHEMA, motion_table
from processing.motion.validate import _track_jumps
from processing.motion.writers.bsor import BsorNote, write_bsor

RATE = 90.0


def _poses(frames: int, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / RATE
    out = {}
    for k, key in enumerate(("head", "left", "right")):
        p = np.stack(
            [0.1 * np.sin(t + k), 1.2 + 0.3 * (k == 0) + 0 * t, -0.2 + 0.05 * np.cos(t)], 1
        )
        q = rng.normal(size=4) + np.zeros((frames, 4))
        q += 0.01 * np.stack([np.sin(t * (i + 1)) for i in range(4)], 1)
        out[key] = (p, q / np.linalg.norm(q, axis=1, keepdims=True))
    return out


def _replay(path: Path, song: np.ndarray, notes: list[BsorNote]) -> None:
    write_bsor(path, times=song, notes=notes, **_poses(song.shape[0]))


def _mixed_notes(count: int) -> list[BsorNote]:
    # every event type, so records of 16 and 88 bytes alternate irregularly
    kinds = [0, 2, 0, 1, 3, 0, 0, 2, 1, 3, 3, 0]
    return [
        BsorNote(
            31016 - 10 * (kinds[i % len(kinds)] == 3),
            1.0 + i * 0.05,
            0.9 + i * 0.05,
            kinds[i % len(kinds)],
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("body_size", ["keep", "normalize", "noise"])
def test_deferred_anonymization_matches_the_in_place_one(body_size):
    rng = np.random.default_rng(3)
    frames = 500
    q = rng.normal(size=(3, frames, 4)).astype(np.float32)
    q /= np.linalg.norm(q, axis=2, keepdims=True)
    recording = Recording(
        source_format="test",
        tracks=["head", "left_hand", "right_hand"],
        roles=["head", "left_hand", "right_hand"],
        times=np.arange(frames) / RATE,
        positions=(rng.normal(size=(3, frames, 3)) + np.array([0.0, 1.6, 0.0])).astype(np.float32),
        rotations=q,
        frame_rate=RATE,
    )
    copy = replace(
        recording, positions=recording.positions.copy(), rotations=recording.rotations.copy()
    )
    eager, eager_report = anonymize_in_place(recording, body_size=body_size, seed=7)
    deferred, report, finish_track = anonymize_deferred(copy, body_size=body_size, seed=7)
    for track in (2, 0, 1):  # any order
        finish_track(track)
    assert report == eager_report
    np.testing.assert_array_equal(deferred.positions, eager.positions)
    np.testing.assert_array_equal(deferred.rotations, eager.rotations)


def test_median_is_numpys():
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 4, 101, 1000):
        values = rng.random(n)
        assert _median(values) == np.median(values)


def test_arrow_array_is_pa_array_for_numbers():
    for dtype in (np.float64, np.float32, np.int64, np.int32):
        values = np.arange(10, dtype=dtype)[::2]  # strided: copied first
        assert arrow_array(values).to_pylist() == values.tolist()


def test_notes_of_every_size_are_found(tmp_path):
    song = np.arange(400) / RATE
    notes = _mixed_notes(60)
    _replay(tmp_path / "a.bsor", song, notes)
    events = read_bsor(tmp_path / "a.bsor").events
    assert events is not None
    kinds = ["note_good_cut", "note_bad_cut", "note_miss", "bomb_cut"]
    assert events.kinds == [kinds[n.event_type] for n in notes]


def test_origin_beyond_the_peek_gives_the_same_events(tmp_path):
    # the song clock stands still for more frames than are read ahead: the events are made
    # after the frames, on the same clock
    stalled = _ORIGIN_PEEK + 10
    song = np.concatenate([np.zeros(stalled), 0.5 + np.arange(300) / RATE])
    _replay(tmp_path / "late.bsor", song, _mixed_notes(20))
    _replay(tmp_path / "early.bsor", song[stalled - 1 :], _mixed_notes(20))
    late, early = read_bsor(tmp_path / "late.bsor"), read_bsor(tmp_path / "early.bsor")
    assert late.conversion["dropped_repeated_frames"] == stalled - 1
    assert late.events is not None
    assert early.events is not None
    assert late.events.texts() == early.events.texts()
    np.testing.assert_array_equal(late.events.times, early.events.times)


def test_written_motion_reads_back_as_the_motion_table(tmp_path):
    song = np.arange(300) / RATE
    _replay(tmp_path / "r.bsor", song, _mixed_notes(10))
    result = convert_file(tmp_path / "r.bsor", tmp_path / "out")
    table = pq.read_table(result.artifacts["motion.parquet"])
    assert table.schema.equals(MOTION_SCHEMA)
    recording = read_bsor(tmp_path / "r.bsor")
    anonymized, _ = anonymize_in_place(recording)
    assert table.equals(motion_table(anonymized))


def _plain_jumps(positions: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The speed rule's jumps by the plain float64 formula, every step's speed computed."""
    moved = np.diff(positions.astype(np.float64), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.sqrt(np.einsum("ij,ij->i", moved, moved)) / steps
    at = np.flatnonzero(speed > MAX_SPEED_M_S)
    return at, speed[at]


@pytest.mark.parametrize("seed", range(4))
def test_screened_jumps_are_the_plain_formulas_jumps(seed):
    rng = np.random.default_rng(seed)
    frames = 5000
    steps = np.full(frames - 1, 1 / 90) * rng.uniform(0.5, 1.5, frames - 1)
    steps[[10, 11]] = [0.0, -0.01]  # a stalled and a backward clock: inf and negative speeds
    moves = rng.normal(0.0, 0.05, (frames - 1, 3))
    # Steps right at the limit, a hair either side of it (what float32 rounding would blur).
    edge = rng.choice(frames - 1, 300, replace=False)
    direction = rng.normal(size=(300, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    factor = rng.choice([1 - 1e-6, 1 - 1e-7, 1.0, 1 + 1e-7, 1 + 1e-6], 300)
    moves[edge] = direction * (MAX_SPEED_M_S * steps[edge] * factor)[:, None]
    positions = np.concatenate([[[0.0, 1.6, 0.0]], 1.6 + np.cumsum(moves, axis=0)])
    positions = positions.astype(np.float32)
    positions[4000] = np.nan

    jumps = _track_jumps(positions, steps)

    at, speed = _plain_jumps(positions, steps)
    assert at.size > 100  # the edge cases straddle the limit: many are jumps
    np.testing.assert_array_equal(jumps.at, at)
    np.testing.assert_array_equal(jumps.speed, speed)
