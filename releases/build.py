"""Writing a release's files: motion and event shards, recording index, manifest and checksums.

Pure file work in a local folder, no Django: releases.services decides what goes in, in which
shard, and stores the result. The same inputs give byte-identical files (rows in a fixed order,
no timestamps, no random values), so a retried shard task rewrites exactly the bytes it lost.
"""

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from metagen.hashing import sha256_stream
from processing.motion.anonymize import scale_event_data
from processing.motion.tables import EVENTS_SCHEMA, MOTION_SCHEMA

INDEX = "recordings.parquet"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"

# The documented schemas of a release (README.md of each release repeats them).
RELEASE_MOTION_SCHEMA = pa.schema(
    [pa.field("recording_id", pa.string(), nullable=False), *MOTION_SCHEMA]
)
RELEASE_EVENTS_SCHEMA = pa.schema(
    [pa.field("recording_id", pa.string(), nullable=False), *EVENTS_SCHEMA]
)
INDEX_SCHEMA = pa.schema(
    [
        pa.field("recording_id", pa.string(), nullable=False),
        pa.field("contributor_id", pa.string(), nullable=False),
        pa.field("duration_s", pa.float64(), nullable=False),
        pa.field("frame_rate", pa.float64(), nullable=False),
        pa.field("frame_count", pa.int64(), nullable=False),
        pa.field("tracks", pa.list_(pa.string()), nullable=False),
        pa.field("track_roles", pa.list_(pa.string()), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("device_class", pa.string(), nullable=False),
        pa.field("modalities", pa.list_(pa.string()), nullable=False),
        pa.field("licence", pa.string(), nullable=False),
        pa.field("motion_file", pa.string(), nullable=False),
        pa.field("events_file", pa.string(), nullable=True),
        pa.field("audio_file", pa.string(), nullable=True),
    ]
)
# Parquet bytes per motion row after zstd, measured on synthetic head-and-hands takes; only
# used to cut shards near their target size.
ROW_BYTES_ESTIMATE = 24

Opener = Callable[[], AbstractContextManager[BinaryIO]]


def motion_shard_path(index: int) -> str:
    return f"data/motion-{index:05d}.parquet"


def events_shard_path(index: int) -> str:
    return f"data/events-{index:05d}.parquet"


def audio_path(recording_id: str) -> str:
    return f"audio/{recording_id}.flac"


def estimated_bytes(summary: dict[str, Any]) -> int:
    """A donation's share of a shard, from its metadata alone (no storage round trip)."""
    tracks = len(summary.get("tracks") or []) or 1
    return int(summary.get("frame_count") or 0) * tracks * ROW_BYTES_ESTIMATE


def device_class(summary: dict[str, Any]) -> str:
    """What tracked the body: full-body (a skeleton), head-and-hands, head-only or other."""
    if summary.get("skeleton"):
        return "full-body"
    roles = {str(t.get("role", "")) for t in summary.get("tracks") or []}
    if "head" in roles and {"left_hand", "right_hand"} <= roles:
        return "head-and-hands"
    if roles == {"head"}:
        return "head-only"
    return "other"


class ShardPlanner:
    """Cuts an ordered stream of items into shards of about `target_bytes` each (greedy, so
    the same order and sizes give the same cut)."""

    def __init__(self, target_bytes: int) -> None:
        self.target_bytes = max(1, target_bytes)
        self.index = 0
        self.filled = 0
        self.count = 0

    def place(self, size: int) -> int:
        if self.filled and self.filled + size > self.target_bytes:
            self.index += 1
            self.filled = 0
        self.filled += size
        self.count = self.index + 1
        return self.index


@dataclass(frozen=True)
class ShardItem:
    recording_id: str
    motion: Opener
    events: Opener | None = None
    # The body-size factor (releases.services plans it); 1.0 leaves the processed bytes as they are.
    scale: float = 1.0


POSITION_COLUMNS = ("px", "py", "pz")


def scaled_motion(table: pa.Table, factor: float) -> pa.Table:
    """Positions times `factor` in float32, about the origin (processing recentred the motion
    there); rotations and everything else unchanged."""
    if factor == 1.0:
        return table
    scalar = pa.scalar(factor, pa.float32())
    for name in POSITION_COLUMNS:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, table.field(name), pc.multiply(table[name], scalar))
    return table


def scaled_events(table: pa.Table, factor: float) -> pa.Table:
    """Metre values in the events' JSON data (keys ending in "_m") times `factor`."""
    if factor == 1.0:
        return table
    data = [scale_event_data(text, factor) for text in table["data"].to_pylist()]
    index = table.schema.get_field_index("data")
    return table.set_column(index, table.field("data"), pa.array(data, pa.string()))


def _with_id(table: pa.Table, recording_id: str, schema: pa.Schema) -> pa.Table:
    ids = pa.array([recording_id] * table.num_rows, pa.string())
    return pa.Table.from_arrays([ids, *table.columns], schema=schema)


def write_motion_shard(path: Path, items: Iterable[ShardItem]) -> int:
    """Stream items into one Parquet file, one item in memory at a time; returns the rows."""
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(
        path,
        RELEASE_MOTION_SCHEMA,
        compression="zstd",
        use_dictionary=["recording_id", "track"],
        column_encoding={
            "frame": "DELTA_BINARY_PACKED",
            **dict.fromkeys(["t", "px", "py", "pz", "qx", "qy", "qz", "qw"], "BYTE_STREAM_SPLIT"),
        },
        version="2.6",
    ) as writer:
        for item in items:
            with item.motion() as fh:
                table = scaled_motion(pq.read_table(fh, schema=MOTION_SCHEMA), item.scale)
            writer.write_table(_with_id(table, item.recording_id, RELEASE_MOTION_SCHEMA))
            rows += table.num_rows
            del table
    return rows


def write_events_shard(path: Path, items: Iterable[ShardItem]) -> int:
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(
        path, RELEASE_EVENTS_SCHEMA, compression="zstd", use_dictionary=["recording_id", "kind"]
    ) as writer:
        for item in items:
            if item.events is None:
                continue
            with item.events() as fh:
                table = scaled_events(pq.read_table(fh, schema=EVENTS_SCHEMA), item.scale)
            writer.write_table(_with_id(table, item.recording_id, RELEASE_EVENTS_SCHEMA))
            rows += table.num_rows
    return rows


class IndexWriter:
    """The recording index, written in batches so a large release is never held whole."""

    BATCH = 2048

    def __init__(self, path: Path) -> None:
        self._writer = pq.ParquetWriter(path, INDEX_SCHEMA, compression="zstd")
        self._rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=INDEX_SCHEMA))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def file_entry(path: Path, rel: str) -> dict[str, Any]:
    with path.open("rb") as fh:
        return {"path": rel, "size": path.stat().st_size, "sha256": sha256_stream(fh)}


def manifest_bytes(
    *, dataset: str, version: str, recordings: int, entries: list[dict[str, Any]]
) -> bytes:
    """manifest.json: every other file of the release with its size and SHA-256, by path."""
    manifest = {
        "dataset": dataset,
        "version": version,
        "recordings": recordings,
        "files": sorted(entries, key=lambda e: e["path"]),
    }
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def sums_bytes(entries: Iterable[dict[str, Any]]) -> bytes:
    """SHA256SUMS in the format `sha256sum -c` reads."""
    ordered = sorted(entries, key=lambda e: e["path"])
    return "".join(f"{e['sha256']}  {e['path']}\n" for e in ordered).encode()
