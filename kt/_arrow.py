"""pyarrow columns to NumPy and back without loading pandas, and label coding.

pyarrow imports pandas (about 0.15 s) the first time a column is converted with
``to_numpy``, an array is built with ``pa.array`` or a Python scalar meets a compute function;
reading a log needs none of that. These helpers read fixed-width columns straight from their
data buffers and build the few arrays ``kt.io`` needs with ``pa.Array.from_buffers``; anything
else falls back to pyarrow's own conversion.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def call(function: str, *args: Any, options: Any = None) -> Any:
    """``pyarrow.compute.call_function(function, args, options)`` without importing
    ``pyarrow.compute`` (its import wraps every kernel with scraped docs, ~0.1 s); the methods
    ``dictionary_encode``, ``filter``, ``take``, ``flatten`` and ``cast`` import it."""
    try:
        from pyarrow._compute import call_function
    except ImportError:  # pragma: no cover - pyarrow moved its private module
        from pyarrow.compute import call_function
    return call_function(function, list(args), options)


def cast_to_string(arr: Any) -> Any:
    """A column cast to utf8 strings."""
    import pyarrow as pa

    try:
        from pyarrow._compute import CastOptions
    except ImportError:  # pragma: no cover
        from pyarrow.compute import CastOptions
    return call("cast", arr, options=CastOptions.safe(pa.string()))


def combined(column: Any) -> Any:
    """A column (ChunkedArray or Array) as one pyarrow Array (chunks combined)."""
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _numpy_dtype(t: Any) -> np.dtype | None:
    """The NumPy dtype of a fixed-width integer, float or temporal pyarrow type, else None."""
    import pyarrow as pa

    if pa.types.is_integer(t):
        return np.dtype(f"{'i' if pa.types.is_signed_integer(t) else 'u'}{t.bit_width // 8}")
    if pa.types.is_floating(t) and t.bit_width in (32, 64):
        return np.dtype(f"f{t.bit_width // 8}")
    if pa.types.is_timestamp(t) or pa.types.is_date64(t) or pa.types.is_duration(t):
        return np.dtype(np.int64)  # the stored integers (e.g. time units since the epoch)
    return None


def values(column: Any) -> np.ndarray:
    """A column's values as NumPy, read from the data buffer for integer, float, temporal
    (as int64 ticks) and boolean types; null slots hold whatever the buffer holds (check
    ``valid``). Other types: ``to_numpy(zero_copy_only=False)`` (objects, nulls as None)."""
    import pyarrow as pa

    arr = combined(column)
    t = arr.type
    n, offset = len(arr), arr.offset
    if pa.types.is_boolean(t):
        if n == 0:
            return np.zeros(0, dtype=bool)
        bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
        return np.unpackbits(bits, count=offset + n, bitorder="little")[offset:].astype(bool)
    dtype = _numpy_dtype(t)
    if dtype is None:
        return arr.to_numpy(zero_copy_only=False)
    if n == 0:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=n, offset=offset * dtype.itemsize)


def valid(column: Any) -> np.ndarray:
    """bool (n,): True where the column holds a value (not null)."""
    arr = combined(column)
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return values(call("is_valid", arr))


def first_null(column: Any) -> int:
    """Position of the column's first null (the column must have one)."""
    return int(np.flatnonzero(~valid(column))[0])


def bool_array(mask: np.ndarray) -> Any:
    """A pyarrow boolean Array of a NumPy bool mask (for ``Table.filter``)."""
    import pyarrow as pa

    mask = np.asarray(mask, dtype=bool)
    bits = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def int64_array(indices: np.ndarray) -> Any:
    """A pyarrow int64 Array of NumPy integers (for ``Table.take``)."""
    import pyarrow as pa

    data = np.ascontiguousarray(indices, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def encode(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """int32 codes into a sorted str vocabulary (numeric types sorted numerically).

    Integers in a dense range are coded by a lookup table (``kt._kernels.dense_codes``), other
    values hash-coded (pyarrow ``dictionary_encode``) and only the small dictionary sorted.
    ``arr`` (a pyarrow Array) must have no nulls.
    """
    import pyarrow as pa

    t = arr.type
    if pa.types.is_integer(t) and len(arr):
        coded = _dense_codes(values(arr))
        if coded is not None:
            return coded
    if pa.types.is_floating(t):
        floats = values(arr)
        if np.all(floats == np.floor(floats)):
            arr = int64_array(floats.astype(np.int64))
            t = arr.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_string(t)
            or pa.types.is_large_string(t) or pa.types.is_dictionary(t)):
        arr = cast_to_string(arr)
    read_coded = pa.types.is_dictionary(arr.type)  # e.g. read as a dictionary (kt._sniff)
    enc = arr if read_coded else call("dictionary_encode", arr)
    dict_type = enc.dictionary.type
    if pa.types.is_integer(dict_type) or pa.types.is_floating(dict_type):
        dictionary = values(enc.dictionary)
    else:
        dictionary = np.asarray(enc.dictionary.to_pylist(), dtype=str)
    indices = values(enc.indices)
    if read_coded:  # rows may have been dropped since: keep only the values still used
        used = np.bincount(indices, minlength=len(dictionary)) > 0
        if not used.all():
            keep = np.flatnonzero(used)
            renumber = np.zeros(len(used), dtype=np.int64)
            renumber[keep] = np.arange(len(keep))
            dictionary, indices = dictionary[keep], renumber[indices]
    return sorted_codes(indices, dictionary)


def sorted_codes(indices: np.ndarray, dictionary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, vocabulary)`` with the vocabulary sorted: ``indices`` (n,) into
    ``dictionary`` (m,) renumbered to int32 codes into ``sorted(dictionary)`` as str."""
    order = np.argsort(dictionary, kind="stable")
    remap = np.empty(len(order), dtype=np.int32)
    remap[order] = np.arange(len(order), dtype=np.int32)
    return remap[indices], dictionary[order].astype(str)


def _dense_codes(ints: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Codes and decimal labels of integers whose range is dense (at most 4 x their count,
    or 2**20), else None."""
    lo, hi = int(ints.min()), int(ints.max())
    if not (hi - lo <= max(4 * len(ints), 1 << 20) and -(2**62) < lo and hi < 2**62):
        return None
    from kt._aot import kernels

    k = kernels("kt._kernels")
    codes, distinct = k.dense_codes(np.ascontiguousarray(ints, dtype=np.int64), lo, hi - lo + 1)
    width = max(len(str(lo)), len(str(hi)))
    text = k.int_labels(distinct, width).view(f"<U{width}").reshape(-1)
    return codes, text
