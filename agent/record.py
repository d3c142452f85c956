"""The typed payloads that nodes write into the record and views read back.

A fit's scores, a decision's evidence and a formalize outcome are stored as
JSON. Here each has one pydantic model: nodes build the model and store
`dump()`, readers call `read(...)` and get typed fields, so no other module
reads a payload's keys by string, and a malformed payload (a hand-edited
row, a database from a future version) is a clear `RecordError` naming the
payload and the field, never a `KeyError` deep in a view.

The models describe what is stored byte for byte: field order is the
stored key order, and optional keys that older code omitted stay omitted
(`dump()` leaves out exactly the fields marked `_OMIT_IF_NONE`). A test
round-trips every payload of a database written before these models
existed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from lawloop.agent.errors import AgentError

__all__ = [
    "AttackEvidence",
    "Bootstrap",
    "DecideEvidence",
    "Evidence",
    "FitScores",
    "FormalizeEvidence",
    "FormalizeOutcome",
    "RecordError",
    "RejectEvidence",
    "SkipEvidence",
    "SkipFitEvidence",
    "SupersedeEvidence",
    "TopFit",
    "decision_evidence",
]

Number = int | float
"""A JSON number as stored: an int stays an int (pydantic's smart union keeps it)."""


class RecordError(AgentError):
    """A stored payload does not have the shape its model describes."""


class _Payload(BaseModel):
    """Frozen, no unknown keys; `read` and `dump` are the only ways in and out."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def read(cls, payload: Mapping[str, Any] | None) -> Self:
        """The payload as stored (a JSON object), validated.

        Raises:
            RecordError: the payload is missing, or a field is absent, unknown
                or of the wrong type (the message names the model and fields).
        """
        if payload is None:
            msg = f"no {cls.__name__} payload is stored here"
            raise RecordError(msg)
        try:
            return cls.model_validate(dict(payload))
        except ValidationError as e:
            fields = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or '(payload)'}: {err['msg']}"
                for err in e.errors()
            )
            msg = f"a stored {cls.__name__} payload is malformed: {fields}"
            raise RecordError(msg) from None

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # At every level of nesting: a key older code left out stays out.
        out: dict[str, Any] = handler(self)
        for name in self._OMIT_IF_NONE:
            if out.get(name) is None:
                out.pop(name, None)
        return out

    def dump(self) -> dict[str, Any]:
        """The JSON object to store (key order is the fields' order)."""
        return self.model_dump(mode="python")

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, validated like a new payload."""
        return type(self).model_validate({**self.model_dump(), **changes})


class Bootstrap(_Payload):
    """Bootstrap intervals of a fit's constants (`bootstrap = N` in the config)."""

    resamples: int
    converged: int
    confidence: float
    intervals: dict[str, list[Number]]


class FitScores(_Payload):
    """How well one fit does: on its data, against its bound, and on the fresh batch."""

    _OMIT_IF_NONE = frozenset({"bootstrap"})

    n: int
    """Measurements the fit used."""
    rss: Number
    rmse: Number | None
    r2: Number | None
    bic: Number | None
    chi2: Number | None
    """Reduced chi-square on the fit's data (None when the fit failed)."""
    complexity: int
    noise_sd: Number | None
    bootstrap: Bootstrap | None = None
    bound: Number | None = None
    """The chi-square below which the law is adequate (None: the config's default)."""
    noise_dof: int | None = None
    fresh_chi2: Number | None = None
    """Reduced chi-square of the previous fit on this iteration's fresh batch."""
    fresh_bound: Number | None = None
    streak: int = 0
    """Fresh batches passed in a row."""
    fresh_n: int = 0

    @property
    def finite_bic(self) -> float:
        """BIC, infinite when the fit has none (failed)."""
        return float(self.bic) if self.bic is not None else float("inf")

    @property
    def finite_chi2(self) -> float:
        """Reduced chi-square, infinite when the fit has none (failed)."""
        return float(self.chi2) if self.chi2 is not None else float("inf")

    def bound_or(self, default: float) -> float:
        """The adequacy bound, or `default` for fits recorded before bounds were stored."""
        return float(self.bound) if self.bound is not None else default


class AttackEvidence(_Payload):
    """The attack on a law: the deviation test's result and the claim it supports."""

    verdict: Literal["holds", "refuted", "undecided"]
    precision: Number | None
    """The bound on a correction the data support (95 %), None when it is infinite."""
    largest: Number | None
    p_value: Number
    terms: int
    dof: int
    scale: Number | None
    n: int
    confidence: Number
    alpha: Number
    goal: Number
    material: Number
    ranges: dict[str, list[Number]]
    worst: dict[str, Number]
    reference: Number | None = None
    """The output's RMS when the claim is stated in its units (fixed-size noise), else None."""


class TopFit(_Payload):
    """One of the leaders named in a decision, with its fit's scores."""

    hypothesis: str
    scores: FitScores


class DecideEvidence(_Payload):
    """The judge's comparison of an iteration, recorded by `decide`."""

    _OMIT_IF_NONE = frozenset({"rivals", "attack"})

    ranking: list[str]
    """Hypothesis ids, best first, by the judge's rule."""
    leader: str | None
    leader_adequate: bool
    leader_fit: str | None
    top: list[TopFit]
    measurements: int
    iterations: int
    rivals: list[str] | None = None
    """A consistent ending's rivals: laws that fit every measurement as well."""
    attack: AttackEvidence | None = None


class RejectEvidence(_Payload):
    """Why a hypothesis was rejected: its fit, and the scores or the attack that sank it."""

    _OMIT_IF_NONE = frozenset({"scores", "attack"})

    fit: str
    scores: FitScores | None = None
    attack: AttackEvidence | None = None


class SupersedeEvidence(_Payload):
    """The open rivals an accepted law supersedes."""

    superseded: list[str]


class SkipFitEvidence(_Payload):
    """The hypotheses a fit node left unfitted for time (the best ranked is always fitted)."""

    skipped: list[str]
    fitted_first: str
    time_left_s: Number | None


class FormalizeOutcome(_Payload):
    """What formalize made of one proposal: a new hypothesis, a duplicate, a rejection."""

    model_config = ConfigDict(frozen=True, extra="allow")  # e.g. `repair`, `units`

    proposal: str
    source: str
    call: str | None
    outcome: str
    hypothesis: str | None = None
    reason: str | None = None
    repair: str | None = None
    """The units-consistent law proposed in place of a units-inconsistent one."""
    repair_error: str | None = None


class FormalizeEvidence(_Payload):
    """Every proposal of an iteration and its outcome."""

    outcomes: list[FormalizeOutcome]

    def outcome_of(self, hypothesis_id: str) -> str | None:
        """What became of the proposal that is (or duplicated) `hypothesis_id`; None if none."""
        return next(
            (o.outcome for o in self.outcomes if o.hypothesis == hypothesis_id), None
        )


class SkipEvidence(_Payload):
    """Why a search or the LLM was skipped: an adequate leader, or the time left."""

    leader: str | None = None
    time_left_s: Number | None = None

    def dump(self) -> dict[str, Any]:
        """Only the keys that were given: a skip for time stores `time_left_s`, even null."""
        return self.model_dump(mode="python", exclude_unset=True)


Evidence = (
    DecideEvidence
    | RejectEvidence
    | SupersedeEvidence
    | SkipFitEvidence
    | FormalizeEvidence
    | SkipEvidence
)
"""A decision's typed evidence."""

_EVIDENCE: dict[str, type[_Payload]] = {
    "accept": DecideEvidence,
    "continue": DecideEvidence,
    "stop": DecideEvidence,
    "reject": RejectEvidence,
    "supersede": SupersedeEvidence,
    "skip-fit": SkipFitEvidence,
    "formalize": FormalizeEvidence,
    "skip-search": SkipEvidence,
    "skip-llm": SkipEvidence,
}


def decision_evidence(kind: str, payload: Mapping[str, Any] | None) -> Evidence | None:
    """The typed evidence of a decision of `kind`; None for kinds that record none.

    Raises:
        RecordError: the payload does not have its kind's shape.
    """
    model = _EVIDENCE.get(kind)
    if model is None or payload is None:
        return None
    return model.read(payload)  # type: ignore[return-value]
