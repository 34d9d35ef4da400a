"""From an uploaded file to the processed artifacts: detect, read, validate, anonymize, write.

Artifacts (both deterministic: same input and options, same bytes):

* ``motion.parquet``: one row per (track, frame), ordered by track then frame, with the schema
  ``MOTION_SCHEMA`` shared by every format; zstd, byte-stream-split floats, delta-encoded frame
  numbers, dictionary-encoded track names only.
* ``metadata.json``: what the table holds and how it was made (see ``build_metadata``), sorted
  keys.
* ``preview.svg`` and ``preview.json``: a trajectory image and the poses downsampled for a 3D
  replay in the browser (see ``preview.py``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from processing.motion.anonymize import AnonymizationReport, anonymize_deferred
from processing.motion.columns import arrow_array
from processing.motion.detect import detect_format
from processing.motion.formats import ReadOptions
from processing.motion.formats.base import checked_file_size
from processing.motion.model import Events, Recording
from processing.motion.preview import (
    MOTION_PREVIEW_NAME,
    PREVIEW_NAME,
    write_motion_preview,
    write_preview,
)
from processing.motion.validate import checked

SCHEMA_VERSION = 1
PARQUET_NAME = "motion.parquet"
EVENTS_NAME = "events.parquet"
METADATA_NAME = "metadata.json"
_FLOAT_COLUMNS = ("px", "py", "pz", "qx", "qy", "qz", "qw")
MOTION_SCHEMA = pa.schema(
    [
        pa.field("track", pa.string(), nullable=False),
        pa.field("frame", pa.int32(), nullable=False),
        pa.field("t", pa.float64(), nullable=False),
        *(pa.field(name, pa.float32(), nullable=False) for name in _FLOAT_COLUMNS),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        pa.field("t", pa.float64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("data", pa.string(), nullable=False),
    ]
)
# What write_parquet hands the Parquet writer: the track column dictionary-typed, so the writer
# neither hashes nor compares (for the statistics) a string per row; it is stored as the same
# Parquet column (UTF-8 strings, dictionary-encoded), and without the Arrow schema in the file
# metadata it reads back as MOTION_SCHEMA exactly.
_WRITE_SCHEMA = MOTION_SCHEMA.set(
    0, pa.field("track", pa.dictionary(pa.int32(), pa.string()), nullable=False)
)
_ROW_GROUP_ROWS = 1 << 20
_DECIMALS = 6  # micrometres / microseconds: beyond any capture precision, keeps JSON stable


@dataclass(frozen=True)
class ConversionResult:
    metadata: dict[str, Any]
    artifacts: dict[str, Path]


def read_recording(src: Path, *, length_unit: str | None = None) -> Recording:
    """Detect the format from content, read, drop leading jump frames and validate.

    Raises RejectedRecording on bad input.
    """
    checked_file_size(src)
    reader = detect_format(src)
    return checked(reader.read(src, ReadOptions(length_unit=length_unit)))


def convert_file(
    src: Path,
    out_dir: Path,
    *,
    body_size: str = "keep",
    length_unit: str | None = None,
    seed: int | None = None,
) -> ConversionResult:
    """Turn one donated file into the artifacts (module docstring) inside ``out_dir``.

    ``body_size`` is the dataset's profile (keep | normalize | noise); ``length_unit`` overrides
    unit detection for formats that guess it (BVH); ``seed`` seeds the noise profile (default:
    derived from the content). Raises RejectedRecording for bad input, before writing anything.
    Files are written under temporary names and renamed, so a crash leaves no partial artifact;
    rerunning overwrites with identical bytes. Creates ``out_dir`` if needed.
    """
    recording = read_recording(src, length_unit=length_unit)  # ours alone: anonymize in place
    recording, report, finish_track = anonymize_deferred(recording, body_size=body_size, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet_path = out_dir / PARQUET_NAME
    metadata_path = out_dir / METADATA_NAME
    artifacts = {
        PARQUET_NAME: parquet_path,
        METADATA_NAME: metadata_path,
        PREVIEW_NAME: out_dir / PREVIEW_NAME,
        MOTION_PREVIEW_NAME: out_dir / MOTION_PREVIEW_NAME,
    }
    # The motion table, by far the largest artifact, is written on a second thread (pyarrow
    # releases the GIL), each track's anonymizing pass done as the writer reaches it, while
    # this thread writes the events, then the previews as soon as the last track is anonymized
    # (while the writer still encodes it); each file is still written atomically.
    last_track = len(recording.tracks) - 1
    anonymized: Future[None] = Future()

    def prepare_track(track: int) -> None:
        finish_track(track)
        if track == last_track:
            anonymized.set_result(None)

    with ThreadPoolExecutor(max_workers=1) as pool:
        motion = pool.submit(
            _write_atomically,
            parquet_path,
            lambda tmp: write_parquet(recording, tmp, prepare_track=prepare_track),
        )
        try:
            metadata = build_metadata(recording, report)
            if recording.events is not None and len(recording.events):
                events = recording.events
                artifacts[EVENTS_NAME] = out_dir / EVENTS_NAME
                _write_atomically(artifacts[EVENTS_NAME], lambda tmp: write_events(events, tmp))
            wait([motion, anonymized], return_when=FIRST_COMPLETED)
            if anonymized.done():  # else the writer failed: its error is raised below
                _write_atomically(
                    artifacts[PREVIEW_NAME], lambda tmp: write_preview(recording, tmp)
                )
                _write_atomically(
                    artifacts[MOTION_PREVIEW_NAME],
                    lambda tmp: write_motion_preview(recording, tmp),
                )
        finally:
            motion.result()
    text = json.dumps(metadata, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    _write_atomically(metadata_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return ConversionResult(metadata=metadata, artifacts=artifacts)


def _write_atomically(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _motion_batches(
    recording: Recording,
    prepare_track: Callable[[int], None] | None = None,
    *,
    dictionary_track: bool = False,
) -> Iterator[pa.Table]:
    """The long table in row groups of at most _ROW_GROUP_ROWS rows, track by track.

    Built column-wise from slices of the (T, F) arrays, so at most one row group of columns
    exists at a time: the whole table is never materialised next to the recording.
    ``prepare_track(i)`` is called just before track i is first read. ``dictionary_track``:
    tables of ``_WRITE_SCHEMA`` instead of ``MOTION_SCHEMA``.
    """
    frames = recording.frame_count
    step = max(1, _ROW_GROUP_ROWS)
    times = recording.times.astype(np.float64, copy=False)
    schema = _WRITE_SCHEMA if dictionary_track else MOTION_SCHEMA
    zeros = arrow_array(np.zeros(min(step, frames), dtype=np.int32))
    for track_index, track in enumerate(recording.tracks):
        if prepare_track is not None:
            prepare_track(track_index)
        positions = recording.positions[track_index]
        rotations = recording.rotations[track_index]
        for start in range(0, frames, step):
            stop = min(frames, start + step)
            name = (
                pa.DictionaryArray.from_arrays(
                    zeros[: stop - start], pa.array([track], pa.string())
                )
                if dictionary_track
                else pa.repeat(pa.scalar(track, pa.string()), stop - start)
            )
            columns = [
                name,
                arrow_array(np.arange(start, stop, dtype=np.int32)),
                arrow_array(times[start:stop]),
                *(arrow_array(positions[start:stop, i]) for i in range(3)),
                *(arrow_array(rotations[start:stop, i]) for i in range(4)),
            ]
            yield pa.Table.from_arrays(columns, schema=schema)


def motion_table(recording: Recording) -> pa.Table:
    """The whole long table in memory (for callers that want it; writing streams instead)."""
    batches = list(_motion_batches(recording))
    return pa.concat_tables(batches) if batches else MOTION_SCHEMA.empty_table()


def write_parquet(
    recording: Recording, path: Path, *, prepare_track: Callable[[int], None] | None = None
) -> None:
    """Stream the long table into ``path``: each row group is encoded and compressed on a
    second thread (pyarrow releases the GIL) while the next one is cut from the arrays.
    ``prepare_track(i)`` (optional) runs just before track i is first read.
    """
    with (
        pq.ParquetWriter(
            path,
            _WRITE_SCHEMA,
            store_schema=False,  # the Parquet types alone read back as MOTION_SCHEMA
            compression="zstd",
            use_dictionary=["track"],
            column_encoding={
                "frame": "DELTA_BINARY_PACKED",
                **dict.fromkeys(["t", *_FLOAT_COLUMNS], "BYTE_STREAM_SPLIT"),
            },
            write_statistics=True,
            version="2.6",
        ) as writer,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        pending: Future[None] | None = None
        for batch in _motion_batches(recording, prepare_track, dictionary_track=True):
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, batch, row_group_size=_ROW_GROUP_ROWS)
        if pending is not None:
            pending.result()


def write_events(events: Events, path: Path) -> None:
    """Events in time order (stable for ties), one schema for every format."""
    order = arrow_array(np.argsort(events.times, kind="stable").astype(np.int64))
    table = pa.Table.from_arrays(
        [
            arrow_array(events.times.astype(np.float64)).take(order),
            pa.array(events.kinds, pa.string()).take(order),
            pa.array(events.data, pa.string()).take(order),
        ],
        schema=EVENTS_SCHEMA,
    )
    pq.write_table(table, path, compression="zstd", use_dictionary=["kind"], version="2.6")


def _events_summary(events: Events | None) -> dict[str, Any] | None:
    if events is None or not len(events):
        return None
    counts = Counter(events.kinds)
    return {
        "file": EVENTS_NAME,
        "count": len(events),
        "kinds": {str(kind): counts[kind] for kind in sorted(counts)},
    }


def _round(values: Any) -> Any:
    return np.round(np.asarray(values, dtype=np.float64), _DECIMALS).tolist()


def build_metadata(recording: Recording, report: AnonymizationReport) -> dict[str, Any]:
    """JSON-ready description of the artifact. Holds nothing identifying (names, ids, times)."""
    skeleton = recording.skeleton
    return {
        "schema_version": SCHEMA_VERSION,
        "source_format": recording.source_format,
        "frame_rate": recording.frame_rate,
        "frame_count": recording.frame_count,
        "duration_s": round(recording.duration_s, _DECIMALS),
        "tracks": [
            {"name": name, "role": role}
            for name, role in zip(recording.tracks, recording.roles, strict=True)
        ],
        "skeleton": None
        if skeleton is None
        else {
            "joints": list(skeleton.joints),
            "parents": [int(p) for p in skeleton.parents],
            "offsets_m": _round(skeleton.offsets),
            "end_sites": [
                {"parent": int(parent), "offset_m": _round(offset)}
                for parent, offset in skeleton.end_sites
            ],
        },
        "units": {"length": "m", "time": "s"},
        "frame": {"handedness": "right", "up": "+Y", "forward": "-Z", "quaternion_order": "xyzw"},
        "conversion": dict(recording.conversion),
        "anonymization": {
            "recentred": report.recentred,
            "body_size": report.body_size,
            "stripped_fields": list(report.stripped_fields),
        },
        "events": _events_summary(recording.events),
        "artifact": {
            "file": PARQUET_NAME,
            "rows": len(recording.tracks) * recording.frame_count,
            "order": ["track", "frame"],
        },
    }
