"""Which lineage edges may join which kinds of row: the table `Store.link` checks.

AiiDA validates every link it stores against the kinds of node at its ends;
this is that table for lawloop. An edge reads "source RELATION target", and
each allowed one is a (source kind, relation, target kind) triple.

The first eight are what a campaign writes (read from the `lineage_edge`
table of Pendulum and Formula campaigns and of the recorded database in
`tests/fixtures/db_6a431ef`, and from every `link` call in the project's
history). The two with an artifact end are the data edges the PROV export
maps (`storage._prov`: "F fitted-on A", "A produced-by R"), for a caller that
links data rather than runs. Adding a triple here is enough to allow it; no
migration is needed, since the columns hold any kind and relation.
"""

from __future__ import annotations

from lawloop.storage._enums import EntityKind, Relation
from lawloop.storage.errors import EdgeNotAllowedError

__all__ = [
    "ALLOWED_EDGES",
    "allowed_from",
    "check_edge",
    "describe_allowed",
    "is_allowed",
]

_K = EntityKind
_R = Relation

ALLOWED_EDGES: frozenset[tuple[EntityKind, Relation, EntityKind]] = frozenset(
    {
        # What a campaign writes.
        (_K.HYPOTHESIS, _R.PROPOSED_BY, _K.PLANNER_CALL),
        (_K.HYPOTHESIS, _R.DERIVED_FROM, _K.HYPOTHESIS),
        (_K.HYPOTHESIS, _R.TESTED_BY, _K.MODEL_FIT),
        (_K.MODEL_FIT, _R.FITTED_ON, _K.EXPERIMENT_RUN),
        (_K.HYPOTHESIS, _R.REFUTED_BY, _K.DECISION),
        (_K.HYPOTHESIS, _R.SUPPORTED_BY, _K.DECISION),
        (_K.DECISION, _R.SUPPORTED_BY, _K.MODEL_FIT),
        (_K.HYPOTHESIS, _R.REPLACED_BY, _K.HYPOTHESIS),
        # Data edges the PROV export maps: a fit's data and the run that measured it.
        (_K.MODEL_FIT, _R.FITTED_ON, _K.ARTIFACT),
        (_K.ARTIFACT, _R.PRODUCED_BY, _K.EXPERIMENT_RUN),
    }
)
"""Every (source kind, relation, target kind) a lineage edge may have."""


def is_allowed(source_kind: str, relation: str, target_kind: str) -> bool:
    """Whether the triple is in `ALLOWED_EDGES` (plain strings compare equal to the enums)."""
    return (source_kind, relation, target_kind) in ALLOWED_EDGES


def allowed_from(source_kind: EntityKind) -> list[tuple[Relation, EntityKind]]:
    """The (relation, target kind) pairs allowed from `source_kind`, sorted."""
    return sorted((r, t) for s, r, t in ALLOWED_EDGES if s == source_kind)


def describe_allowed(source_kind: EntityKind) -> str:
    """The edges allowed from `source_kind` in words, e.g. "`tested-by` model_fit, ..."."""
    pairs = allowed_from(source_kind)
    if not pairs:
        return "none (no edge may start at this kind)"
    return ", ".join(f"`{r.value}` {t.value}" for r, t in pairs)


def check_edge(
    source_kind: EntityKind, relation: Relation, target_kind: EntityKind
) -> None:
    """Raise `EdgeNotAllowedError` unless the triple is in `ALLOWED_EDGES`.

    Raises:
        EdgeNotAllowedError: Naming the triple and what may start at its source kind.
    """
    if (source_kind, relation, target_kind) in ALLOWED_EDGES:
        return
    msg = (
        f"Edge `{source_kind.value} {relation.value} {target_kind.value}` is not allowed; "
        f"from {source_kind.value} the allowed edges are: {describe_allowed(source_kind)}. "
        "See `storage._edges.ALLOWED_EDGES`."
    )
    raise EdgeNotAllowedError(msg)
