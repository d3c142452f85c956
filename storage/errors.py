"""Errors raised by `storage`.

* StorageError
  + NotFoundError        (no row with that id, prefix or name)
  + AmbiguousIdError     (an id prefix matches several rows; lists them)
  + ImmutableRowError    (a written row was changed outside its status fields, or deleted)
  + IntegrityError       (a foreign key or unique constraint failed, or an artifact's
                          bytes no longer match its sha256)
  + InvalidValueError    (a status, kind or relation outside its allowed values,
                          or arrays that cannot be stored)
    + EdgeNotAllowedError  (a lineage edge whose (source kind, relation, target
                            kind) is not in `storage.ALLOWED_EDGES`)
  + StoreUnavailableError (the database cannot be opened as asked: not a URL, a
                           directory, a missing folder, a read-only or locked file,
                           a server refusing the connection)
    + NotALawloopDatabaseError (not an SQLite file, a truncated one, or another
                                program's database)
    + SchemaTooNewError        (written by a newer lawloop: a revision unknown here)

Opening refuses each of these before it writes anything, so the database is
left exactly as it was.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousIdError",
    "EdgeNotAllowedError",
    "ImmutableRowError",
    "IntegrityError",
    "InvalidValueError",
    "NotALawloopDatabaseError",
    "NotFoundError",
    "SchemaTooNewError",
    "StorageError",
    "StoreUnavailableError",
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


class EdgeNotAllowedError(InvalidValueError):
    """A lineage edge joins kinds that `storage.ALLOWED_EDGES` does not allow with its relation."""


class StoreUnavailableError(StorageError):
    """The database cannot be opened as asked; the message says why and how to fix it."""


class NotALawloopDatabaseError(StoreUnavailableError):
    """The target is not a lawloop database: not SQLite, truncated, or another program's."""


class SchemaTooNewError(StoreUnavailableError):
    """The database was written by a newer lawloop; this one leaves it untouched."""
