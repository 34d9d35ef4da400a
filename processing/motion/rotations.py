"""Vectorised rotation maths. Quaternions are (x, y, z, w), Hamilton convention, acting on column
vectors the same way the matching rotation matrix does.

The hot path (BVH forward kinematics) works component-first ("_c" functions: arrays shaped
(4, N) and (3, N)) so every arithmetic step runs on contiguous rows; the plain functions take the
usual (..., 4) layout and are for the small arrays elsewhere.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np

from processing.motion.model import Float32Array, Float64Array

FloatArrayT = TypeVar("FloatArrayT", Float32Array, Float64Array)

_AXIS_INDEX = {"X": 0, "Y": 1, "Z": 2}


def quaternion_multiply_c(a: Float64Array, b: Float64Array) -> Float64Array:
    """Hamilton product a * b (rotate by b, then by a), component-first (4, ...)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def quaternion_rotate_c(q: Float64Array, v: Float64Array) -> Float64Array:
    """Rotate vectors v (3, ...) by unit quaternions q (4, ...): v + 2w(u x v) + 2u x (u x v)."""
    x, y, z, w = q
    vx, vy, vz = v
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    return np.stack(
        [
            vx + w * tx + (y * tz - z * ty),
            vy + w * ty + (z * tx - x * tz),
            vz + w * tz + (x * ty - y * tx),
        ]
    )


def euler_to_quaternion_c(axes: str, angles_deg: Float64Array) -> Float64Array:
    """Intrinsic Euler rotations in the listed order: axes "ZXY" gives qz * qx * qy.

    ``angles_deg`` is (len(axes), N), one row per axis, in degrees; returns (4, N). This is the
    quaternion of the matrix product Rz @ Rx @ Ry.
    """
    if not axes:
        raise ValueError("no rotation axes")
    # float32 sin/cos run on SIMD units, several times faster than float64 (the hot spot of BVH
    # reading); their error (< 2e-7 for |angle| <= 360 degrees, growing with the angle) stays
    # below what the float32 output keeps. Everything after this is float64.
    half = (np.radians(angles_deg) * 0.5).astype(np.float32)
    sines, cosines = np.sin(half), np.cos(half)
    q = np.zeros((4, angles_deg.shape[1]))
    q[_AXIS_INDEX[axes[0]]] = sines[0]
    q[3] = cosines[0]
    for axis, s, c in zip(axes[1:], sines[1:], cosines[1:], strict=True):
        q = _times_axis(q, _AXIS_INDEX[axis], s, c)
    return q


def _times_axis(q: Float64Array, i: int, s: Float64Array, c: Float64Array) -> Float64Array:
    """q * (s e_i, c): the product with a rotation about principal axis i, in 8 multiplies."""
    j, k = (i + 1) % 3, (i + 2) % 3
    out = np.empty_like(q)
    out[i] = q[3] * s + q[i] * c
    out[j] = q[j] * c + q[k] * s
    out[k] = q[k] * c - q[j] * s
    out[3] = q[3] * c - q[i] * s
    return out


def quaternion_multiply(a: Float64Array, b: Float64Array) -> Float64Array:
    """Hamilton product a * b over the last axis, broadcasting leading axes."""
    lead = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    ac = np.moveaxis(np.broadcast_to(a, (*lead, 4)), -1, 0)
    bc = np.moveaxis(np.broadcast_to(b, (*lead, 4)), -1, 0)
    return np.moveaxis(quaternion_multiply_c(ac, bc), 0, -1)


def quaternion_rotate(q: Float64Array, v: Float64Array) -> Float64Array:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4), broadcasting leading axes."""
    lead = np.broadcast_shapes(q.shape[:-1], v.shape[:-1])
    qc = np.moveaxis(np.broadcast_to(q, (*lead, 4)), -1, 0)
    vc = np.moveaxis(np.broadcast_to(v, (*lead, 3)), -1, 0)
    return np.moveaxis(quaternion_rotate_c(qc, vc), 0, -1)


def matrix_to_quaternion(m: Float64Array) -> Float64Array:
    """(..., 3, 3) rotation matrices to unit quaternions (..., 4), numerically stable.

    Per matrix, divides by the largest of w, x, y, z (Shepperd's method), so no branch loses
    precision near 180 degree rotations.
    """
    flat = m.reshape(-1, 3, 3)
    diag = np.stack([flat[:, 0, 0], flat[:, 1, 1], flat[:, 2, 2]], axis=1)
    trace = diag.sum(axis=1)
    choice = np.argmax(np.concatenate([diag, trace[:, None]], axis=1), axis=1)
    q = np.empty((flat.shape[0], 4))
    for i in range(3):
        rows = np.flatnonzero(choice == i)
        j, k = (i + 1) % 3, (i + 2) % 3
        r = flat[rows]
        q[rows, i] = 1.0 - trace[rows] + 2.0 * r[:, i, i]
        q[rows, j] = r[:, j, i] + r[:, i, j]
        q[rows, k] = r[:, k, i] + r[:, i, k]
        q[rows, 3] = r[:, k, j] - r[:, j, k]
    rows = np.flatnonzero(choice == 3)
    r = flat[rows]
    q[rows, 0] = r[:, 2, 1] - r[:, 1, 2]
    q[rows, 1] = r[:, 0, 2] - r[:, 2, 0]
    q[rows, 2] = r[:, 1, 0] - r[:, 0, 1]
    q[rows, 3] = 1.0 + trace[rows]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.reshape(*m.shape[:-2], 4)


def yaw_quaternion(angle_rad: float) -> Float64Array:
    """Rotation by ``angle_rad`` about +Y (counter-clockwise seen from above), (4,)."""
    half = 0.5 * angle_rad
    return np.array([0.0, np.sin(half), 0.0, np.cos(half)])


def yaw_times(angle_rad: float, q: FloatArrayT) -> FloatArrayT:
    """yaw_quaternion(angle_rad) * q for quaternions (..., 4), in q's dtype (8 multiplies)."""
    s, c = math.sin(0.5 * angle_rad), math.cos(0.5 * angle_rad)
    x, y, z, w = (q[..., i] for i in range(4))
    return np.stack([c * x + s * z, c * y + s * w, c * z - s * x, c * w - s * y], axis=-1)


def yaw_matrix(angle_rad: float) -> Float64Array:
    """The matrix of ``yaw_quaternion(angle_rad)``: Ry = [[c, 0, s], [0, 1, 0], [-s, 0, c]]."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def make_continuous(q: FloatArrayT) -> FloatArrayT:
    """Choose the sign of each quaternion (..., F, 4) so consecutive frames stay on one hemisphere.

    q and -q are the same rotation; flipping signs where consecutive frames point apart keeps
    interpolation and learned models free of spurious jumps. The first frame gets w >= 0, so the
    result depends on the rotations only.
    """
    if q.shape[-2] == 0:
        return q
    dots = (q[..., 1:, :] * q[..., :-1, :]).sum(axis=-1)
    steps = np.where(dots < 0.0, -1.0, 1.0)
    first = np.where(q[..., :1, 3] < 0.0, -1.0, 1.0)
    signs = np.concatenate([first, first * np.cumprod(steps, axis=-1)], axis=-1)
    return q * signs[..., None].astype(q.dtype)


def continuity_signs_c(q: Float64Array) -> Float64Array:
    """Signs (F,) that make component-first quaternions (4, F) continuous, first with w >= 0."""
    dots = (q[:, 1:] * q[:, :-1]).sum(axis=0)
    steps = np.where(dots < 0.0, -1.0, 1.0)
    first = -1.0 if q.shape[1] and q[3, 0] < 0.0 else 1.0
    return np.concatenate([[first], first * np.cumprod(steps)])
