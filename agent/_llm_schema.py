"""The structured reply the LLM planner asks for, validated with pydantic at the boundary."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "DesignValue",
    "LLMProposal",
    "LLMReply",
    "ReplyError",
    "parse_reply",
    "reply_schema",
]

_MAX_PROPOSALS = 12
_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,30}$"


class ReplyError(ValueError):
    """The reply is not the JSON object asked for; the message quotes what was wrong."""


class DesignValue(BaseModel):
    """One input's value in a proposed design point."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Input variable name.")
    value: float = Field(description="Its value, inside the declared range.")


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


def _first_json_object(text: str) -> str:
    """The JSON object in a reply that may wrap it in prose or a code fence."""
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", text, flags=re.S)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        msg = "the reply contains no JSON object"
        raise ReplyError(msg)
    return text[start : end + 1]


def parse_reply(text: str | None) -> LLMReply:
    """Validate a reply into `LLMReply`.

    Args:
        text: The raw reply content.

    Returns:
        The validated reply; expressions and names are still untrusted text.

    Raises:
        ReplyError: Empty reply, no JSON, invalid JSON, or a schema violation;
            the message says which, precisely enough to quote in a repair message.
    """
    if not text or not text.strip():
        msg = "the reply was empty"
        raise ReplyError(msg)
    try:
        data = json.loads(_first_json_object(text))
    except json.JSONDecodeError as exc:
        msg = f"the reply is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise ReplyError(msg) from exc
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
