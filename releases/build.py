"""Writing a release's files: shards, recording index, manifest and checksums.

Pure file work in a local folder; releases.services decides what goes in and stores the result.
The same inputs give byte-identical files (sorted rows, no timestamps in the data).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from metagen.hashing import Readable, sha256_stream

MOTION_SHARD = "data/motion-00000.parquet"
INDEX = "recordings.parquet"


@dataclass(frozen=True)
class BuildInput:
    recording_id: str
    contributor_id: str
    motion_parquet: Readable
    metadata: dict[str, Any]


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return sha256_stream(fh)


def write_release(*, out_dir: Path, dataset: str, version: str, items: list[BuildInput]) -> None:
    """Write every file of the release into out_dir; manifest.json and SHA256SUMS come last."""
    items = sorted(items, key=lambda i: i.recording_id)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)

    writer: pq.ParquetWriter | None = None
    for item in items:
        table = pq.read_table(item.motion_parquet)
        table = table.add_column(
            0, "recording_id", pa.array([item.recording_id] * table.num_rows, pa.string())
        )
        if writer is None:
            writer = pq.ParquetWriter(
                out_dir / MOTION_SHARD,
                table.schema,
                compression="zstd",
                use_dictionary=["track", "recording_id"],
            )
        writer.write_table(table)
    if writer is not None:
        writer.close()

    index = pa.table(
        {
            "recording_id": [i.recording_id for i in items],
            "contributor_id": [i.contributor_id for i in items],
            "source_format": [str(i.metadata.get("source_format", "")) for i in items],
            "frame_rate": pa.array([float(i.metadata.get("frame_rate", 0.0)) for i in items]),
            "duration_s": pa.array([float(i.metadata.get("duration_s", 0.0)) for i in items]),
            "frame_count": pa.array(
                [int(i.metadata.get("frame_count", 0)) for i in items], pa.int64()
            ),
            "tracks": [json.dumps(i.metadata.get("tracks", []), sort_keys=True) for i in items],
        }
    )
    pq.write_table(index, out_dir / INDEX, compression="zstd")

    files = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())
    entries = [
        {"path": rel, "size": (out_dir / rel).stat().st_size, "sha256": _sha256(out_dir / rel)}
        for rel in files
    ]
    manifest = {
        "dataset": dataset,
        "version": version,
        "recordings": len(items),
        "files": entries,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in entries)
    (out_dir / "SHA256SUMS").write_text(sums)
