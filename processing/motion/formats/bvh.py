"""BVH (Biovision Hierarchy) reader.

Conversion into the canonical model (model.py):

* Angles are degrees. A joint's rotation channels are intrinsic rotations applied in the order
  listed, so "Zrotation Xrotation Yrotation" gives R = Rz @ Rx @ Ry (column vectors).
* A joint's local translation is its OFFSET, except that any position channel it has replaces
  the matching OFFSET component (exporters that put position channels on every joint write the
  full local translation there). World pose: R_w = R_w(parent) @ R, p_w = p_w(parent) +
  R_w(parent) @ t. A root's parent is the identity at the origin.
* Axes: BVH is conventionally right-handed and Y-up, as is the canonical frame, so no axis is
  swapped. Forward is not fixed by BVH; most exporters (CMU, Motionbuilder, Mixamo) face +Z in
  the rest pose. The rest facing is taken from the skeleton when it names left and right joints
  (facing = left-to-right lateral axis x up), otherwise assumed +Z. The whole recording is turned
  about Y, in quarter turns, so the rest pose faces -Z; every joint rotation is conjugated by the
  same turn, so a joint's local -Z is its rest-pose forward and FK still holds with the turned
  offsets.
* Length units: see ``LENGTH_UNITS`` and ``detect_length_unit``; a caller hint wins.
* Quaternions are made continuous over time per joint (first frame w >= 0).
* Frame times are i * frame_time. A frame time written with few digits (".0083333") is snapped
  to the whole frame rate it rounds (120 Hz) when within 0.02%.

Roles: a joint whose name, ignoring case, separators and a "namespace:" prefix, is "head" is the
head; "lefthand", "lhand", "handl", "leftwrist", "lwrist", "wristl" (and "handleft",
"wristleft") are the left hand, likewise for the right. The first match in file order wins; all
other joints are "joint".
"""

from __future__ import annotations

import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from processing.motion.errors import RejectedRecording
from processing.motion.formats.base import ReadOptions, checked_file_size
from processing.motion.formats.bvh_hierarchy import Hierarchy, Node, parse_hierarchy, short_name
from processing.motion.formats.number_table import NUMBER_RE, TableProblem, read_number_table
from processing.motion.limits import (
    MAX_DURATION_S,
    MAX_FRAME_RATE,
    MIN_FRAME_RATE,
)
from processing.motion.model import Float32Array, Float64Array, Recording, Role, Skeleton
from processing.motion.rotations import yaw_matrix

# Metres per file unit. "cmu" is the CMU mocap database's ASF unit (1/0.45 inch), in which the
# widely shared CMU BVH conversions are written.
LENGTH_UNITS: dict[str, float] = {
    "m": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "in": 0.0254,
    "cmu": 0.0254 / 0.45,
}
MAX_HEADER_BYTES = 8 * 1024**2
_SNAP_TOLERANCE = 2e-4
_FK_CHUNK = 32768  # frames per task: big enough to amortise per-call overhead
_FK_THREADS = min(4, os.cpu_count() or 1)

_MOTION_RE = re.compile(rb"^[ \t]*MOTION[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_TIMING_RE = re.compile(
    rb"\s*Frames[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?\n"
    rb"\s*Frame[ \t]+Time[ \t]*:[ \t]*([^\r\n]*?)[ \t]*(?:\r?\n|\Z)",
    re.IGNORECASE,
)
_HEAD_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*HIERARCHY\s", re.IGNORECASE)

_ROLE_NAMES: dict[Role, frozenset[str]] = {
    "head": frozenset({"head"}),
    "left_hand": frozenset(
        {"lefthand", "lhand", "handl", "leftwrist", "lwrist", "wristl", "handleft", "wristleft"}
    ),
    "right_hand": frozenset(
        {"righthand", "rhand", "handr", "rightwrist", "rwrist", "wristr", "handright"}
        | {"wristright"}
    ),
}


class BvhReader:
    name = "bvh"
    label = "BVH"

    def sniff(self, head: bytes) -> bool:
        return _HEAD_RE.match(head) is not None

    def read(self, path: Path, options: ReadOptions) -> Recording:
        return read_bvh(path, length_unit=options.length_unit)


READER = BvhReader()


def read_bvh(path: Path, *, length_unit: str | None = None) -> Recording:
    """Read a BVH file into the canonical model. Raises RejectedRecording for any bad input."""
    if length_unit is not None and length_unit not in LENGTH_UNITS:
        raise ValueError(f"length_unit must be one of {sorted(LENGTH_UNITS)}")
    checked_file_size(path)
    with path.open("rb") as f:
        head = f.read(MAX_HEADER_BYTES)
    motion = _MOTION_RE.search(head)
    if motion is None:
        raise RejectedRecording(
            "bvh.bad_structure",
            "The file has no MOTION section. It may be cut short or be only a skeleton; "
            "export the recording again.",
        )
    hierarchy = parse_hierarchy(_decode_header(head[: motion.start()]))
    timing = _TIMING_RE.match(head, motion.end())
    if timing is None:
        raise RejectedRecording(
            "bvh.bad_structure",
            "The MOTION section must start with a 'Frames:' line and a 'Frame Time:' line.",
        )
    frames, frame_time = _parse_timing(timing.group(1), timing.group(2))
    frame_rate = _nominal_rate(frame_time)
    if frames / frame_rate > MAX_DURATION_S:
        raise RejectedRecording(
            "motion.too_long",
            f"The recording lasts more than {MAX_DURATION_S / 3600:.0f} hours, the most we "
            "accept. Split it into shorter takes.",
        )
    tracks = [node for node in hierarchy.nodes if node.is_track]
    _check_unique_names(tracks)
    channel_count = sum(len(node.channels) for node in hierarchy.nodes)
    if channel_count == 0:
        raise RejectedRecording(
            "bvh.bad_structure", "The skeleton declares no CHANNELS, so the file holds no motion."
        )
    data_start = timing.end()
    first_line = head.count(b"\n", 0, data_start) + 1
    values = _read_motion(path, data_start, channel_count, first_line, frames)
    return _build_recording(hierarchy, values, frame_rate, length_unit)


def _decode_header(raw: bytes) -> str:
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RejectedRecording(
            "bvh.bad_encoding",
            f"Line {line} contains characters that are not valid UTF-8 text. Export the "
            "recording again as a plain-text BVH file.",
        ) from None


def _parse_timing(frames_text: bytes, time_text: bytes) -> tuple[int, float]:
    if not frames_text.isdigit() or len(frames_text) > 12:
        raise RejectedRecording(
            "bvh.bad_structure", "The 'Frames:' line must give a whole number of frames."
        )
    if NUMBER_RE.fullmatch(time_text) is None:
        raise RejectedRecording(
            "bvh.bad_structure", "The 'Frame Time:' line must give the seconds per frame."
        )
    return int(frames_text), float(time_text)


def _nominal_rate(frame_time: float) -> float:
    rate = 1.0 / frame_time if frame_time > 0 else math.inf
    if not MIN_FRAME_RATE <= rate <= MAX_FRAME_RATE:
        shown = "an infinite" if math.isinf(rate) else f"{rate:.4g}"
        raise RejectedRecording(
            "motion.frame_rate_out_of_range",
            f"The file's frame time gives {shown} frames per second; we accept "
            f"{MIN_FRAME_RATE:.0f} to {MAX_FRAME_RATE:.0f}. Check the export settings.",
        )
    whole = round(rate)
    return float(whole) if abs(rate - whole) <= _SNAP_TOLERANCE * rate else rate


def _check_unique_names(tracks: list[Node]) -> None:
    seen: set[str] = set()
    for node in tracks:
        if node.name in seen:
            raise RejectedRecording(
                "bvh.duplicate_joint",
                f"Two joints are named '{short_name(node.name)}'. Give every joint its own "
                "name and export again.",
            )
        seen.add(node.name)


def _read_motion(
    path: Path, offset: int, channels: int, first_line: int, frames: int
) -> Float32Array:
    try:
        values = read_number_table(path, offset, channels, first_line)
    except TableProblem as problem:
        raise _motion_rejection(problem, channels, frames) from None
    records = values.shape[1]
    if records != frames:
        raise _frame_count_mismatch(frames, records)
    if frames == 0:
        raise RejectedRecording(
            "motion.no_frames", "The recording has no frames. Export it again with the motion."
        )
    return values


def _frame_count_mismatch(frames: int, records: int) -> RejectedRecording:
    hint = "the file may be cut short" if records < frames else "the header may be wrong"
    return RejectedRecording(
        "bvh.frame_count_mismatch",
        f"The file says it has {frames} frames but contains {records} motion lines. "
        f"Export the recording again; {hint}.",
    )


def _motion_rejection(problem: TableProblem, channels: int, frames: int) -> RejectedRecording:
    if problem.kind == "short_last_line" and problem.records != frames:
        return _frame_count_mismatch(frames, problem.records)
    if problem.kind == "bad_encoding":
        return RejectedRecording(
            "bvh.bad_encoding",
            f"Line {problem.line} contains bytes that are not text. The file may be damaged; "
            "export the recording again.",
        )
    if problem.kind == "bad_value":
        return RejectedRecording(
            "bvh.bad_value",
            f"Line {problem.line} contains a value that is not a finite number. Numbers must "
            "be written like -12.5 or 3e-4. Export the recording again.",
        )
    return RejectedRecording(
        "bvh.wrong_value_count",
        f"Line {problem.line} has {problem.found} values but the skeleton needs {channels} per "
        "frame. Export the recording again.",
    )


def detect_length_unit(rest_points: Float64Array) -> str:
    """Guess the file's length unit from the size of the rest pose (an adult is 1.5-2 m tall).

    The extent is the largest side of the rest pose's bounding box (joints and end sites), so
    Z-up files and T-poses measure about the same. Extent <= 3 -> metres; 3-40 -> CMU units
    (the only common unit that makes such a skeleton human-sized); 40-400 -> centimetres (the
    usual unit of current exporters; inch files need the caller's hint); above -> millimetres.
    A skeleton without extent (one joint) is taken as metres.
    """
    extent = float(np.ptp(rest_points, axis=0).max()) if rest_points.size else 0.0
    if not extent <= 3.0:
        if extent <= 40.0:
            return "cmu"
        return "cm" if extent <= 400.0 else "mm"
    return "m"


def _side(name: str) -> int:
    """+1 for a left-side joint name, -1 for right, 0 when the name does not say.

    Matches "LeftArm", "left_arm", "arm_l", "l_arm", "Arm.L" and CMU's "LHipJoint" (a capital
    L or R before another capital), ignoring a "namespace:" prefix.
    """
    base = name.rsplit(":", 1)[-1].strip()
    for sign, word, letter in ((1, "left", "l"), (-1, "right", "r")):
        spelled = rf"^(?:{word}|{letter}[_.\- ])|(?:{word}|[_.\- ]{letter})$"
        if re.search(spelled, base, re.IGNORECASE) or re.match(rf"{letter.upper()}[A-Z]", base):
            return sign
    return 0


def rest_facing_turn(names: list[str], rest: Float64Array) -> tuple[int, str]:
    """Quarter turns about +Y that bring the rest pose to face -Z, and how that was decided."""
    sides = np.array([_side(n) for n in names])
    if (sides > 0).any() and (sides < 0).any():
        lateral = rest[sides > 0].mean(axis=0) - rest[sides < 0].mean(axis=0)
        facing = np.array([-lateral[2], 0.0, lateral[0]])  # lateral x up, up = +Y
        if np.hypot(facing[0], facing[2]) > 1e-9:
            heading = math.atan2(-facing[0], -facing[2])  # Ry(heading) @ -Z == facing
            return round(-heading / (math.pi / 2)) % 4, "left/right joint names"
    return 2, "assumed +Z (BVH convention)"


def _role_of(name: str) -> Role:
    compact = re.sub(r"[\s_.\-]", "", name.rsplit(":", 1)[-1].lower())
    for role, names in _ROLE_NAMES.items():
        if compact in names:
            return role
    return "joint"


def assign_roles(names: list[str]) -> list[Role]:
    roles: list[Role] = []
    taken: set[Role] = set()
    for name in names:
        role = _role_of(name)
        if role != "joint" and role in taken:
            role = "joint"
        taken.add(role)
        roles.append(role)
    return roles


def _build_recording(
    hierarchy: Hierarchy, values: Float32Array, frame_rate: float, length_unit: str | None
) -> Recording:
    nodes = hierarchy.nodes
    track_index = {i: k for k, i in enumerate(i for i, n in enumerate(nodes) if n.is_track)}
    names = [nodes[i].name for i in track_index]
    parents = np.array([track_index.get(nodes[i].parent, -1) for i in track_index], dtype=np.int32)
    offsets = np.array([nodes[i].offset for i in track_index], dtype=np.float64).reshape(-1, 3)
    end_sites = [
        (track_index[n.parent], n.offset or (0.0, 0.0, 0.0))
        for n in nodes
        if not n.is_track and n.parent in track_index
    ]
    skeleton = Skeleton(names, parents, offsets, end_sites)
    rest = skeleton.rest_points()
    unit = length_unit or detect_length_unit(rest)
    scale = LENGTH_UNITS[unit]
    turns, facing_source = rest_facing_turn(names, rest[: len(names)])
    turn_matrix = yaw_matrix(turns * math.pi / 2).round()
    positions, rotations = _forward_kinematics(nodes, track_index, values, scale, turns)
    frames = values.shape[1]
    turned_ends: list[tuple[int, tuple[float, float, float]]] = []
    for parent, offset in end_sites:
        x, y, z = (turn_matrix @ np.asarray(offset)) * scale
        turned_ends.append((parent, (float(x), float(y), float(z))))
    skeleton = Skeleton(names, parents, offsets @ turn_matrix.T * scale, turned_ends)
    return Recording(
        source_format="bvh",
        tracks=names,
        roles=assign_roles(names),
        times=np.arange(frames, dtype=np.float64) / frame_rate,
        positions=positions,
        rotations=rotations,
        frame_rate=frame_rate,
        skeleton=skeleton,
        source_metadata={"comments": hierarchy.comments} if hierarchy.comments else {},
        conversion={
            "length_unit": unit,
            "length_unit_source": "caller" if length_unit else "detected from rest skeleton",
            "rest_facing_turn_deg": 90 * turns,
            "rest_facing_source": facing_source,
        },
    )


def _forward_kinematics(
    nodes: list[Node],
    track_index: dict[int, int],
    values: Float32Array,
    scale: float,
    turns: int,
) -> tuple[Float32Array, Float32Array]:
    """World poses of every track joint: (T, F, 3) positions and (T, F, 4) quaternions.

    Frames are independent, so they are cut into cache-sized chunks shared by a few threads
    (numpy releases the GIL inside its loops); within a chunk, one pass over the joints in file
    order (parents first) is vectorised over frames. The arithmetic is float32 like the parsed
    channels and the outputs: a chain of 30 joints loses under a micrometre per metre.
    """
    frames = values.shape[1]
    positions = np.empty((len(track_index), frames, 3), dtype=np.float32)
    rotations = np.empty((len(track_index), frames, 4), dtype=np.float32)
    chunks = [(start, min(start + _FK_CHUNK, frames)) for start in range(0, frames, _FK_CHUNK)]
    plan = [_JointPlan(node, track_index.get(i)) for i, node in enumerate(nodes)]
    # Into the canonical frame: turn G about +Y and scale; p -> s G p, q -> g q g^-1 (which
    # turns only the quaternion's vector part). G is a quarter turn, a signed permutation of
    # the axes, so it is applied exactly while the chunk's poses are stored.
    turn = yaw_matrix(turns * math.pi / 2).round()
    axes = [int(np.flatnonzero(turn[i])[0]) for i in range(3)]
    signs = [float(turn[i, axes[i]]) for i in range(3)]

    def run(chunk: tuple[int, int]) -> None:
        start, stop = chunk
        _forward_kinematics_chunk(
            plan,
            values[:, start:stop],
            positions[:, start:stop],
            rotations[:, start:stop],
            _Canonical(axes, signs, scale),
        )

    workers = min(_FK_THREADS, len(chunks))
    if workers <= 1:
        for chunk in chunks:
            run(chunk)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, chunks))  # list() re-raises a worker's exception here
    # Each chunk is continuous on its own; flip whole chunks that start on the other hemisphere
    # from where the previous one ended.
    for start, stop in chunks[1:]:
        flip = (rotations[:, start - 1] * rotations[:, start]).sum(axis=-1) < 0.0
        rotations[flip, start:stop] *= -1.0
    return positions, rotations


class _Canonical:
    """The quarter turn and scale into the canonical frame, as row picks and factors."""

    def __init__(self, axes: list[int], signs: list[float], scale: float) -> None:
        self.axes = axes
        self.position_factors = [np.float32(sign * scale) for sign in signs]
        self.negate = [sign < 0 for sign in signs]


class _JointPlan:
    """What FK needs from one node, worked out once instead of once per chunk."""

    def __init__(self, node: Node, track: int | None) -> None:
        self.parent = node.parent
        self.track = track
        self.width = len(node.channels)
        self.offset = np.asarray(node.offset or (0.0, 0.0, 0.0), dtype=np.float32)
        self.rot_rows = [r for r, c in enumerate(node.channels) if c.endswith("rotation")]
        self.rot_axes = [_AXIS[node.channels[r][0]] for r in self.rot_rows]
        self.pos_rows = [
            (r, _AXIS[c[0]]) for r, c in enumerate(node.channels) if c.endswith("position")
        ]


_AXIS = {"X": 0, "Y": 1, "Z": 2}
_DEG_TO_HALF_RAD = np.float32(math.pi / 360.0)


def _forward_kinematics_chunk(
    plan: list[_JointPlan],
    values: Float32Array,
    positions: Float32Array,
    rotations: Float32Array,
    canonical: _Canonical,
) -> None:
    """FK for a block of frames, component-first: quaternions (4, F), positions (3, F), in the
    file's frame and units; stored turned and scaled into the canonical frame.
    """
    remaining_children = [0] * len(plan)
    for joint in plan:
        if joint.parent >= 0:
            remaining_children[joint.parent] += 1
    # World rotation (4, F) or None for identity, and world position (3, F) or (3, 1), kept per
    # node until its last child is done.
    world: dict[int, tuple[Float32Array | None, Float32Array]] = {}
    origin = np.zeros((3, 1), dtype=np.float32)
    column = 0
    for i, joint in enumerate(plan):
        channels = values[column : column + joint.width]
        column += joint.width
        local_rot = _local_rotation(joint, channels)
        translation = _local_translation(joint, channels)
        parent_rot, parent_pos = world.get(joint.parent, (None, origin))
        if parent_rot is None:
            rot, pos = local_rot, parent_pos + translation
        else:
            rot = parent_rot if local_rot is None else _multiply32(parent_rot, local_rot)
            pos = _rotate_add32(parent_rot, translation, parent_pos)
        if joint.parent >= 0:
            remaining_children[joint.parent] -= 1
            if remaining_children[joint.parent] == 0:
                del world[joint.parent]
        if remaining_children[i]:
            world[i] = (rot, pos)
        if joint.track is not None:
            _store(pos, rot, positions[joint.track], rotations[joint.track], canonical)


def _store(
    pos: Float32Array,
    rot: Float32Array | None,
    positions: Float32Array,
    rotations: Float32Array,
    canonical: _Canonical,
) -> None:
    """Write one joint's chunk into the (F, 3) and (F, 4) outputs, turned, scaled, continuous."""
    for i, (axis, factor) in enumerate(
        zip(canonical.axes, canonical.position_factors, strict=True)
    ):
        np.multiply(pos[axis], factor, out=positions[:, i])
    if rot is None:
        rotations[:] = (0.0, 0.0, 0.0, 1.0)
        return
    dots = rot[0, 1:] * rot[0, :-1]
    for c in range(1, 4):
        dots += rot[c, 1:] * rot[c, :-1]
    flips = np.empty(rot.shape[1], dtype=np.float32)
    flips[0] = -1.0 if rot.shape[1] and rot[3, 0] < 0.0 else 1.0
    np.copysign(np.float32(1.0), dots, out=flips[1:])
    flips[1:][dots == 0.0] = 1.0  # copysign keeps the sign of -0.0; a zero dot is no flip
    np.multiply.accumulate(flips, out=flips)
    negated = -flips
    for i, (axis, negate) in enumerate(zip(canonical.axes, canonical.negate, strict=True)):
        np.multiply(rot[axis], negated if negate else flips, out=rotations[:, i])
    np.multiply(rot[3], flips, out=rotations[:, 3])


def _local_rotation(joint: _JointPlan, channels: Float32Array) -> Float32Array | None:
    """Intrinsic Euler rotations in channel order (q = q_a * q_b * q_c), float32 (4, F)."""
    if not joint.rot_rows:
        return None
    half = channels[joint.rot_rows] * _DEG_TO_HALF_RAD
    sines, cosines = np.sin(half), np.cos(half)
    q = np.zeros((4, channels.shape[1]), dtype=np.float32)
    q[joint.rot_axes[0]] = sines[0]
    q[3] = cosines[0]
    for axis, s, c in zip(joint.rot_axes[1:], sines[1:], cosines[1:], strict=True):
        j, k = (axis + 1) % 3, (axis + 2) % 3
        out = np.empty_like(q)
        out[axis] = q[3] * s + q[axis] * c
        out[j] = q[j] * c + q[k] * s
        out[k] = q[k] * c - q[j] * s
        out[3] = q[3] * c - q[axis] * s
        q = out
    return q


def _local_translation(joint: _JointPlan, channels: Float32Array) -> Float32Array:
    """The OFFSET, (3, 1), with any position channels replacing its components, (3, F)."""
    offset = joint.offset[:, None]
    if not joint.pos_rows:
        return offset
    translation = np.repeat(offset, channels.shape[1], axis=1)
    for row, axis in joint.pos_rows:
        translation[axis] = channels[row]
    return translation


def _multiply32(a: Float32Array, b: Float32Array) -> Float32Array:
    """Hamilton product a * b of component-first quaternions (4, F), float32."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    out = np.empty_like(b)
    scratch = np.empty_like(bx)
    for row, terms in enumerate(
        (
            ((aw, bx, 1), (ax, bw, 1), (ay, bz, 1), (az, by, -1)),
            ((aw, by, 1), (ax, bz, -1), (ay, bw, 1), (az, bx, 1)),
            ((aw, bz, 1), (ax, by, 1), (ay, bx, -1), (az, bw, 1)),
            ((aw, bw, 1), (ax, bx, -1), (ay, by, -1), (az, bz, -1)),
        )
    ):
        target = out[row]
        (p, q, _), *rest = terms
        np.multiply(p, q, out=target)
        for p, q, sign in rest:
            np.multiply(p, q, out=scratch)
            if sign > 0:
                target += scratch
            else:
                target -= scratch
    return out


def _rotate_add32(q: Float32Array, v: Float32Array, base: Float32Array) -> Float32Array:
    """base + (v rotated by q), component-first: v + 2w(u x v) + 2u x (u x v), float32 (3, F)."""
    x, y, z, w = q
    vx, vy, vz = v
    tx = y * vz
    tx -= z * vy
    tx *= 2.0
    ty = z * vx
    ty -= x * vz
    ty *= 2.0
    tz = x * vy
    tz -= y * vx
    tz *= 2.0
    out = np.empty((3, q.shape[1]), dtype=np.float32)
    for row, (t, u1, t2, u2, t1, vv) in enumerate(
        ((tx, y, tz, z, ty, vx), (ty, z, tx, x, tz, vy), (tz, x, ty, y, tx, vz))
    ):
        target = out[row]
        np.multiply(w, t, out=target)
        target += u1 * t2
        target -= u2 * t1
        target += vv
        target += base[row]
    return out
