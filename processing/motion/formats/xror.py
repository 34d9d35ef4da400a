"""XROR (Extended Reality Open Recording; MetaGuard/xror, the format of the BOXRR-23 dataset).

Layout (schema https://metaguard.github.io/xror/schema/v1.0.0/schema.json, reference library
MetaGuard/xror ``XROR.pack``/``unpack``): one BSON document whose first element is ``$schema``
(the schema URL, which carries the version), then

* ``info``: ``hardware.devices`` (a list of ``{name, type, joint, axes}``; ``type`` is one of
  HMD, CONTROLLER, TRACKER, STYLUS, BODY, EYE, OTHER and ``joint`` a body location such as HEAD,
  HAND_LEFT), ``software`` (api, runtime, app, environment, activity with song/map fields and
  the score), ``user`` (platform id and display name) and ``timestamp`` (a BSON date).
* ``frames``: one fpzip-compressed float32 array (F, 1 + sum of every device's axes): per frame
  the time in seconds, then each device's values in the order of its ``axes``.
* ``events``: a list of event types ``{id, name, attr, floatData, otherData}``. ``floatData`` is
  an fpzip array (N, 1 + float attributes): time, then the float attributes, which ``attr``
  lists first; ``otherData`` holds the N rows of the remaining attributes. When fpzip refuses
  an array, the reference writer pads it with two blocks of -1 rows; those rows are dropped.

fpzip streams carry their shape in a range-coded header, decoded here before anything is
decompressed: a stream must be 2-D, as wide as the devices' axes (or the event's float
attributes) declare, as long as ``otherData`` declares, and all streams together may not
expand beyond MAX_EXPANSION times the file size (real motion compresses about 2:1; a still
recording about 15:1). The fpzip decoder does not bound its reads and a damaged stream can
crash the process (segmentation fault or division by zero, both seen when fuzzing), so every
decompression runs in a short-lived child process; a child that dies means a damaged array.

Conversion into the canonical model (model.py):

* Axes: ``x y z`` are the position, ``i j k 1`` the rotation quaternion (x, y, z, w); other
  axes (a brush's pressure ``p``) are not kept. A device without ``x y z`` and ``i j k`` is
  no track (counted as ``devices_without_pose``). When ``1`` is absent, w is rebuilt as
  ``sqrt(max(0, 1 - i^2 - j^2 - k^2))``: q and -q are the same rotation, so a writer that
  drops w must first choose the hemisphere w >= 0, and that is the only reading that makes
  the dropped w recoverable.
* Frame: XROR follows Unity (left-handed, +Y up, +Z forward, metres). Mirroring Z gives the
  canonical right-handed, +Y up, -Z forward frame: positions (x, y, z) -> (x, y, -z),
  quaternions (x, y, z, w) -> (-x, -y, z, w). A device's Unity forward (+Z) becomes its local
  -Z, as the model wants. Quaternions are then made continuous over time per track.
* Times: frames must not go back in time (``motion.time_not_increasing``). Several frames may
  share a time (Beat Saber logs three or four frames at song time 0 before the song starts,
  the first all zeros): of each run of equal times only the last frame is kept, the newest
  pose the source had at that time (``dropped_repeated_frames``). Leading frames in which a
  device's quaternion is all zeros (an untracked placeholder) are then dropped
  (``dropped_placeholder_frames``). Times start at 0 at the first kept frame.
* Beat Saber (app id 620980 or app name "Beat Saber", i.e. ``XROR.fromBSOR``): frame times are
  song time, so the clock rules of bsor.py apply: song time is divided by the song speed
  (practice speed, else the SF/FS/SS modifiers in ``info.software.activity``) and each pause
  of the ``p`` events (whole seconds) is inserted after it. The same replay as BSOR and as
  XROR thus gives the same canonical times, poses and event kinds.
* Frame rate (XROR declares none): the mean rate over the regular intervals (at most twice the
  median), snapped to a whole number within 1 %, as in bsor.py (``nominal_rate``).
* Roles: joint HEAD (or an HMD without joint) -> head; HAND_LEFT / WRIST_LEFT (or a
  CONTROLLER without joint whose name says left) -> left_hand, likewise right; the first match
  wins; everything else is "joint". Track names are made from roles and joint/type enums,
  never from device names (those are hardware models).
* Tilt Brush sketches (``XROR.fromTilt``; app id 327140 or app name "Tilt Brush"): one device
  "BRUSH" whose frames are the strokes' control points, stroke after stroke, with the Tilt
  Brush clock in milliseconds and canvas units of decimetres (the writer copies both
  unchanged; converted here to s and m). Strokes that the symmetry mirror drew at the same time
  as another stroke overlap in time, so the frames are cut into runs of non-decreasing time and
  a run is kept only when it starts after the last kept run ended
  (``skipped_overlapping_frames``). What remains is the brush tip's path in canvas space
  (which the artist may move while drawing), a single "brush" track with role "joint"; the
  strokes are events.

Events (``Events``; times on the recording clock): only known types with an allowlist of
fields are kept (``EVENT_TYPES``). Kinds and field names follow bsor.py: ``note_good_cut``,
``note_bad_cut``, ``note_miss``, ``bomb_cut`` (``note_time_s`` and the noteID decoded into
line index and layer, colour, cut direction and scoring type; cuts add the saber, the four
cut checks (all passed for a good cut), time and direction deviations, cut angle and swing
ratings), ``wall_hit`` (energy, wall time, the wallID decoded into line index, obstacle type
and width), ``pause`` (``duration_s``, placed where the pause began), and Tilt Brush
``stroke`` (colour, size, scale, brush GUID). Left out on purpose: per-frame fps ``f``
(telemetry), the automatic height ``h`` (the player's measured height, which a dataset's
body-size profile must control), Oculus raw cut bytes ``g``, and the spatial cut fields (saber
speed and direction, cut point and normal: anonymize neither recentres nor rescales events, so
they would disagree with the motion and could reveal the body-size factor) and the cut's
distance to the note centre. Known types left out are listed in ``dropped_event_types``;
unknown types (any app's own) are only counted. Events with a non-finite time are dropped
(``dropped_events``); other non-finite values leave their key out.

Everything in ``info`` except the devices' type/joint/axes, plus ``$id`` and unknown top-level
keys, is ``source_metadata`` (user id and name, timestamp, device names, software, song hash,
score, ...): anonymize drops it and lists only the field paths (keys that are not plain
identifiers show as "?", lists as "[]").

Linkability: XROR files made from BeatLeader replays carry motion and event timings identical
to the public replay, so stripping ``info`` does not make them unlinkable to the player's
leaderboard profile (see bsor.py); consent texts and dataset cards should say so.
"""

from __future__ import annotations

import json
import math
import re
import struct
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.motion.errors import RejectedRecording
from processing.motion.formats.base import ReadOptions, checked_file_size
from processing.motion.limits import MAX_DURATION_S, MAX_FILE_BYTES, MAX_FRAME_RATE, MAX_TRACKS
from processing.motion.model import Events, Float32Array, Float64Array, Recording, Role
from processing.motion.rotations import make_continuous

SUPPORTED_MAJOR_VERSION = 1
SCHEMA_URL = "https://metaguard.github.io/xror/schema/v1.0.0/schema.json"
_SCHEMA_VERSION_RE = re.compile(r"/xror/schema/v(\d{1,4})\.(\d{1,4})\.(\d{1,4})/", re.IGNORECASE)

# Decompression-bomb guard (see module docstring): all arrays of one file together.
MAX_EXPANSION = 64
MIN_DECODE_ALLOWANCE = 64 * 1024**2
MAX_ROWS = int(MAX_DURATION_S * MAX_FRAME_RATE)
MAX_AXES_PER_DEVICE = 64
_CHILD_TIMEOUT_S = 60.0
_CHILD_BYTES_PER_S = 20 * 1024**2

TILT_BRUSH_APP_IDS = frozenset({"327140", 327140})
_POSITION_AXES = ("x", "y", "z")
_ROTATION_AXES = ("i", "j", "k")
_SIDE_JOINTS: dict[str, Role] = {
    "HAND_LEFT": "left_hand",
    "WRIST_LEFT": "left_hand",
    "HAND_RIGHT": "right_hand",
    "WRIST_RIGHT": "right_hand",
}
_DEVICE_TYPES = frozenset({"HMD", "CONTROLLER", "TRACKER", "STYLUS", "BODY", "EYE", "OTHER"})
# The schema's joint enum, except OTHER.
_JOINT_ENUM = (
    "PELVIS SPINE_NAVAL SPINE_CHEST NECK HEAD NOSE EYE_LEFT EAR_LEFT EYE_RIGHT EAR_RIGHT "
    "CLAVICLE_LEFT SHOULDER_LEFT ELBOW_LEFT WRIST_LEFT HAND_LEFT HANDTIP_LEFT THUMB_LEFT "
    "CLAVICLE_RIGHT SHOULDER_RIGHT ELBOW_RIGHT WRIST_RIGHT HAND_RIGHT HANDTIP_RIGHT "
    "THUMB_RIGHT HIP_LEFT KNEE_LEFT ANKLE_LEFT FOOT_LEFT HIP_RIGHT KNEE_RIGHT ANKLE_RIGHT "
    "FOOT_RIGHT"
)
JOINTS = frozenset(_JOINT_ENUM.split(" "))


@dataclass(frozen=True)
class EventType:
    """How one XROR event type becomes canonical events: its kind and kept fields.

    ``fields`` maps a source attribute to (output name, conversion): "clock" (a time on the
    source clock -> recording clock), "seconds" (a song-time span -> real seconds), "float",
    "int", "bool", "saber" (0 left, 1 right), "text".
    """

    kind: str
    fields: dict[str, tuple[str, str]]


_NOTE_FIELDS = {"spawnTime": ("note_time_s", "clock"), "noteID": ("note_id", "int")}
_CUT_FIELDS = {
    **_NOTE_FIELDS,
    "saberType": ("saber", "saber"),
    "speedOK": ("speed_ok", "bool"),
    "directionOK": ("direction_ok", "bool"),
    "saberTypeOK": ("saber_type_ok", "bool"),
    "wasCutTooSoon": ("was_cut_too_soon", "bool"),
    "timeDeviation": ("time_deviation_s", "seconds"),
    "cutDirDeviation": ("cut_direction_deviation_deg", "float"),
    "cutAngle": ("cut_angle_deg", "float"),
    "beforeCutRating": ("before_cut_rating", "float"),
    "afterCutRating": ("after_cut_rating", "float"),
}
# Kinds and field names follow the BSOR reader (bsor.py), so a replay reads the same either way.
EVENT_TYPES: dict[str, EventType] = {
    "gc": EventType("note_good_cut", _CUT_FIELDS),
    "bc": EventType("note_bad_cut", _CUT_FIELDS),
    "m": EventType("note_miss", _NOTE_FIELDS),
    "b": EventType("bomb_cut", _NOTE_FIELDS),
    "wh": EventType(
        "wall_hit",
        {
            "energy": ("energy", "float"),
            "spawnTime": ("wall_time_s", "clock"),
            "wallID": ("wall_id", "int"),
        },
    ),
    # BSOR pause durations are whole seconds of real time; the event is placed where the
    # pause began (its logged time minus its duration), as bsor.py does.
    "p": EventType("pause", {"duration": ("duration_s", "float")}),
    "stroke": EventType(
        "stroke",
        {
            **{f"color_{c}": (f"color_{c}", "float") for c in "rgba"},
            "size": ("size", "float"),
            "scale": ("scale", "float"),
            "brush": ("brush", "text"),
        },
    ),
}
# Known types left out on purpose (module docstring); named in the conversion record.
DROPPED_EVENT_TYPES = frozenset({"f", "h", "g"})
BEAT_SABER_APP_IDS = frozenset({"620980", 620980})
SONG_SPEED_MODIFIERS = {"SF": 1.5, "FS": 1.2, "SS": 0.85}
_RATE_SNAP = 0.01
_MAX_EVENT_TEXT = 64

# BSON element types and the size of their value when it is fixed (sniffing only).
_BSON_FIXED = {0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16}
_BSON_PREFIXED = {0x02, 0x03, 0x04, 0x05, 0x0D, 0x0E}
_SNIFF_ELEMENTS = 8


class XrorReader:
    name = "xror"
    label = "XROR"

    def sniff(self, head: bytes) -> bool:
        return sniff_xror(head)

    def read(self, path: Path, options: ReadOptions) -> Recording:
        return read_xror(path)


READER = XrorReader()


def sniff_xror(head: bytes) -> bool:
    """A BSON document whose first few top-level elements include an XROR ``$schema`` string.

    Checks the declared document length is plausible and walks the elements in ``head``; a
    malformed element, an unknown type or running out of ``head`` before ``$schema`` answers no.
    """
    if len(head) < 5:
        return False
    doc_len = int.from_bytes(head[:4], "little", signed=True)
    if not 16 <= doc_len <= MAX_FILE_BYTES:
        return False
    pos = 4
    for _ in range(_SNIFF_ELEMENTS):
        if pos >= min(len(head), doc_len - 1):
            return False
        kind = head[pos]
        key_end = head.find(b"\0", pos + 1)
        if key_end < 0:
            return False
        key = head[pos + 1 : key_end]
        pos = key_end + 1
        if kind in _BSON_FIXED:
            pos += _BSON_FIXED[kind]
            continue
        if kind not in _BSON_PREFIXED or pos + 4 > len(head):
            return False
        size = int.from_bytes(head[pos : pos + 4], "little", signed=True)
        if size < 0 or size > doc_len:
            return False
        if kind == 0x02 and key == b"$schema":
            value = head[pos + 4 : pos + 4 + size]
            return size >= 1 and value.endswith(b"\0") and b"xror" in value.lower()
        pos += {0x03: 0, 0x04: 0, 0x05: 5}.get(kind, 4) + size
    return False


def read_xror(path: Path) -> Recording:
    """Read an XROR file into the canonical model. Raises RejectedRecording for any bad input."""
    size = checked_file_size(path)
    document = _decode_document(path.read_bytes())
    _check_version(document)
    info = _mapping(document.get("info"), "info")
    hardware = _mapping(info.get("hardware"), "info.hardware")
    devices = _devices(hardware.get("devices"))
    frames_blob = document.get("frames")
    if frames_blob is None:
        raise _missing("frames")
    if isinstance(frames_blob, list):
        raise RejectedRecording(
            "xror.unsupported_version",
            "The frames are stored uncompressed, as in pre-1.0 XROR drafts. Export the "
            f"recording again with XROR {SUPPORTED_MAJOR_VERSION}.x.",
        )
    if not isinstance(frames_blob, bytes):
        raise _bad_document("'frames' must be binary data.")
    event_specs, skipped_types = _event_specs(document.get("events"))
    width = 1 + sum(len(axes) for _, axes in devices)
    plans = [_ArrayPlan(frames_blob, width, None, "frames")]
    plans += [spec.plan for spec in event_specs if spec.plan is not None]
    arrays = decompress_arrays(plans, file_size=size)
    frames = arrays[0]
    if not np.isfinite(frames).all():
        raise RejectedRecording(
            "xror.bad_value",
            "Some frame values are not numbers (NaN or infinite). Export the recording again.",
        )
    decoded = iter(arrays[1:])
    event_tables = [next(decoded) if spec.plan is not None else None for spec in event_specs]
    recording = _build_recording(
        document,
        info,
        devices,
        frames,
        event_specs,
        event_tables,
        tilt=_is_app(info, TILT_BRUSH_APP_IDS, "Tilt Brush"),
    )
    recording.conversion.update(skipped_types)
    return recording


# Document level ---------------------------------------------------------------------------


def _decode_document(data: bytes) -> dict[str, Any]:
    import bson
    from bson.codec_options import CodecOptions, DatetimeConversion

    if len(data) < 5:
        raise RejectedRecording(
            "xror.truncated", "The file is cut short: it ends before its first field."
        )
    declared = int.from_bytes(data[:4], "little", signed=True)
    if declared > len(data):
        raise RejectedRecording(
            "xror.truncated",
            f"The file is cut short: it says it holds {declared} bytes but has {len(data)}. "
            "Upload the complete file.",
        )
    if declared != len(data):
        raise _bad_document(
            f"The document says it is {declared} bytes long but the file has {len(data)}."
        )
    if data[-1] != 0:
        raise _bad_document("The document does not end where its length says.")
    # Dates stay milliseconds (DatetimeMS), so no date of any year makes decoding fail.
    options: Any = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)
    try:
        document = bson.decode(data, codec_options=options)
    except Exception:  # bson raises several types for malformed input; all mean the same
        raise _bad_document("It is not a readable BSON document.") from None
    if not isinstance(document, dict):
        raise _bad_document("It is not a readable BSON document.")
    try:
        plain: dict[str, Any] = _plain(document)
    except RecursionError:
        raise _bad_document("Its fields are nested too deeply.") from None
    return plain


def _plain(value: Any) -> Any:
    """bson's str subclasses (Code, and Code with a scope) as plain, hashable str: later checks
    compare, hash and slice document strings, and must see only ordinary values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str) and type(value) is not str:
        return str.__str__(value)
    return value


def _check_version(document: dict[str, Any]) -> None:
    schema = document.get("$schema")
    if schema is None:
        raise _missing("$schema")
    match = _SCHEMA_VERSION_RE.search(schema) if isinstance(schema, str) else None
    if match is None or int(match.group(1)) != SUPPORTED_MAJOR_VERSION:
        raise RejectedRecording(
            "xror.unsupported_version",
            "The file is not an XROR version we can read (we read "
            f"{SUPPORTED_MAJOR_VERSION}.x). Export the recording again with a current tool.",
        )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        raise _missing(where)
    if not isinstance(value, dict):
        raise _bad_document(f"'{where}' must be an object.")
    return value


def _devices(value: Any) -> list[tuple[dict[str, Any], list[str]]]:
    if value is None:
        raise _missing("info.hardware.devices")
    if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
        raise _bad_document("'info.hardware.devices' must be a list of objects.")
    if not value:
        raise RejectedRecording(
            "xror.no_motion", "The recording lists no tracked devices, so it holds no motion."
        )
    if len(value) > MAX_TRACKS:
        raise RejectedRecording(
            "motion.too_many_tracks",
            f"The recording has {len(value)} devices; we accept at most {MAX_TRACKS}.",
        )
    devices = []
    for number, device in enumerate(value, start=1):
        axes = device.get("axes")
        if axes is None:
            raise _missing(f"info.hardware.devices[{number}].axes")
        if (
            not isinstance(axes, list)
            or not 1 <= len(axes) <= MAX_AXES_PER_DEVICE
            or not all(isinstance(a, str) for a in axes)
            or len(set(axes)) != len(axes)
        ):
            raise _bad_document(f"Device {number} must list each of its axes once, by name.")
        devices.append((device, list(axes)))
    return devices


def _missing(field: str) -> RejectedRecording:
    return RejectedRecording(
        "xror.missing_field",
        f"The file has no '{field}', which every XROR recording needs. Export it again.",
    )


def _bad_document(detail: str) -> RejectedRecording:
    return RejectedRecording(
        "xror.bad_document", f"The file is not a valid XROR recording. {detail}"
    )


def _bad_array(detail: str) -> RejectedRecording:
    return RejectedRecording(
        "xror.bad_array",
        f"A compressed array in the file is damaged or inconsistent: {detail} "
        "Export the recording again.",
    )


# Events: declared shapes ------------------------------------------------------------------


@dataclass(frozen=True)
class _ArrayPlan:
    blob: bytes
    width: int
    rows: int | None  # declared row count, or None when only the stream says
    label: str


@dataclass(frozen=True)
class _EventSpec:
    id: str
    attrs: list[str]
    float_count: int
    other: list[Any]
    plan: _ArrayPlan | None


def _event_specs(value: Any) -> tuple[list[_EventSpec], dict[str, Any]]:
    """The event types this reader keeps, with the shapes their arrays must have, and a note
    of the types it leaves out (known ones by id, unknown ones only counted)."""
    if value is None:
        return [], {}
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise _bad_document("'events' must be a list of objects.")
    specs = []
    dropped: set[str] = set()
    unknown = 0
    for entry in value:
        event_id = entry.get("id")
        if not isinstance(event_id, str) or event_id not in EVENT_TYPES:
            if isinstance(event_id, str) and event_id in DROPPED_EVENT_TYPES:
                dropped.add(event_id)
            else:
                unknown += 1
            continue
        attrs = entry.get("attr", [])
        other = entry.get("otherData", [])
        blob = entry.get("floatData")
        if (
            not isinstance(attrs, list)
            or not all(isinstance(a, str) for a in attrs)
            or not isinstance(other, list)
            or not all(isinstance(row, list) for row in other)
            or (blob is not None and not isinstance(blob, bytes))
        ):
            raise _bad_document(f"Event type '{event_id}' is malformed.")
        other_width = len(other[0]) if other else 0
        if any(len(row) != other_width for row in other) or other_width > len(attrs):
            raise _bad_document(f"Event type '{event_id}' has rows of different lengths.")
        float_count = len(attrs) - other_width
        if blob is None and other:
            raise _bad_document(f"Event type '{event_id}' has values but no times.")
        plan = None
        if blob is not None:
            plan = _ArrayPlan(blob, 1 + float_count, len(other) if other else None, event_id)
        specs.append(_EventSpec(event_id, list(attrs), float_count, other, plan))
    return specs, {"dropped_event_types": sorted(dropped), "skipped_unknown_event_types": unknown}


# fpzip ------------------------------------------------------------------------------------

_U32 = 0xFFFFFFFF
FPZIP_VERSION = (0x0110, 1)  # what fpzip 1.2 and 1.3 write


@dataclass(frozen=True)
class FpzipHeader:
    double: bool
    precision: int
    nx: int  # values per row (fastest)
    ny: int
    nz: int
    nf: int


class _RangeDecoder:
    """fpzip's range decoder (LLNL/fpzip rcdecoder.cpp), enough to read a stream header."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0
        self.low, self.range, self.code = 0, _U32, 0
        self._get(4)

    def _get(self, count: int) -> None:
        if self.pos + count > len(self.data):
            raise ValueError("stream ends inside the header")
        for byte in self.data[self.pos : self.pos + count]:
            self.code = ((self.code << 8) | byte) & _U32
            self.low = (self.low << 8) & _U32
        self.pos += count

    def _normalize(self) -> None:
        while not (self.low ^ ((self.low + self.range) & _U32)) >> 24:
            if self.range == 0:
                raise ValueError("range collapsed")
            self._get(1)
            self.range = (self.range << 8) & _U32
        if not self.range >> 16:
            self._get(2)
            self.range = -self.low & _U32

    def _shift(self, bits: int) -> int:
        self.range >>= bits
        if self.range == 0:
            raise ValueError("range collapsed")
        symbol = ((self.code - self.low) & _U32) // self.range
        self.low = (self.low + self.range * symbol) & _U32
        self._normalize()
        return symbol

    def uint(self, bits: int) -> int:
        low_part = 0
        if bits > 16:
            low_part = self._shift(16)
            return ((self._shift(bits - 16) << 16) + low_part) & _U32
        return self._shift(bits)


def fpzip_header(blob: bytes) -> FpzipHeader | None:
    """The stream's type and shape as fpzip_read_header reads them; None if not an fpzip stream."""
    try:
        decoder = _RangeDecoder(blob)
        if [decoder.uint(8) for _ in range(4)] != [ord("f"), ord("p"), ord("z"), 0]:
            return None
        if (decoder.uint(16), decoder.uint(8)) != FPZIP_VERSION:
            return None
        double, precision = decoder.uint(1), decoder.uint(7)
        nx, ny, nz, nf = (decoder.uint(32) for _ in range(4))
    except ValueError:
        return None
    return FpzipHeader(bool(double), precision, nx, ny, nz, nf)


def _checked_shape(plan: _ArrayPlan) -> tuple[FpzipHeader, int]:
    """Header of a planned array after checking it against what the document declares."""
    header = fpzip_header(plan.blob)
    where = "the frames" if plan.label == "frames" else f"event type '{plan.label}'"
    if header is None:
        raise _bad_array(f"{where} are not a readable fpzip stream.")
    if header.nz != 1 or header.nf != 1 or header.precision not in (0, 32, 64):
        raise _bad_array(f"{where} must be a full-precision table of rows.")
    if header.nx != plan.width:
        raise _bad_array(
            f"{where} have {header.nx} values per row but the file declares {plan.width}."
        )
    if header.ny > MAX_ROWS:
        raise _bad_array(f"{where} have more than {MAX_ROWS} rows.")
    if plan.rows is not None and header.ny not in (plan.rows, 3 * plan.rows):
        raise _bad_array(f"{where} have {header.ny} rows but the file declares {plan.rows}.")
    return header, header.nx * header.ny * (8 if header.double else 4)


# The child reads length-prefixed streams on stdin and answers, per stream, a status byte, a
# length and the decoded bytes (C order). Padding the input keeps a stream cut short from
# reading past its buffer; damaged streams can still crash the child, which is the point.
_CHILD = """
import struct, sys
import fpzip
src, out = sys.stdin.buffer, sys.stdout.buffer
(count,) = struct.unpack("<I", src.read(4))
for _ in range(count):
    (size,) = struct.unpack("<Q", src.read(8))
    blob = src.read(size) + bytes(4096)
    try:
        raw = fpzip.decompress(blob).tobytes()
    except Exception:
        out.write(struct.pack("<BQ", 1, 0))
    else:
        out.write(struct.pack("<BQ", 0, len(raw)))
        out.write(raw)
    out.flush()
"""


def decompress_arrays(plans: Sequence[_ArrayPlan], *, file_size: int) -> list[Float64Array]:
    """Decompress planned fpzip arrays in a child process; each comes back (rows, width).

    Every header is checked first (shape, declared rows, total expansion), so the child never
    allocates more than the file justifies. Padding rows of -1 (see module docstring) are cut.
    """
    headers = [_checked_shape(plan) for plan in plans]
    total = sum(nbytes for _, nbytes in headers)
    allowance = max(MIN_DECODE_ALLOWANCE, MAX_EXPANSION * file_size)
    if total > allowance:
        raise _bad_array(
            f"its arrays would expand to {total // 1024**2} MB, far more than "
            f"{MAX_EXPANSION} times the file."
        )
    request = bytearray(struct.pack("<I", len(plans)))
    for plan in plans:
        request += struct.pack("<Q", len(plan.blob)) + plan.blob
    timeout = _CHILD_TIMEOUT_S + total / _CHILD_BYTES_PER_S
    try:
        child = subprocess.run(  # noqa: S603 -- fixed code, our own interpreter, no shell
            [sys.executable, "-I", "-c", _CHILD],
            input=bytes(request),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _bad_array("decompressing it did not finish.") from None
    if child.returncode < 0:
        raise _bad_array("decompressing it failed.")
    if child.returncode != 0:
        # Not the file's fault (e.g. fpzip missing in the worker): let the task fail loudly.
        raise RuntimeError(f"fpzip child process failed: {child.stderr[-2000:]!r}")
    return _parse_child_output(child.stdout, plans, headers)


def _parse_child_output(
    output: bytes, plans: Sequence[_ArrayPlan], headers: list[tuple[FpzipHeader, int]]
) -> list[Float64Array]:
    arrays: list[Float64Array] = []
    pos = 0
    for plan, (header, nbytes) in zip(plans, headers, strict=True):
        status, size = struct.unpack_from("<BQ", output, pos)
        pos += 9
        if status != 0 or size != nbytes:
            where = "the frames" if plan.label == "frames" else f"event type '{plan.label}'"
            raise _bad_array(f"{where} could not be decompressed.")
        dtype = np.dtype("<f8" if header.double else "<f4")
        values = np.frombuffer(output, dtype=dtype, count=size // dtype.itemsize, offset=pos)
        pos += size
        with np.errstate(invalid="ignore"):  # signalling NaNs in damaged data warn on cast
            table = values.reshape(header.ny, header.nx).astype(np.float64)
        if plan.rows is not None and header.ny == 3 * plan.rows and plan.rows:
            if not (table[plan.rows :] == -1.0).all():
                raise _bad_array(f"event type '{plan.label}' has rows it does not declare.")
            table = table[: plan.rows]
        arrays.append(table)
    return arrays


# Building the recording -------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    """Source time -> recording time: (t - origin) / speed, plus the pauses logged up to t.

    ``speed`` is source units per real second (1000 for a millisecond clock; a Beat Saber song
    speed); pauses are (source time, real seconds), Beat Saber only.
    """

    origin: float
    speed: float
    pause_times: Float64Array
    pause_shift: Float64Array  # cumulative pause seconds, one longer than pause_times

    def __call__(self, source: Float64Array) -> Float64Array:
        shift = self.pause_shift[np.searchsorted(self.pause_times, source, "right")]
        before = self.pause_shift[np.searchsorted(self.pause_times, [self.origin], "right")]
        result: Float64Array = (source - self.origin) / self.speed + (shift - before[0])
        return result


def _make_clock(origin: float, speed: float, pauses: Float64Array | None) -> _Clock:
    if pauses is None or pauses.shape[0] == 0:
        return _Clock(origin, speed, np.zeros(0), np.zeros(1))
    usable = pauses[np.isfinite(pauses).all(axis=1)]
    usable = usable[np.argsort(usable[:, 0], kind="stable")]
    shift = np.concatenate([[0.0], np.cumsum(np.maximum(usable[:, 1], 0.0))])
    return _Clock(origin, speed, usable[:, 0], shift)


def _is_app(info: dict[str, Any], ids: frozenset[Any], name: str) -> bool:
    software = info.get("software")
    app = software.get("app") if isinstance(software, dict) else None
    if not isinstance(app, dict):
        return False
    app_id = app.get("id")
    return (isinstance(app_id, str | int) and app_id in ids) or app.get("name") == name


def song_speed(activity: Any) -> float:
    """Beat Saber song seconds per real second: a practice speed if set, else the modifiers."""
    if not isinstance(activity, dict):
        return 1.0
    practice = activity.get("speed")
    if isinstance(practice, float) and math.isfinite(practice) and 0.1 <= practice <= 10.0:
        return practice
    speed = 1.0
    modifiers = activity.get("modifiers")
    if isinstance(modifiers, str):
        for modifier in (m.strip().upper() for m in modifiers.split(",")):
            speed *= SONG_SPEED_MODIFIERS.get(modifier, 1.0)
    return speed


def nominal_rate(times: Float64Array) -> float:
    """Mean rate over the regular intervals (at most twice the median), snapped to a whole
    number within 1 %. The plain median is biased: Beat Saber's song time is a float32 audio
    clock, so a 90 Hz replay's intervals cluster on quantised values whose median says 91 Hz
    (the same rule as bsor.py, so both readers agree on one replay)."""
    intervals = np.diff(times)
    regular = intervals[intervals <= 2.0 * np.median(intervals)]
    rate = regular.shape[0] / float(regular.sum())
    whole = round(rate)
    return float(whole) if abs(rate - whole) <= _RATE_SNAP * rate else rate


def _build_recording(
    document: dict[str, Any],
    info: dict[str, Any],
    devices: list[tuple[dict[str, Any], list[str]]],
    frames: Float64Array,
    event_specs: list[_EventSpec],
    event_tables: list[Float64Array | None],
    *,
    tilt: bool,
) -> Recording:
    source_times = frames[:, 0]
    conversion: dict[str, Any] = {
        "axes": "Unity left-handed (+Z forward) mirrored in Z: p -> (x, y, -z), "
        "q -> (-x, -y, z, w)",
        "length_unit": "dm (Tilt Brush canvas units)" if tilt else "m",
        "time_unit": "ms (Tilt Brush clock)" if tilt else "s",
    }
    if tilt:
        keep, skipped = _non_overlapping_runs(source_times)
        conversion["layout"] = "strokes"
        conversion["skipped_overlapping_frames"] = skipped
    else:
        steps_back = np.flatnonzero(np.diff(source_times) < 0)
        if steps_back.size:
            raise RejectedRecording(
                "motion.time_not_increasing",
                f"Frame {int(steps_back[0]) + 2} is earlier than the frame before it. Export "
                "the recording again.",
            )
        keep = np.arange(source_times.shape[0])
        conversion["layout"] = "devices"
    # Of each run of equal times keep the last frame (module docstring).
    last_of_run = np.r_[np.diff(source_times[keep]) != 0, True][: keep.size]
    conversion["dropped_repeated_frames"] = int(keep.size - last_of_run.sum())
    keep = keep[last_of_run]

    length_scale = 0.1 if tilt else 1.0
    tracks, roles, positions, rotations, w_rebuilt, poseless = _device_tracks(
        devices, frames[keep], length_scale, strokes=tilt
    )
    conversion["devices_without_pose"] = poseless
    if w_rebuilt:
        conversion["rotation_w_rebuilt"] = w_rebuilt
    if not tracks:
        raise RejectedRecording(
            "xror.no_motion",
            "No device in the recording has both a position (x y z) and a rotation (i j k).",
        )
    placeholder = (rotations == 0).all(axis=2).any(axis=0)  # (F,)
    leading = int(np.argmin(placeholder)) if not placeholder.all() else placeholder.size
    conversion["dropped_placeholder_frames"] = leading
    keep = keep[leading:]
    positions, rotations = positions[:, leading:], rotations[:, leading:]
    if keep.size < 2:
        raise RejectedRecording(
            "xror.no_motion",
            "The recording has fewer than two usable frames, so it holds no motion.",
        )
    speed, pauses = 1000.0 if tilt else 1.0, None
    if _is_app(info, BEAT_SABER_APP_IDS, "Beat Saber"):
        software = info.get("software")
        speed = song_speed(software.get("activity") if isinstance(software, dict) else None)
        pauses = _pause_table(event_specs, event_tables)
        conversion["clock"] = "song time / song_speed, pauses inserted, first kept frame at 0"
        conversion["song_speed"] = speed
    clock = _make_clock(float(source_times[keep[0]]), speed, pauses)
    times = clock(source_times[keep])
    if (np.diff(times) <= 0).any():  # only pauses logged out of order could do this
        raise RejectedRecording(
            "motion.time_not_increasing",
            "The recording's pauses do not fit its frame times. Export the recording again.",
        )
    events, dropped_events = _events(event_specs, event_tables, clock)
    if dropped_events:
        conversion["dropped_events"] = dropped_events
    return Recording(
        source_format="xror",
        tracks=tracks,
        roles=roles,
        times=times,
        positions=positions,
        rotations=make_continuous(rotations),
        frame_rate=nominal_rate(times),
        source_metadata=_identifying_fields(document, info),
        conversion=conversion,
        events=events,
    )


def _non_overlapping_runs(times: Float64Array) -> tuple[npt.NDArray[np.intp], int]:
    """Frame indices of the runs of non-decreasing time that do not overlap an earlier kept run.

    A loop over runs (strokes drawn at once), not frames.
    """
    count = times.shape[0]
    starts = np.flatnonzero(np.r_[True, np.diff(times) < 0])
    ends = np.r_[starts[1:], count]
    kept: list[npt.NDArray[np.intp]] = []
    last_end = -math.inf
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if times[start] > last_end:
            kept.append(np.arange(start, end))
            last_end = float(times[end - 1])
    order = np.concatenate(kept) if kept else np.zeros(0, dtype=np.intp)
    return order, count - int(order.size)


def _device_tracks(
    devices: list[tuple[dict[str, Any], list[str]]],
    frames: Float64Array,
    length_scale: float,
    *,
    strokes: bool,
) -> tuple[list[str], list[Role], Float32Array, Float32Array, int, int]:
    """Tracks, roles, canonical positions (T, F, 3) and rotations (T, F, 4)."""
    tracks: list[str] = []
    roles: list[Role] = []
    positions: list[Float64Array] = []
    rotations: list[Float64Array] = []
    w_rebuilt = poseless = 0
    taken: set[Role] = set()
    column = 1
    for index, (device, axes) in enumerate(devices):
        cols = {axis: column + i for i, axis in enumerate(axes)}
        column += len(axes)
        if not all(a in cols for a in (*_POSITION_AXES, *_ROTATION_AXES)):
            poseless += 1
            continue
        position = frames[:, [cols["x"], cols["y"], cols["z"]]] * length_scale
        vector = frames[:, [cols["i"], cols["j"], cols["k"]]]
        if "1" in cols:
            w = frames[:, cols["1"]]
        else:
            w = np.sqrt(np.maximum(0.0, 1.0 - np.einsum("fi,fi->f", vector, vector)))
            w_rebuilt += 1
        # Unity -> canonical, mirror Z: p (x, y, z) -> (x, y, -z), q (x, y, z, w) -> (-x, -y, z, w)
        position[:, 2] *= -1.0
        quaternion = np.column_stack([-vector[:, 0], -vector[:, 1], vector[:, 2], w])
        role = _role(device)
        if role != "joint" and role in taken:
            role = "joint"
        taken.add(role)
        tracks.append(_track_name(device, role, index, strokes=strokes))
        roles.append(role)
        positions.append(position)
        rotations.append(quaternion)
    if not tracks:
        frames_count = frames.shape[0]
        empty = np.zeros((0, frames_count, 3), dtype=np.float32)
        return [], [], empty, np.zeros((0, frames_count, 4), np.float32), 0, poseless
    return (
        _unique(tracks),
        roles,
        np.stack(positions).astype(np.float32),
        np.stack(rotations).astype(np.float32),
        w_rebuilt,
        poseless,
    )


def _role(device: dict[str, Any]) -> Role:
    joint = device.get("joint")
    kind = device.get("type")
    name = device.get("name")
    if joint == "HEAD" or (joint is None and kind == "HMD"):
        return "head"
    if isinstance(joint, str) and joint in _SIDE_JOINTS:
        return _SIDE_JOINTS[joint]
    if joint is None and kind == "CONTROLLER" and isinstance(name, str):
        lowered = name.lower()
        if ("left" in lowered) != ("right" in lowered):
            return "left_hand" if "left" in lowered else "right_hand"
    return "joint"


def _track_name(device: dict[str, Any], role: Role, index: int, *, strokes: bool) -> str:
    """A name from the role or the schema's enums only: device names are hardware models."""
    if role != "joint":
        return role
    if strokes:
        return "brush"
    joint, kind = device.get("joint"), device.get("type")
    if isinstance(joint, str) and joint in JOINTS:
        return joint.lower()
    if isinstance(kind, str) and kind in _DEVICE_TYPES:
        return f"{kind.lower()}_{index + 1}"
    return f"device_{index + 1}"


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


# Events -----------------------------------------------------------------------------------


def _attribute(spec: _EventSpec, table: Float64Array, source: str) -> Float64Array | list[Any]:
    """One attribute over all occurrences: a float column, or the raw otherData values."""
    position = spec.attrs.index(source)
    if position < spec.float_count:
        return table[:, 1 + position]
    offset = position - spec.float_count
    return [row[offset] for row in spec.other]


def _as_floats(values: Float64Array | list[Any]) -> Float64Array:
    if isinstance(values, np.ndarray):
        return values
    return np.array(
        [
            float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan
            for v in values
        ]
    )


def _pause_table(specs: list[_EventSpec], tables: list[Float64Array | None]) -> Float64Array | None:
    """(source time, real seconds) per Beat Saber pause, from the 'p' event type."""
    for spec, table in zip(specs, tables, strict=True):
        if spec.id == "p" and table is not None and "duration" in spec.attrs:
            durations = _as_floats(_attribute(spec, table, "duration"))
            return np.column_stack([table[:, 0], durations])
    return None


def _convert(values: Float64Array | list[Any], how: str, clock: _Clock) -> list[Any]:
    """One output field for every occurrence; None leaves the key out of that event."""
    if how in ("clock", "seconds", "float"):
        numbers = _as_floats(values)
        if how == "clock":
            numbers = clock(numbers)
        elif how == "seconds":
            numbers = numbers / clock.speed
        rounded = np.round(numbers, 6).tolist()
        return [v if math.isfinite(v) else None for v in rounded]
    if how == "int":
        numbers = _as_floats(values)
        whole = np.isfinite(numbers) & (np.abs(numbers) < 2**53) & (numbers == np.round(numbers))
        return [
            int(v) if ok else None for v, ok in zip(numbers.tolist(), whole.tolist(), strict=True)
        ]
    raw = values.tolist() if isinstance(values, np.ndarray) else values
    if how == "bool":
        return [bool(v) if isinstance(v, bool | int | float) else None for v in raw]
    if how == "saber":
        return [_SABERS.get(float(v)) if isinstance(v, int | float) else None for v in raw]
    return [v[:_MAX_EVENT_TEXT] if isinstance(v, str) else None for v in raw]  # text


_SABERS = {0.0: "left", 1.0: "right"}
_GOOD_CUT_CHECKS = {
    "speed_ok": True,
    "direction_ok": True,
    "saber_type_ok": True,
    "was_cut_too_soon": False,
}


def _note_columns(ids: list[Any], *, bomb: bool) -> dict[str, list[Any]]:
    """Beat Saber noteIDs decoded as bsor.py does: scoringType*10000 + lineIndex*1000 +
    lineLayer*100 + colorType*10 + cutDirection, colorType -1 for bombs; other ids stay raw."""
    known = np.array([isinstance(v, int) for v in ids], dtype=bool)
    raw = np.array([v if isinstance(v, int) else 0 for v in ids], dtype=np.int64)
    code = raw + (10 if bomb else 0)
    standard = known & (code >= 0) & (code < 80000) & ((code // 10) % 10 <= 1)

    def only(values: npt.NDArray[Any], mask: npt.NDArray[np.bool_]) -> list[Any]:
        return [v if m else None for v, m in zip(values.tolist(), mask.tolist(), strict=True)]

    colors = np.where((code // 10) % 10 == 0, "left", "right").astype(object)
    if bomb:
        colors[:] = "none"
    return {
        "cut_direction": only(code % 10, standard),
        "color": only(colors, standard),
        "line_layer": only((code // 100) % 10, standard),
        "line_index": only((code // 1000) % 10, standard),
        "scoring_type": only(code // 10000, standard),
        "note_id": only(raw, known & ~standard),
    }


def _wall_columns(ids: list[Any]) -> dict[str, list[Any]]:
    """Wall ids decoded as bsor.py does: lineIndex*100 + obstacleType*10 + width."""
    standard = [isinstance(v, int) and 0 <= v < 1000 for v in ids]
    return {
        "line_index": [v // 100 if ok else None for v, ok in zip(ids, standard, strict=True)],
        "obstacle_type": [
            v // 10 % 10 if ok else None for v, ok in zip(ids, standard, strict=True)
        ],
        "width": [v % 10 if ok else None for v, ok in zip(ids, standard, strict=True)],
        "wall_id": [v if not ok else None for v, ok in zip(ids, standard, strict=True)],
    }


def _events(
    specs: list[_EventSpec], tables: list[Float64Array | None], clock: _Clock
) -> tuple[Events | None, int]:
    """The kept event types' occurrences on the recording clock (``EVENT_TYPES``), and how many
    were dropped for a non-finite time. One JSON text per event is built in Python; the
    numeric work is done per column."""
    times: list[Float64Array] = []
    kinds: list[str] = []
    data: list[str] = []
    dropped = 0
    for spec, table in zip(specs, tables, strict=True):
        if table is None or table.shape[0] == 0:
            continue
        event_type = EVENT_TYPES[spec.id]
        columns = {
            name: _convert(_attribute(spec, table, source), how, clock)
            for source, (name, how) in event_type.fields.items()
            if source in spec.attrs
        }
        if "note_id" in columns:
            columns.update(_note_columns(columns.pop("note_id"), bomb=spec.id == "b"))
        if "wall_id" in columns:
            columns.update(_wall_columns(columns.pop("wall_id")))
        if spec.id == "gc":  # a good cut passed every check; fromBSOR stores none of them
            for name, value in _GOOD_CUT_CHECKS.items():
                columns.setdefault(name, [value] * table.shape[0])
        event_times = clock(table[:, 0])
        if spec.id == "p" and "duration_s" in columns:  # placed where the pause began
            durations = np.nan_to_num(_as_floats(columns["duration_s"]), nan=0.0)
            event_times = event_times - np.maximum(durations, 0.0)
        finite = np.isfinite(event_times)
        dropped += int((~finite).sum())
        names = sorted(columns)
        for i in np.flatnonzero(finite).tolist():
            row = {n: columns[n][i] for n in names if columns[n][i] is not None}
            data.append(json.dumps(row, sort_keys=True))
        times.append(event_times[finite])
        kinds += [event_type.kind] * int(finite.sum())
    if not kinds:
        return None, dropped
    return Events(times=np.concatenate(times), kinds=kinds, data=data), dropped


# Identifying fields -----------------------------------------------------------------------

_STRUCTURAL_DEVICE_KEYS = frozenset({"type", "joint", "axes"})
_SAFE_KEY_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_]{0,40}$")
_MAX_FIELD_DEPTH = 5


def _identifying_fields(document: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """Every info field but the devices' structure, ``$id`` and unknown top-level keys.

    Keys are dotted paths; a key that is not a plain identifier becomes "?" (keys could hold
    anything), lists are "[]" and anything deeper than _MAX_FIELD_DEPTH is kept whole.
    """
    fields: dict[str, Any] = {}

    def walk(value: Any, path: str, depth: int) -> None:
        if isinstance(value, dict) and value and depth < _MAX_FIELD_DEPTH:
            for key, item in value.items():
                if path == "info.hardware.devices[]" and key in _STRUCTURAL_DEVICE_KEYS:
                    continue
                part = key if isinstance(key, str) and _SAFE_KEY_RE.match(key) else "?"
                walk(item, f"{path}.{part}", depth + 1)
        elif isinstance(value, list) and value and depth < _MAX_FIELD_DEPTH:
            for item in value:
                walk(item, f"{path}[]", depth + 1)
        elif value in ({}, []):
            return  # an empty container says nothing
        else:
            fields.setdefault(path, []).append(value)

    walk(info, "info", 0)
    for key, value in document.items():
        if key not in ("$schema", "info", "frames", "events"):
            part = key if isinstance(key, str) and _SAFE_KEY_RE.match(key) else "?"
            fields.setdefault(part, []).append(value)
    return {path: values[0] if len(values) == 1 else values for path, values in fields.items()}
