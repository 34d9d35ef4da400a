"""Shared helpers for the motion-library tests: sample paths and a tiny BVH writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_SAMPLES = REPO_ROOT.parent / "shared" / "samples" / "real"

CMU = DATA / "cmu_01_01_fairmotion.bvh"
PFNN = DATA / "pfnn_hierarchy_fairmotion.bvh"
SINUSOIDAL = DATA / "sinusoidal_fairmotion.bvh"

# Two bones along +X: root at the origin, "mid" 1 m out, "tip" 1 m further.
CHAIN_HIERARCHY = """HIERARCHY
ROOT root
{
\tOFFSET 0 0 0
\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
\tJOINT mid
\t{
\t\tOFFSET 1 0 0
\t\tCHANNELS 3 Zrotation Xrotation Yrotation
\t\tJOINT tip
\t\t{
\t\t\tOFFSET 1 0 0
\t\t\tCHANNELS 3 Zrotation Xrotation Yrotation
\t\t\tEnd Site
\t\t\t{
\t\t\t\tOFFSET 0.1 0 0
\t\t\t}
\t\t}
\t}
}
"""


def motion_text(rows: list[list[float]] | np.ndarray, frame_time: str = "0.0333333") -> str:
    lines = [" ".join(f"{v:.9g}" for v in row) for row in rows]
    return f"MOTION\nFrames: {len(lines)}\nFrame Time: {frame_time}\n" + "\n".join(lines) + "\n"


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# Independent reference maths (matrices, float64) to check the library's quaternion path.
def axis_matrix(axis: str, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return {
        "X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


def quaternion_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


# BVH's assumed +Z rest facing becomes -Z: half a turn about +Y.
HALF_TURN = np.diag([-1.0, 1.0, -1.0])
