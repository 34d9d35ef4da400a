"""The Parquet tables of a processed recording: the schemas, the block layout of
``motion.parquet`` (see ``convert``'s module docstring) and the writer that encodes it on a
second thread. ``convert`` decides what goes in; this module only lays it out and writes it."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from processing.motion.anonymize import PoseMap
from processing.motion.columns import arrow_array
from processing.motion.model import Events, Recording

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


def blocks(frames: int, tracks: int) -> Iterator[tuple[int, int, int]]:
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
    parts = [
        _block_table(recording, *block)
        for block in blocks(recording.frame_count, len(recording.tracks))
    ]
    return pa.concat_tables(parts) if parts else MOTION_SCHEMA.empty_table()


def write_parquet(recording: Recording, path: Path) -> None:
    """``motion.parquet`` of a recording as it is (convert_file anonymizes it first)."""
    identity = PoseMap(recording, None)
    with MotionWriter(path) as writer:
        for block in blocks(recording.frame_count, len(recording.tracks)):
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
