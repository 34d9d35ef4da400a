"""Pose streams in JSON: the platform's own format and the A-Frame motion-capture recorder's.

Both hold head/hand (or joint) poses over time, as a browser or game engine samples them. The
published format is ``schemas/pose-stream.schema.json`` (described with examples in
``schemas/README.md``); the wide-CSV variant shares its declaration and conversion
(``posecsv.py``).

**MetaGen pose stream (``metagen-pose-stream`` v1).** Column-wise: ``frames.t`` is the list of
frame times and ``frames.<track>`` holds that track's ``position`` (one [x, y, z] per time) and
``rotation`` (one quaternion per time). Units, handedness, up and forward axes and quaternion
order are required declarations (``FrameDeclaration``); the reader converts them into the
canonical frame (metres, seconds, right-handed, +Y up, -Z forward, xyzw):

* ``M`` (``FrameDeclaration.axis_matrix``) is the signed permutation taking declared
  coordinates to canonical ones. With u and f the declared up and forward axes as unit vectors
  in declared coordinates, the declared right axis is r = f x u (right-handed) or u x f
  (left-handed), and ``M = diag(1, 1, -1) @ [r u f]^T`` (it sends r to +X, u to +Y, f to -Z).
  det(M) = +1 for right-handed declarations, -1 for left-handed ones (a mirror).
* Positions: p = scale * M @ p_declared, scale = 1, 0.01 or 0.001 for m, cm, mm.
* Rotations: R = M @ R_declared @ M^T, which is a proper rotation even when M mirrors. For the
  quaternion that is (det(M) * M @ v, w) with v its vector part, after reordering wxyz to xyzw.
* Times: seconds = scale * t (1 or 0.001 for s, ms), then shifted so the first frame is at 0.
  The nominal frame rate is 1 / median frame interval, snapped to the nearest whole rate when
  within 0.5% (browsers and runtimes jitter around 72, 90, 120 Hz).

The reader checks everything the schema says itself (no jsonschema at run time; the tests keep
the two in agreement), then what a schema cannot say: unique track names, one head/left
hand/right hand at most, ``frames`` entries matching ``tracks``, array lengths matching
``frames.t``, finite numbers and increasing times. Top-level keys other than the format's own
(``meta``, ``user``, ``device``, ``session``, ``recorded_at`` or anything else) are identifying
metadata: kept in ``source_metadata`` only so anonymization lists them as stripped. A non-zero
first frame time (often a wall-clock time) is recorded there too, as ``absolute_start_time``.
Event ``data`` keeps numbers, booleans and lists of numbers; strings may be free text and are
dropped (listed as ``event_text``). Event data is copied as is, without frame conversion.

**A-Frame recorder JSON** (aframe-motion-capture-components' ``avatar-recorder``): an object
keyed by ``camera`` and by each tracked controller's element id, each ``{"poses": [...],
"events": [...], "gamepad": {...}}`` where a pose is ``{"position": {x, y, z} or "x y z",
"rotation": {x, y, z} or "x y z" (degrees), "timestamp": ms}``. A-Frame is three.js: metres,
right-handed, +Y up, -Z forward, so positions need no conversion. The rotation is the entity's
``rotation`` component, which A-Frame applies as a three.js Euler of order 'YXZ' (its rotation
component sets ``object3D.rotation.order = 'YXZ'``; three.js's own default 'XYZ' does not apply),
i.e. R = Ry @ Rx @ Rz. Roles: ``camera`` is the head; a controller is the left or right hand
from its ``gamepad.hand``, else from its id ("leftHand", "left-controller"), else a plain
"joint". Track names are the roles (``controller_<n>`` for others); ids and gamepad details
go to ``source_metadata``.

Alignment: the camera's timestamps are the common timeline. Every other track is resampled at
those times: positions linearly, rotations by normalised linear interpolation of neighbouring
quaternions on one hemisphere (at these rates consecutive poses are a few degrees apart, where
nlerp and slerp agree to well below tracking noise). A camera time farther than
``ALIGN_TOLERANCE_S`` from every sample of a track (the controller started late, stopped early
or lost tracking) refuses the recording with ``posestream.misaligned``; within the tolerance the
nearest sample is held. A controller with no poses at all is left out (counted in
``conversion``). Events keep their name as kind and their numeric details as data.

Size: JSON has to be parsed whole into Python objects (peak memory about 5 times the text,
measured), so JSON input is capped at ``MAX_JSON_BYTES`` (256 MiB: about two hours of head and
both hands at 90 Hz with full float64 digits, longer with fewer digits) below the general
MAX_FILE_BYTES. Longer takes go in the CSV variant, which pyarrow streams. Parsing runs at about
25 MB/s, three quarters of it in the standard library's json.loads.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from processing.motion.errors import RejectedRecording
from processing.motion.formats.base import ReadOptions, checked_file_size
from processing.motion.limits import MAX_FILE_BYTES
from processing.motion.model import Events, Float32Array, Float64Array, Recording, Role
from processing.motion.rotations import euler_to_quaternion_c, make_continuous

FORMAT_NAME = "metagen-pose-stream"
FORMAT_VERSION = 1
MAX_JSON_BYTES = 256 * 1024**2
ALIGN_TOLERANCE_S = 0.25

LENGTH_SCALES: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001}
TIME_SCALES: dict[str, float] = {"s": 1.0, "ms": 0.001}
HANDEDNESS = ("right", "left")
AXES = ("+X", "-X", "+Y", "-Y", "+Z", "-Z")
QUATERNION_ORDERS = ("xyzw", "wxyz")
ROLE_NAMES: tuple[Role, ...] = ("head", "left_hand", "right_hand", "joint")
CANONICAL = {
    "length": "m",
    "time": "s",
    "handedness": "right",
    "up": "+Y",
    "forward": "-Z",
    "quaternion_order": "xyzw",
}

TRACK_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
EVENT_KIND_RE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
EVENT_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
NUMBER_TEXT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OWN_KEYS = ("format", "version", "units", "frame", "tracks", "frames", "events")
_EVENT_MAX_STRING = 256
_EVENT_MAX_LIST = 64
_RATE_SNAP = 0.005
# Beyond any position (in mm), time (in ms) or quaternion component, and far inside float32.
MAX_MAGNITUDE = 1e15

_JSON_START_RE = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{")
_POSE_STREAM_RE = re.compile(rb'"format"[ \t\r\n]*:[ \t\r\n]*"metagen-pose-stream"')
_AFRAME_RE = re.compile(rb'"poses"[ \t\r\n]*:[ \t\r\n]*\[')

_FIX = "Export the recording again with a recorder that writes this format."


# --- Declared frames ---------------------------------------------------------------------------


def _axis_vector(axis: str) -> Float64Array:
    vector = np.zeros(3)
    vector["XYZ".index(axis[1])] = 1.0 if axis[0] == "+" else -1.0
    return vector


@dataclass(frozen=True)
class FrameDeclaration:
    """Units and axes a file declares. Validated by ``declaration_problem``."""

    length: str = "m"
    time: str = "s"
    handedness: str = "right"
    up: str = "+Y"
    forward: str = "-Z"
    quaternion_order: str = "xyzw"

    def axis_matrix(self) -> Float64Array:
        """M with canonical = M @ declared (see module docstring); a signed permutation."""
        up, forward = _axis_vector(self.up), _axis_vector(self.forward)
        right = np.cross(forward, up) if self.handedness == "right" else np.cross(up, forward)
        declared = np.column_stack([right, up, forward])
        matrix: Float64Array = np.diag([1.0, 1.0, -1.0]) @ declared.T
        return matrix

    def positions_to_canonical(self, positions: Float64Array) -> Float32Array:
        matrix = self.axis_matrix() * LENGTH_SCALES[self.length]
        return np.asarray(positions @ matrix.T, dtype=np.float32)

    def rotations_to_canonical(self, rotations: Float64Array) -> Float32Array:
        """Declared-order quaternions (..., 4) to canonical xyzw, continuous over frames."""
        xyzw = rotations[..., [1, 2, 3, 0]] if self.quaternion_order == "wxyz" else rotations
        matrix = self.axis_matrix()
        out = np.empty(xyzw.shape, dtype=np.float64)
        out[..., :3] = xyzw[..., :3] @ (np.linalg.det(matrix) * matrix).T
        out[..., 3] = xyzw[..., 3]
        return make_continuous(out.astype(np.float32))

    def positions_from_canonical(self, positions: Float64Array) -> Float64Array:
        """Inverse of ``positions_to_canonical`` (used by the writers)."""
        matrix = self.axis_matrix() / LENGTH_SCALES[self.length]
        result: Float64Array = positions @ matrix  # M^T p: M is orthogonal
        return result

    def rotations_from_canonical(self, rotations: Float64Array) -> Float64Array:
        matrix = self.axis_matrix()
        out = np.empty(rotations.shape, dtype=np.float64)
        out[..., :3] = rotations[..., :3] @ (np.linalg.det(matrix) * matrix)
        out[..., 3] = rotations[..., 3]
        return out[..., [3, 0, 1, 2]] if self.quaternion_order == "wxyz" else out

    def as_dict(self) -> dict[str, str]:
        return {
            "length": self.length,
            "time": self.time,
            "handedness": self.handedness,
            "up": self.up,
            "forward": self.forward,
            "quaternion_order": self.quaternion_order,
        }


_CHOICES: dict[str, tuple[str, ...]] = {
    "length": tuple(LENGTH_SCALES),
    "time": tuple(TIME_SCALES),
    "handedness": HANDEDNESS,
    "up": AXES,
    "forward": AXES,
    "quaternion_order": QUATERNION_ORDERS,
}


def declaration_problem(values: dict[str, Any]) -> str | None:
    """What is wrong with declared units/frame values (keys as in FrameDeclaration), or None."""
    for key, choices in _CHOICES.items():
        value = values.get(key)
        if value is None:
            return f"the {key.replace('_', ' ')} is not declared"
        if not isinstance(value, str) or value not in choices:
            return f"the {key.replace('_', ' ')} must be one of {', '.join(choices)}"
    if values["up"][1] == values["forward"][1]:
        return "the up and forward axes must be different axes"
    return None


def bad_declaration(problem: str) -> RejectedRecording:
    return RejectedRecording(
        "posestream.bad_frame_declaration",
        f"The file's units and axes declaration is not usable: {problem}. Units, handedness, "
        "up and forward axes and quaternion order must all be declared so nothing is guessed. "
        + _FIX,
    )


# --- Shared building blocks --------------------------------------------------------------------


def check_size(path: Path, limit: int = MAX_FILE_BYTES) -> int:
    size = checked_file_size(path)
    if size > limit:
        raise RejectedRecording(
            "posestream.json_too_large",
            f"JSON pose streams can be at most {limit // 1024**2} MB. Export the recording as "
            "a pose-stream CSV file instead, or split it into shorter takes.",
        )
    return size


class _BadConstant(ValueError):
    pass


def _reject_constant(name: str) -> NoReturn:
    raise _BadConstant(name)


def load_json(path: Path) -> Any:
    """Parse a whole JSON file (UTF-8, optional BOM) within MAX_JSON_BYTES."""
    check_size(path, MAX_JSON_BYTES)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RejectedRecording(
            "posestream.bad_json",
            f"Line {line} contains bytes that are not UTF-8 text. Save the file as UTF-8 JSON.",
        ) from None
    del raw
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except _BadConstant as exc:
        raise RejectedRecording(
            "posestream.bad_value",
            f"The file contains {exc}, which is not a number JSON allows. Every value must be "
            "a finite number. " + _FIX,
        ) from None
    except json.JSONDecodeError as exc:
        raise RejectedRecording(
            "posestream.bad_json",
            f"The file is not valid JSON: {exc.msg.lower()} at line {exc.lineno}, column "
            f"{exc.colno}. The file may be cut short or damaged; export it again.",
        ) from None
    except RecursionError:
        raise RejectedRecording(
            "posestream.bad_json", "The JSON is nested too deeply to be a pose stream. " + _FIX
        ) from None


def schema_error(where: str, expected: str) -> RejectedRecording:
    return RejectedRecording(
        "posestream.schema",
        f"The pose stream does not follow the format at '{where}': expected {expected}. " + _FIX,
    )


def shown(key: object) -> str:
    """A key fit for a message: short safe names as they are, anything else described."""
    if isinstance(key, str) and EVENT_KEY_RE.fullmatch(key) and len(key) <= 40:
        return key
    return "<unnamed>"


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _first_index(items: Sequence[Any], bad: Callable[[Any], bool]) -> int:
    """Index of the first item for which ``bad`` holds (error path only)."""
    return next(i for i, item in enumerate(items) if bad(item))


def number_array(values: Any, where: str, *, min_items: int = 0) -> Float64Array:
    """A JSON list of numbers as float64, or posestream.schema naming the first bad item."""
    if type(values) is not list or len(values) < min_items:
        plural = f"a list of at least {min_items} numbers" if min_items else "a list of numbers"
        raise schema_error(where, plural)
    if not set(map(type, values)) <= {int, float}:
        index = _first_index(values, lambda v: not _is_number(v))
        raise schema_error(f"{where}[{index}]", "a number")
    return _to_float(values, where)


def number_rows(values: Any, width: int, where: str) -> Float64Array:
    """A JSON list of [width numbers] lists as (N, width) float64, or posestream.schema."""
    if type(values) is not list:
        raise schema_error(where, f"a list of [{width} numbers] lists")
    if values and (set(map(type, values)) != {list} or set(map(len, values)) != {width}):
        index = _first_index(values, lambda v: type(v) is not list or len(v) != width)
        raise schema_error(f"{where}[{index}]", f"a list of {width} numbers")
    flat = list(chain.from_iterable(values))
    if not set(map(type, flat)) <= {int, float}:
        index = _first_index(flat, lambda v: not _is_number(v)) // width
        raise schema_error(f"{where}[{index}]", f"a list of {width} numbers")
    return _to_float(flat, where).reshape(-1, width)


def _to_float(values: list[Any], where: str) -> Float64Array:
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:  # an integer beyond float range
        array = np.array([float(v) if abs(v) < 2**1023 else math.inf for v in values])
    return array


def check_finite(array: Float64Array, where: str, width: int = 1) -> None:
    """posestream.bad_value at the first non-finite item; ``where`` may hold '{}' for its index."""
    finite = np.abs(array) <= MAX_MAGNITUDE  # False for NaN too
    if not finite.all():
        index = int(np.argmin(finite.reshape(-1))) // width
        place = where.format(index) if "{}" in where else f"{where}[{index}]"
        raise RejectedRecording(
            "posestream.bad_value",
            f"The value at '{place}' is too large to be a position, rotation or time. "
            "Export the recording again.",
        )


def check_increasing(times: Float64Array, describe: Callable[[int], str]) -> None:
    steps = np.diff(times)
    if (steps <= 0).any():
        index = int(np.argmax(steps <= 0)) + 1
        raise RejectedRecording(
            "motion.time_not_increasing",
            f"The frame time at {describe(index)} does not come after the one before it. "
            "Frame times must strictly increase; export the recording again.",
        )


def nominal_rate(times_s: Float64Array) -> float:
    """1 / median frame interval, snapped to a whole rate within 0.5% (see module docstring)."""
    median = float(np.median(np.diff(times_s)))
    rate = 1.0 / median if median > 0 else math.inf
    if not math.isfinite(rate):
        return rate
    whole = round(rate)
    return float(whole) if abs(rate - whole) <= _RATE_SNAP * rate else round(rate, 3)


def too_few_frames(found: int) -> RejectedRecording:
    return RejectedRecording(
        "posestream.too_few_frames",
        f"The recording has {found} frame{'s' if found != 1 else ''}; at least two are needed "
        "to know its frame rate. Export the whole recording.",
    )


def build_recording(
    *,
    source_format: str,
    names: list[str],
    roles: list[Role],
    times_s: Float64Array,
    positions: Float32Array,
    rotations: Float32Array,
    source_metadata: dict[str, Any],
    conversion: dict[str, Any],
    events: Events | None,
) -> Recording:
    """The Recording of canonical poses; times are shifted to start at 0 (events with them)."""
    start = float(times_s[0])
    if start != 0.0:
        source_metadata["absolute_start_time"] = start
    times = times_s - start
    if events is not None:
        events = Events(times=events.times - start, kinds=events.kinds, data=events.data)
    return Recording(
        source_format=source_format,
        tracks=names,
        roles=roles,
        times=times,
        positions=positions,
        rotations=rotations,
        frame_rate=nominal_rate(times),
        source_metadata=source_metadata,
        conversion=conversion,
        events=events if events is not None and len(events) else None,
    )


def clean_event_data(data: dict[str, Any]) -> tuple[str, bool]:
    """Event data as sorted JSON text keeping only numbers, booleans and number lists.

    Nested objects are flattened to dotted keys. Returns the text and whether anything textual
    (possibly free text) was dropped.
    """
    kept: dict[str, Any] = {}
    dropped = False
    pending: list[tuple[str, Any]] = list(data.items())
    while pending:
        key, value = pending.pop()
        if type(value) is bool or (_is_number(value) and math.isfinite(value)):
            kept[key] = value
        elif isinstance(value, list) and value and all(map(_is_number, value)):
            kept[key] = [v for v in value[:_EVENT_MAX_LIST] if math.isfinite(v)]
        elif isinstance(value, dict):
            pending.extend((f"{key}.{k}", v) for k, v in value.items() if isinstance(k, str))
        elif isinstance(value, str):
            dropped = True
    return json.dumps(kept, sort_keys=True, separators=(",", ":")), dropped


def _json_head(head: bytes) -> bool:
    return _JSON_START_RE.match(head) is not None and b"\x00" not in head


# --- MetaGen pose stream (JSON) ----------------------------------------------------------------


class PoseJsonReader:
    name = "posejson"
    label = "MetaGen pose stream (JSON)"

    def sniff(self, head: bytes) -> bool:
        return _json_head(head) and _POSE_STREAM_RE.search(head) is not None

    def read(self, path: Path, options: ReadOptions) -> Recording:
        return read_pose_json(path)


READER = PoseJsonReader()


def read_pose_json(path: Path) -> Recording:
    """Read a MetaGen JSON pose stream into the canonical model; RejectedRecording if bad."""
    return pose_stream_recording(load_json(path))


def pose_stream_recording(document: Any) -> Recording:
    """The canonical Recording of a parsed pose-stream document (checks: module docstring)."""
    if not isinstance(document, dict):
        raise schema_error("(top level)", "an object")
    _check_header(document)
    declaration = _declaration(document)
    names, roles = _tracks(document["tracks"])
    frames = document["frames"]
    if not isinstance(frames, dict):
        raise schema_error("frames", "an object")
    raw_t = frames.get("t")
    if type(raw_t) is list and len(raw_t) < 2 and set(map(type, raw_t)) <= {int, float}:
        raise too_few_frames(len(raw_t))
    times = number_array(raw_t, "frames.t", min_items=2)
    for key in frames:
        if key != "t" and not (isinstance(key, str) and _valid_track_name(key)):
            raise schema_error(f"frames.{shown(key)}", "only 't' and track names as keys")
    data = {key: _track_entry(frames[key], f"frames.{key}") for key in frames if key != "t"}
    events, dropped_text = _events(document["events"]) if "events" in document else (None, False)
    for name in names:
        if name not in data:
            raise RejectedRecording(
                "posestream.unknown_track",
                f"The track '{name}' is declared in 'tracks' but has no data in 'frames'. " + _FIX,
            )
    undeclared = [key for key in data if key not in names]
    if undeclared:
        raise RejectedRecording(
            "posestream.unknown_track",
            f"'frames' holds data for '{undeclared[0]}', which is not declared in 'tracks'. "
            "Declare every track with its role. " + _FIX,
        )
    count = len(times)
    for name in names:
        for key, rows in zip(("position", "rotation"), data[name], strict=True):
            if rows.shape[0] != count:
                raise RejectedRecording(
                    "posestream.length_mismatch",
                    f"'frames.{name}.{key}' has {rows.shape[0]} entries but 'frames.t' has "
                    f"{count} times; every track needs one pose per frame time. " + _FIX,
                )
    positions = np.stack([data[name][0] for name in names])
    rotations = np.stack([data[name][1] for name in names])
    check_finite(times, "frames.t")
    for k, name in enumerate(names):
        check_finite(positions[k], f"frames.{name}.position", 3)
        check_finite(rotations[k], f"frames.{name}.rotation", 4)
    check_increasing(times, lambda i: f"'frames.t[{i}]'")
    time_scale = TIME_SCALES[declaration.time]
    metadata = {key: document[key] for key in document if key not in _OWN_KEYS}
    if dropped_text:
        metadata["event_text"] = True
    if events is not None:
        events = Events(events.times * time_scale, events.kinds, events.data)
    return build_recording(
        source_format="posejson",
        names=names,
        roles=roles,
        times_s=times * time_scale,
        positions=declaration.positions_to_canonical(positions),
        rotations=declaration.rotations_to_canonical(rotations),
        source_metadata=metadata,
        conversion=declaration_conversion(declaration),
        events=events,
    )


def declaration_conversion(declaration: FrameDeclaration) -> dict[str, Any]:
    matrix = declaration.axis_matrix()
    return {
        "declared": declaration.as_dict(),
        "axis_matrix": matrix.astype(int).tolist(),
        "mirrored": bool(np.linalg.det(matrix) < 0),
    }


def _check_header(document: dict[str, Any]) -> None:
    for key in ("format", "version"):
        if key not in document:
            raise schema_error(key, f"the '{key}' key")
    if document["format"] != FORMAT_NAME:
        raise schema_error("format", f"'{FORMAT_NAME}'")
    version = document["version"]
    if not _is_number(version):
        raise schema_error("version", "the number 1")
    if version != FORMAT_VERSION:
        raise RejectedRecording(
            "posestream.unsupported_version",
            f"This pose stream is version {str(version)[:12]}; we read version "
            f"{FORMAT_VERSION}. "
            "Export it as version 1.",
        )
    for key in ("units", "frame"):
        if key not in document:
            raise bad_declaration(f"'{key}' is missing")
    for key in ("tracks", "frames"):
        if key not in document:
            raise schema_error(key, f"the '{key}' key")


def _declaration(document: dict[str, Any]) -> FrameDeclaration:
    units, frame = document["units"], document["frame"]
    for key, value, allowed in (
        ("units", units, {"length", "time"}),
        ("frame", frame, {"handedness", "up", "forward", "quaternion_order"}),
    ):
        if not isinstance(value, dict):
            raise bad_declaration(f"'{key}' must be an object")
        extra = [k for k in value if k not in allowed]
        if extra:
            raise bad_declaration(f"'{key}' has an unknown entry '{shown(extra[0])}'")
    values = {**units, **frame}
    problem = declaration_problem(values)
    if problem:
        raise bad_declaration(problem)
    return FrameDeclaration(**{key: values[key] for key in _CHOICES})


def _valid_track_name(name: str) -> bool:
    return name != "t" and TRACK_NAME_RE.fullmatch(name) is not None


def _tracks(tracks: Any) -> tuple[list[str], list[Role]]:
    if type(tracks) is not list or not tracks:
        raise schema_error("tracks", "a list of at least one track")
    names: list[str] = []
    roles: list[Role] = []
    for i, track in enumerate(tracks):
        where = f"tracks[{i}]"
        if not isinstance(track, dict) or "name" not in track or "role" not in track:
            raise schema_error(where, "an object with 'name' and 'role'")
        extra = [k for k in track if k not in ("name", "role")]
        if extra:
            raise schema_error(f"{where}.{shown(extra[0])}", "only 'name' and 'role'")
        name, role = track["name"], track["role"]
        if not isinstance(name, str) or not _valid_track_name(name):
            raise schema_error(f"{where}.name", "1 to 64 letters, digits, '_' or '-' (and not 't')")
        if role not in ROLE_NAMES:
            raise schema_error(f"{where}.role", "one of " + ", ".join(ROLE_NAMES))
        names.append(name)
        roles.append(role)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise RejectedRecording(
                "posestream.duplicate_track",
                f"Two tracks are named '{name}'. Give every track its own name. " + _FIX,
            )
        if roles[i] != "joint" and roles[i] in roles[:i]:
            raise RejectedRecording(
                "posestream.duplicate_track",
                f"Two tracks have the role '{roles[i]}'; a recording has at most one head, "
                "one left hand and one right hand. " + _FIX,
            )
    return names, roles


def _track_entry(entry: Any, where: str) -> tuple[Float64Array, Float64Array]:
    if not isinstance(entry, dict) or "position" not in entry or "rotation" not in entry:
        raise schema_error(where, "an object with 'position' and 'rotation'")
    extra = [k for k in entry if k not in ("position", "rotation")]
    if extra:
        raise schema_error(f"{where}.{shown(extra[0])}", "only 'position' and 'rotation'")
    return (
        number_rows(entry["position"], 3, f"{where}.position"),
        number_rows(entry["rotation"], 4, f"{where}.rotation"),
    )


def _events(raw: Any) -> tuple[Events | None, bool]:
    if type(raw) is not list:
        raise schema_error("events", "a list of events")
    times, kinds, data = [], [], []
    dropped_text = False
    for i, event in enumerate(raw):
        where = f"events[{i}]"
        if not isinstance(event, dict) or "t" not in event or "kind" not in event:
            raise schema_error(where, "an object with 't' and 'kind'")
        extra = [k for k in event if k not in ("t", "kind", "data")]
        if extra:
            raise schema_error(f"{where}.{shown(extra[0])}", "only 't', 'kind' and 'data'")
        if not _is_number(event["t"]):
            raise schema_error(f"{where}.t", "a number")
        kind = event["kind"]
        if not isinstance(kind, str) or EVENT_KIND_RE.fullmatch(kind) is None:
            raise schema_error(
                f"{where}.kind", "a short lower-case name such as 'note_cut' (a-z, 0-9, _ . -)"
            )
        payload = event.get("data", {})
        _check_event_data(payload, f"{where}.data")
        text, dropped = clean_event_data(payload)
        dropped_text |= dropped
        times.append(float(event["t"]))
        kinds.append(kind)
        data.append(text)
    array = np.array(times, dtype=np.float64)
    check_finite(array, "events")
    return Events(times=array, kinds=kinds, data=data), dropped_text


def _check_event_data(payload: Any, where: str) -> None:
    if not isinstance(payload, dict):
        raise schema_error(where, "an object")
    for key, value in payload.items():
        if EVENT_KEY_RE.fullmatch(key) is None:
            raise schema_error(f"{where}.{shown(key)}", "keys of letters, digits, '_ . -'")
        if _is_number(value) or type(value) is bool:
            continue
        if isinstance(value, str) and len(value) <= _EVENT_MAX_STRING:
            continue
        if (
            isinstance(value, list)
            and len(value) <= _EVENT_MAX_LIST
            and all(map(_is_number, value))
        ):
            continue
        raise schema_error(
            f"{where}.{key}",
            "a number, true/false, a text of at most 256 characters or a list of at most 64 "
            "numbers",
        )


# --- A-Frame motion-capture recorder (JSON) ----------------------------------------------------


class AFrameReader:
    name = "aframe"
    label = "A-Frame motion capture (JSON)"

    def sniff(self, head: bytes) -> bool:
        return (
            _json_head(head)
            and _AFRAME_RE.search(head) is not None
            and _POSE_STREAM_RE.search(head) is None
        )

    def read(self, path: Path, options: ReadOptions) -> Recording:
        return read_aframe_json(path)


AFRAME_READER = AFrameReader()


@dataclass
class _Track:
    key: str
    name: str
    role: Role
    times_ms: Float64Array
    positions: Float64Array
    rotations: Float64Array  # xyzw, continuous


def read_aframe_json(path: Path) -> Recording:
    """Read an A-Frame avatar-recorder JSON into the canonical model (module docstring)."""
    return aframe_recording(load_json(path))


def aframe_recording(document: Any) -> Recording:
    if not isinstance(document, dict):
        raise schema_error("(top level)", "an object")
    if not isinstance(document.get("camera"), dict) or "poses" not in document["camera"]:
        raise schema_error("camera", "the camera's recording with its 'poses'")
    entries = [
        (key, value)
        for key, value in document.items()
        if isinstance(value, dict) and "poses" in value
    ]
    entries.sort(key=lambda item: item[0] != "camera")  # camera first, others in file order
    metadata: dict[str, Any] = {
        key: value for key, value in document.items() if key not in dict(entries)
    }
    tracks: list[_Track] = []
    roles_taken: set[Role] = set()
    empty = 0
    for key, value in entries:
        poses = value["poses"]
        where = shown(key)
        if type(poses) is not list:
            raise schema_error(f"{where}.poses", "a list of poses")
        if not poses:
            if key == "camera":
                raise too_few_frames(0)
            empty += 1
            continue
        role = _aframe_role(key, value.get("gamepad"), roles_taken)
        roles_taken.add(role)
        extra_name = f"controller_{sum(t.role == 'joint' for t in tracks) + 1}"
        name = "head" if key == "camera" else (role if role != "joint" else extra_name)
        times, positions, rotations = _aframe_poses(poses, f"{where}.poses")
        check_increasing(times, _pose_place(where))
        tracks.append(_Track(key, name, role, times, positions, rotations))
    if tracks[0].times_ms.shape[0] < 2:
        raise too_few_frames(int(tracks[0].times_ms.shape[0]))
    for key, value in entries:
        extra = {k: v for k, v in value.items() if k not in ("poses", "events")}
        if extra:
            metadata.setdefault("controller_details", {})[key] = extra
    metadata["element_ids"] = [key for key, _ in entries]
    timeline = tracks[0].times_ms
    positions = np.stack([_aligned_positions(t, timeline) for t in tracks])
    rotations = np.stack([_aligned_rotations(t, timeline) for t in tracks])
    events, dropped_text = _aframe_events(entries, tracks)
    if dropped_text:
        metadata["event_text"] = True
    conversion: dict[str, Any] = {
        "declared": {**CANONICAL, "time": "ms", "rotation": "euler_yxz_degrees"},
        "axis_matrix": np.eye(3, dtype=int).tolist(),
        "mirrored": False,
        "timeline": "camera",
        "align_tolerance_s": ALIGN_TOLERANCE_S,
    }
    if empty:
        conversion["dropped_empty_tracks"] = empty
    return build_recording(
        source_format="aframe",
        names=[t.name for t in tracks],
        roles=[t.role for t in tracks],
        times_s=timeline * 0.001,
        positions=positions.astype(np.float32),
        rotations=make_continuous(rotations.astype(np.float32)),
        source_metadata=metadata,
        conversion=conversion,
        events=events,
    )


def _pose_place(where: str) -> Callable[[int], str]:
    def place(index: int) -> str:
        return f"'{where}.poses[{index}]'"

    return place


def _aframe_role(key: str, gamepad: Any, taken: set[Role]) -> Role:
    if key == "camera":
        return "head"
    hand = gamepad.get("hand") if isinstance(gamepad, dict) else None
    compact = re.sub(r"[^a-z]", "", key.lower())
    role: Role = "joint"
    if hand in ("left", "right"):
        role = "left_hand" if hand == "left" else "right_hand"
    elif "left" in compact and "right" not in compact:
        role = "left_hand"
    elif "right" in compact and "left" not in compact:
        role = "right_hand"
    return "joint" if role in taken else role


def _aframe_poses(poses: list[Any], where: str) -> tuple[Float64Array, Float64Array, Float64Array]:
    """Timestamps (ms), positions (N, 3) and xyzw rotations (N, 4) of one track's poses."""
    try:
        stamps = list(map(itemgetter("timestamp"), poses))
        position_values = list(map(itemgetter("position"), poses))
        rotation_values = list(map(itemgetter("rotation"), poses))
    except (KeyError, TypeError):
        index = _first_index(
            poses,
            lambda p: (
                not isinstance(p, dict) or not {"timestamp", "position", "rotation"} <= p.keys()
            ),
        )
        raise schema_error(
            f"{where}[{index}]", "a pose with 'position', 'rotation' and 'timestamp'"
        ) from None
    if not set(map(type, stamps)) <= {int, float}:
        index = _first_index(stamps, lambda v: not _is_number(v))
        raise schema_error(f"{where}[{index}].timestamp", "a number (milliseconds)")
    times = _to_float(stamps, where)
    positions = _vec3(position_values, f"{where}.position")
    degrees = _vec3(rotation_values, f"{where}.rotation")
    check_finite(times, where + "[{}].timestamp")
    check_finite(positions, where + "[{}].position", 3)
    check_finite(degrees, where + "[{}].rotation", 3)
    # three.js Euler 'YXZ': R = Ry @ Rx @ Rz.
    rotations = euler_to_quaternion_c("YXZ", degrees[:, [1, 0, 2]].T).T
    return times, positions, rotations


def _vec3(values: list[Any], where: str, first: int = 0) -> Float64Array:
    """{x, y, z} objects or "x y z" strings (A-Frame writes either) as (N, 3) float64."""
    kinds = set(map(type, values))
    if kinds == {dict}:
        try:
            rows = list(map(itemgetter("x", "y", "z"), values))
        except KeyError:
            index = _first_index(values, lambda v: not {"x", "y", "z"} <= v.keys())
            raise schema_error(_at(where, first + index), "x, y and z") from None
        flat = list(chain.from_iterable(rows))
        if not set(map(type, flat)) <= {int, float}:
            index = _first_index(flat, lambda v: not _is_number(v)) // 3
            raise schema_error(_at(where, first + index), "numbers for x, y and z")
        return _to_float(flat, where).reshape(-1, 3)
    if kinds == {str}:
        parts = list(map(str.split, values))
        if set(map(len, parts)) != {3}:
            index = _first_index(parts, lambda p: len(p) != 3)
            raise schema_error(_at(where, first + index), "three numbers such as '0 1.6 -0.5'")
        flat_text = list(chain.from_iterable(parts))
        if not all(map(NUMBER_TEXT_RE.fullmatch, flat_text)):
            index = _first_index(flat_text, lambda v: NUMBER_TEXT_RE.fullmatch(v) is None) // 3
            raise schema_error(_at(where, first + index), "three numbers such as '0 1.6 -0.5'")
        return np.array(flat_text, dtype=np.float64).reshape(-1, 3)
    if kinds <= {dict, str}:  # mixed: rare, convert each on its own
        return np.concatenate([_vec3([v], where, first + i) for i, v in enumerate(values)])
    index = _first_index(values, lambda v: not isinstance(v, dict | str))
    raise schema_error(_at(where, first + index), "an {x, y, z} object or an 'x y z' text")


def _at(where: str, index: int) -> str:
    """'camera.poses.position', 5 -> 'camera.poses[5].position'."""
    head, _, leaf = where.rpartition(".")
    return f"{head}[{index}].{leaf}"


def _nearest_gap(track_ms: Float64Array, timeline_ms: Float64Array) -> tuple[float, int]:
    """Largest distance from a timeline time to its nearest track sample, and where."""
    after = np.clip(np.searchsorted(track_ms, timeline_ms), 0, track_ms.size - 1)
    before = np.clip(after - 1, 0, track_ms.size - 1)
    distance = np.minimum(
        np.abs(track_ms[after] - timeline_ms), np.abs(timeline_ms - track_ms[before])
    )
    worst = int(np.argmax(distance))
    return float(distance[worst]), worst


def _check_aligned(track: _Track, timeline_ms: Float64Array) -> None:
    gap_ms, worst = _nearest_gap(track.times_ms, timeline_ms)
    if gap_ms > ALIGN_TOLERANCE_S * 1000.0:
        at = (timeline_ms[worst] - timeline_ms[0]) / 1000.0
        raise RejectedRecording(
            "posestream.misaligned",
            f"The {track.name.replace('_', ' ')} track has no pose within "
            f"{ALIGN_TOLERANCE_S:g} s of the head's frame at {at:.2f} s (the nearest is "
            f"{gap_ms / 1000.0:.2f} s away), so it cannot be lined up with the head. Record "
            "again with the controllers tracked the whole time, or trim the recording.",
        )


def _bracket(track_ms: Float64Array, timeline_ms: Float64Array) -> tuple[Any, Float64Array]:
    """Left sample index and interpolation weight for each timeline time (held at the ends)."""
    if track_ms.size == 1:
        return np.zeros(timeline_ms.size, dtype=np.intp), np.zeros(timeline_ms.size)
    left = np.clip(np.searchsorted(track_ms, timeline_ms, side="right") - 1, 0, track_ms.size - 2)
    span = track_ms[left + 1] - track_ms[left]
    weight = np.clip((timeline_ms - track_ms[left]) / span, 0.0, 1.0)
    return left, weight


def _aligned_positions(track: _Track, timeline_ms: Float64Array) -> Float64Array:
    if np.array_equal(track.times_ms, timeline_ms):
        return track.positions
    _check_aligned(track, timeline_ms)
    left, weight = _bracket(track.times_ms, timeline_ms)
    right = np.minimum(left + 1, track.times_ms.size - 1)
    w = weight[:, None]
    result: Float64Array = track.positions[left] * (1.0 - w) + track.positions[right] * w
    return result


def _aligned_rotations(track: _Track, timeline_ms: Float64Array) -> Float64Array:
    if np.array_equal(track.times_ms, timeline_ms):
        return track.rotations
    left, weight = _bracket(track.times_ms, timeline_ms)
    right = np.minimum(left + 1, track.times_ms.size - 1)
    q = make_continuous(track.rotations)
    w = weight[:, None]
    blend = q[left] * (1.0 - w) + q[right] * w
    result: Float64Array = blend / np.linalg.norm(blend, axis=1, keepdims=True)
    return result


def _aframe_events(
    entries: list[tuple[str, dict[str, Any]]], tracks: list[_Track]
) -> tuple[Events | None, bool]:
    names = {t.key: t.name for t in tracks}
    times: list[float] = []
    kinds: list[str] = []
    data: list[str] = []
    dropped_text = False
    for key, value in entries:
        raw = value.get("events")
        if key not in names or type(raw) is not list:
            continue
        for event in raw:
            # Recorder quirks (an event before the first tick has no timestamp) drop the event,
            # not the recording: events are extras.
            if not isinstance(event, dict):
                continue
            stamp: Any = event.get("timestamp")
            kind: Any = event.get("name")
            if not _is_number(stamp) or not math.isfinite(stamp):
                continue
            if not isinstance(kind, str) or EVENT_KIND_RE.fullmatch(kind) is None:
                continue
            detail = event.get("detail")
            payload = detail if isinstance(detail, dict) else {}
            text, dropped = clean_event_data(payload)
            dropped_text |= dropped
            fields = json.loads(text)
            fields["track"] = names[key]
            times.append(float(stamp) * 0.001)
            kinds.append(kind)
            data.append(json.dumps(fields, sort_keys=True, separators=(",", ":")))
    if not times:
        return None, dropped_text
    return Events(np.array(times), kinds, data), dropped_text
