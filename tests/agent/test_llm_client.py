"""ChatClient against a real local fake OpenAI server: modes, retries, failures as data."""

import email.utils
import json
import logging
import socket
import time

import pytest

from lawloop.agent.errors import ConfigError
from lawloop.agent.planners._llm_client import (
    LOCAL_API_KEY,
    ChatClient,
    endpoint_from_env,
)
from tests.fake_openai import Echo, FakeOpenAI, HTTPError, Raw, Reply

KEY = "sk-test-SECRET-0123456789abcdef"
SCHEMA = {
    "type": "object",
    "properties": {"expression": {"type": "string"}},
    "required": ["expression"],
    "additionalProperties": False,
}
MESSAGES = [{"role": "user", "content": "Propose a law as JSON."}]


@pytest.fixture
def make_server():
    servers = []

    def make(steps=("ok",), **options):
        server = FakeOpenAI(list(steps), **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def waits():
    """The waits a client asked for, recorded instead of slept."""
    return []


@pytest.fixture
def make_client(waits):
    clients = []

    def make(base_url, **options):
        options = {"timeout_s": 5.0, "backoff_s": 0.5, "sleep": waits.append} | options
        client = ChatClient(base_url=base_url, api_key=KEY, model="m", **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _dead_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_plain_reply_records_content_tokens_latency_and_request(
    make_server, make_client
):
    server = make_server(["hello"])
    result = make_client(server.base_url).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.ok
    assert result.content == "hello"
    assert result.mode == "text"
    assert (result.input_tokens, result.output_tokens) == (11, 7)
    assert result.finish_reason == "stop"
    assert result.latency_s > 0
    assert [(a.status, a.error_type) for a in result.attempts] == [(200, None)]
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "m"
    assert request.body["messages"] == MESSAGES
    assert "response_format" not in request.body


def test_json_schema_mode_is_used_when_the_server_supports_it(make_server, make_client):
    server = make_server(['{"expression": "x"}'])
    client = make_client(server.base_url)
    result = client.complete(MESSAGES, schema=SCHEMA, schema_name="law")
    assert result.mode == "json_schema"
    assert result.content == '{"expression": "x"}'
    assert client.json_schema_supported is True
    assert server.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "law", "schema": SCHEMA, "strict": True},
    }


def test_rejected_json_schema_falls_back_to_text_at_once_and_is_remembered(
    make_server, make_client, waits
):
    server = make_server(['{"expression": "x"}'], json_schema_supported=False)
    client = make_client(server.base_url, max_attempts=1)
    first = client.complete(MESSAGES, schema=SCHEMA, schema_name="law")
    assert first.ok
    assert first.mode == "text"
    assert [(a.mode, a.status) for a in first.attempts] == [
        ("json_schema", 400),
        ("text", 200),
    ]
    assert "response_format" in first.attempts[0].message
    assert waits == []  # the probe is retried immediately
    assert client.json_schema_supported is False

    second = client.complete(MESSAGES, schema=SCHEMA, schema_name="law")
    assert second.mode == "text"
    assert len(second.attempts) == 1
    bodies = [r.body for r in server.completions]
    assert ["response_format" in b for b in bodies] == [True, False, False]


def test_unexplained_400_on_the_probe_retries_in_text_and_remembers_on_success(
    make_server, make_client
):
    server = make_server([HTTPError(400, body={"error": {"message": "nope"}}), "ok"])
    client = make_client(server.base_url)
    result = client.complete(MESSAGES, schema=SCHEMA, schema_name="law")
    assert (result.content, result.mode) == ("ok", "text")
    assert client.json_schema_supported is False


def test_400_in_text_mode_too_is_a_final_error_and_not_blamed_on_the_schema(
    make_server, make_client, waits
):
    server = make_server([HTTPError(400, body={"error": {"message": "too long"}})])
    client = make_client(server.base_url)
    result = client.complete(MESSAGES, schema=SCHEMA, schema_name="law")
    assert result.content is None
    assert "BadRequestError" in result.error
    assert [a.mode for a in result.attempts] == ["json_schema", "text"]
    assert client.json_schema_supported is None  # the next call probes again
    assert waits == []


def test_server_errors_are_retried_with_exponential_backoff(
    make_server, make_client, waits
):
    server = make_server([HTTPError(500), HTTPError(502), "ok"])
    result = make_client(server.base_url).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content == "ok"
    assert [a.status for a in result.attempts] == [500, 502, 200]
    assert [a.error_type for a in result.attempts] == [
        "InternalServerError",
        "InternalServerError",
        None,
    ]
    assert waits == [0.5, 1.0]
    assert [a.waited_s for a in result.attempts] == [0.0, 0.5, 1.0]


def test_persistent_failure_gives_up_after_max_attempts_with_capped_backoff(
    make_server, make_client, waits
):
    server = make_server([HTTPError(503)])
    client = make_client(
        server.base_url, max_attempts=3, backoff_s=10, max_backoff_s=15
    )
    result = client.complete(MESSAGES, schema=None, schema_name="")
    assert not result.ok
    assert result.content is None
    assert result.error.startswith("InternalServerError")
    assert len(result.attempts) == 3
    assert waits == [10, 15]  # no sleep after the last attempt
    assert len(server.completions) == 3


def test_429_honours_retry_after_seconds(make_server, make_client, waits):
    server = make_server([HTTPError(429, headers={"Retry-After": "1"}), "ok"])
    result = make_client(server.base_url, backoff_s=0.01).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content == "ok"
    assert result.attempts[0].error_type == "RateLimitError"
    assert waits == [1.0]
    assert result.attempts[1].waited_s == 1.0


def test_429_honours_retry_after_as_http_date(make_server, make_client, waits):
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    server = make_server([HTTPError(429, headers={"Retry-After": when}), "ok"])
    make_client(server.base_url).complete(MESSAGES, schema=None, schema_name="")
    assert len(waits) == 1
    assert 3.0 <= waits[0] <= 5.0


def test_429_really_sleeps_for_retry_after(make_server):
    server = make_server([HTTPError(429, headers={"Retry-After": "1"}), "ok"])
    with ChatClient(
        base_url=server.base_url, api_key=KEY, model="m", backoff_s=0.01
    ) as client:
        result = client.complete(MESSAGES, schema=None, schema_name="")
    assert result.content == "ok"
    first, second = server.completions
    assert second.time - first.time >= 0.99
    assert result.latency_s >= 0.99


@pytest.mark.parametrize(
    "header",
    [
        {"Retry-After": "nan"},
        {"Retry-After": "inf"},
        {"Retry-After": "-5"},
        {"Retry-After": "1e9"},
        {"Retry-After": "Mon, 01 Jan 1990 00:00:00 GMT"},
        {"retry-after-ms": "NaN"},
    ],
    ids=["nan", "inf", "negative", "absurd", "past-date", "ms-nan"],
)
def test_a_retry_after_that_is_no_believable_wait_gives_the_normal_backoff(
    make_server, make_client, waits, header
):
    server = make_server([HTTPError(429, headers=header), "ok"])
    result = make_client(server.base_url).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content == "ok"
    assert waits == [0.5]
    assert [a.waited_s for a in result.attempts] == [0.0, 0.5]


HTML = "<!DOCTYPE html><html><body>Sign in to the proxy</body></html>"


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            Raw(HTML),
            ("`text/html; charset=utf-8`", f"({len(HTML)} bytes)", "<!DOCTYPE html>"),
        ),
        (
            Raw('{"hello": 1}', content_type="application/json"),
            ("not a chat completion", '{"hello": 1}'),
        ),
        (
            Raw('{"choices": [', content_type="application/json"),
            ("not a chat completion",),
        ),
        (
            Raw(
                '{"choices": ' + "[" * 100_000 + "]" * 100_000 + "}",
                content_type="application/json",
            ),
            ("cannot be decoded (RecursionError)", "200,013 bytes"),
        ),
        (
            Raw(
                json.dumps({"choices": [{"message": {"content": ["a", "list"]}}]}),
                content_type="application/json",
            ),
            ("`content` is not text",),
        ),
        (Raw("", content_type="text/plain"), ("`text/plain`", "(0 bytes)")),
    ],
    ids=[
        "html",
        "json-not-completion",
        "broken-json",
        "nested-envelope",
        "content-list",
        "empty-body",
    ],
)
def test_a_200_that_is_not_a_completion_is_a_failure_naming_what_came(
    make_server, make_client, waits, answer, words
):
    server = make_server([answer, "ok"])
    result = make_client(server.base_url).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content is None
    assert result.error.startswith("InvalidResponse: the server answered HTTP 200 with")
    for word in words:
        assert word in result.error
    assert "`llm_base_url`" in result.error
    assert [(a.status, a.error_type) for a in result.attempts] == [
        (200, "InvalidResponse")
    ]
    assert waits == []  # the same URL answers the same way: not retried


def test_token_counts_that_are_not_counts_are_not_recorded(make_server, make_client):
    completion = {
        "choices": [{"index": 0, "finish_reason": 7, "message": {"content": "hi"}}],
        "usage": {"prompt_tokens": "11", "completion_tokens": 1e300},
    }
    server = make_server([Raw(json.dumps(completion), content_type="application/json")])
    result = make_client(server.base_url).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content == "hi"
    assert (result.input_tokens, result.output_tokens, result.finish_reason) == (
        None,
        None,
        None,
    )


def test_secrets_are_the_key_and_a_url_password_not_the_local_placeholder():
    with ChatClient(
        base_url="http://user:pass-word-1234@127.0.0.1:1/v1", api_key=KEY, model="m"
    ) as client:
        assert client.secrets == (KEY, "pass-word-1234")
    with ChatClient(
        base_url="http://127.0.0.1:1/v1", api_key=LOCAL_API_KEY, model="m"
    ) as client:
        assert client.secrets == ()


def test_slow_reply_times_out_then_the_retry_succeeds(make_server, make_client):
    server = make_server([Reply("late", delay_s=3.0), "ok"])
    result = make_client(server.base_url, timeout_s=0.3).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content == "ok"
    timeout = result.attempts[0]
    assert (timeout.status, timeout.error_type) == (None, "APITimeoutError")
    assert 0.25 <= timeout.latency_s < 2.0


def test_timeouts_on_every_attempt_end_in_a_final_error(make_server, make_client):
    server = make_server([Reply("late", delay_s=3.0)])
    result = make_client(server.base_url, timeout_s=0.2, max_attempts=2).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content is None
    assert result.error.startswith("APITimeoutError")
    assert [a.error_type for a in result.attempts] == ["APITimeoutError"] * 2


def test_refused_connection_is_retried_then_reported(make_client, waits):
    result = make_client(_dead_url(), max_attempts=2).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content is None
    assert [a.error_type for a in result.attempts] == ["APIConnectionError"] * 2
    assert waits == [0.5]


def test_401_is_not_retried(make_server, make_client, waits):
    server = make_server([HTTPError(401), "ok"])
    result = make_client(server.base_url).complete(
        MESSAGES, schema=None, schema_name=""
    )
    assert result.content is None
    assert result.error.startswith("AuthenticationError")
    assert len(result.attempts) == 1
    assert len(server.completions) == 1
    assert waits == []


def test_empty_and_null_content_come_back_as_empty_strings(make_server, make_client):
    server = make_server(["", None])
    client = make_client(server.base_url)
    for _ in range(2):
        result = client.complete(MESSAGES, schema=None, schema_name="")
        assert result.ok
        assert result.content == ""


def test_callable_step_sees_the_request(make_server, make_client):
    server = make_server([lambda body: f"echo: {body['messages'][-1]['content']}"])
    repair = [*MESSAGES, {"role": "user", "content": "Your JSON failed: bad key"}]
    result = make_client(server.base_url).complete(repair, schema=None, schema_name="")
    assert result.content == "echo: Your JSON failed: bad key"


def test_the_key_never_appears_in_results_messages_repr_or_logs(
    make_server, make_client, caplog
):
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}"}}
    server = make_server([HTTPError(500, body=echo), Echo(401)])
    client = make_client(server.base_url)
    result = client.complete(MESSAGES, schema=None, schema_name="")
    assert len(result.attempts) == 2
    assert "***" in result.error
    assert repr(client) == f"ChatClient(base_url={server.base_url!r}, model='m')"
    for text in (repr(result), result.error, repr(client), caplog.text):
        assert KEY not in text
    assert "failed (attempt 1 of 4)" in caplog.text
    assert "Bearer ***" in result.error  # the echoed header, redacted


def test_check_endpoint_passes_for_a_live_server(make_server, make_client):
    server = make_server()
    make_client(server.base_url).check_endpoint()
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]


def test_check_endpoint_falls_back_to_a_tiny_completion_without_models_route(
    make_server, make_client
):
    server = make_server(models_endpoint=False)
    make_client(server.base_url).check_endpoint()
    assert [r.method for r in server.requests] == ["GET", "POST"]
    assert server.requests[1].body["max_tokens"] == 1


def test_check_endpoint_names_the_url_of_a_dead_port(make_client):
    url = _dead_url()
    with pytest.raises(ConfigError, match="Cannot connect") as info:
        make_client(url).check_endpoint()
    assert url in str(info.value)
    assert KEY not in str(info.value)


def test_check_endpoint_reports_a_rejected_key(make_server, make_client):
    server = make_server(api_key="the-right-key")
    with pytest.raises(ConfigError, match="rejected the API key") as info:
        make_client(server.base_url).check_endpoint()
    assert server.base_url in str(info.value)
    assert KEY not in str(info.value)


def test_endpoint_from_env_requires_an_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="set OPENAI_BASE_URL or `llm_base_url`"):
        endpoint_from_env(None, None)


def test_endpoint_from_env_reads_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.example.org/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert endpoint_from_env(None, None) == ("https://llm.example.org/v1", "sk-env")


def test_endpoint_from_env_prefers_the_config_url_and_named_key_variable(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://other.example.org/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("MY_LLM_KEY", "sk-mine")
    assert endpoint_from_env("https://llm.example.org/v1", "MY_LLM_KEY") == (
        "https://llm.example.org/v1",
        "sk-mine",
    )


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/v1", "http://localhost:11434/v1", "http://[::1]:8000/v1"],
    ids=["ipv4", "localhost", "ipv6"],
)
def test_endpoint_from_env_needs_no_key_for_a_local_server(monkeypatch, url):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert endpoint_from_env(url, None) == (url, LOCAL_API_KEY)


def test_endpoint_from_env_requires_a_key_for_a_remote_server(monkeypatch):
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    with pytest.raises(ConfigError, match="`MY_LLM_KEY` is not set"):
        endpoint_from_env("https://llm.example.org/v1", "MY_LLM_KEY")


def test_endpoint_from_env_rejects_a_url_without_scheme():
    with pytest.raises(ConfigError, match="must be an http"):
        endpoint_from_env("127.0.0.1:8080/v1", None)


def test_constructor_rejects_programming_errors():
    with pytest.raises(ValueError, match="`api_key` must not be empty"):
        ChatClient(base_url="http://127.0.0.1:1/v1", api_key="", model="m")
    with pytest.raises(ValueError, match="`max_attempts`"):
        ChatClient(
            base_url="http://127.0.0.1:1/v1", api_key="k", model="m", max_attempts=0
        )
