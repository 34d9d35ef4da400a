"""The duplicate-detection corpus: edited copies of a recording and synthetic VR sessions.

Shared by tests/processing/motion/test_motion_fingerprint.py and bench/bench_fingerprint.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from processing.motion.anonymize import anonymize
from processing.motion.convert import read_recording
from processing.motion.model import Recording
from processing.motion.rotations import yaw_matrix, yaw_times
from processing.motion.writers.posestream import write_pose_csv, write_pose_json


def converted(recording: Recording) -> Recording:
    """What the pipeline fingerprints: the anonymized (recentred) recording."""
    return anonymize(recording)[0]


def trimmed(recording: Recording, head: float, tail: float) -> Recording:
    """The recording without its first ``head`` and last ``tail`` shares of frames."""
    n = recording.frame_count
    i, j = int(n * head), n - int(n * tail)
    return replace(
        recording,
        times=recording.times[i:j] - recording.times[i],
        positions=recording.positions[:, i:j].copy(),
        rotations=recording.rotations[:, i:j].copy(),
        events=None,
    )


def resampled(recording: Recording, hz: float) -> Recording:
    """The recording on a regular ``hz`` clock (positions interpolated, rotations nearest)."""
    t = np.arange(0.0, recording.times[-1], 1.0 / hz)
    positions = np.stack(
        [
            np.stack([np.interp(t, recording.times, track[:, c]) for c in range(3)], axis=1)
            for track in recording.positions
        ]
    ).astype(np.float32)
    nearest = np.clip(np.searchsorted(recording.times, t), 0, recording.frame_count - 1)
    return replace(
        recording,
        times=t,
        positions=positions,
        rotations=recording.rotations[:, nearest].copy(),
        frame_rate=hz,
        events=None,
    )


def moved(
    recording: Recording, yaw: float = 0.7, shift: tuple[float, float, float] = (1.3, 0.1, -2.1)
) -> Recording:
    """The recording turned by ``yaw`` about +Y and translated by ``shift`` (metres)."""
    turned = recording.positions.astype(np.float64) @ yaw_matrix(yaw).T + np.asarray(shift)
    return replace(
        recording,
        positions=turned.astype(np.float32),
        rotations=yaw_times(yaw, recording.rotations.astype(np.float64)).astype(np.float32),
    )


def reexported(recording: Recording, folder: Path, kind: str = "csv") -> Recording:
    """The converted recording written as a MetaGen pose stream and read back."""
    c = converted(recording)
    path = folder / f"reexport.{kind}"
    write = write_pose_csv if kind == "csv" else write_pose_json
    write(
        path,
        names=c.tracks,
        roles=c.roles,
        times=c.times,
        positions=c.positions,
        rotations=c.rotations,
    )
    return read_recording(path)


def vr_session(seed: int, *, seconds: float = 20.0, hz: float = 30.0) -> Recording:
    """A synthetic head-and-hands session: a swaying head, hands swinging around the body by
    seeded sums of sinusoids and occasional strikes (Beat Saber-like). Nobody's data."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * hz)) / hz

    def wave(amplitude: float, parts: int = 3) -> np.ndarray:
        freq = rng.uniform(0.1, 1.5, parts)
        phase = rng.uniform(0, 2 * np.pi, parts)
        amp = rng.uniform(0.2, 1.0, parts) * amplitude / parts
        return (amp * np.sin(2 * np.pi * freq * t[:, None] + phase)).sum(axis=1)

    height = rng.uniform(1.5, 1.9)
    head = np.stack([wave(0.15), height + wave(0.08), wave(0.15)], axis=1)
    hands = []
    for side in (-1.0, 1.0):
        strikes = np.zeros_like(t)
        for at in rng.uniform(0, seconds, rng.integers(3, 12)):
            strikes += np.exp(-0.5 * ((t - at) / 0.12) ** 2)
        rest = np.array([side * 0.25, -0.45, -0.3])
        offset = np.stack(
            [wave(0.35), wave(0.5) + 0.6 * strikes, wave(0.35) - 0.3 * strikes], axis=1
        )
        hands.append(head + rest + offset)
    positions = np.stack([head, *hands]).astype(np.float32)
    rotations = np.zeros((3, len(t), 4), dtype=np.float32)
    rotations[..., 3] = 1.0
    return Recording(
        source_format="synthetic",
        tracks=["head", "left", "right"],
        roles=["head", "left_hand", "right_hand"],
        times=t,
        positions=positions,
        rotations=rotations,
        frame_rate=hz,
    )
