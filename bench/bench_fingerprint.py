"""Fingerprint time per recording, and duplicate lookup among 1,000,000 stored fingerprints.

1. ``fingerprint()`` on the real BSOR sample (310 s at 90 Hz), on 20 s synthetic sessions and
   on a 1-hour synthetic session at 90 Hz (what conversion adds for a long recording).
2. A store of 1,000,000 fingerprints' index keys (as the (key, donation) side table holds them,
   here two sorted numpy arrays): the real samples' and synthetic sessions' own keys plus
   random 32-bit keys (the keys are hashes, so unrelated recordings' keys are uniform) with
   32-256 keys each. A lookup = fingerprint the new recording, fetch the ids sharing at
   least MIN_SHARED_KEYS keys (binary search per key), verify those candidates with
   ``compare``. Queries: trimmed, resampled, recentred copies of stored recordings (must be
   found) and unrelated sessions (must find nothing).

Run: .venv/bin/python bench/bench_fingerprint.py [--stored 1000000] [--queries 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import machine  # noqa: E402
from processing.motion.convert import read_recording  # noqa: E402
from processing.motion.fingerprint import (  # noqa: E402
    MIN_SHARED_KEYS,
    Fingerprint,
    compare,
    fingerprint,
)
from tests.processing.motion.fingerprint_corpus import (  # noqa: E402
    converted,
    moved,
    resampled,
    trimmed,
    vr_session,
)

SAMPLE = ROOT.parent / "shared" / "samples" / "real" / "bsor" / "xror_sample1.bsor"


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


class KeyStore:
    """The (key, id) side table as two arrays sorted by key."""

    def __init__(self, keys: np.ndarray, owners: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.owners = owners[order]

    def candidates(self, query: tuple[int, ...]) -> list[int]:
        q = np.asarray(query, dtype=np.int32)
        lo = np.searchsorted(self.keys, q, "left")
        hi = np.searchsorted(self.keys, q, "right")
        hits = [self.owners[a:b] for a, b in zip(lo, hi, strict=True) if b > a]
        if not hits:
            return []
        ids, counts = np.unique(np.concatenate(hits), return_counts=True)
        return [int(i) for i in ids[counts >= MIN_SHARED_KEYS]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    print(machine())

    # 1. fingerprint time
    real = converted(read_recording(SAMPLE))
    t = timed(lambda: fingerprint(real), 7)
    ms = statistics.median(t) * 1e3
    print(f"fingerprint, real BSOR 310 s / 27,928 frames: median {ms:.1f} ms")
    short = vr_session(1)
    t = timed(lambda: fingerprint(short), 20)
    print(f"fingerprint, synthetic 20 s at 30 Hz: median {statistics.median(t) * 1e3:.2f} ms")
    hour = vr_session(2, seconds=3600.0, hz=90.0)
    t = timed(lambda: fingerprint(hour), 3)
    ms = statistics.median(t) * 1e3
    print(f"fingerprint, synthetic 1 h at 90 Hz (324,000 frames): median {ms:.0f} ms")

    # 2. lookup among --stored fingerprints
    start = time.perf_counter()
    stored: dict[int, Fingerprint] = {0: fingerprint(real)}
    for seed in range(1, 201):
        stored[seed] = fingerprint(vr_session(seed, seconds=60.0))
    rng = np.random.default_rng(12)
    sizes = rng.integers(32, 257, size=args.stored - len(stored))
    random_keys = rng.integers(-(2**31), 2**31, size=int(sizes.sum()), dtype=np.int64)
    own = [(np.asarray(fp.keys), ident) for ident, fp in stored.items()]
    keys = np.concatenate([random_keys, *[k for k, _ in own]]).astype(np.int32)
    owners = np.concatenate(
        [
            np.repeat(np.arange(len(stored), args.stored, dtype=np.int32), sizes),
            *[np.full(len(k), ident, dtype=np.int32) for k, ident in own],
        ]
    )
    store = KeyStore(keys, owners)
    print(
        f"store: {args.stored:,} fingerprints, {len(keys):,} keys "
        f"({keys.nbytes + owners.nbytes} bytes), built in {time.perf_counter() - start:.1f} s"
    )

    queries: list[tuple[str, object, int | None]] = [
        ("real trimmed+72Hz+moved", moved(resampled(trimmed(real, 0.1, 0.2), 72.0)), 0)
    ]
    for seed in range(1, args.queries // 2):
        copy = moved(resampled(trimmed(vr_session(seed, seconds=60.0), 0.1, 0.1), 72.0), yaw=1.0)
        queries.append(("synthetic copy", copy, seed))
    for seed in range(10_000, 10_000 + args.queries // 2):
        queries.append(("unrelated", vr_session(seed, seconds=60.0), None))
    totals, lookups, wrong, candidates_seen = [], [], 0, 0
    for _label, recording, expected in queries:
        start = time.perf_counter()
        fp = fingerprint(recording)  # type: ignore[arg-type]
        mid = time.perf_counter()
        found = []
        for ident in store.candidates(fp.keys):
            candidates_seen += 1
            other = stored.get(ident)
            if other is not None and compare(other, fp)[0] != "different":
                found.append(ident)
        end = time.perf_counter()
        totals.append(end - start)
        lookups.append(end - mid)
        wrong += found != ([] if expected is None else [expected])
    totals.sort()
    lookups.sort()
    p95 = totals[int(0.95 * (len(totals) - 1))]
    print(
        f"{len(queries)} queries: fingerprint + lookup + verification median "
        f"{statistics.median(totals) * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms, max "
        f"{totals[-1] * 1e3:.1f} ms; lookup + verification alone median "
        f"{statistics.median(lookups) * 1e3:.2f} ms; candidates verified {candidates_seen}; "
        f"wrong answers {wrong}"
    )


if __name__ == "__main__":
    main()
