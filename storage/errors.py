"""Errors raised by `storage`.

* StorageError
  + NotFoundError        (no row with that id, prefix or name)
  + AmbiguousIdError     (an id prefix matches several rows; lists them)
  + ImmutableRowError    (a written row was changed outside its status fields, or deleted)
  + IntegrityError       (a foreign key or unique constraint failed, or an artifact's
                          bytes no longer match its sha256)
  + InvalidValueError    (a status, kind or relation outside its allowed values,
                          or arrays that cannot be stored)
"""

from __future__ import annotations

__all__ = [
    "AmbiguousIdError",
    "ImmutableRowError",
    "IntegrityError",
    "InvalidValueError",
    "NotFoundError",
    "StorageError",
]


class StorageError(Exception):
    """Root of every error raised by `storage`."""


class NotFoundError(StorageError, LookupError):
    """No row matches the id, prefix or name that was asked for."""


class AmbiguousIdError(StorageError, LookupError):
    """An id prefix matches more than one row."""


class ImmutableRowError(StorageError):
    """A written row was changed outside its declared updatable columns."""


class IntegrityError(StorageError):
    """The database refused a write, or stored bytes fail their hash check."""


class InvalidValueError(StorageError, ValueError):
    """A value is outside the allowed set (status, kind, relation) or unstorable."""
