"""The structured reply the LLM planner asks for, validated with pydantic at the boundary.

Everything a server sends is hostile until screened: `screen_reply` caps its
size and redacts secrets before anything reads or stores it, and
`parse_reply` finds the JSON object in linear time and refuses nesting deep
enough to exhaust Python's stack. Both report what was wrong as a
`ReplyError`, which the planner records like any other unusable reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_REPLY_BYTES",
    "DesignValue",
    "LLMProposal",
    "LLMReply",
    "ReplyError",
    "parse_reply",
    "redact",
    "reply_schema",
    "screen_reply",
]

MAX_REPLY_BYTES = 65_536
"""Default cap on a reply's size (`CampaignConfig.llm_max_reply_bytes`): ten
times the largest reply the schema allows in practice."""
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a reply may use (the schema needs 5);
deeper input would make `json.loads` and pydantic recurse without bound."""
_MAX_PROPOSALS = 12
_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,30}$"


class ReplyError(ValueError):
    """The reply is not the JSON object asked for; the message quotes what was wrong."""


class DesignValue(BaseModel):
    """One input's value in a proposed design point."""

    model_config = ConfigDict(extra="forbid")

    # Every string carries a length bound: pydantic then reads it as Unicode
    # and refuses an unpaired surrogate (`"\ud800"`), which no database stores.
    name: str = Field(max_length=64, description="Input variable name.")
    value: float = Field(
        allow_inf_nan=False,
        description="Its value, inside the declared range (finite: NaN cannot be stored as JSON).",
    )


class LLMProposal(BaseModel):
    """One proposed law as the model states it (still untrusted text)."""

    model_config = ConfigDict(extra="forbid")

    expression: str = Field(
        min_length=1,
        max_length=2000,
        description="Right-hand side for the target, in input names and parameters.",
    )
    parameters: list[str] = Field(
        default_factory=list,
        max_length=12,
        description="Names of the free constants the expression uses.",
    )
    rationale: str = Field(
        default="", max_length=2000, description="Why this law, in a sentence or two."
    )
    designs: list[list[DesignValue]] = Field(
        default_factory=list,
        max_length=16,
        description="Optional input points where this law differs most.",
    )


class LLMReply(BaseModel):
    """The whole reply: proposals and free-form notes."""

    model_config = ConfigDict(extra="forbid")

    proposals: list[LLMProposal] = Field(
        min_length=1,
        max_length=_MAX_PROPOSALS,
        description="Candidate laws, most plausible first.",
    )
    notes: str = Field(
        default="",
        max_length=4000,
        description="Anything the model wants to say about the data.",
    )


def reply_schema() -> dict[str, Any]:
    """The JSON schema sent as `response_format`.

    Written out rather than generated: OpenAI's strict mode wants every
    property required and `additionalProperties: false` at every level, which
    pydantic's schema for optional fields is not. `LLMReply` accepts it.
    """

    def obj(props: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }

    point = {
        "type": "array",
        "items": obj({"name": {"type": "string"}, "value": {"type": "number"}}),
    }
    proposal = obj(
        {
            "expression": {"type": "string"},
            "parameters": {"type": "array", "items": {"type": "string"}},
            "rationale": {"type": "string"},
            "designs": {"type": "array", "items": point},
        }
    )
    return obj(
        {"proposals": {"type": "array", "items": proposal}, "notes": {"type": "string"}}
    )


# A shorter secret would mangle ordinary text, and no provider issues one.
_SECRET_MIN = 8
# Tokens of 8 characters or more: "the bearer of" is prose, not a credential.
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_KEY_SHAPED = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
_MARKER = re.compile(r"\n\[lawloop: reply cut at (\d{1,12}) of (\d{1,15}) bytes\]\Z")
_MARKER_ROOM = 64  # bytes the marker takes at most
# One token of JSON structure: a string (escapes respected, possibly
# unterminated) or a bracket. Unrolled so that no input makes it backtrack.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[{}\[\]]', re.S)
_MAX_CANDIDATES = 16  # `{...}` spans tried before giving up


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with every secret, bearer token and `sk-...` key replaced by `***`.

    Args:
        text: Anything that came from a server (a reply, an error, a header).
        secrets: The values the client is configured with (the API key, ...);
            those shorter than 8 characters are left alone.

    Returns:
        The text safe to record, log, or send back to the model.
    """
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _SECRET_MIN:
            text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1 ***", text)
    return _KEY_SHAPED.sub("***", text)


def screen_reply(
    text: str, *, max_bytes: int, secrets: Sequence[str] = ()
) -> tuple[str, str | None]:
    """What of a reply may be kept, parsed and sent back, and why it is refused.

    Runs before anything else reads the reply. A reply of at most `max_bytes`
    bytes (UTF-8) is kept whole; a longer one is refused unread and only its
    first `max_bytes` bytes are kept, followed by a marker with the full
    size, so that a resumed or replayed run refuses it for the same reason.
    Either way secrets are redacted (see `redact`), unpaired surrogates
    become `?` and NUL characters U+FFFD, so the text can be stored in any
    database.

    Args:
        text: The reply's content as the server sent it.
        max_bytes: The cap (`CampaignConfig.llm_max_reply_bytes`).
        secrets: As for `redact`.

    Returns:
        `(kept, refused)`: the text to store, and None or why the reply is
        refused (naming its size and the cap).
    """
    data = text.encode("utf-8", "replace")
    cut = _MARKER.search(text, max(0, len(text) - _MARKER_ROOM))
    if cut is not None:  # cut on an earlier run: refuse it again, for the same reason
        cap, size = int(cut.group(1)), int(cut.group(2))
        if cap <= max_bytes and len(data) <= cap + _MARKER_ROOM:
            return _clean(data, secrets), _too_large(size, cap)
    if len(data) <= max_bytes:
        kept = _clean(data, secrets)
        if len(kept.encode()) <= max_bytes:
            return kept, None
        window = kept  # redaction or cleaning made it longer (rare): cut that
    else:
        # Redact before cutting so that no secret is kept half; the slack
        # covers any secret that starts before the cut.
        slack = max((len(s) for s in secrets), default=0) + 256
        window = _clean(text[: max_bytes + slack].encode("utf-8", "replace"), secrets)
    head = window.encode()[:max_bytes].decode("utf-8", "ignore")
    return f"{head}\n[lawloop: reply cut at {max_bytes} of {len(data)} bytes]", (
        _too_large(len(data), max_bytes)
    )


def _clean(data: bytes, secrets: Sequence[str]) -> str:
    """UTF-8 bytes as storable text (no NUL), secrets redacted."""
    return redact(data.decode("utf-8").replace("\x00", "\ufffd"), secrets)


def _too_large(size: int, cap: int) -> str:
    """Why a reply over the cap is refused."""
    return (
        f"the reply is {size:,} bytes, over the cap of {cap:,} bytes "
        f"(`llm_max_reply_bytes`); it was not read, and only its first {cap:,} "
        "bytes are kept"
    )


def _span_end(text: str, start: int) -> int | None:
    """Where the bracket opened at `start` closes (strings respected); None if never.

    Raises:
        ReplyError: The nesting gets deeper than `MAX_JSON_DEPTH`.
    """
    depth = 0
    for token in _TOKEN.finditer(text, start):
        char = text[token.start()]
        if char in "{[":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                msg = (
                    f"the reply's JSON nests deeper than {MAX_JSON_DEPTH} levels "
                    f"(at character {token.start():,} of a reply of "
                    f"{len(text.encode('utf-8', 'replace')):,} bytes); the schema needs 5"
                )
                raise ReplyError(msg)
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return token.end()
    return None


def _no_constant(name: str) -> Any:
    """`json.loads` hook for `NaN` and `Infinity`, which JSON does not allow."""
    msg = f"the reply holds `{name}`, which is not JSON (numbers must be finite)"
    raise ReplyError(msg)


def _loads(span: str) -> Any:
    """`json.loads` with every failure as a `ReplyError` (`span`'s depth is checked)."""
    try:
        return json.loads(span, parse_constant=_no_constant)
    except ReplyError:
        raise
    except json.JSONDecodeError as exc:
        msg = f"the reply is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ReplyError(msg) from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        msg = f"the reply is not valid JSON: {exc}"
        raise ReplyError(msg) from exc


def _json_object(text: str) -> Any:
    """The JSON object in a reply that may wrap it in prose or a code fence.

    Tries the balanced `{...}` spans from left to right and takes the first
    with `proposals`, else the first that decodes. Spans do not overlap and
    each is scanned once, so the work is linear in the reply's length.
    """
    first_error: ReplyError | None = None
    fallback: Any = None
    start = text.find("{")
    for _ in range(_MAX_CANDIDATES):
        if start < 0:
            break
        end = _span_end(text, start)
        try:
            # An unclosed span is decoded anyway: the error says where it breaks.
            data = _loads(text[start:end])
        except ReplyError as exc:
            first_error = first_error or exc
        else:
            if isinstance(data, dict) and "proposals" in data:
                return data
            if fallback is None:
                fallback = data
        if end is None:
            break
        start = text.find("{", end)
    if fallback is not None:
        return fallback
    if first_error is not None:
        raise first_error
    msg = "the reply contains no JSON object"
    raise ReplyError(msg)


def parse_reply(text: str | None) -> LLMReply:
    """Validate a reply into `LLMReply`.

    Linear in the reply's length, and never recurses deeper than
    `MAX_JSON_DEPTH`; cap the reply's size first (`screen_reply`).

    Args:
        text: The raw reply content.

    Returns:
        The validated reply; expressions and names are still untrusted text.

    Raises:
        ReplyError: Empty reply, no JSON, invalid JSON, nesting too deep, or a
            schema violation; the message says which, precisely enough to
            quote in a repair message.
    """
    if not text or not text.strip():
        msg = "the reply was empty"
        raise ReplyError(msg)
    data = _json_object(text)
    try:
        reply = LLMReply.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"`{'.'.join(str(p) for p in e['loc']) or 'reply'}`: {e['msg']}"
            for e in exc.errors()[:8]
        )
        msg = f"the reply does not match the schema: {problems}"
        raise ReplyError(msg) from exc
    for i, prop in enumerate(reply.proposals):
        bad = [p for p in prop.parameters if not re.match(_NAME, p)]
        if bad:
            msg = f"`proposals.{i}.parameters`: {bad} are not valid names (letters, digits, underscores)"
            raise ReplyError(msg)
    return reply
