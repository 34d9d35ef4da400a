"""From an uploaded file to the processed artifacts: detect, read, validate, anonymize, write.

Artifacts (both deterministic: same input and options, same bytes):

* ``motion.parquet``: one row per (track, frame), with the schema ``MOTION_SCHEMA`` shared by
  every format; zstd, byte-stream-split floats, delta-encoded frame numbers, dictionary-encoded
  track names only. Rows come in blocks of ``tables.BLOCK_FRAMES`` frames, and within a block
  track by track, frame by frame; each (block, track) is one row group, whose statistics
  (track, frame, t) let a reader skip to a track or a time. A recording of up to one block (24
  minutes at 90 Hz) is thus ordered by track then frame; in a longer one each track's frames
  still come in order. ``tables.py`` holds the schemas and the writer.
* ``metadata.json``: what the table holds and how it was made (see ``build_metadata``), sorted
  keys; under ``quality`` the quality report of the anonymized poses (``quality.py``).
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
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from processing.motion import tables
from processing.motion.anonymize import AnonymizationReport, PoseMap, anonymize_deferred
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
from processing.motion.quality import quality_report
from processing.motion.tables import (
    MotionWriter,
    write_events,
)
from processing.motion.validate import BlockChecks, checked

SCHEMA_VERSION = 1
PARQUET_NAME = "motion.parquet"
EVENTS_NAME = "events.parquet"
METADATA_NAME = "metadata.json"
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
        for track, start, stop in tables.blocks(recording.frame_count, len(recording.tracks)):
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
            while streaming and output.done + tables.BLOCK_FRAMES < frames:
                streaming = output.block(output.done + tables.BLOCK_FRAMES, frames)
        # The last blocks first: the reader finishes the recording (its rate) meanwhile.
        while streaming and output.done < frames:
            streaming = output.block(min(output.done + tables.BLOCK_FRAMES, frames), frames)
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
    # On the main thread while the writer's thread encodes the last blocks.
    metadata["quality"] = quality_report(recording).as_dict()
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
            "frame_block": tables.BLOCK_FRAMES,
        },
    }
