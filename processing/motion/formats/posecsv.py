"""Pose streams as wide CSV: one row per frame, seven columns per track.

Layout (``schemas/README.md`` has examples; the first line is wrapped here, one line in files)::

    # metagen-pose-stream v1 units=m time=s handedness=right up=+Y forward=-Z quat=xyzw
      roles=head:head,lh:left_hand
    t,head.px,head.py,head.pz,head.qx,head.qy,head.qz,head.qw,lh.px,...
    0.0,0.01,1.62,-0.03,0.0,0.0,0.0,1.0,...

* Line 1, the declaration, is required: ``# metagen-pose-stream v1`` then space-separated
  ``key=value`` pairs, each exactly once, in any order: ``units`` (m, cm, mm), ``time`` (s, ms),
  ``handedness`` (right, left), ``up`` and ``forward`` (+X, -X, +Y, -Y, +Z, -Z on different
  axes), ``quat`` (xyzw, wxyz) and ``roles``: every track as ``name:role`` (role head,
  left_hand, right_hand or joint), comma-separated, in column order. Unknown keys are refused
  (a misspelt key must not silently fall back to a default).
* Line 2, the header, is fully determined by the declaration: ``t``, then per track, in the
  ``roles`` order, ``<name>.px``, ``<name>.py``, ``<name>.pz`` and the four quaternion columns in
  the declared order (``qx,qy,qz,qw`` or ``qw,qx,qy,qz``). Track names are 1 to 64 letters,
  digits, ``_`` or ``-`` (as in the JSON format).
* Then one line per frame: comma-separated plain decimal numbers, no quotes. Blank lines are
  ignored; a ``#`` anywhere else is an error.

The declared frame converts exactly as the JSON pose stream does (``posejson.py``). Numbers are
parsed by pyarrow's multithreaded CSV reader straight from the memory-mapped file; only when it
refuses the data does an exact line scan run, to name the first bad line for the donor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from processing.motion.errors import RejectedRecording
from processing.motion.formats.base import ReadOptions
from processing.motion.formats.number_table import NUMBER_RE
from processing.motion.formats.posejson import (
    FORMAT_NAME,
    MAX_MAGNITUDE,
    ROLE_NAMES,
    TIME_SCALES,
    TRACK_NAME_RE,
    FrameDeclaration,
    bad_declaration,
    build_recording,
    check_size,
    declaration_conversion,
    declaration_problem,
    too_few_frames,
)
from processing.motion.limits import MAX_FILE_BYTES
from processing.motion.model import Float64Array, Recording, Role

MAX_DECLARATION_BYTES = 64 * 1024
MAX_HEADER_BYTES = 1024**2
_BLOCK_BYTES = 1 << 22
_SNIFF_RE = re.compile(rb"(?:\xef\xbb\xbf)?#[ \t]*metagen-pose-stream[ \t\r\n]")
_KEYS = {
    "units": "length",
    "time": "time",
    "handedness": "handedness",
    "up": "up",
    "forward": "forward",
    "quat": "quaternion_order",
}
_FIX = "Export the recording again as a MetaGen pose-stream CSV file."


class PoseCsvReader:
    name = "posecsv"
    label = "MetaGen pose stream (CSV)"

    def sniff(self, head: bytes) -> bool:
        return _SNIFF_RE.match(head) is not None

    def read(self, path: Path, options: ReadOptions) -> Recording:
        return read_pose_csv(path)


READER = PoseCsvReader()


def read_pose_csv(path: Path) -> Recording:
    """Read a wide-CSV pose stream into the canonical model; RejectedRecording if bad."""
    check_size(path, MAX_FILE_BYTES)
    with path.open("rb") as f:
        first = f.readline(MAX_DECLARATION_BYTES)
        second = f.readline(MAX_HEADER_BYTES)
    declaration, names, roles = parse_declaration(first)
    _check_header(second, _expected_header(names, declaration.quaternion_order))
    offset = len(first) + len(second)
    columns = 1 + 7 * len(names)
    values = _read_rows(path, offset, columns)
    frames = values.shape[0]
    if frames < 2:
        raise too_few_frames(frames)
    finite = np.abs(values) <= MAX_MAGNITUDE  # False for NaN too
    if not finite.all():
        row = int(np.argmin(finite.all(axis=1)))
        raise _bad_value(_line_of_row(path, offset, row))
    times = values[:, 0]
    steps = np.diff(times)
    if (steps <= 0).any():
        line = _line_of_row(path, offset, int(np.argmax(steps <= 0)) + 1)
        raise RejectedRecording(
            "motion.time_not_increasing",
            f"The time on line {line} does not come after the one before it. Frame times must "
            "strictly increase; export the recording again.",
        )
    tracks = values[:, 1:].reshape(frames, len(names), 7).transpose(1, 0, 2)
    return build_recording(
        source_format="posecsv",
        names=names,
        roles=roles,
        times_s=times * TIME_SCALES[declaration.time],
        positions=declaration.positions_to_canonical(tracks[..., :3]),
        rotations=declaration.rotations_to_canonical(np.ascontiguousarray(tracks[..., 3:])),
        source_metadata={},
        conversion=declaration_conversion(declaration),
        events=None,
    )


def declaration_line(declaration: FrameDeclaration, names: list[str], roles: list[str]) -> str:
    """The first line that declares ``declaration`` and the tracks (used by the writer)."""
    values = declaration.as_dict()
    pairs = [f"{key}={values[field]}" for key, field in _KEYS.items()]
    tracks = ",".join(f"{n}:{r}" for n, r in zip(names, roles, strict=True))
    return f"# {FORMAT_NAME} v1 {' '.join(pairs)} roles={tracks}"


def header_line(names: list[str], quaternion_order: str) -> str:
    return ",".join(_expected_header(names, quaternion_order))


def parse_declaration(line: bytes) -> tuple[FrameDeclaration, list[str], list[Role]]:
    """The declaration, track names and roles of the first line; RejectedRecording if bad."""
    try:
        text = line.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise bad_declaration("the first line is not UTF-8 text") from None
    tokens = text.removeprefix("#").split()
    if len(tokens) < 2 or tokens[0] != FORMAT_NAME:
        raise bad_declaration(f"the first line must start with '# {FORMAT_NAME} v1'")
    if tokens[1] != "v1":
        if re.fullmatch(r"v\d{1,6}", tokens[1]):
            raise RejectedRecording(
                "posestream.unsupported_version",
                f"This pose stream is version {tokens[1][1:]}; we read version 1. Export it as "
                "version 1.",
            )
        raise bad_declaration(f"the first line must start with '# {FORMAT_NAME} v1'")
    pairs: dict[str, str] = {}
    for token in tokens[2:]:
        key, sep, value = token.partition("=")
        if not sep or key not in (*_KEYS, "roles"):
            shown = key if re.fullmatch(r"[a-z_]{1,20}", key) else "an entry"
            raise bad_declaration(f"'{shown}' is not a known declaration key")
        if key in pairs:
            raise bad_declaration(f"'{key}' is declared twice")
        pairs[key] = value
    values: dict[str, Any] = {field: pairs.get(key) for key, field in _KEYS.items()}
    problem = declaration_problem(values)
    if problem:
        raise bad_declaration(problem.replace("quaternion order", "quat"))
    if "roles" not in pairs:
        raise bad_declaration("'roles' is not declared (every track as name:role)")
    names, roles = _parse_roles(pairs["roles"])
    return FrameDeclaration(**values), names, roles


def _parse_roles(text: str) -> tuple[list[str], list[Role]]:
    names: list[str] = []
    roles: list[Role] = []
    for item in text.split(","):
        name, _, role = item.partition(":")
        if TRACK_NAME_RE.fullmatch(name) is None or name == "t":
            raise bad_declaration(
                "'roles' must list every track as name:role, names of 1 to 64 letters, "
                "digits, '_' or '-'"
            )
        if role not in ROLE_NAMES:
            raise bad_declaration(f"the role of '{name}' must be one of {', '.join(ROLE_NAMES)}")
        if name in names:
            raise RejectedRecording(
                "posestream.duplicate_track",
                f"Two tracks are named '{name}'. Give every track its own name. " + _FIX,
            )
        if role != "joint" and role in roles:
            raise RejectedRecording(
                "posestream.duplicate_track",
                f"Two tracks have the role '{role}'; a recording has at most one head, one left "
                "hand and one right hand. " + _FIX,
            )
        names.append(name)
        roles.append(role)  # checked against ROLE_NAMES above
    return names, roles


def _expected_header(names: list[str], quaternion_order: str) -> list[str]:
    parts = ["px", "py", "pz", *(f"q{axis}" for axis in quaternion_order)]
    return ["t", *(f"{name}.{part}" for name in names for part in parts)]


def _check_header(line: bytes, expected: list[str]) -> None:
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        text = ""
    found = [field.strip() for field in text.split(",")] if text else []
    if found == expected:
        return
    declared = {column.partition(".")[0] for column in expected[1:]}
    for column in found[1:]:
        track, dot, _ = column.partition(".")
        if dot and track not in declared and TRACK_NAME_RE.fullmatch(track):
            raise RejectedRecording(
                "posestream.unknown_track",
                f"The header has columns for the track '{track}', which 'roles=' on the first "
                "line does not declare. Declare every track with its role. " + _FIX,
            )
    if not found:
        raise RejectedRecording(
            "posestream.bad_csv_header",
            "Line 2 must be the column header (t, then seven columns per track). " + _FIX,
        )
    for index, (want, have) in enumerate(zip(expected, found, strict=False)):
        if want != have:
            have_shown = have if re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", have) else "something else"
            raise RejectedRecording(
                "posestream.bad_csv_header",
                f"Column {index + 1} of the header should be '{want}' but is '{have_shown}'. "
                "The header must list t, then for each track in the declared order its "
                "px, py, pz and quaternion columns in the declared order. " + _FIX,
            )
    raise RejectedRecording(
        "posestream.bad_csv_header",
        f"The header has {len(found)} columns but the declaration needs {len(expected)}: t and "
        "seven per track. " + _FIX,
    )


def _read_rows(path: Path, offset: int, columns: int) -> Float64Array:
    names = [f"c{i}" for i in range(columns)]
    try:
        # Streamed, not memory-mapped: a mapped file counts whole towards the process's memory
        # (as in number_table.py).
        with pa.OSFile(str(path)) as source:
            source.seek(offset)
            table = pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(column_names=names, block_size=_BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(
                    delimiter=",",
                    quote_char=False,
                    double_quote=False,
                    escape_char=False,
                    ignore_empty_lines=True,
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.float64()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    null_values=[],
                ),
            )
    except (pa.ArrowException, OSError, ValueError):
        return _read_exact(path, offset, columns)
    if table.num_rows == 0:
        return np.zeros((0, columns))
    values = np.empty((table.num_rows, columns))
    for i, column in enumerate(table.columns):
        values[:, i] = column.to_numpy()
    return values


def _data_lines(path: Path, offset: int) -> Iterator[tuple[int, bytes]]:
    """(line number, stripped line) of each non-blank data line (error paths only)."""
    with path.open("rb") as f:
        f.seek(offset)
        for number, line in enumerate(f, start=3):
            stripped = line.rstrip(b"\r\n")
            if stripped.strip(b" \t"):
                yield number, stripped


def _read_exact(path: Path, offset: int, columns: int) -> Float64Array:
    """Line-by-line read naming the first bad line; reads the file if nothing is wrong."""
    rows: list[list[float]] = []
    for number, line in _data_lines(path, offset):
        fields = [field.strip(b" \t") for field in line.split(b",")]
        if len(fields) != columns:
            raise RejectedRecording(
                "posestream.wrong_value_count",
                f"Line {number} has {len(fields)} values but the header has {columns} columns. "
                "The file may be cut short or damaged; export the recording again.",
            )
        if not all(NUMBER_RE.fullmatch(field) for field in fields):
            raise _bad_value(number)
        rows.append([float(field) for field in fields])
    return np.array(rows, dtype=np.float64).reshape(-1, columns)


def _line_of_row(path: Path, offset: int, row: int) -> int:
    for index, (number, _) in enumerate(_data_lines(path, offset)):
        if index == row:
            return number
    return 0  # unreachable for a row the table holds


def _bad_value(line: int) -> RejectedRecording:
    return RejectedRecording(
        "posestream.bad_value",
        f"Line {line} contains a value that is not a finite number. Numbers must be written "
        "like -12.5 or 3e-4, separated by commas. Export the recording again.",
    )
