"""Command line: ``python -m processing.motion inspect FILE`` and ``... convert FILE OUTDIR``.

``inspect`` prints what the file holds and its quality report (``quality.py``), measured on the
recording anonymized as ``convert`` would (body size ``keep``).

A rejected file prints ``rejected: <code>: <message>`` to stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from processing.motion.anonymize import BODY_SIZES, anonymize_in_place
from processing.motion.convert import convert_file, read_recording
from processing.motion.errors import RejectedRecording
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
    for sub in (inspect, convert):
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


if __name__ == "__main__":
    sys.exit(main())
