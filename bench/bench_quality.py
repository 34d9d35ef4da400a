"""Benchmark: what the quality report (processing/motion/quality.py) adds to a conversion.

Run: ``.venv/bin/python bench/bench_quality.py [--megabytes 105] [--repeat 5]``

Inputs: the real samples (two BSOR replays, the XROR, the CMU BVH) and the issue 3 benchmark
files (a ~105 MB BSOR from ``bench_bsor.build_input``, a ~100 MB BVH from
``bench_bvh.build_input``), built in a temporary folder. For each input, in a fresh process:
``convert_file`` ``--repeat`` times (each into a new folder; the report is part of it), then
``quality_report`` ``--repeat`` times on the same recording read and anonymized as conversion
does. The figure is median(report) / (median(conversion) - median(report)): the share the
report adds to a conversion without it, counted as if it ran alone (in ``convert_file`` it runs
on the main thread while the Parquet writer's thread encodes, so the wall time grows by less).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_bsor, bench_bvh  # noqa: E402
from bench.measure import machine, run_fresh  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "samples" / "real"

CODE = """
import statistics, tempfile
from processing.motion import convert_file, read_recording
from processing.motion.anonymize import anonymize_in_place
from processing.motion.quality import quality_report
src, repeat = Path(sys.argv[1]), int(sys.argv[2])
converts = []
for _ in range(repeat):
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = convert_file(src, Path(out))
        converts.append(time.perf_counter() - start)
recording = anonymize_in_place(read_recording(src))[0]
reports = []
for _ in range(repeat):
    start = time.perf_counter()
    quality_report(recording)
    reports.append(time.perf_counter() - start)
print(json.dumps({"frames": recording.frame_count, "convert": statistics.median(converts),
                  "quality": statistics.median(reports)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=105.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [
            SAMPLES / "bsor" / "xror_sample1.bsor",
            SAMPLES / "bsor" / "xror_sample2.bsor",
            SAMPLES / "xror" / "sample1.xror",
            SAMPLES / "bvh" / "cmu_01_01_fairmotion.bvh",
        ]
        inputs = [path for path in inputs if path.is_file()]
        big_bsor = Path(tmp) / "big.bsor"
        bench_bsor.build_input(big_bsor, args.megabytes)
        inputs += [big_bsor, bench_bvh.build_input(args.megabytes, Path(tmp))]
        print(f"{'input':28} {'frames':>9} {'convert s':>10} {'report ms':>10} {'adds':>7}")
        for path in inputs:
            got = run_fresh(CODE, str(path), str(args.repeat))
            share = got["quality"] / (got["convert"] - got["quality"])
            print(
                f"{path.name:28} {got['frames']:9d} {got['convert']:10.3f} "
                f"{got['quality'] * 1000:10.2f} {share:7.1%}"
            )


if __name__ == "__main__":
    main()
