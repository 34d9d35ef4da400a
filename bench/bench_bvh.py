"""BVH -> Parquet throughput and peak memory, against the `bvh` package (PyPI) only parsing.

Input: the real CMU sample's motion (its first, T-pose frame left out) repeated forwards then
backwards, so there are no jumps and the file passes validation, to at least 100 MB; built in a
temporary folder, never committed. Every measurement runs in a fresh process on the same file.
Run: .venv/bin/python bench/bench_bvh.py [--mb 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.measure import machine, run_fresh  # noqa: E402

SAMPLE_NAME = "cmu_01_01_fairmotion.bvh"
SAMPLE_DIRS = (
    ROOT.parent / "shared" / "samples" / "real" / "bvh",
    ROOT / "tests" / "processing" / "motion" / "data",
)

OURS = """
from processing.motion import convert_file
base = high_water_bytes()
start = time.perf_counter()
convert_file(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - start, "memory": high_water_bytes() - base}))
"""

DECODED = """
from processing.motion import read_recording
r = read_recording(Path(sys.argv[1]))
print(json.dumps({"bytes": r.positions.nbytes + r.rotations.nbytes + r.times.nbytes}))
"""

THEIRS = """
from bvh import Bvh
start = time.perf_counter()
Bvh(Path(sys.argv[1]).read_text())
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def build_input(target_mb: float, dest: Path) -> Path:
    source = next(d / SAMPLE_NAME for d in SAMPLE_DIRS if (d / SAMPLE_NAME).is_file())
    header, motion = source.read_text().split("MOTION", 1)
    lines = motion.strip().splitlines()
    frame_time = next(line for line in lines if line.startswith("Frame Time"))
    frames = [line for line in lines[2:] if line.strip()][1:]
    cycle = frames + frames[::-1]
    repeats = int(target_mb * 1e6 // sum(len(f) + 1 for f in cycle)) + 1
    path = dest / "big.bvh"
    with path.open("w") as out:
        out.write(f"{header}MOTION\nFrames: {len(cycle) * repeats}\n{frame_time}\n")
        block = "\n".join(cycle) + "\n"
        for _ in range(repeats):
            out.write(block)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = build_input(args.mb, Path(tmp))
        size_mb = src.stat().st_size / 1e6
        ours = [run_fresh(OURS, str(src), f"{tmp}/out{i}") for i in range(args.repeat)]
        decoded = run_fresh(DECODED, str(src))["bytes"]
        theirs = run_fresh(THEIRS, str(src))["seconds"]
    seconds = [run["seconds"] for run in ours]
    median = statistics.median(seconds)
    memory = max(run["memory"] for run in ours)
    print(f"machine:  {machine()}")
    print(f"input:    {size_mb:.1f} MB of BVH text")
    print(
        f"ours:     BVH -> Parquet end to end, median {median:.2f} s = {size_mb / median:.1f} MB/s"
        f" (best {min(seconds):.2f} s = {size_mb / min(seconds):.1f} MB/s; target >= 100 MB/s)"
    )
    print(f"baseline: bvh package, parse only, {theirs:.2f} s = {size_mb / theirs:.1f} MB/s")
    print(f"ratio:    {theirs / median:.1f}x faster than the baseline (target >= 10x)")
    print(
        f"memory:   peak {memory / 1e6:.0f} MB over {decoded / 1e6:.0f} MB of decoded arrays"
        f" = {memory / decoded:.2f}x (target <= 3x)"
    )


if __name__ == "__main__":
    main()
