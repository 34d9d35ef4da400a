"""From an uploaded file to the processed artifacts: detect, read, validate, anonymize, write.

Artifacts (both deterministic: same input and options, same bytes):

* ``motion.parquet``: one row per (track, frame), with the schema ``MOTION_SCHEMA`` shared by
  every format; zstd, byte-stream-split floats, delta-encoded frame numbers, dictionary-encoded
  track names only. Rows come in blocks of ``BLOCK_FRAMES`` frames, and within a block track by
  track, frame by frame; each (block, track) is one row group, whose statistics (track, frame,
  t) let a reader skip to a track or a time. A recording of up to ``BLOCK_FRAMES`` frames
  (24 minutes at 90 Hz) is thus ordered by track then frame; in a longer one each track's frames
  still come in order.
* ``metadata.json``: what the table holds and how it was made (see ``build_metadata``), sorted
  keys.
* ``preview.svg`` and ``preview.json``: a trajectory image and the poses downsampled for a 3D
  replay in the browser (see ``preview.py``).

Why blocks: a format that can be read a block at a time (``FrameStream``; BSOR) is checked,
anonymized and written block by block while the next blocks are read, so reading and the
Parquet encoding run on both CPUs at once. Recordings read whole get the same layout, so the
bytes do not depend on the path taken.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from processing.motion.anonymize import AnonymizationReport, PoseMap, anonymize_deferred
from processing.motion.columns import arrow_array
from processing.motion.detect import detect_format
from processing.motion.formats import ReadOptions
from processing.motion.formats.base import FrameStream, checked_file_size
from processing.motion.model import Events, Recording
from processing.motion.preview import (
    MOTION_PREVIEW_NAME,
    PREVIEW_NAME,
    write_motion_preview,
    write_preview,
)
from processing.motion.validate import BlockChecks, checked

SCHEMA_VERSION = 1
PARQUET_NAME = "motion.parquet"
EVENTS_NAME = "events.parquet"
METADATA_NAME = "metadata.json"
BLOCK_FRAMES = 1 << 17
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
# What the Parquet writer is handed: the track column dictionary-typed, so the writer neither
# hashes nor compares (for the statistics) a string per row; it is stored as the same Parquet
# column (UTF-8 strings, dictionary-encoded), and without the Arrow schema in the file metadata
# it reads back as MOTION_SCHEMA exactly.
_WRITE_SCHEMA = MOTION_SCHEMA.set(
    0, pa.field("track", pa.dictionary(pa.int32(), pa.string()), nullable=False)
)
# Statistics only where they prune: min/max of a pose component selects nothing useful, and
# computing them was a tenth of the write.
_STATISTICS = ["track", "frame", "t"]
_SINK_BUFFER = 4 << 20
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
    derived from the content). Raises RejectedRecording for bad input, leaving no artifact:
    files are written under temporary names and renamed once the whole recording has passed,
    so neither a rejection nor a crash leaves a partial one; rerunning overwrites with
    identical bytes. Creates ``out_dir`` if needed.
    """
    checked_file_size(src)
    reader = detect_format(src)
    options = ReadOptions(length_unit=length_unit)
    open_stream = getattr(reader, "open_stream", None)
    if open_stream is not None and body_size == "keep":  # the other profiles need every frame
        stream: FrameStream = open_stream(src, options)
        try:
            return _convert_stream(stream, out_dir)
        finally:
            stream.close()
    recording = checked(reader.read(src, options))
    return convert_recording(recording, out_dir, body_size=body_size, seed=seed)


def convert_recording(
    recording: Recording, out_dir: Path, *, body_size: str = "keep", seed: int | None = None
) -> ConversionResult:
    """``convert_file`` for a recording already read and checked; it is anonymized in place."""
    recording, report, poses = anonymize_deferred(recording, body_size=body_size, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The motion table, by far the largest artifact, is encoded on a second thread (pyarrow
    # releases the GIL); this one anonymizes each block just before handing it over.
    with MotionWriter(out_dir / PARQUET_NAME) as writer:
        for track, start, stop in _blocks(recording.frame_count, len(recording.tracks)):
            writer.write_block(recording, poses, track, start, stop)
        return _finish_artifacts(recording, report, out_dir, writer)


def _convert_stream(stream: FrameStream, out_dir: Path) -> ConversionResult:
    """``convert_file`` (body size ``keep``) of a recording read a block at a time.

    A block is checked, anonymized and handed to the Parquet writer as soon as the frame after
    it is read (the block's last speed needs that frame as read), so the writer encodes while
    the reader decodes. The verdict on the whole recording comes when every frame is in; a
    rejection then discards the unfinished file. A jump within the first frames brings in the
    leading-jump rule, which needs the whole recording, and damaged values in the first block
    mean a refusal: either way the recording is drained and converted (or refused) whole.
    """
    output = _StreamOutput(stream, out_dir)
    try:
        streaming = True
        frames = 0
        for frames in stream:
            while streaming and output.done + BLOCK_FRAMES < frames:
                streaming = output.block(output.done + BLOCK_FRAMES, frames)
        # The last blocks first: the reader finishes the recording (its rate) meanwhile.
        while streaming and output.done < frames:
            streaming = output.block(min(output.done + BLOCK_FRAMES, frames), frames)
        recording = stream.recording()
        if streaming:
            return output.finish(recording)
    except BaseException:
        output.abort()
        raise
    return convert_recording(checked(recording), out_dir)  # nothing was written yet


@dataclass
class _Started:
    """What the first block fixes: the anonymized recording's shell, the report, the pose map,
    and the writer the blocks go to."""

    anonymized: Recording
    report: AnonymizationReport
    poses: PoseMap
    writer: MotionWriter


class _StreamOutput:
    """The streamed conversion's state: checks so far and, from the first block on, the rest."""

    def __init__(self, stream: FrameStream, out_dir: Path) -> None:
        # The stream's arrays, full-size: only the frames it reported ready are used.
        self.partial = Recording(
            source_format=stream.source_format,
            tracks=list(stream.tracks),
            roles=list(stream.roles),
            times=stream.times,
            positions=stream.positions,
            rotations=stream.rotations,
            frame_rate=0.0,
            source_metadata=stream.source_metadata,
        )
        self.checks = BlockChecks(self.partial)
        self.stream = stream
        self.events: _EarlyEvents | None = None
        self.out_dir = out_dir
        self.created_dirs = _missing_dirs(out_dir)  # made by the first block; removed on abort
        self.done = 0
        self.started: _Started | None = None

    def block(self, stop: int, available: int) -> bool:
        """Check, anonymize and write frames done..stop - 1, frames up to ``available`` being
        read; False (nothing written) if the first block starts with a jump."""
        start = self.done
        self.checks.add(start, stop, available)
        started = self.started
        if started is None:
            # A leading jump needs the whole recording's jumps; damaged first values are
            # refused anyway, by the whole path's rules in their order (nothing to anonymize).
            if self.checks.leading_jump() or not self.checks.values_ok():
                return False
            # ``keep`` reads frame 0 only, which is final.
            anonymized, report, poses = anonymize_deferred(self.partial)
            self.out_dir.mkdir(parents=True, exist_ok=True)
            writer = MotionWriter(self.out_dir / PARQUET_NAME)
            started = self.started = _Started(anonymized, report, poses, writer)
            # ``keep`` leaves events as they are: they can be written as soon as they exist.
            self.events = _EarlyEvents(self.stream, self.out_dir / EVENTS_NAME)
        for track in range(len(self.partial.tracks)):
            started.writer.write_block(started.anonymized, started.poses, track, start, stop)
        self.done = stop
        return True

    def finish(self, recording: Recording) -> ConversionResult:
        started = self.started
        if started is None:
            raise RuntimeError("finish() before any block was written")
        recording = self.checks.finish(recording)  # may refuse it: abort() then
        anonymized = replace(
            recording,
            tracks=started.anonymized.tracks,
            source_metadata=started.anonymized.source_metadata,
            skeleton=started.anonymized.skeleton,
        )
        with started.writer:
            return _finish_artifacts(
                anonymized, started.report, self.out_dir, started.writer, self.events
            )

    def abort(self) -> None:
        if self.events is not None:
            self.events.abort()
        if self.started is not None:
            self.started.writer.abort()
        for folder in self.created_dirs:  # deepest first; each only if left empty
            with contextlib.suppress(OSError):
                folder.rmdir()


def _missing_dirs(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


class _EarlyEvents:
    """``events.parquet`` written under a temporary name by the reader's events thread as soon
    as the events exist (``FrameStream.after_events``), renamed by ``finish``."""

    def __init__(self, stream: FrameStream, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.written = False
        self.job = stream.after_events(self._write)

    def _write(self, events: Events | None) -> None:
        if events is not None and len(events):
            write_events(events, self.tmp)
            self.written = True

    def finish(self) -> bool:
        """Whether the file was written (and is now in place); False: the caller writes it."""
        if self.job is None:
            return False
        self.job.result()
        if self.written:
            os.replace(self.tmp, self.path)
        return True

    def abort(self) -> None:
        if self.job is not None:
            self.job.exception()  # wait; its outcome no longer matters
        with contextlib.suppress(OSError):  # called while another error is handled
            self.tmp.unlink(missing_ok=True)


def _finish_artifacts(
    recording: Recording,
    report: AnonymizationReport,
    out_dir: Path,
    writer: MotionWriter,
    early_events: _EarlyEvents | None = None,
) -> ConversionResult:
    """Every artifact but the motion table, while the writer encodes its last blocks, then
    the table; the recording's poses are all anonymized."""
    artifacts = {
        PARQUET_NAME: out_dir / PARQUET_NAME,
        METADATA_NAME: out_dir / METADATA_NAME,
        PREVIEW_NAME: out_dir / PREVIEW_NAME,
        MOTION_PREVIEW_NAME: out_dir / MOTION_PREVIEW_NAME,
    }
    metadata = build_metadata(recording, report)
    events = recording.events if recording.events is not None and len(recording.events) else None
    if events is not None:
        artifacts[EVENTS_NAME] = out_dir / EVENTS_NAME
    with ThreadPoolExecutor(max_workers=1) as pool:  # events (mostly Arrow) beside the previews
        written: Future[None] | None = None
        if events is not None and not (early_events is not None and early_events.finish()):
            written = pool.submit(
                _write_atomically, artifacts[EVENTS_NAME], lambda tmp: write_events(events, tmp)
            )
        _write_atomically(artifacts[PREVIEW_NAME], lambda tmp: write_preview(recording, tmp))
        _write_atomically(
            artifacts[MOTION_PREVIEW_NAME], lambda tmp: write_motion_preview(recording, tmp)
        )
        writer.close()
        if written is not None:
            written.result()
    text = json.dumps(metadata, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    _write_atomically(artifacts[METADATA_NAME], lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return ConversionResult(metadata=metadata, artifacts=artifacts)


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class MotionWriter:
    """``motion.parquet`` written under a temporary name, row group by row group, each encoded
    on a second thread (pyarrow releases the GIL) while the caller prepares the next;
    ``close()`` renames it into place, ``abort()`` (or leaving the ``with`` block by an
    exception) removes it.

    ``write_block`` anonymizes a block (``PoseMap.into``) straight into a column buffer that
    the encoder takes without a copy. At most ``_PENDING`` blocks wait for the encoder, so
    memory stays bounded and the buffers can be reused in turn: fresh pages per block cost a
    page-fault storm (a third of a conversion's time was the kernel's).
    """

    _PENDING = 2

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp")
        # Buffered: the writer emits every page header and page separately, and asks for its
        # position between them (thousands of write and lseek calls on a long recording).
        self._sink = pa.output_stream(self.tmp, buffer_size=_SINK_BUFFER)
        self._writer = pq.ParquetWriter(
            self._sink,
            _WRITE_SCHEMA,
            store_schema=False,  # the Parquet types alone read back as MOTION_SCHEMA
            compression="zstd",
            # zstd's fast mode: on byte-split floats ~20% quicker than level 1, same size
            compression_level=-1,
            use_dictionary=["track"],
            column_encoding={
                "frame": "DELTA_BINARY_PACKED",
                **dict.fromkeys(["t", *_FLOAT_COLUMNS], "BYTE_STREAM_SPLIT"),
            },
            write_statistics=_STATISTICS,
            version="2.6",
        )
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: deque[Future[None]] = deque()
        # One buffer per block that can be in the encoder's hands, plus the one being filled.
        self._buffers: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]] = []
        self._offsets = np.arange(BLOCK_FRAMES, dtype=np.int32)  # frame numbers, less start
        self._codes = np.zeros(BLOCK_FRAMES, dtype=np.int32)  # every row is the table's track
        self._turn = 0
        self._open = True

    def __enter__(self) -> MotionWriter:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None or self._open:
            self.abort()

    def write_block(
        self, recording: Recording, poses: PoseMap, track: int, start: int, stop: int
    ) -> None:
        """Anonymize frames start..stop - 1 of ``track`` (recording too) and queue them."""
        while len(self._pending) >= self._PENDING:
            self._pending.popleft().result()
        rows = stop - start
        if len(self._buffers) <= self._PENDING:
            self._buffers.append(
                (
                    np.empty((7, BLOCK_FRAMES), dtype=np.float32),
                    np.empty(BLOCK_FRAMES, dtype=np.int32),
                )
            )
        floats, frames = self._buffers[self._turn % len(self._buffers)]
        self._turn += 1
        columns = floats[:, :rows]
        poses.into(track, start, stop, columns)
        np.add(self._offsets[:rows], start, out=frames[:rows])
        table = _table(recording, track, start, stop, columns, frames[:rows], self._codes[:rows])
        self._pending.append(self._pool.submit(self._writer.write_table, table, rows))

    def close(self) -> None:
        while self._pending:
            self._pending.popleft().result()
        self._writer.close()
        self._sink.close()
        self._pool.shutdown()
        os.replace(self.tmp, self.path)
        self._open = False

    def abort(self) -> None:
        """Remove the unfinished file. Called while another error is handled, so failures
        closing it (the disk that just filled up fails the flush again) are not raised over
        that error."""
        if not self._open:
            return
        self._open = False
        self._pool.shutdown(wait=True)  # lets a running encode end; its outcome no longer matters
        for close in (self._writer.close, self._sink.close):
            with contextlib.suppress(Exception):
                close()
        self.tmp.unlink(missing_ok=True)


def _blocks(frames: int, tracks: int) -> Iterator[tuple[int, int, int]]:
    """(track, start, stop) of every row group, in file order (module docstring)."""
    for start in range(0, frames, BLOCK_FRAMES):
        for track in range(tracks):
            yield track, start, min(start + BLOCK_FRAMES, frames)


def _table(
    recording: Recording,
    track: int,
    start: int,
    stop: int,
    columns: npt.NDArray[np.float32],
    frames: npt.NDArray[np.int32],
    codes: npt.NDArray[np.int32] | None,
) -> pa.Table:
    """One row group: track ``track``'s frames start..stop - 1, from ``columns`` (px ... qw,
    contiguous rows) and ``frames``, without copies. With ``codes`` (zeros, one per row) the
    track column is dictionary-typed (``_WRITE_SCHEMA``), else plain (``MOTION_SCHEMA``)."""
    rows = stop - start
    name = recording.tracks[track]
    return pa.Table.from_arrays(
        [
            pa.DictionaryArray.from_arrays(arrow_array(codes), pa.array([name], pa.string()))
            if codes is not None
            else pa.repeat(pa.scalar(name, pa.string()), rows),
            arrow_array(frames),
            arrow_array(recording.times[start:stop].astype(np.float64, copy=False)),
            *(arrow_array(column) for column in columns),
        ],
        schema=_WRITE_SCHEMA if codes is not None else MOTION_SCHEMA,
    )


def _block_table(recording: Recording, track: int, start: int, stop: int) -> pa.Table:
    """``_table`` over copies of the recording's values (for a table that is kept)."""
    columns = np.concatenate(
        [recording.positions[track, start:stop].T, recording.rotations[track, start:stop].T]
    )
    frames = np.arange(start, stop, dtype=np.int32)
    return _table(recording, track, start, stop, columns, frames, None)


def motion_table(recording: Recording) -> pa.Table:
    """The whole long table in memory, rows in file order (for callers that want it)."""
    blocks = _blocks(recording.frame_count, len(recording.tracks))
    tables = [_block_table(recording, *block) for block in blocks]
    return pa.concat_tables(tables) if tables else MOTION_SCHEMA.empty_table()


def write_parquet(recording: Recording, path: Path) -> None:
    """``motion.parquet`` of a recording as it is (convert_file anonymizes it first)."""
    identity = PoseMap(recording, None)
    with MotionWriter(path) as writer:
        for block in _blocks(recording.frame_count, len(recording.tracks)):
            writer.write_block(recording, identity, *block)
        writer.close()


def write_events(events: Events, path: Path) -> None:
    """Events in time order (stable for ties), one schema for every format."""
    order = arrow_array(np.argsort(events.times, kind="stable").astype(np.int64))
    table = pa.Table.from_arrays(
        [
            arrow_array(events.times.astype(np.float64)).take(order),
            pa.array(events.kinds, pa.string()).take(order),
            events.data_array().take(order),
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
            "order": ["frame_block", "track", "frame"],
            "frame_block": BLOCK_FRAMES,
        },
    }
