"""Benchmark: BSOR -> Parquet (our convert_file) against py-bsor's parse of the same file.

Run: ``.venv/bin/python bench/bench_bsor.py [--megabytes 105] [--repeat 9] [--keep DIR]
[--sample REPLAY]``

Input: a >= 100 MB BSOR written by ``write_bsor`` into a temporary directory (deleted at the
end), made of the real sample1's kept frames repeated forwards and backwards alternately (so
the joins are continuous and the file passes validation) with its note events repeated
alongside; the info block is synthetic. Without the shared sample, synthetic motion is used.

Each measurement runs in a fresh subprocess, one after the other, on the same file; ours
``--repeat`` times (each into a new output folder) and py-bsor three times, alternating, and
the medians are compared (single runs on the 2-CPU VM vary by +-15%); ``sync`` before each:

(a) ``convert_file`` end to end (detect, read, validate, anonymize, Parquet + JSON), MB/s of
    input; (b) py-bsor ``bsor.Bsor.make_bsor`` parsing only; (c) the ratio of the medians;
(d) our peak memory: the process's VmHWM growth after imports (bench/measure.py), against the
    size of the decoded arrays (positions + rotations float32, times float64). Also timed:
    ``read_bsor`` alone (the reader's share, and the like-for-like comparison with py-bsor,
    which only parses).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import machine, run_fresh  # noqa: E402
from processing.motion.formats.bsor import FRAME_DTYPE, read_bsor  # noqa: E402
from processing.motion.writers.bsor import BsorCut, BsorNote, write_bsor  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "samples" / "real" / "bsor" / "xror_sample1.bsor"
RATE = 90.0

OURS = """
from processing.motion import convert_file
base = high_water_bytes()
start = time.perf_counter()
result = convert_file(Path(sys.argv[1]), Path(sys.argv[2]))
seconds = time.perf_counter() - start
peak = high_water_bytes()
print(json.dumps({"seconds": seconds, "base": base, "peak": peak,
                  "frames": result.metadata["frame_count"], "events": result.metadata["events"]}))
"""

READER_ONLY = """
from processing.motion.formats.bsor import read_bsor
start = time.perf_counter()
recording = read_bsor(Path(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - start, "frames": recording.frame_count}))
"""

THEIRS = """
from bsor.Bsor import make_bsor
start = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    replay = make_bsor(f)
print(json.dumps({"seconds": time.perf_counter() - start, "frames": len(replay.frames)}))
"""


def _source_motion() -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray, list[BsorNote]]:
    """Canonical poses, song times and note events of one pass of the source."""
    if SAMPLE.is_file():
        from bsor.Bsor import make_bsor  # the baseline library, here only to copy the notes

        recording = read_bsor(SAMPLE)  # kept frames, canonical; its info block is not used
        poses = {
            key: (recording.positions[i], recording.rotations[i])
            for i, key in enumerate(("head", "left", "right"))
        }
        with SAMPLE.open("rb") as f:
            replay = make_bsor(f)
        notes = [
            BsorNote(
                n.note_id,
                n.event_time,
                n.spawn_time,
                n.event_type,
                None if n.cut is None else BsorCut(saber_type=n.cut.saberType),
            )
            for n in replay.notes
        ]
        return poses, recording.times, notes
    frames = 27_928
    t = np.arange(frames) / RATE
    still_q = np.tile([0.0, 0.0, 0.0, 1.0], (frames, 1))
    poses = {
        "head": (np.stack([0.05 * np.sin(t), 1.6 + 0 * t, -0.1 * np.cos(t)], 1), still_q),
        "left": (np.stack([-0.3 + 0.2 * np.sin(3 * t), 1.1 + 0 * t, -0.4 + 0 * t], 1), still_q),
        "right": (np.stack([0.3 + 0.2 * np.cos(3 * t), 1.1 + 0 * t, -0.4 + 0 * t], 1), still_q),
    }
    notes = [BsorNote(31016, float(s), float(s) - 0.01, 0) for s in np.arange(2.0, t[-1], 0.19)]
    return poses, t, notes


def build_input(path: Path, megabytes: float) -> dict[str, float]:
    poses, times, notes = _source_motion()
    per_pass = times.shape[0]
    passes = int(np.ceil(megabytes * 1e6 / (per_pass * FRAME_DTYPE.itemsize)))
    order = [
        np.arange(per_pass) if k % 2 == 0 else np.arange(per_pass)[::-1] for k in range(passes)
    ]
    index = np.concatenate(order)
    steps = np.diff(times)
    all_steps = np.concatenate(
        [np.append(steps if k % 2 == 0 else steps[::-1], 1 / RATE) for k in range(passes)]
    )
    song = np.concatenate([[0.0], np.cumsum(all_steps)[:-1]])
    span = times[-1] + 1 / RATE
    repeated_notes = [
        note._replace(event_time=note.event_time + k * span, spawn_time=note.spawn_time + k * span)
        for k in range(passes)
        for note in notes
    ]
    write_bsor(
        path,
        times=song,
        notes=repeated_notes,
        **{key: (p[index], q[index]) for key, (p, q) in poses.items()},
    )
    return {
        "frames": float(index.shape[0]),
        "notes": float(len(repeated_notes)),
        "passes": float(passes),
        "hours": float(song[-1] / 3600),
    }


def main() -> None:
    global SAMPLE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=105.0)
    parser.add_argument("--repeat", type=int, default=9, help="runs of ours (py-bsor: 3)")
    parser.add_argument("--keep", type=Path, default=None, help="also keep the input here")
    parser.add_argument(
        "--sample", type=Path, default=None, help=f"source replay (default: {SAMPLE})"
    )
    args = parser.parse_args()
    if args.sample is not None:
        SAMPLE = args.sample
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "bench.bsor"
        facts = build_input(src, args.megabytes)
        size = src.stat().st_size
        runs, baseline = [], []
        for i in range(max(args.repeat, 3)):
            # Each run starts with no dirty pages left by the last (the kernel writing them
            # back meanwhile would be timed as ours).
            if i < args.repeat:
                os.sync()
                runs.append(run_fresh(OURS, str(src), str(Path(tmp) / f"out{i}")))
            if i < 3:
                os.sync()
                baseline.append(run_fresh(THEIRS, str(src))["seconds"])
        reader = run_fresh(READER_ONLY, str(src))
        parquet = (Path(tmp) / "out0" / "motion.parquet").stat().st_size
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            os.replace(src, args.keep / src.name)
    ours = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]  # the median run
    theirs = {"seconds": statistics.median(baseline)}
    seconds = sorted(run["seconds"] for run in runs)
    frames = int(ours["frames"])
    decoded = frames * (3 * 3 * 4 + 3 * 4 * 4 + 8)
    used = max(run["peak"] - run["base"] for run in runs)  # the worst run
    mb = size / 1e6
    source = "sample1 frames" if SAMPLE.is_file() else "synthetic motion"
    rows = [
        (
            "input",
            f"{mb:.1f} MB BSOR, {int(facts['frames']):,} frames ({source}, "
            f"{int(facts['passes'])} passes, {facts['hours']:.2f} h), "
            f"{int(facts['notes']):,} notes",
        ),
        (
            "(a) ours: convert_file",
            f"median {ours['seconds']:.2f} s = {mb / ours['seconds']:.0f} MB/s "
            f"(runs {', '.join(f'{x:.2f}' for x in seconds)}; Parquet {parquet / 1e6:.1f} MB, "
            f"{frames:,} frames kept)",
        ),
        (
            "(b) py-bsor make_bsor",
            f"median {theirs['seconds']:.2f} s = {mb / theirs['seconds']:.1f} MB/s (parse only; "
            f"runs {', '.join(f'{x:.2f}' for x in baseline)})",
        ),
        (
            "(c) speed-up",
            f"{theirs['seconds'] / ours['seconds']:.1f}x (target >= 20x); slowest run of ours "
            f"{theirs['seconds'] / seconds[-1]:.1f}x",
        ),
        (
            "    parse vs parse",
            f"read_bsor alone {reader['seconds']:.2f} s = {mb / reader['seconds']:.0f} MB/s, "
            f"{theirs['seconds'] / reader['seconds']:.1f}x py-bsor",
        ),
        (
            "(d) peak memory",
            f"{used / 1e6:.0f} MB above imports (high water {ours['base'] / 1e6:.0f} MB) "
            f"vs {decoded / 1e6:.0f} MB decoded arrays = {used / decoded:.2f}x (target <= 3x)",
        ),
        ("machine", f"{machine()}; load {load_before[0]:.2f} before the run"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
