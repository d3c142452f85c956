"""The provenance store: what a campaign did, why, and on which data.

SQLAlchemy 2.0 typed models with Alembic migrations (shipped in
`storage/migrations`), SQLite by default (WAL, foreign keys on) and
PostgreSQL-ready. `open_store(url)` upgrades the schema and returns a `Store`,
whose `add_*` methods are insert-if-absent on caller-given ids and whose
queries return frozen records. Rows are immutable once written, except their
status fields. Arrays are stored content-addressed as deterministic `.npz`.
Statuses, entity kinds and relations are `StrEnum`s (`CampaignStatus`,
`HypothesisStatus`, `EntityKind`, `Relation`), and `Store.link` writes only
the lineage edges `ALLOWED_EDGES` lists. This package imports nothing else
from the project.

Example:
    >>> from lawloop.storage import open_store
    >>> with open_store("sqlite://") as store:  # in memory; a file: sqlite:///lawloop.db
    ...     [c.name for c in store.list_campaigns()]
    []
"""

from __future__ import annotations

from lawloop.storage._arrays import decode_arrays, encode_arrays
from lawloop.storage._edges import ALLOWED_EDGES
from lawloop.storage._engine import (
    alembic_config,
    check_openable,
    make_engine,
    open_store,
    require_existing,
    upgrade,
)
from lawloop.storage._export import export_prov, export_ro_crate
from lawloop.storage._integrity import IntegrityProblem, IntegrityReport, check_database
from lawloop.storage._models import (
    Base,
    CampaignStatus,
    EntityKind,
    HypothesisStatus,
    Relation,
)
from lawloop.storage._readonly import open_read_only
from lawloop.storage._records import (
    CampaignRecord,
    DecisionRecord,
    EdgeRecord,
    FitRecord,
    HypothesisRecord,
    IterationRecord,
    LeaseRecord,
    PlannerCallRecord,
    RunRecord,
)
from lawloop.storage._store import Store
from lawloop.storage.errors import (
    AmbiguousIdError,
    EdgeNotAllowedError,
    ImmutableRowError,
    IntegrityError,
    InvalidValueError,
    NotALawloopDatabaseError,
    NotFoundError,
    SchemaTooNewError,
    StorageError,
    StoreUnavailableError,
)

__all__ = [
    "ALLOWED_EDGES",
    "AmbiguousIdError",
    "Base",
    "CampaignRecord",
    "CampaignStatus",
    "DecisionRecord",
    "EdgeNotAllowedError",
    "EdgeRecord",
    "EntityKind",
    "FitRecord",
    "HypothesisRecord",
    "HypothesisStatus",
    "ImmutableRowError",
    "IntegrityError",
    "IntegrityProblem",
    "IntegrityReport",
    "InvalidValueError",
    "IterationRecord",
    "LeaseRecord",
    "NotALawloopDatabaseError",
    "NotFoundError",
    "PlannerCallRecord",
    "Relation",
    "RunRecord",
    "SchemaTooNewError",
    "StorageError",
    "Store",
    "StoreUnavailableError",
    "alembic_config",
    "check_database",
    "check_openable",
    "decode_arrays",
    "encode_arrays",
    "export_prov",
    "export_ro_crate",
    "make_engine",
    "open_read_only",
    "open_store",
    "require_existing",
    "upgrade",
]
