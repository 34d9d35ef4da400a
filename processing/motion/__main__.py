"""Command line: ``python -m processing.motion inspect FILE``, ``... convert FILE OUTDIR`` and
``... compare A B`` (duplicate similarity and verdict, ``fingerprint.RULE``).

``inspect`` prints what the file holds and its quality report (``quality.py``), measured on the
recording anonymized as ``convert`` would (body size ``keep``).

A rejected file prints ``rejected: <code>: <message>`` to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from processing.motion.anonymize import BODY_SIZES, anonymize, anonymize_in_place
from processing.motion.convert import convert_file, read_recording
from processing.motion.errors import RejectedRecording
from processing.motion.fingerprint import (
    FINGERPRINT_VERSION,
    RULE,
    compare,
    fingerprint,
    shared_keys,
)
from processing.motion.formats.bvh import LENGTH_UNITS
from processing.motion.quality import quality_report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m processing.motion", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser(
        "inspect", help="read and validate FILE, print a JSON summary and its quality report"
    )
    inspect.add_argument("file", type=Path)
    convert = commands.add_parser("convert", help="write motion.parquet and metadata.json")
    convert.add_argument("file", type=Path)
    convert.add_argument("out_dir", type=Path)
    convert.add_argument("--body-size", choices=BODY_SIZES, default="keep")
    convert.add_argument("--seed", type=int, default=None, help="seed of the noise profile")
    compare = commands.add_parser("compare", help="similarity and duplicate verdict of A and B")
    compare.add_argument("a", type=Path)
    compare.add_argument("b", type=Path)
    for sub in (inspect, convert, compare):
        sub.add_argument(
            "--length-unit", choices=sorted(LENGTH_UNITS), default=None, help="BVH unit hint"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "inspect":
            recording = read_recording(args.file, length_unit=args.length_unit)
            summary = {
                "source_format": recording.source_format,
                "frame_rate": recording.frame_rate,
                "frame_count": recording.frame_count,
                "duration_s": round(recording.duration_s, 6),
                "tracks": [
                    {"name": n, "role": r}
                    for n, r in zip(recording.tracks, recording.roles, strict=True)
                ],
                "conversion": recording.conversion,
                "source_metadata_fields": sorted(recording.source_metadata),
                "quality": quality_report(anonymize_in_place(recording)[0]).as_dict(),
            }
        elif args.command == "compare":
            summary = _compare(args.a, args.b, args.length_unit)
        else:
            result = convert_file(
                args.file,
                args.out_dir,
                body_size=args.body_size,
                length_unit=args.length_unit,
                seed=args.seed,
            )
            summary = {name: str(path) for name, path in result.artifacts.items()}
    except RejectedRecording as exc:
        print(f"rejected: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


def _compare(a: Path, b: Path, length_unit: str | None) -> dict[str, object]:
    """Both files read, converted (anonymized) and fingerprinted as the pipeline does."""
    fps = [
        fingerprint(anonymize(read_recording(path, length_unit=length_unit))[0]) for path in (a, b)
    ]
    verdict, score = compare(*fps)
    return {
        "similarity": round(score, 4),
        "verdict": verdict,
        "rule": RULE,
        "fingerprint_version": FINGERPRINT_VERSION,
        "shared_keys": shared_keys(*fps),
        "durations_s": [round(fp.duration_s, 3) for fp in fps],
    }


if __name__ == "__main__":
    sys.exit(main())
