"""numpy -> Arrow without ``pa.array``'s detour through ``numpy.ma``.

``pa.array(ndarray)`` checks for masked arrays, which imports ``numpy.ma`` on first use (about
0.1 s on the 2-CPU machine, paid inside the first conversion of every process); Python string
scalars passed to ``pyarrow.compute`` go through type inference that imports ``dateutil``.
These helpers wrap the numpy buffer directly (zero-copy) and type scalars explicitly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_TYPES: dict[str, pa.DataType] = {
    "<f8": pa.float64(),
    "<f4": pa.float32(),
    "<i8": pa.int64(),
    "<i4": pa.int32(),
}


def arrow_array(values: npt.NDArray[Any]) -> pa.Array:
    """A 1-D little-endian float64/float32/int64/int32 numpy array as an Arrow array, no copy.

    The Arrow array keeps the numpy buffer alive; other dtypes go through ``pa.array``.
    """
    kind = _TYPES.get(values.dtype.str)
    if kind is None or values.ndim != 1:
        return pa.array(values)
    contiguous = np.ascontiguousarray(values)
    return pa.Array.from_buffers(kind, contiguous.shape[0], [None, pa.py_buffer(contiguous)])


def text(value: str) -> pa.Scalar:
    """A string scalar typed up front (no inference)."""
    return pa.scalar(value, pa.string())


__all__ = ["arrow_array", "text"]
