"""One canonical recording, written in every format we read, reads back to the same poses.

Each writer converts canonical poses into its format's own conventions (Unity's left-handed
frame for BSOR and XROR, declared axes and units for pose streams, Euler angles for BVH and
A-Frame); agreement here means every reader undoes its format's conventions the same way.
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from processing.motion import read_recording
from processing.motion.formats.posejson import FrameDeclaration
from processing.motion.writers.bsor import write_bsor
from processing.motion.writers.posestream import write_aframe_json, write_pose_csv, write_pose_json
from processing.motion.writers.xror import write_xror

RATE = 90
FRAMES = 3 * RATE
ROLES = ("head", "left_hand", "right_hand")


def _quaternions(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Unit quaternions (F, 4) xyzw of yaw about Y, then pitch about X, then roll about Z."""

    def axis(angle: np.ndarray, i: int) -> np.ndarray:
        q = np.zeros((angle.size, 4))
        q[:, i] = np.sin(angle / 2)
        q[:, 3] = np.cos(angle / 2)
        return q

    return _multiply(_multiply(axis(yaw, 1), axis(pitch, 0)), axis(roll, 2))


def _multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az, aw = a.T
    bx, by, bz, bw = b.T
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=1,
    )


def _canonical() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times (F,), positions (3, F, 3) and rotations (3, F, 4) of head, left and right hand."""
    t = np.arange(FRAMES) / RATE
    head = np.stack([0.1 * np.sin(t), 1.6 + 0.02 * np.sin(3 * t), -0.05 * t], axis=1)
    left = np.stack([-0.3 + 0.2 * np.sin(2 * t), 1.1 + 0.1 * np.cos(t), -0.3 - 0.1 * t], axis=1)
    right = np.stack([0.3 + 0.2 * np.cos(2 * t), 1.2 - 0.1 * np.sin(t), -0.4 + 0.05 * t], axis=1)
    rotations = np.stack(
        [
            _quaternions(0.4 * np.sin(t), 0.2 * np.cos(t), 0.05 * t),
            _quaternions(0.8 * np.sin(2 * t), -0.3 + 0.2 * t, 0.5 * np.cos(t)),
            _quaternions(-0.6 * np.cos(t), 0.4 * np.sin(3 * t), -0.2 * t),
        ]
    )
    return t, np.stack([head, left, right]), rotations


def _bvh(path: Path, t: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
    """Head and hands as children of a still root, with position and ZXY rotation channels.

    BVH content faces +Z (the reader turns it to -Z by conjugating with a half turn about Y),
    so canonical poses are written turned: p -> (-x, y, -z), q -> (-qx, qy, -qz, qw).
    """
    p = p * np.array([-1.0, 1.0, -1.0])
    q = q * np.array([-1.0, 1.0, -1.0, 1.0])
    x, y, z, w = (q[..., i] for i in range(4))
    # R = Rz(a) Rx(b) Ry(c): R21 = sin b, R01 = -sin a cos b, R11 = cos a cos b,
    # R20 = -cos b sin c, R22 = cos b cos c.
    r21 = 2 * (y * z + w * x)
    r01 = 2 * (x * y - w * z)
    r11 = 1 - 2 * (x * x + z * z)
    r20 = 2 * (x * z - w * y)
    r22 = 1 - 2 * (x * x + y * y)
    euler = np.degrees(
        np.stack([np.arctan2(-r01, r11), np.arcsin(np.clip(r21, -1, 1)), np.arctan2(-r20, r22)], -1)
    )
    joints = [
        ("Head", (0.0, 1.6, 0.0)),
        ("LeftHand", (0.3, 1.0, 0.0)),
        ("RightHand", (-0.3, 1.0, 0.0)),
    ]
    lines = [
        "HIERARCHY",
        "ROOT Origin",
        "{",
        "  OFFSET 0 0 0",
        "  CHANNELS 3 Zrotation Xrotation Yrotation",
    ]
    for name, offset in joints:
        lines += [
            f"  JOINT {name}", "  {", f"    OFFSET {offset[0]} {offset[1]} {offset[2]}",
            "    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
            "    End Site", "    {", "      OFFSET 0 0.05 0", "    }", "  }",
        ]  # fmt: skip
    lines += ["}", "MOTION", f"Frames: {t.size}", f"Frame Time: {1 / RATE:.9f}"]
    values = np.concatenate(
        [np.zeros((t.size, 3))] + [np.hstack([p[k], euler[k]]) for k in range(3)], axis=1
    )
    lines += [" ".join(f"{v:.7f}" for v in row) for row in values]
    path.write_text("\n".join(lines) + "\n")


def _bsor(path: Path, t: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
    write_bsor(path, times=t, head=(p[0], q[0]), left=(p[1], q[1]), right=(p[2], q[2]))


def _xror(path: Path, t: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
    tracks = list(zip(("head", "left", "right"), ROLES, strict=True))
    write_xror(path, times=t, tracks=tracks, positions=p, rotations=q)


def _pose_json(path: Path, t: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
    unity_like = FrameDeclaration(
        length="cm", time="ms", handedness="left", up="+Y", forward="+Z", quaternion_order="wxyz"
    )
    write_pose_json(
        path, names=["h", "l", "r"], roles=ROLES, times=t, positions=p, rotations=q,
        declaration=unity_like,
    )  # fmt: skip


def _pose_csv(path: Path, t: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
    z_up = FrameDeclaration(length="mm", handedness="right", up="+Z", forward="+Y")
    write_pose_csv(
        path, names=["h", "l", "r"], roles=ROLES, times=t, positions=p, rotations=q,
        declaration=z_up,
    )  # fmt: skip


def _aframe(path: Path, t: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
    write_aframe_json(path, roles=ROLES, times=t, positions=p, rotations=q)


WRITERS: dict[str, Callable[[Path, np.ndarray, np.ndarray, np.ndarray], None]] = {
    "bvh": _bvh,
    "bsor": _bsor,
    "xror": _xror,
    "pose_json": _pose_json,
    "pose_csv": _pose_csv,
    "aframe": _aframe,
}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_format_reads_back_to_the_same_canonical_poses(tmp_path, fmt):
    t, positions, rotations = _canonical()
    src = tmp_path / f"take.{fmt}"
    WRITERS[fmt](src, t, positions, rotations)

    recording = read_recording(src)

    assert recording.frame_count == FRAMES
    assert recording.frame_rate == pytest.approx(RATE, rel=1e-3)
    np.testing.assert_allclose(recording.times, t, atol=1e-4)
    for k, role in enumerate(ROLES):
        track = recording.roles.index(role)
        np.testing.assert_allclose(recording.positions[track], positions[k], atol=2e-4)
        # q and -q are the same rotation: compare |<q, q'>| with 1.
        dots = np.abs((recording.rotations[track] * rotations[k]).sum(axis=1))
        np.testing.assert_allclose(dots, 1.0, atol=1e-4)
