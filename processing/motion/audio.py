"""Audio that accompanies a recording (the donor's voice, the game's music): check, then FLAC.

``convert_audio`` takes WAV, FLAC or Ogg (Vorbis or Opus), recognised from the first bytes
(``RIFF....WAVE``, ``fLaC``, ``OggS``), never from the file name, and writes FLAC:

* **Checks**, each with its code (errors.CODES): an empty file or one without samples
  (``audio.empty``); above MAX_FILE_BYTES (``audio.file_too_large``); another format
  (``audio.unsupported``); recognised but not decodable (``audio.undecodable``); shorter than
  its header says (``audio.truncated``: a WAV data chunk running past the end of the file, a
  FLAC stream that stops before its STREAMINFO sample count, an Ogg stream whose last page is
  cut or lacks the end-of-stream flag); sample rate outside MIN_SAMPLE_RATE..MAX_SAMPLE_RATE or
  more than MAX_CHANNELS channels (``audio.bad_parameters``); longer than MAX_DURATION_S
  (``audio.too_long``); and, given the motion's duration, a difference above the tolerance
  (``audio.duration_mismatch``). The default tolerance is ``max(1 s, 2% of the motion's
  duration)``: recorders start and stop audio and motion capture separately, a second or so
  apart, and long takes drift by a fraction of a percent between clocks; more than that means
  the wrong file or a cut take.
* **Output**: FLAC, 16-bit for sources of at most 16 bits (8/16-bit PCM, G.711, ADPCM) and for
  lossy Vorbis/Opus (decoded, clipped to full scale); 24-bit for 24/32-bit integer and float
  sources (FLAC holds at most 24 bits: 32-bit integer and float samples are rounded to 24 bits,
  floats clipped to full scale). Lossless 8/16/24-bit sources come out sample-exact. Same rate
  and channels as the source.
* **Streaming**: blocks of BLOCK_FRAMES frames go from decoder to encoder, so memory stays flat
  whatever the length. The FLAC is written beside ``dst`` under a temporary name and renamed
  only when every check passed, so a refusal leaves no file.
* **Metadata**: nothing is copied. libsndfile writes only what is set on the output, and we set
  nothing, so title, artist, comment, dates, WAV LIST/bext/iXML chunks, FLAC Vorbis comments and
  pictures all stay behind. The summary lists ``"tags"`` under ``stripped`` when the source had
  any. Output is deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf

from processing.motion.errors import RejectedRecording
from processing.motion.limits import MAX_DURATION_S, MAX_FILE_BYTES

BLOCK_FRAMES = 1 << 16
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
MAX_CHANNELS = 8
MIN_TOLERANCE_S = 1.0
TOLERANCE_FRACTION = 0.02

_CONTAINERS = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg"}
_SIXTEEN_BIT = {"PCM_S8", "PCM_U8", "PCM_16", "ULAW", "ALAW", "IMA_ADPCM", "MS_ADPCM", "GSM610"}
_LOSSY = {"VORBIS", "OPUS"}
_TAG_ATTRIBUTES = (
    "title",
    "copyright",
    "software",
    "artist",
    "comment",
    "date",
    "album",
    "license",
    "tracknumber",
    "genre",
)
_WAV_TAG_CHUNKS = {b"LIST", b"bext", b"iXML", b"id3 ", b"ID3 ", b"_PMX", b"axml", b"INFO"}
_FLAC_TAG_BLOCKS = {2, 5, 6}  # APPLICATION, CUESHEET, PICTURE (VORBIS_COMMENT checked apart)
_OGG_MAX_PAGE = 27 + 255 + 255 * 255
_REDO = "Export or record the audio again"


def default_tolerance_s(motion_duration_s: float) -> float:
    """How far audio and motion durations may differ: max(1 s, 2% of the motion)."""
    return max(MIN_TOLERANCE_S, TOLERANCE_FRACTION * motion_duration_s)


def detect_audio_container(head: bytes) -> str | None:
    """The container ("wav", "flac" or "ogg") named by a file's first 12 bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    return None


def convert_audio(
    src: Path,
    dst: Path,
    *,
    motion_duration_s: float | None,
    tolerance_s: float | None = None,
) -> dict[str, Any]:
    """Check ``src`` and write it to ``dst`` as tag-free FLAC; return a JSON-ready summary.

    ``motion_duration_s`` is the duration of the motion the audio goes with (None skips the
    match); ``tolerance_s`` overrides ``default_tolerance_s``. Raises RejectedRecording (codes
    in the module docstring) before ``dst`` exists. Safe to rerun: the same bytes again.
    """
    size = src.stat().st_size
    if size == 0:
        raise RejectedRecording("audio.empty", "The audio file is empty. Export it again.")
    if size > MAX_FILE_BYTES:
        raise RejectedRecording(
            "audio.file_too_large",
            f"The audio file is larger than {MAX_FILE_BYTES // 1024**3} GB, the most we accept. "
            "Split the recording into shorter takes.",
        )
    with src.open("rb") as f:
        container = detect_audio_container(f.read(12))
        if container is None:
            raise RejectedRecording(
                "audio.unsupported",
                "This file is not audio we can read. Upload WAV, FLAC or Ogg (Vorbis) audio.",
            )
        tagged = _container_tags(f, container, size)
    with _open(src, container) as source:
        info = _check_parameters(source, container)
        tagged |= any(getattr(source, name, "") for name in _TAG_ATTRIBUTES)
        frames = int(source.frames)
        duration = frames / source.samplerate
        tolerance = _check_duration(duration, motion_duration_s, tolerance_s)
        bits, dtype = _output_depth(source.subtype)
        tmp = dst.with_name(f".{dst.name}.tmp")
        try:
            decoded = _transcode(source, tmp, bits, dtype, container)
            if decoded != frames:
                raise _truncated(container)
            os.replace(tmp, dst)
        finally:
            tmp.unlink(missing_ok=True)
    summary: dict[str, Any] = {
        "format": "flac",
        "bits_per_sample": bits,
        "sample_rate": int(info["sample_rate"]),
        "channels": int(info["channels"]),
        "frames": frames,
        "duration_s": round(duration, 6),
        "source_format": container,
        "source_subtype": str(info["subtype"]).lower(),
        "stripped": ["tags"] if tagged else [],
    }
    if motion_duration_s is not None:
        summary["motion_duration_s"] = round(motion_duration_s, 6)
        summary["tolerance_s"] = round(tolerance, 6)
    return summary


def _open(src: Path, container: str) -> sf.SoundFile:
    try:
        source = sf.SoundFile(src)
    except (sf.LibsndfileError, RuntimeError, ValueError):
        raise RejectedRecording(
            "audio.undecodable",
            f"The file looks like {container.upper()} audio but cannot be decoded; it may be "
            f"damaged or use an encoding we do not read. {_REDO} as WAV or FLAC.",
        ) from None
    if _CONTAINERS.get(source.format) != container:  # content and decoder disagree
        source.close()
        raise RejectedRecording(
            "audio.undecodable",
            f"The file starts like {container.upper()} audio but is not. {_REDO}.",
        )
    return source


def _check_parameters(source: sf.SoundFile, container: str) -> dict[str, Any]:
    if source.frames <= 0:
        if container == "ogg":  # libsndfile reports 0 frames for an Ogg cut mid-stream
            raise _truncated(container)
        raise RejectedRecording("audio.empty", "The audio file holds no sound. Export it again.")
    if not MIN_SAMPLE_RATE <= source.samplerate <= MAX_SAMPLE_RATE:
        raise RejectedRecording(
            "audio.bad_parameters",
            f"The audio's sample rate is {source.samplerate} Hz; we accept {MIN_SAMPLE_RATE} to "
            f"{MAX_SAMPLE_RATE} Hz. {_REDO} at a usual rate such as 48000 Hz.",
        )
    if not 1 <= source.channels <= MAX_CHANNELS:
        raise RejectedRecording(
            "audio.bad_parameters",
            f"The audio has {source.channels} channels; we accept 1 to {MAX_CHANNELS}. {_REDO} "
            "in mono or stereo.",
        )
    return {
        "sample_rate": source.samplerate,
        "channels": source.channels,
        "subtype": source.subtype,
    }


def _check_duration(
    duration: float, motion_duration_s: float | None, tolerance_s: float | None
) -> float:
    if duration > MAX_DURATION_S:
        raise RejectedRecording(
            "audio.too_long",
            f"The audio lasts more than {MAX_DURATION_S / 3600:.0f} hours, the most we accept. "
            "Split it into shorter takes.",
        )
    if motion_duration_s is None:
        return math.nan
    tolerance = default_tolerance_s(motion_duration_s) if tolerance_s is None else tolerance_s
    if abs(duration - motion_duration_s) > tolerance:
        raise RejectedRecording(
            "audio.duration_mismatch",
            f"The audio lasts {duration:.2f} s but the motion lasts {motion_duration_s:.2f} s; "
            f"they may differ by at most {tolerance:.2f} s. Check that this audio belongs to "
            "this recording, or trim both to the same take.",
        )
    return tolerance


def _output_depth(subtype: str) -> tuple[int, str]:
    """Bits per sample of the FLAC and the dtype to move samples in (exact for PCM)."""
    if subtype in _SIXTEEN_BIT:
        return 16, "int16"
    if subtype in _LOSSY:
        return 16, "float32"
    if subtype in ("PCM_24", "PCM_32"):
        return 24, "int32"
    return 24, "float64"  # FLOAT, DOUBLE and anything else decoded as float


def _transcode(source: sf.SoundFile, tmp: Path, bits: int, dtype: str, container: str) -> int:
    """Stream every block into a FLAC at ``tmp``; the number of frames decoded."""
    decoded = 0
    with sf.SoundFile(
        tmp,
        "w",
        samplerate=source.samplerate,
        channels=source.channels,
        subtype=f"PCM_{bits}",
        format="FLAC",
    ) as sink:
        try:
            for block in source.blocks(BLOCK_FRAMES, dtype=dtype, always_2d=True):
                if dtype.startswith("float"):
                    # libsndfile wraps, not clips, floats beyond full scale.
                    np.clip(block, -1.0, 1.0, out=block)
                sink.write(block)
                decoded += block.shape[0]
        except (sf.LibsndfileError, RuntimeError):
            raise _truncated(container) from None
    return decoded


def _truncated(container: str) -> RejectedRecording:
    return RejectedRecording(
        "audio.truncated",
        f"The {container.upper()} audio stops before the end its header announces: the file "
        f"seems cut short or damaged. {_REDO} and upload the whole file.",
    )


def _container_tags(f: BinaryIO, container: str, size: int) -> bool:
    """Structural checks soundfile does not make, and whether the container carries tags."""
    if container == "wav":
        return _wav_chunks(f, size)
    if container == "flac":
        return _flac_blocks(f, size)
    _check_ogg_end(f, size)
    return False  # Vorbis comments show up through soundfile's tag attributes


def _wav_chunks(f: BinaryIO, size: int) -> bool:
    """Walk the RIFF chunks: audio.truncated if the data chunk runs past the end."""
    tagged = False
    offset = 12
    while offset + 8 <= size:
        f.seek(offset)
        chunk_id, length = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"data":
            if offset + 8 + length > size:
                raise _truncated("wav")
            return tagged
        tagged |= chunk_id in _WAV_TAG_CHUNKS
        offset += 8 + length + (length & 1)
    raise _truncated("wav")  # no data chunk before the end


def _flac_blocks(f: BinaryIO, size: int) -> bool:
    """Walk the FLAC metadata blocks: audio.truncated if they run past the end."""
    tagged = False
    offset = 4
    while True:
        f.seek(offset)
        header = f.read(4)
        if len(header) < 4:
            raise _truncated("flac")
        kind, length = header[0] & 0x7F, int.from_bytes(header[1:4], "big")
        if offset + 4 + length > size:
            raise _truncated("flac")
        if kind == 4 and length >= 8:  # VORBIS_COMMENT: vendor string, then the count
            vendor = int.from_bytes(f.read(4), "little")
            if vendor + 8 <= length:
                f.seek(vendor, os.SEEK_CUR)
                tagged |= int.from_bytes(f.read(4), "little") > 0
        tagged |= kind in _FLAC_TAG_BLOCKS
        offset += 4 + length
        if header[0] & 0x80:  # last metadata block
            return tagged


def _check_ogg_end(f: BinaryIO, size: int) -> None:
    """The last Ogg page must end exactly at the end of the file and carry end-of-stream.

    A page is at most _OGG_MAX_PAGE bytes, so the last one starts within that distance of
    the end; candidates are tried from the last "OggS" backwards (payload bytes can spell it).
    """
    start = max(0, size - _OGG_MAX_PAGE - 4)
    f.seek(start)
    tail = f.read()
    position = len(tail)
    while (position := tail.rfind(b"OggS", 0, position)) >= 0:
        header = tail[position : position + 27]
        if len(header) == 27 and header[4] == 0:
            segments = header[26]
            table = tail[position + 27 : position + 27 + segments]
            end = position + 27 + segments + sum(table)
            if len(table) == segments and end == len(tail):
                if header[5] & 0x04:
                    return
                break
    raise _truncated("ogg")
