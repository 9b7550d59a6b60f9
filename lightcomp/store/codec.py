"""Compact, bit-exact binary encoding of numpy arrays for the store.

Spectra are stored as one BLOB each, never one row per wavelength. Layout:
``b"LCA1"`` magic, one byte dtype code (``d`` float64, ``f`` float32, ``q``
int64), one byte ndim, ``ndim`` little-endian uint32 dimensions, then the raw
little-endian data. Reading back gives an identical array (NaN payloads and
signed zeros included).
"""

from __future__ import annotations

import struct

import numpy as np

from lightcomp.errors import StoreError

_MAGIC = b"LCA1"
_DTYPES = {"d": np.dtype("<f8"), "f": np.dtype("<f4"), "q": np.dtype("<i8")}
_CODES = {v: k for k, v in _DTYPES.items()}


def encode_array(a: np.ndarray | None) -> bytes | None:
    """Encode ``a`` (float64/float32/int64, any shape) as bytes; ``None`` stays ``None``."""
    if a is None:
        return None
    arr = np.asarray(a)
    if arr.dtype.kind == "f" and arr.dtype.itemsize == 8:
        arr = arr.astype("<f8", copy=False)
    elif arr.dtype.kind == "f" and arr.dtype.itemsize == 4:
        arr = arr.astype("<f4", copy=False)
    elif arr.dtype.kind in "iu":
        arr = arr.astype("<i8", copy=False)
    else:
        raise StoreError(f"cannot store an array of dtype {arr.dtype}")
    code = _CODES[arr.dtype]
    head = _MAGIC + code.encode() + struct.pack("<B", arr.ndim)
    head += struct.pack(f"<{arr.ndim}I", *arr.shape)
    return head + np.ascontiguousarray(arr).tobytes()


def decode_array(blob: bytes | memoryview | None) -> np.ndarray | None:
    """Decode bytes written by :func:`encode_array`."""
    if blob is None:
        return None
    b = bytes(blob)
    if len(b) < 6 or b[:4] != _MAGIC:
        raise StoreError("stored array is corrupt (bad header)")
    dtype = _DTYPES.get(chr(b[4]))
    if dtype is None:
        raise StoreError(f"stored array has unknown dtype code {b[4]!r}")
    ndim = b[5]
    shape = struct.unpack_from(f"<{ndim}I", b, 6)
    start = 6 + 4 * ndim
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(b) - start != expected:
        raise StoreError(f"stored array is corrupt: {len(b) - start} data bytes for shape {shape}")
    return np.frombuffer(b, dtype=dtype, offset=start).reshape(shape).copy()


def decode_stack(blobs: list[bytes | memoryview]) -> np.ndarray:
    """Decode ``n`` arrays of one shape and dtype (a chunk of stored spectra) into one
    ``(n, *shape)`` array with a single copy, instead of ``n`` :func:`decode_array` calls.

    Every blob must carry the same header as the first (same dtype and shape); a blob
    that does not is reported as :func:`decode_array` would report it.
    """
    if not blobs:
        raise StoreError("no stored arrays to decode")
    first = decode_array(blobs[0])  # validates the header and length of the first
    head = len(blobs[0]) - first.nbytes
    whole = b"".join(blobs)
    if len(whole) != len(blobs) * len(blobs[0]):
        bad = next(b for b in blobs if len(b) != len(blobs[0]))
        decode_array(bad)  # raises with the reason
        raise StoreError("stored arrays of one chunk differ in shape")
    table = np.frombuffer(whole, dtype=np.uint8).reshape(len(blobs), len(blobs[0]))
    if not (table[:, :head] == table[0, :head]).all():
        raise StoreError("stored arrays of one chunk differ in dtype or shape")
    data = np.ascontiguousarray(table[:, head:]).view(first.dtype)
    return data.reshape((len(blobs), *first.shape))
