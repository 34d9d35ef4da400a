"""Motion fingerprints: find the same recording again across formats, edits and accounts.

A fingerprint is computed from a converted recording and has three parts (``Fingerprint``):

* ``motion_sha256``, the canonical motion hash: SHA-256 over the head and hand positions
  resampled onto a fixed 30 Hz clock and rounded to whole millimetres. The same session read
  from two formats (a BSOR replay and the XROR made from it) or uploaded twice has the same hash.
* ``keys``, up to ``MAX_KEYS`` 32-bit integers for an index (PostgreSQL ``int[]`` with a GIN
  index, or a side table of (key, donation)). Each key describes the body around one landmark,
  a peak of the summed head and hand speed: the hands' height under the head and their distance
  from it at four moments after the peak, in coarse bins. Landmarks come from the motion itself,
  not from the clock, so a trimmed, resampled or re-exported copy has most of the same keys, and
  the features do not change when the recording is moved or turned about the vertical.
  When a recording has more keys than ``MAX_KEYS`` the smallest are kept (a bottom-k sample),
  so a trimmed copy's kept keys include the original's kept keys over the part they share.
* ``signature``, a compact trajectory for verification: the same features every 1/``rate``
  seconds, smoothed over one sample, in whole centimetres (int16, delta-coded, zlib, base64;
  at most ``SIGNATURE_MAX_SAMPLES`` samples: the rate halves until the recording fits).

The features (``layout``): with a head and two hands, each hand's height relative to the
head and its distance from the head (4 numbers); with one hand, 2; with no hand, the head's
horizontal and vertical speed. A skeleton without head and hand roles uses the joints named
like ``Head``, ``LeftHand`` and ``RightHand`` (else its root alone). All are invariant to a
rigid translation and a turn about +Y, so recentring changes nothing.

``similarity(a, b)`` (0..1) is the share of the shorter recording's signature samples that
match the other at the best time offset (every feature within ``MATCH_TOLERANCE_CM``), trying
quarter-sample shifts; an equal canonical hash gives 1. It is a containment measure: a copy
trimmed at either end still scores about 1 against its original.

``verdict(a, b)``, the rule (``RULE`` below, also in README.md):

* ``same``: equal canonical hash, or similarity >= ``SAME_THRESHOLD`` with durations within
  ``SAME_DURATION_TOLERANCE`` (a re-export, resampling or recentring of the whole recording);
* ``near``: similarity >= ``NEAR_THRESHOLD`` (one contains the other: a trimmed copy);
* ``different`` otherwise, and always when the shorter signature has fewer than
  ``MIN_SAMPLES`` samples or the two have different layouts (only the hash can match then).

Lookup at scale: fetch the recordings sharing at least ``MIN_SHARED_KEYS`` keys with the new
one (index), then run ``verdict`` on those candidates only.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from processing.motion.model import Float64Array, Recording

FINGERPRINT_VERSION = 1
Verdict = Literal["same", "near", "different"]

WORK_RATE = 30.0  # Hz: the clock every recording is resampled onto first
MAX_KEYS = 256
MIN_SHARED_KEYS = 3  # index candidates share at least this many keys
SIGNATURE_MAX_SAMPLES = 512
SIGNATURE_MAX_RATE = 16.0  # Hz; halved until the recording fits in SIGNATURE_MAX_SAMPLES
MATCH_TOLERANCE_CM = 4
MIN_SAMPLES = 8
SAME_THRESHOLD = 0.95
NEAR_THRESHOLD = 0.80
SAME_DURATION_TOLERANCE = 0.02  # relative, plus one signature sample

RULE = (
    f"same: equal canonical motion hash, or similarity >= {SAME_THRESHOLD} with durations "
    f"within {SAME_DURATION_TOLERANCE:.0%}; near: similarity >= {NEAR_THRESHOLD}; "
    "different otherwise (and when a signature is too short or the layouts differ)"
)

# Landmarks: local maxima of the summed speed, at least this far apart and this fast.
_PEAK_HALF_WINDOW_S = 0.5
_PEAK_MIN_SPEED = 0.10  # m/s
_FEATURE_SMOOTH_S = 0.1
_KEY_OFFSETS_S = (0.0, 0.3, 0.6, 0.9)
_KEY_BIN_M = 0.15
_CANDIDATES = 8  # offsets counted exactly per comparison

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Fingerprint:
    version: int
    layout: str
    duration_s: float
    motion_sha256: str
    keys: tuple[int, ...]
    rate: float
    signature: npt.NDArray[np.int16]  # (n, features) centimetres

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (a few kB at most); ``from_json`` reads it back."""
        return {
            "version": self.version,
            "layout": self.layout,
            "duration_s": round(self.duration_s, 6),
            "motion_sha256": self.motion_sha256,
            "keys": list(self.keys),
            "signature": {
                "rate_hz": self.rate,
                "samples": int(self.signature.shape[0]),
                "features": int(self.signature.shape[1]),
                "unit": "cm",
                "encoding": "int16le-delta-zlib-base64",
                "data": _encode(self.signature),
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        sig = data["signature"]
        return cls(
            version=int(data["version"]),
            layout=str(data["layout"]),
            duration_s=float(data["duration_s"]),
            motion_sha256=str(data["motion_sha256"]),
            keys=tuple(int(k) for k in data["keys"]),
            rate=float(sig["rate_hz"]),
            signature=_decode(str(sig["data"]), int(sig["samples"]), int(sig["features"])),
        )


def fingerprint(recording: Recording) -> Fingerprint:
    """The fingerprint of a recording (module docstring); pure, deterministic."""
    points, layout = _key_points(recording)
    duration = float(recording.times[-1] - recording.times[0]) if recording.frame_count else 0.0
    n = math.floor(duration * WORK_RATE + 1e-9) + 1
    digest = hashlib.sha256(layout.encode())
    xyz = _on_work_clock(recording, points, n, digest)
    features = _features(xyz)
    rate = SIGNATURE_MAX_RATE
    while duration * rate + 1 > SIGNATURE_MAX_SAMPLES:
        rate /= 2
    return Fingerprint(
        version=FINGERPRINT_VERSION,
        layout=layout,
        duration_s=duration,
        motion_sha256=digest.hexdigest(),
        keys=_keys(xyz, features),
        rate=rate,
        signature=_signature(features, rate),
    )


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Share of the shorter recording found in the other (0..1); see the module docstring."""
    if a.motion_sha256 == b.motion_sha256:
        return 1.0
    if a.version != b.version or a.layout != b.layout:
        return 0.0
    # Compare at the coarser rate; the finer signature is smoothed and resampled to it.
    if a.rate < b.rate:
        a, b = b, a
    coarse = b.signature.astype(np.float64)
    fine = a.signature.astype(np.float64)
    if a.rate != b.rate:
        fine = _resample(_smooth(fine, math.sqrt((a.rate / b.rate) ** 2 - 1)), a.rate / b.rate)
    short, long_ = (coarse, fine) if len(coarse) <= len(fine) else (fine, coarse)
    if len(short) < MIN_SAMPLES:
        return 0.0
    m = len(short)
    pad = np.zeros((m - 1, long_.shape[1]))
    padded = np.concatenate([pad, long_, pad])
    mask = np.concatenate([np.zeros(m - 1), np.ones(len(long_)), np.zeros(m - 1)])
    shifts = [short] + [_resample(short, 1.0, shift) for shift in (0.25, 0.5, 0.75)]
    best = 0
    for offset in _candidate_offsets(padded, mask, short):
        for shifted in shifts:
            window = padded[offset : offset + len(shifted)]
            inside = mask[offset : offset + len(shifted)] > 0
            close = np.abs(window - shifted).max(axis=1) <= MATCH_TOLERANCE_CM
            best = max(best, int((close & inside).sum()))
    return best / m


def verdict(a: Fingerprint, b: Fingerprint) -> Verdict:
    """``same``, ``near`` or ``different`` by the published rule (``RULE``)."""
    return compare(a, b)[0]


def compare(a: Fingerprint, b: Fingerprint) -> tuple[Verdict, float]:
    """The verdict and the similarity it was based on."""
    if a.motion_sha256 == b.motion_sha256:
        return "same", 1.0
    score = similarity(a, b)
    slack = SAME_DURATION_TOLERANCE * max(a.duration_s, b.duration_s) + 1.0 / min(a.rate, b.rate)
    if score >= SAME_THRESHOLD and abs(a.duration_s - b.duration_s) <= slack:
        return "same", score
    if score >= NEAR_THRESHOLD:
        return "near", score
    return "different", score


def shared_keys(a: Fingerprint, b: Fingerprint) -> int:
    """How many index keys two fingerprints share (the index's candidate measure)."""
    return len(set(a.keys) & set(b.keys))


class FingerprintIndex:
    """An in-memory index for deduplicating a collection with the platform's rule.

    ``add`` fingerprints under any hashable id; ``find`` returns the stored ones that are
    ``same`` or ``near`` a new fingerprint, best first: candidates are those with an equal
    canonical hash or at least ``MIN_SHARED_KEYS`` shared keys, and only they are verified.
    The platform does the same in PostgreSQL (see README.md).
    """

    def __init__(self) -> None:
        self._stored: dict[object, Fingerprint] = {}
        self._by_key: dict[int, list[object]] = {}
        self._by_hash: dict[str, list[object]] = {}

    def __len__(self) -> int:
        return len(self._stored)

    def add(self, ident: object, fp: Fingerprint) -> None:
        self._stored[ident] = fp
        self._by_hash.setdefault(fp.motion_sha256, []).append(ident)
        for key in fp.keys:
            self._by_key.setdefault(key, []).append(ident)

    def candidates(self, fp: Fingerprint) -> list[object]:
        """Stored ids worth verifying against ``fp``: equal hash or enough shared keys."""
        shared: dict[object, int] = {}
        for key in fp.keys:
            for ident in self._by_key.get(key, ()):
                shared[ident] = shared.get(ident, 0) + 1
        found = {i for i, count in shared.items() if count >= MIN_SHARED_KEYS}
        found.update(self._by_hash.get(fp.motion_sha256, ()))
        return sorted(found, key=lambda i: -shared.get(i, len(fp.keys) + 1))

    def find(self, fp: Fingerprint) -> list[tuple[object, Verdict, float]]:
        """(id, verdict, similarity) of every stored duplicate of ``fp``, best first."""
        matches: list[tuple[object, Verdict, float]] = []
        for ident in self.candidates(fp):
            found, score = compare(self._stored[ident], fp)
            if found != "different":
                matches.append((ident, found, score))
        matches.sort(key=lambda m: -m[2])
        return matches


# --- key points and features ----------------------------------------------------------------

_HEAD_NAMES = ("head",)
_LEFT_NAMES = ("lefthand", "lhand", "handl", "leftwrist", "lwrist")
_RIGHT_NAMES = ("righthand", "rhand", "handr", "rightwrist", "rwrist")


def _key_points(recording: Recording) -> tuple[list[int], str]:
    """Track indices (head first, then the hands present) and the layout's name."""
    roles = recording.roles
    names = [re.sub(r"[^a-z]", "", name.lower()) for name in recording.tracks]

    def find(role: str, exact: tuple[str, ...]) -> int | None:
        if role in roles:
            return roles.index(role)
        for matches in (lambda name: name in exact, lambda name: name.startswith(exact[0])):
            for i, name in enumerate(names):
                if matches(name):
                    return i
        return None

    head = find("head", _HEAD_NAMES)
    if head is None:
        head = int(np.flatnonzero(recording.skeleton.parents < 0)[0]) if recording.skeleton else 0
    found = (find("left_hand", _LEFT_NAMES), find("right_hand", _RIGHT_NAMES))
    hands = [i for i in found if i is not None and i != head]
    layout = ("head", "head+hand", "head+2hands")[len(hands)]
    return [head, *hands], layout


def _on_work_clock(recording: Recording, points: list[int], n: int, digest: Any) -> Float64Array:
    """The key points' positions on the ``WORK_RATE`` clock, (P, 3, n) float64, component by
    component; the canonical hash is fed on the way (whole millimetres, int32 little-endian,
    point by point, (sample, xyz) within a point).

    Exactly ``np.interp(grid, times, positions[track, :, c])``, the formula included, but
    with each grid time's frame found once for all tracks and components and only the frames
    used read: a grid time on a frame (every one of a regular clock) takes its value, the
    others interpolate between their two frames.
    """
    times = recording.times
    positions = recording.positions
    grid = times[0] + np.arange(n) / WORK_RATE
    # times[frame] <= grid < times[frame + 1]: one search for every track and component
    frame = np.maximum(np.searchsorted(times, grid, "right") - 1, 0)
    last = len(times) - 1
    # np.interp takes the frame's value at (or past) the last frame and on a frame's time.
    before = np.minimum(frame, max(last - 1, 0))
    x0 = np.take(times, before)
    exact = (frame >= last) | (x0 >= grid)
    some_exact = bool(exact.any())
    all_exact = some_exact and bool(exact.all())
    if not all_exact:
        span = np.take(times, np.minimum(before + 1, last)) - x0
        at = grid - x0
        if some_exact:
            exact_at = np.flatnonzero(exact)
            exact_frame = np.take(frame, exact_at)
    xyz = np.empty((len(points), 3, n))
    millimetres = np.empty((n, 3), dtype="<i4")
    for i, track in enumerate(points):
        for c in range(3):  # a component's frames are contiguous in a reader's arrays
            column = positions[track, :, c]
            y = xyz[i, c]
            if all_exact:
                y[:] = np.take(column, frame)
            else:
                y0 = np.take(column, before).astype(np.float64)
                np.subtract(np.take(column, before + 1), y0, out=y)
                y /= span
                y *= at
                y += y0
                if some_exact:
                    y[exact_at] = np.take(column, exact_frame)
                if np.isnan(y).any():  # np.interp retries non-finite slopes the other way
                    y[:] = np.interp(grid, times, column)
            millimetres[:, c] = np.rint(y * 1000.0)
        digest.update(millimetres.tobytes())
    return xyz


def _norm3(v: Float64Array) -> Float64Array:
    """``np.linalg.norm(v.T, axis=1)`` of a (3, n) array, same rounding, no (n, 3) copies."""
    out: Float64Array = np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return out


def _features(xyz: Float64Array) -> Float64Array:
    """(F, n) metres or m/s per work sample, invariant to translation and yaw; ``xyz`` is
    (P, 3, n)."""
    head = xyz[0]
    if len(xyz) == 1:
        velocity = np.gradient(head, axis=1) * WORK_RATE if head.shape[1] > 1 else head * 0.0
        return np.stack([np.hypot(velocity[0], velocity[2]), velocity[1]])
    columns = []
    for hand in xyz[1:]:
        columns.append(hand[1] - head[1])
        columns.append(_norm3(hand - head))
    return np.stack(columns)


def _smooth(x: Float64Array, sigma: float) -> Float64Array:
    """Gaussian smoothing along axis 0 (sigma in samples), edges held; O(n) for any sigma."""
    if sigma <= 0.3 or len(x) < 2:
        return x
    if sigma > 4:  # three box filters approximate the Gaussian
        width = max(1, round(math.sqrt(12 * sigma * sigma / 3 + 1)))
        for _ in range(3):
            x = _box(x, width)
        return x
    radius = math.ceil(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, ((radius, radius), (0, 0)), mode="edge")
    windows = sliding_window_view(padded, 2 * radius + 1, axis=0)  # (n, F, k)
    smoothed: Float64Array = windows @ kernel
    return smoothed


def _box(x: Float64Array, width: int) -> Float64Array:
    left = width // 2
    padded = np.pad(x, ((left + 1, width - left - 1), (0, 0)), mode="edge")
    cum = np.cumsum(padded, axis=0)
    out: Float64Array = (cum[width:] - cum[:-width]) / width
    return out


def _resample(x: Float64Array, step: float, start: float = 0.0) -> Float64Array:
    """Linear interpolation of x (samples along axis 0) at start, start + step, ..."""
    count = math.floor((len(x) - 1 - start) / step + 1e-9) + 1
    at = start + np.arange(max(count, 0)) * step
    index = np.arange(len(x))
    return np.stack([np.interp(at, index, x[:, f]) for f in range(x.shape[1])], axis=1)


def _signature(features: Float64Array, rate: float) -> npt.NDArray[np.int16]:
    """``features`` (F, n) smoothed over one signature sample and sampled every
    ``WORK_RATE / rate`` work samples, in centimetres."""
    step = WORK_RATE / rate
    count = math.floor((features.shape[1] - 1) / step + 1e-9) + 1
    sampled = _smooth_at(features, step, np.arange(max(count, 0)) * step) * 100.0
    return np.clip(np.round(sampled), -16000, 16000).astype(np.int16)  # deltas fit int16


def _smooth_at(columns: Float64Array, sigma: float, at: Float64Array) -> Float64Array:
    """``np.interp(at, arange(n), _smooth(columns.T, sigma)[:, f])`` for every feature f,
    shape (*at.shape, F), with the same arithmetic but smoothing only the samples the
    interpolation reads (those just below and above each of ``at``, all in [0, n - 1])."""
    n = columns.shape[1]
    flat = at.ravel()
    below = np.clip(np.floor(flat).astype(np.intp), 0, n - 1)
    used = np.zeros(n, dtype=bool)
    used[below] = True
    used[np.minimum(below + 1, n - 1)] = True
    rows = np.flatnonzero(used)
    values = _smooth_rows(columns, sigma, rows)  # (F, rows)
    where = rows.astype(np.float64)
    out = np.stack([np.interp(flat, where, v) for v in values], axis=-1)
    return out.reshape(*at.shape, len(columns))


def _smooth_rows(columns: Float64Array, sigma: float, rows: npt.NDArray[np.intp]) -> Float64Array:
    """``_smooth(columns.T, sigma)[rows].T``, same arithmetic, computing only ``rows``."""
    n = columns.shape[1]
    if sigma <= 0.3 or n < 2:
        picked: Float64Array = columns[:, rows]
        return picked
    if sigma > 4:  # _smooth's three box filters, feature by feature (contiguous)
        width = max(1, round(math.sqrt(12 * sigma * sigma / 3 + 1)))
        out = np.empty((len(columns), len(rows)))
        for f, x in enumerate(columns):
            for _ in range(2):
                cum = _box_sums(x, width)
                x = (cum[width:] - cum[:-width]) / width
            cum = _box_sums(x, width)
            out[f] = (cum[rows + width] - cum[rows]) / width
        return out
    radius = math.ceil(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(columns, ((0, 0), (radius, radius)), mode="edge")
    windows = sliding_window_view(padded, 2 * radius + 1, axis=1)[:, rows]  # (F, rows, k)
    # (rows, F, k) in C order, as _smooth's windows: the same products in the same order.
    smoothed: Float64Array = np.ascontiguousarray(windows.transpose(1, 0, 2)) @ kernel
    return smoothed.T


def _box_sums(x: Float64Array, width: int) -> Float64Array:
    """The running sums ``_box`` differences, for one feature (1-D)."""
    left = width // 2
    cum: Float64Array = np.cumsum(np.pad(x, (left + 1, width - left - 1), mode="edge"))
    return cum


def _running_max(x: Float64Array, half: int, fill: float) -> Float64Array:
    """The maximum over ``x[i - half : i + half + 1]`` (``fill`` outside) for every i, in
    O(n) (van Herk/Gil-Werman: prefix and suffix maxima of blocks of the window's width)."""
    width = 2 * half + 1
    n = len(x)
    blocks = -(-(n + 2 * half) // width)
    padded = np.full(blocks * width, fill)
    padded[half : half + n] = x
    grid = padded.reshape(blocks, width)
    prefix = np.maximum.accumulate(grid, axis=1).ravel()
    suffix = np.maximum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    out: Float64Array = np.maximum(suffix[:n], prefix[width - 1 : width - 1 + n])
    return out


def _candidate_offsets(padded: Float64Array, mask: Float64Array, short: Float64Array) -> list[int]:
    """Offsets of ``short`` into ``padded`` worth an exact count: the ``_CANDIDATES`` with the
    least mean squared difference over an overlap of at least half of ``short`` (FFT
    correlations, so every offset costs O(log n)), each with its two neighbours."""
    m = len(short)
    offsets = len(padded) - m + 1
    overlap = _correlate(mask, np.ones(m))
    ssd = _correlate(mask * (padded**2).sum(axis=1), np.ones(m))
    ssd += _correlate(mask, (short**2).sum(axis=1))
    for f in range(short.shape[1]):
        ssd -= 2 * _correlate(mask * padded[:, f], short[:, f])
    # Mean squared difference (cm^2), a hair worse for a partial overlap: ties (a still
    # recording) go to the offsets that cover the most.
    mean = ssd / np.maximum(overlap, 1) + 0.01 * (m - overlap) / m
    score = np.where(overlap >= max(MIN_SAMPLES, m / 2) - 0.5, mean, np.inf)
    order = np.argsort(score, kind="stable")[:_CANDIDATES]
    chosen = {int(o) + d for o in order if np.isfinite(score[o]) for d in (-1, 0, 1)}
    return sorted(o for o in chosen if 0 <= o < offsets)


def _correlate(a: Float64Array, b: Float64Array) -> Float64Array:
    """``out[k] = sum_j a[k + j] * b[j]`` for every k with b inside a (FFT)."""
    size = 1 << math.ceil(math.log2(len(a) + len(b)))
    spectrum = np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size))
    out: Float64Array = np.fft.irfft(spectrum, size)[: len(a) - len(b) + 1]
    return out


# --- index keys ------------------------------------------------------------------------------


def _keys(xyz: Float64Array, features: Float64Array) -> tuple[int, ...]:
    """Index keys of ``xyz`` (P, 3, n) and its ``features`` (F, n)."""
    n = xyz.shape[2]
    if n < 3:
        return ()
    smooth_sigma = _FEATURE_SMOOTH_S * WORK_RATE
    speed = np.zeros(n)
    for point in xyz:
        speed += _norm3(np.gradient(point, axis=1)) * WORK_RATE
    speed = _smooth(speed[:, None], smooth_sigma)[:, 0]
    half = round(_PEAK_HALF_WINDOW_S * WORK_RATE)
    window_max = _running_max(speed, half, -1.0)
    peaks = np.flatnonzero((speed >= window_max) & (speed > _PEAK_MIN_SPEED))
    peaks = peaks[(peaks > 0) & (peaks < n - 1)]
    if not len(peaks):
        return ()
    # Sub-sample peak time from the parabola through the peak and its neighbours.
    y0, y1, y2 = speed[peaks - 1], speed[peaks], speed[peaks + 1]
    curvature = y0 - 2 * y1 + y2
    delta = np.where(curvature < 0, 0.5 * (y0 - y2) / np.where(curvature < 0, curvature, -1), 0)
    at = peaks + np.clip(delta, -0.5, 0.5)
    offsets = np.asarray(_KEY_OFFSETS_S) * WORK_RATE
    positions = at[:, None] + offsets[None, :]  # (peaks, offsets)
    inside = positions[:, -1] <= n - 1
    positions = positions[inside]
    if not len(positions):
        return ()
    values = _smooth_at(features, smooth_sigma, positions)  # (peaks, offsets, F)
    bins = np.floor(values / _KEY_BIN_M).astype("<i2").reshape(len(positions), -1)
    rows = bins.view(np.dtype((np.void, bins.shape[1] * bins.itemsize))).ravel()
    keys = {_hash32(row) for row in set(rows.tolist())}  # each distinct row hashed once
    return tuple(sorted(keys)[:MAX_KEYS])


def _hash32(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "little", signed=True)


def _encode(signature: npt.NDArray[np.int16]) -> str:
    delta = np.diff(signature.astype(np.int32), axis=0, prepend=0)
    raw = delta.astype("<i2").tobytes()
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def _decode(data: str, samples: int, features: int) -> npt.NDArray[np.int16]:
    raw = zlib.decompress(base64.b64decode(data))
    delta = np.frombuffer(raw, dtype="<i2").astype(np.int32).reshape(samples, features)
    return np.cumsum(delta, axis=0).astype(np.int16)
