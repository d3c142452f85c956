"""Reading what an OpenAI-compatible server answers: the completion or what came instead, token counts, `Retry-After`.

A server may answer anything; each reader here turns what it gets into a
value the client can record, or None, and never trusts a number it cannot
believe (a wait of an hour or more, a token count past 2**53).
"""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime
from typing import Any

__all__ = ["mentions_schema", "read_completion", "retry_after", "token_count"]

_SCHEMA_WORDS = ("response_format", "response format", "json_schema")
_MAX_RETRY_AFTER_S = 3600.0  # a longer ask is not believed: the normal backoff applies
_MAX_TOKENS = 2**53  # token counts past this are not counts (and not exact as JSON)
_HEAD = 120  # bytes of an unreadable answer quoted in its error


def mentions_schema(text: str) -> bool:
    """Whether an error text is about `response_format` / `json_schema`."""
    lowered = text.lower()
    return any(word in lowered for word in _SCHEMA_WORDS)


def retry_after(headers: Any) -> float | None:
    """Seconds asked for by `retry-after-ms` or `Retry-After` (seconds or HTTP date).

    None when neither gives a believable wait: `nan`, `inf`, a negative
    number, a date in the past or more than an hour ahead. Such a wait would
    skip the backoff, or write NaN into the record.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return _believable(float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return _believable(float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _believable((when - datetime.now(UTC)).total_seconds())


def _believable(seconds: float) -> float | None:
    """`seconds` if it is a wait to honour, else None (use the backoff)."""
    return (
        seconds
        if math.isfinite(seconds) and 0 <= seconds <= _MAX_RETRY_AFTER_S
        else None
    )


def token_count(value: Any) -> int | None:
    """A token count from the server, or None when it is not one."""
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 <= value < _MAX_TOKENS
    ):
        return value
    return None


def read_completion(raw: Any) -> Any:
    """The SDK's completion from a 200 answer, or (a `str`) what came instead.

    The SDK hands back the body's text for a non-JSON content type, raises
    for JSON it cannot decode, and builds a model without `choices` from JSON
    that is not a completion; each of these is described here, naming the
    content type, the size and the first characters received.
    """
    what = "not a chat completion"
    try:
        reply = raw.parse()
    except (ValueError, TypeError, RecursionError) as exc:
        reply = None  # malformed, or nested past the stack
        what = f"which cannot be decoded ({type(exc).__name__}), not a chat completion"
    choices = getattr(reply, "choices", None)
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    if isinstance(choices, list):
        if content is None or isinstance(content, str):
            return reply
        what = "a completion whose `content` is not text"
    body = raw.content
    kind = raw.headers.get("content-type") or "no content type"
    head = body[:_HEAD].decode("utf-8", "replace")
    return (
        f"the server answered HTTP {raw.status_code} with `{kind}` ({len(body):,} bytes), "
        f"{what}; it begins {head!r}. Check that `llm_base_url` is the API's base URL "
        "(it usually ends in `/v1`)"
    )
