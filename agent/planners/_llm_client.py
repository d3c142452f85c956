"""A chat-completions client that records every attempt and never raises for server trouble.

What the server answers is read by `agent.planners._llm_reply`; where the
server is, by `agent.planners._llm_endpoint`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from lawloop.agent.errors import ConfigError
from lawloop.agent.planners._llm_endpoint import LOCAL_API_KEY, endpoint_from_env
from lawloop.agent.planners._llm_reply import (
    mentions_schema,
    read_completion,
    retry_after,
    token_count,
)
from lawloop.agent.planners._llm_schema import redact

if TYPE_CHECKING:
    import openai

__all__ = ["Attempt", "ChatClient", "ChatResult", "Mode", "endpoint_from_env"]

log = logging.getLogger(__name__)

Mode = Literal["json_schema", "json_object", "text"]
"""How structured output was requested: a strict JSON schema, JSON mode, or
nothing (the prompt asks for JSON in text). `ChatClient` sends `json_schema`
when a schema is given and the server accepts it, otherwise `text`."""

_RETRY_STATUS = frozenset({408, 409, 429})
_MAX_MESSAGE = 500


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP request made by `ChatClient.complete`."""

    mode: Mode
    """The structured-output mode this request used."""
    status: int | None
    """The HTTP status of the answer; None when none came (timeout, refused)."""
    error_type: str | None
    """The exception class name (`APITimeoutError`, `RateLimitError`, ...); None on success."""
    message: str | None
    """What went wrong, redacted and cut to 500 characters; None on success."""
    latency_s: float
    """Seconds from sending the request to the answer or the failure."""
    waited_s: float
    """Seconds slept before this request (backoff or `Retry-After`); 0 for the first."""


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The outcome of `ChatClient.complete`: a reply, or the reason there is none."""

    content: str | None
    """The reply text (`""` for an empty or null reply); None when the call failed."""
    mode: Mode
    """The structured-output mode of the last request."""
    input_tokens: int | None
    """Prompt tokens reported by the server for the answering request."""
    output_tokens: int | None
    """Completion tokens reported by the server for the answering request."""
    latency_s: float
    """Seconds for the whole call, retries and waits included."""
    attempts: tuple[Attempt, ...]
    """Every request made, in order, including a rejected schema probe."""
    error: str | None = None
    """Why the call failed after its last attempt; None on success."""
    finish_reason: str | None = None
    """The server's `finish_reason` (`stop`, `length`, ...) on success."""

    @property
    def ok(self) -> bool:
        """Whether a reply came back (its content may still be empty or invalid)."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class _Sent:
    """What one request gave: a completion, or a failed attempt and whether to retry."""

    attempt: Attempt
    """The request as `ChatResult.attempts` records it."""
    reply: Any = None
    """The SDK's completion; None when the request failed."""
    text: str = ""
    """What went wrong, as the attempt records it; empty on success."""
    retryable: bool = False
    """Whether a failure is worth another attempt."""
    retry_after: float | None = None
    """Seconds the server asked to wait (`Retry-After`), if believable."""
    schema_rejected: bool = False
    """The server refused `json_schema` output: the call goes on in text mode."""


class ChatClient:
    """Chat completions against an OpenAI-compatible endpoint with recorded retries.

    The SDK's own retries are off (`max_retries=0`); this class retries
    timeouts, connection errors, 408, 409, 429 (honouring `Retry-After`) and
    5xx with exponential backoff `backoff_s * 2**i` capped at `max_backoff_s`,
    no jitter, so that every attempt lands in `ChatResult.attempts`. Server and
    network failures are returned as data (`ChatResult.error`), never raised.

    Structured output: with a schema, the first call sends
    `response_format={"type": "json_schema", ...}`. If the server rejects it
    with a 400/422, the same call is retried at once without `response_format`
    (the prompt already asks for JSON) and the client remembers this for later
    calls. The API key never appears in results, logs, errors or `repr`:
    whatever the server sends back goes through `redact` with `secrets`.

    A 200 answer that is not a chat completion (an HTML page, JSON without
    `choices`, a body the SDK cannot decode) is a failed attempt whose error
    names the content type, the size and the first characters received; it
    is not retried. A `Retry-After` that is not a finite number of seconds
    between 0 and an hour is ignored in favour of the normal backoff.

    Example:
        >>> client = ChatClient(base_url="http://127.0.0.1:8080/v1",
        ...                     api_key="not-needed", model="qwen")  # doctest: +SKIP
        >>> result = client.complete([{"role": "user", "content": "Hi"}],
        ...                          schema=None, schema_name="reply")  # doctest: +SKIP
        >>> result.content if result.ok else result.error  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float = 60.0,
        max_attempts: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create the client; no request is made.

        Args:
            base_url: the endpoint, e.g. `http://127.0.0.1:8080/v1`.
            api_key: the key sent as a bearer token (`LOCAL_API_KEY` for a
                local server that checks none).
            model: the model name sent with every request.
            timeout_s: the limit for one request, in seconds.
            max_attempts: requests per call before giving up (a rejected
                schema probe does not count).
            backoff_s: the first wait between attempts; doubles each time.
            max_backoff_s: the longest wait, `Retry-After` included.
            sleep: how to wait; tests pass a recorder.

        Raises:
            ValueError: for an empty `base_url`, `api_key` or `model`, or a
                non-positive `timeout_s` or `max_attempts`.
        """
        import openai  # noqa: PLC0415 - the SDK is slow to import and optional

        for name, value in (
            ("base_url", base_url),
            ("api_key", api_key),
            ("model", model),
        ):
            if not value:
                msg = f"`{name}` must not be empty; use `endpoint_from_env` to resolve it."
                raise ValueError(msg)
        if timeout_s <= 0 or max_attempts < 1 or backoff_s < 0 or max_backoff_s < 0:
            msg = (
                "`timeout_s` must be > 0, `max_attempts` >= 1 and the backoffs >= 0; "
                f"got {timeout_s=}, {max_attempts=}, {backoff_s=}, {max_backoff_s=}."
            )
            raise ValueError(msg)
        self.base_url = base_url
        self.model = model
        self.timeout_s = float(timeout_s)
        self.max_attempts = int(max_attempts)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self._sleep = sleep
        password = urlsplit(base_url).password
        self._secrets = tuple(
            s for s in (api_key, password) if s and s != LOCAL_API_KEY
        )
        self._json_schema_supported: bool | None = None  # None until a call tells
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=self.timeout_s, max_retries=0
        )

    def __repr__(self) -> str:
        return f"ChatClient(base_url={self.base_url!r}, model={self.model!r})"

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        self._client.close()

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values to redact from anything the server sends: the API key and a URL password."""
        return self._secrets

    @property
    def json_schema_supported(self) -> bool | None:
        """Whether the server accepted `json_schema` output; None until a call tells."""
        return self._json_schema_supported

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        schema: dict[str, Any] | None,
        schema_name: str,
    ) -> ChatResult:
        """Ask for one chat completion, retrying transient failures.

        Args:
            messages: OpenAI-style messages (`{"role": ..., "content": ...}`).
            schema: a JSON schema for the reply, or None for free text.
            schema_name: the schema's name, sent with it (letters, digits, `_`, `-`).

        Returns:
            The reply, or (with `content=None`) the final error; every request
            made is in `attempts`.

        Raises:
            ValueError: for empty `messages` or a schema without a name.
        """
        if not messages:
            msg = "`messages` must hold at least one message."
            raise ValueError(msg)
        if schema is not None and not schema_name:
            msg = "`schema_name` must not be empty when a `schema` is given."
            raise ValueError(msg)
        start = time.perf_counter()
        attempts: list[Attempt] = []
        failures = 0
        waited = 0.0
        probe_fell_back = False  # text mode after an unexplained 400 on the probe
        while True:
            mode: Mode = (
                "json_schema"
                if schema is not None
                and self._json_schema_supported is not False
                and not probe_fell_back
                else "text"
            )
            request = _request(self.model, messages, mode, schema, schema_name)
            sent = self._send(request, mode, waited)
            attempts.append(sent.attempt)
            if sent.schema_rejected:
                if mentions_schema(sent.text):
                    self._json_schema_supported = False
                else:
                    probe_fell_back = True
                log.info(
                    "%s rejected `json_schema` output (HTTP %d); using text mode",
                    self.base_url,
                    sent.attempt.status,
                )
                waited = 0.0
                continue  # the probe is not a failure
            if sent.reply is not None:
                if mode == "json_schema":
                    self._json_schema_supported = True
                elif probe_fell_back:
                    self._json_schema_supported = False
                return self._result(sent.reply, mode, attempts, start)
            failures += 1
            log.warning(
                "LLM request to %s failed (attempt %d of %d): %s",
                self.base_url,
                failures,
                self.max_attempts,
                sent.text,
            )
            if not sent.retryable or failures >= self.max_attempts:
                return self._failed(mode, attempts, start, sent.text)
            waited = self._backoff(failures - 1, sent.retry_after)
            if waited > 0:
                self._sleep(waited)

    def check_endpoint(self) -> None:
        """Check that the endpoint answers and accepts the key, before a campaign.

        Lists the models; if the server has no `/models` route (404 or 405),
        asks for a one-token completion instead. Makes a single attempt with a
        timeout of at most 10 s.

        Raises:
            ConfigError: when the endpoint does not answer, rejects the key or
                answers with an error. The message names the base URL, never the key.
        """
        import openai  # noqa: PLC0415 - the SDK is slow to import and optional

        timeout = min(self.timeout_s, 10.0)
        try:
            try:
                models = self._client.models.list(timeout=timeout)
                names = [m.id for m in models.data]
                log.info("LLM endpoint %s answered; models: %s", self.base_url, names)
                if names and self.model not in names:
                    log.info(
                        "model %r is not among those listed by %s",
                        self.model,
                        self.base_url,
                    )
            except openai.APIStatusError as exc:
                if exc.status_code not in (404, 405):
                    raise
                self._client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "user", "content": "ping"}],
                    max_tokens=1,
                    timeout=timeout,
                )
        except openai.APITimeoutError:
            msg = (
                f"The LLM endpoint `{self.base_url}` did not answer within {timeout:g} s. "
                "Check that the server is running, or fix `llm_base_url` / `OPENAI_BASE_URL`."
            )
            raise ConfigError(msg) from None
        except openai.APIConnectionError:
            msg = (
                f"Cannot connect to the LLM endpoint `{self.base_url}`. Start the server, "
                "or fix `llm_base_url` in the campaign config / `OPENAI_BASE_URL`."
            )
            raise ConfigError(msg) from None
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                msg = (
                    f"The LLM endpoint `{self.base_url}` rejected the API key "
                    f"(HTTP {exc.status_code}). Set the right key in `OPENAI_API_KEY` "
                    "or in the variable named by `llm_api_key_env`."
                )
            else:
                msg = (
                    f"The LLM endpoint `{self.base_url}` answered HTTP {exc.status_code}: "
                    f"{self._describe(exc)}. Check `llm_base_url` and `llm_model`."
                )
            raise ConfigError(msg) from None
        except openai.OpenAIError as exc:
            msg = (
                f"The LLM endpoint `{self.base_url}` gave an answer that is not an "
                f"OpenAI-compatible API ({type(exc).__name__}: {self._describe(exc)})."
            )
            raise ConfigError(msg) from None

    def _send(self, request: dict[str, Any], mode: Mode, waited: float) -> _Sent:
        """Make one request; a failure is returned with whether to retry it, never raised."""
        import openai  # noqa: PLC0415 - the SDK is slow to import and optional

        sent = time.perf_counter()
        try:
            raw = self._client.chat.completions.with_raw_response.create(**request)
        except openai.APIStatusError as exc:
            latency = time.perf_counter() - sent
            text = self._describe(exc)
            status = exc.status_code
            attempt = Attempt(mode, status, type(exc).__name__, text, latency, waited)
            if mode == "json_schema" and self._schema_rejected(exc, text):
                return _Sent(attempt, text=text, schema_rejected=True)
            return _Sent(
                attempt,
                text=text,
                retryable=status in _RETRY_STATUS or status >= 500,
                retry_after=retry_after(exc.response.headers),
            )
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            latency = time.perf_counter() - sent
            text = self._describe(exc)
            attempt = Attempt(mode, None, type(exc).__name__, text, latency, waited)
            return _Sent(attempt, text=text, retryable=True)
        except openai.OpenAIError as exc:  # e.g. a reply that is not a completion
            latency = time.perf_counter() - sent
            text = self._describe(exc)
            attempt = Attempt(mode, None, type(exc).__name__, text, latency, waited)
            return _Sent(attempt, text=text, retryable=False)
        latency = time.perf_counter() - sent
        reply = read_completion(raw)
        if isinstance(reply, str):  # a 200 that is not a completion
            text = self._short(reply)
            attempt = Attempt(
                mode, raw.status_code, "InvalidResponse", text, latency, waited
            )
            return _Sent(attempt, text=text)  # the same URL answers the same way
        return _Sent(Attempt(mode, 200, None, None, latency, waited), reply=reply)

    def _describe(self, exc: BaseException) -> str:
        """The exception's text, with secrets redacted and cut to a readable length."""
        return self._short(str(exc) or type(exc).__name__)

    def _short(self, text: str) -> str:
        """Server text as it may be logged and recorded: redacted, then cut to 500 characters."""
        text = redact(text, self._secrets)
        if len(text) > _MAX_MESSAGE:
            text = text[: _MAX_MESSAGE - 3] + "..."
        return text

    def _schema_rejected(self, exc: openai.APIStatusError, text: str) -> bool:
        """Whether a failed `json_schema` request means the server lacks that mode."""
        if exc.status_code not in (400, 422):
            return False
        # Any 400 on the very first probe counts; afterwards only an explicit one.
        return self._json_schema_supported is None or mentions_schema(text)

    def _backoff(self, index: int, retry_after: float | None) -> float:
        """The wait before retry `index` (0-based): `Retry-After` if given, else exponential."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        return float(min(self.backoff_s * 2**index, self.max_backoff_s))

    def _result(
        self, reply: Any, mode: Mode, attempts: list[Attempt], start: float
    ) -> ChatResult:
        """Turn a successful SDK reply into a `ChatResult`."""
        usage = getattr(reply, "usage", None)
        choices = reply.choices
        content = ""
        finish_reason = None
        if choices:
            message = getattr(choices[0], "message", None)
            content = getattr(message, "content", None) or ""
            reason = getattr(choices[0], "finish_reason", None)
            finish_reason = reason if isinstance(reason, str) else None
            refusal = getattr(message, "refusal", None)
            if not content and refusal:
                log.warning("%s refused: %s", self.base_url, self._short(str(refusal)))
        else:
            log.warning("%s answered with no choices", self.base_url)
        return ChatResult(
            content=content,
            mode=mode,
            input_tokens=token_count(getattr(usage, "prompt_tokens", None)),
            output_tokens=token_count(getattr(usage, "completion_tokens", None)),
            latency_s=time.perf_counter() - start,
            attempts=tuple(attempts),
            finish_reason=finish_reason,
        )

    def _failed(
        self, mode: Mode, attempts: list[Attempt], start: float, text: str
    ) -> ChatResult:
        """The `ChatResult` of a call that gave up: its last error, every attempt."""
        return ChatResult(
            content=None,
            mode=mode,
            input_tokens=None,
            output_tokens=None,
            latency_s=time.perf_counter() - start,
            attempts=tuple(attempts),
            error=f"{attempts[-1].error_type}: {text}",
        )


def _request(
    model: str,
    messages: list[dict[str, Any]],
    mode: Mode,
    schema: dict[str, Any] | None,
    schema_name: str,
) -> dict[str, Any]:
    """The keyword arguments of one chat-completions request in `mode`."""
    request: dict[str, Any] = {"model": model, "messages": messages}
    if mode == "json_schema":
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": schema_name,
                "schema": schema,
                "strict": True,
            },
        }
    return request
