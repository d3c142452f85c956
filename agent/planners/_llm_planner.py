"""The LLM planner: a prompt, a structured reply, one repair, and a record of every exchange.

The planner never touches storage: it asks `recorded(j)` whether exchange
`j` of this turn is on the record already (a resumed node, or a replay of
another campaign) and reuses that reply instead of calling the model, and it
hands each exchange to `record` as soon as it is complete. A reply that
cannot be used after one repair is a recorded failure; the turn then goes
on with the offline planner's proposals alone.

Every exchange passes through `LLMPlanner._screened` before anything reads
its reply: the reply is capped at `max_reply_bytes` (a longer one is refused
unread and kept cut), and secrets are redacted from the reply, the error and
the attempts, so that what is recorded, logged or sent back in a repair
never holds the API key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from lawloop.agent.planners._llm_schema import (
    MAX_REPLY_BYTES,
    LLMReply,
    ReplyError,
    parse_reply,
    redact,
    reply_schema,
    screen_reply,
)
from lawloop.agent.planners._proposal import Proposal, Source
from lawloop.prompts import PromptTemplate

__all__ = ["ChatLike", "Exchange", "LLMPlanner", "Recorded"]

_SYSTEM = (
    "You are a careful theoretical physicist. You reply with one JSON object exactly as asked, "
    "with no text around it."
)
MAX_EXCHANGES = 2  # the first reply and one repair


class ChatLike(Protocol):
    """What the planner needs of a chat client (see `agent._llm_client.ChatClient`)."""

    model: str

    @property
    def secrets(self) -> Sequence[str]:
        """Values to redact from anything the server sends (the API key, ...)."""
        ...

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None,
        schema_name: str,
    ) -> Any:
        """One chat completion; failures come back as data (`.error`)."""
        ...


@dataclass(frozen=True, slots=True)
class Recorded:
    """A reply already on the record: what a resumed node or a replay reuses."""

    content: str | None
    mode: str
    error: str | None
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class Exchange:
    """One request and its reply, with what became of the reply."""

    index: int
    """0 for the first request, 1 for the repair."""
    template_name: str
    messages: list[dict[str, str]]
    content: str | None
    mode: str
    """`json_schema`, `json_object` or `text`: how structure was asked for."""
    input_tokens: int | None
    output_tokens: int | None
    latency_s: float
    attempts: list[dict[str, Any]]
    error: str | None
    """Transport failure after all retries, if any."""
    reply_error: str | None = None
    """Why the reply could not be used, if it could not."""
    reply: LLMReply | None = None
    reused: bool = False
    """True when the reply came from the record, not from the network."""
    proposals: list[Proposal] = field(default_factory=list)

    def parsed(self) -> dict[str, Any]:
        """The JSON kept in `planner_call.parsed_json`."""
        out: dict[str, Any] = {
            "mode": self.mode,
            "attempts": self.attempts,
            "reused": self.reused,
        }
        if self.reply_error:
            out["reply_error"] = self.reply_error
        if self.reply is not None:
            out["proposals"] = [
                {
                    "expression": p.expression,
                    "parameters": list(p.parameters),
                    "source": str(p.source),
                    "rationale": p.rationale,
                    "initial": {},
                    "parent_id": None,
                }
                for p in self.proposals
            ]
            out["designs"] = [
                {d.name: d.value for d in point}
                for prop in self.reply.proposals
                for point in prop.designs
            ]
            out["notes"] = self.reply.notes
        return out


def _proposals(reply: LLMReply) -> list[Proposal]:
    return [
        Proposal(
            expression=p.expression,
            parameters=tuple(p.parameters),
            source=Source.LLM,
            rationale=p.rationale or "proposed by the LLM",
        )
        for p in reply.proposals
    ]


def _repair_message(error: str) -> str:
    return (
        f"Your reply could not be used: {error}. Reply again with ONE JSON object of the shape "
        '{"proposals": [{"expression": "...", "parameters": ["c0"], "rationale": "...", "designs": []}], '
        '"notes": "..."} and nothing else.'
    )


class LLMPlanner:
    """Proposes laws through an OpenAI-compatible chat model.

    Example:
        >>> planner = LLMPlanner(client, template=load("propose_hypotheses"))  # doctest: +SKIP
        >>> proposals = planner.propose(values, recorded=lambda j: None, record=store_row)  # doctest: +SKIP
    """

    def __init__(
        self,
        client: ChatLike | None,
        *,
        model: str,
        template: PromptTemplate,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        """Create a planner; `client=None` means replay only (no network).

        Args:
            client: The chat client, or None to replay recorded replies only.
            model: The model's name, recorded in `name`.
            template: The prompt template.
            max_reply_bytes: Longer replies are refused unread
                (`CampaignConfig.llm_max_reply_bytes`).
        """
        self.client = client
        self.model = model
        self.template = template
        self.max_reply_bytes = max_reply_bytes

    def close(self) -> None:
        """Release the client's connections (calling twice is fine)."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    @property
    def name(self) -> str:
        """The planner's name in the record: `llm:<model>`."""
        return f"llm:{self.model}"

    def propose(
        self,
        values: Mapping[str, str],
        *,
        recorded: Callable[[int], Recorded | None],
        record: Callable[[Exchange], None],
    ) -> list[Proposal]:
        """One planning turn: ask, validate, repair once; every exchange recorded.

        Args:
            values: The template's placeholders (see `agent._context.render_values`).
            recorded: Exchange `j` from the record, or None to call the model.
            record: Called with each exchange as soon as it is complete.

        Returns:
            The proposals of the first usable reply, or [] after a failure.
        """
        messages = [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": self.template.render(**values)},
        ]
        for j in range(MAX_EXCHANGES):
            name = self.template.name if j == 0 else f"{self.template.name}+repair"
            exchange = self._screened(self._exchange(j, name, messages, recorded(j)))
            if exchange.error is None and exchange.reply_error is None:
                try:
                    reply = parse_reply(exchange.content)
                except ReplyError as exc:
                    exchange = _with(exchange, reply_error=str(exc))
                else:
                    exchange = _with(exchange, reply=reply, proposals=_proposals(reply))
            record(exchange)
            if exchange.reply is not None:
                return exchange.proposals
            if exchange.error is not None:
                return []  # the transport failed after its retries: no repair can help
            messages = [
                *messages,
                {"role": "assistant", "content": exchange.content or ""},
                {
                    "role": "user",
                    "content": _repair_message(
                        exchange.reply_error or "unusable reply"
                    ),
                },
            ]
        return []

    def _screened(self, exchange: Exchange) -> Exchange:
        """The exchange as it may be parsed, recorded and sent back (see the module doc).

        Reused replies pass through too: a record made before the cap, or by a
        replayed campaign, is held to the same rules, and a reply cut on an
        earlier run is refused again for the same reason.
        """
        secrets = tuple(self.client.secrets) if self.client is not None else ()
        content, refused = exchange.content, None
        if content is not None:
            content, refused = screen_reply(
                content, max_bytes=self.max_reply_bytes, secrets=secrets
            )
        error = exchange.error
        return replace(
            exchange,
            content=content,
            reply_error=refused,
            error=None if error is None else redact(error, secrets),
            attempts=[_storable(a, secrets) for a in exchange.attempts],
        )

    def _exchange(
        self, j: int, name: str, messages: list[dict[str, str]], prior: Recorded | None
    ) -> Exchange:
        if prior is not None:
            return Exchange(
                j,
                name,
                messages,
                prior.content,
                prior.mode,
                prior.input_tokens,
                prior.output_tokens,
                0.0,
                [],
                prior.error,
                reused=True,
            )
        if self.client is None:
            return Exchange(
                j,
                name,
                messages,
                None,
                "none",
                None,
                None,
                0.0,
                [],
                "replay: no recorded reply for this exchange, and replay makes no network call",
            )
        result = self.client.complete(
            messages, schema=reply_schema(), schema_name="proposals"
        )
        attempts = [_attempt_json(a) for a in getattr(result, "attempts", ())]
        return Exchange(
            j,
            name,
            messages,
            result.content,
            result.mode,
            result.input_tokens,
            result.output_tokens,
            result.latency_s,
            attempts,
            result.error,
        )


def _with(exchange: Exchange, **changes: Any) -> Exchange:
    return replace(exchange, **changes)


def _attempt_json(attempt: Any) -> dict[str, Any]:
    if hasattr(attempt, "__dataclass_fields__"):
        return dict(json.loads(json.dumps(asdict(attempt), default=str)))
    return {"attempt": str(attempt)}


def _storable(attempt: dict[str, Any], secrets: Sequence[str]) -> dict[str, Any]:
    """An attempt's record with text redacted and non-finite numbers as None.

    PostgreSQL refuses NaN in a JSON column, and a server chooses some of
    these numbers (`Retry-After`).
    """
    out: dict[str, Any] = {}
    for key, value in attempt.items():
        if isinstance(value, str):
            value = redact(value, secrets)
        elif isinstance(value, float) and not math.isfinite(value):
            value = None
        out[key] = value
    return out
