"""Deterministic `.npz` encoding of named arrays, for content addressing.

`numpy.savez` stamps each zip entry with the current time, so the same arrays
give different bytes. Here the zip is written by hand: entries `<key>.npy` in
sorted key order, stored uncompressed (deflate output may change between zlib
versions), with a fixed date (1980-01-01), fixed permissions and a fixed
creating system. Each entry is `numpy.lib.format.write_array` of the
C-contiguous array without pickling. `numpy.load` reads the result as any
`.npz`. The same arrays (same keys, dtypes incl. byte order, shapes, values)
therefore always give the same bytes and the same sha256.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping

import numpy as np

from lawloop.storage.errors import IntegrityError, InvalidValueError

NPZ_MEDIA_TYPE = "application/x-npz"
"""Media type recorded for arrays stored with `encode_arrays`."""

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Encode named arrays as deterministic `.npz` bytes.

    Args:
        arrays: Names to arrays (anything `numpy.asarray` takes, except objects).

    Returns:
        The `.npz` bytes.

    Raises:
        InvalidValueError: A name is not a non-empty string, or an array
            holds Python objects.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in sorted(arrays):
            if not isinstance(key, str) or not key:
                msg = f"Array names must be non-empty strings; got {key!r}."
                raise InvalidValueError(msg)
            array = np.asarray(arrays[key])
            if not array.flags.c_contiguous:
                # Not before: `ascontiguousarray` turns 0-d arrays into 1-d ones.
                array = np.ascontiguousarray(array)
            if array.dtype.hasobject:
                msg = (
                    f"Array `{key}` has dtype `{array.dtype}`, which holds Python "
                    "objects; convert it to a numeric or fixed-width string dtype."
                )
                raise InvalidValueError(msg)
            entry = io.BytesIO()
            np.lib.format.write_array(entry, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, entry.getvalue())
    return buffer.getvalue()


def decode_arrays(data: bytes, sha256: str) -> dict[str, np.ndarray]:
    """Check `data` against `sha256` and decode it.

    Args:
        data: Bytes written by `encode_arrays`.
        sha256: The hash the bytes were stored under.

    Returns:
        Names to arrays, in sorted name order.

    Raises:
        IntegrityError: The bytes do not hash to `sha256`.
    """
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        msg = (
            f"Artifact `{sha256}` is corrupt: its bytes hash to `{actual}`. "
            "The database was changed outside lawloop; restore it from a backup."
        )
        raise IntegrityError(msg)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in sorted(npz.files)}
