"""Shared helpers for the XROR tests (no tests here): sample paths, raw decoding, small files.

The real sample1.xror holds a real player's platform id and name. Helpers never print values
from its ``info``; tests take them from the input at test time and assert only booleans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bson
import fpzip
import numpy as np
import pytest

from processing.motion.model import Events
from processing.motion.rotations import make_continuous
from processing.motion.writers.xror import write_xror, xror_document
from tests.processing.motion.motion_bvh_samples import SHARED_SAMPLES

SAMPLE1 = SHARED_SAMPLES / "xror" / "sample1.xror"
TILT = SHARED_SAMPLES / "xror" / "tilt_sample.xror"
BSOR_SAMPLE1 = SHARED_SAMPLES / "bsor" / "xror_sample1.bsor"
needs_samples = pytest.mark.skipif(
    not SHARED_SAMPLES.exists(), reason="/work/shared real samples are not mounted here"
)
TRACKS = [("head", "head"), ("left_hand", "left_hand"), ("right_hand", "right_hand")]
RATE = 72.0


def raw_document(path: Path) -> dict[str, Any]:
    """The file's BSON document as the reference library decodes it (trusted input only)."""
    document: dict[str, Any] = bson.decode(path.read_bytes())
    return document


def table(blob: bytes) -> np.ndarray:
    """An fpzip blob as its (rows, columns) float64 table (trusted input only)."""
    array = fpzip.decompress(blob)
    return array.reshape(array.shape[-2], array.shape[-1]).astype(np.float64)


def compress(rows: np.ndarray) -> bytes:
    return fpzip.compress(np.ascontiguousarray(rows, dtype=np.float32))


def small_motion(frames: int = 120, seed: int = 0) -> dict[str, Any]:
    """Canonical head and hands: smooth, plausible, nobody's data."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / RATE
    wave = np.sin(2 * np.pi * 0.5 * t)
    positions = np.stack(
        [
            np.column_stack([0.05 * wave, 1.65 + 0.01 * wave, -0.02 * wave]),
            np.column_stack([-0.25 + 0.1 * wave, 1.1 + 0.05 * wave, -0.3 + 0.0 * t]),
            np.column_stack([0.25 - 0.1 * wave, 1.1 - 0.05 * wave, -0.3 + 0.0 * t]),
        ]
    )
    q = rng.standard_normal((3, 1, 4)) + 0.03 * np.cumsum(rng.standard_normal((3, frames, 4)), 1)
    q /= np.linalg.norm(q, axis=2, keepdims=True)
    return {
        "times": t,
        "tracks": TRACKS,
        "positions": positions,
        "rotations": make_continuous(q),
    }


def small_events() -> Events:
    return Events(
        times=np.array([0.25, 0.5, 1.0]),
        kinds=["note_miss", "wall_hit", "pause"],
        data=[
            '{"color": "left", "cut_direction": 1, "line_index": 2, "line_layer": 0, '
            '"note_time_s": 0.2, "scoring_type": 1}',
            '{"energy": 0.5, "line_index": 1, "obstacle_type": 0, "wall_time_s": 0.4, "width": 1}',
            '{"duration_s": 2.0}',
        ],
    )


def small_document(**overrides: Any) -> dict[str, Any]:
    """A valid XROR document (writer output) to edit into bad files."""
    arguments = {**small_motion(), "events": small_events(), **overrides}
    return xror_document(**arguments)


def write_small(path: Path, **overrides: Any) -> Path:
    arguments = {**small_motion(), "events": small_events(), **overrides}
    return write_xror(path, **arguments)


def encode(document: dict[str, Any]) -> bytes:
    return bson.encode(document)
