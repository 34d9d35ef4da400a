"""Fast reading of a text block of whitespace-separated numbers, one record per line.

This is the hot path of text formats (the BVH MOTION block): a 100 MB block must parse in well
under a second. The fast path hands the memory-mapped file to pyarrow's multithreaded C++ CSV
reader, with the delimiter layout taken from the first line. pyarrow rejects any line whose field
count differs, so a file that parses there has a rectangular table. Anything it refuses (irregular
whitespace, a bad token, a short line) goes to an exact line-by-line scan, which either reads the
file anyway (valid but irregularly spaced) or names the first bad line for the donor.
"""

from __future__ import annotations

import array
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from processing.motion.model import Float32Array

# Plain decimal numbers only: no nan/inf, hex, digit separators or decimal commas.
NUMBER = rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
NUMBER_RE = re.compile(NUMBER)
_LINE_RE = re.compile(rb"%s(?:[ \t]+%s)*" % (NUMBER, NUMBER))
_WHITESPACE = b" \t\r\n\f\v"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_BLOCK_BYTES = 1 << 22  # pyarrow parses blocks of this size in parallel
_MAX_FIRST_LINE = 1 << 22

ProblemKind = Literal["bad_encoding", "bad_value", "wrong_count", "short_last_line"]


@dataclass
class TableProblem(Exception):
    """The first defect found: its kind, 1-based file line number and the values found there.

    ``short_last_line`` is a last line with too few values, the mark of a file cut short;
    ``records`` then counts the lines including that partial one.
    """

    kind: ProblemKind
    line: int
    found: int = 0
    records: int = 0


def read_number_table(path: Path, offset: int, columns: int, first_line: int) -> Float32Array:
    """Read every non-blank line from byte ``offset`` on as ``columns`` numbers.

    Returns (columns, records) float32, one row per column so channels are contiguous.
    ``first_line`` is the file line number at ``offset`` (for messages). Raises TableProblem.
    """
    fast = _read_fast(path, offset, columns)
    if fast is not None:
        return fast
    return _read_exact(path, offset, columns, first_line)


def _first_record_line(path: Path, offset: int) -> bytes | None:
    with path.open("rb") as f:
        f.seek(offset)
        while True:
            line = f.readline(_MAX_FIRST_LINE)
            if not line:
                return b""
            if not line.endswith(b"\n") and len(line) == _MAX_FIRST_LINE:
                return None
            stripped = line.rstrip(b"\r\n")
            if stripped.strip(_WHITESPACE):
                return stripped


def _read_fast(path: Path, offset: int, columns: int) -> Float32Array | None:
    """pyarrow route; None means 'not this way', never 'the file is bad'."""
    first = _first_record_line(path, offset)
    if first is None:
        return None
    if first == b"":
        return np.zeros((columns, 0), dtype=np.float32)
    body = first.strip(_WHITESPACE)
    delimiter = b"\t" if b"\t" in body and b" " not in body else b" "
    fields = first.split(delimiter)
    lead = next((i for i, f in enumerate(fields) if f.strip(_WHITESPACE)), 0)
    trail = next((i for i, f in enumerate(reversed(fields)) if f.strip(_WHITESPACE)), 0)
    core = fields[lead : len(fields) - trail]
    if len(core) != columns or any(not f.strip(_WHITESPACE) for f in core):
        return None
    names = [f"c{i}" for i in range(len(fields))]
    try:
        # Streamed, not memory-mapped: a mapped file counts whole towards the process's memory.
        with pa.OSFile(str(path)) as source:
            source.seek(offset)
            table = pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(column_names=names, block_size=_BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(
                    delimiter=delimiter.decode(),
                    quote_char=False,
                    double_quote=False,
                    escape_char=False,
                    ignore_empty_lines=True,
                ),
                # float32 holds the 6-7 significant digits BVH exporters write and halves the
                # table; forward kinematics widens each chunk to float64.
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.float32())
                ),
            )
            return _columns(table, columns, lead, len(fields) - trail)
    except (pa.ArrowException, OSError, ValueError):
        return None


def _columns(table: pa.Table, columns: int, start: int, stop: int) -> Float32Array | None:
    data_columns = table.columns[start:stop]
    edges = table.columns[:start] + table.columns[stop:]
    rows = table.num_rows
    # Edge columns come from leading/trailing delimiters and must be empty (null) throughout;
    # a null inside the data is a 'nan' or a doubled delimiter: let the exact scan decide.
    if any(c.null_count != rows for c in edges) or any(c.null_count for c in data_columns):
        return None
    out = np.empty((columns, rows), dtype=np.float32)
    for i, column in enumerate(data_columns):
        # Chunks without nulls convert zero-copy; concatenating into ``out`` copies once.
        np.concatenate([chunk.to_numpy() for chunk in column.chunks], out=out[i])
    # A float64 sum of float32 values cannot overflow: finite iff every value is ('nan',
    # 'inf' and overflowing numbers parse in pyarrow), without a full-size temporary.
    if not math.isfinite(float(np.sum(out, dtype=np.float64))):
        return None
    return out


def _read_exact(path: Path, offset: int, columns: int, first_line: int) -> Float32Array:
    values = array.array("d")
    records = 0
    pending: TableProblem | None = None
    with path.open("rb") as f:
        f.seek(offset)
        for line_no, raw in enumerate(f, start=first_line):
            line = raw.strip(_WHITESPACE)
            if not line:
                continue
            if pending is not None:  # a short line followed by more records: not a truncation
                pending.kind = "wrong_count"
                raise pending
            records += 1
            if _LINE_RE.fullmatch(line) is None:
                raise _token_problem(line, line_no)
            tokens = line.split()
            if len(tokens) != columns:
                problem = TableProblem("wrong_count", line_no, found=len(tokens), records=records)
                if len(tokens) > columns:
                    raise problem
                problem.kind = "short_last_line"
                pending = problem
                continue
            parsed = list(map(float, tokens))
            # Values are kept as float32: beyond its range (1e39, 1e999, inf, nan) is not a number
            # any recorder writes. NaN fails the comparison too.
            if not all(abs(value) <= _FLOAT32_MAX for value in parsed):
                raise TableProblem("bad_value", line_no)
            values.extend(parsed)
    if pending is not None:
        raise pending
    # float32 like the fast route, so both give identical poses for the same numbers.
    return np.frombuffer(values, dtype=np.float64).reshape(records, columns).T.astype(np.float32)


def _token_problem(line: bytes, line_no: int) -> TableProblem:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return TableProblem("bad_encoding", line_no)
    return TableProblem("bad_value", line_no)
