"""A real local HTTP server that speaks the OpenAI chat-completions protocol, scripted.

Each `POST /v1/chat/completions` consumes the next step of the script (the last
step repeats). A step is a reply text (`str`), `None` (a reply with null
content), a `Reply`, an `HTTPError`, a `Raw` answer (any status, content type
and body: an HTML page, broken JSON), an `Echo` (the request's headers sent
back, as a server that reflects them), or a callable that receives the parsed
request body and returns one of those. `GET /v1/models` lists one model and is
what health checks call. Every request is recorded in `server.requests`.

Example:
    with FakeOpenAI(["hello", HTTPError(500), Reply("late", delay_s=2.0)]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Echo", "FakeOpenAI", "HTTPError", "Raw", "RecordedRequest", "Reply", "Step"]

MODEL = "fake-model"


@dataclass(frozen=True)
class Reply:
    """A successful `chat.completion`; `text=None` sends null content."""

    text: str | None
    delay_s: float = 0.0
    prompt_tokens: int = 11
    completion_tokens: int = 7
    finish_reason: str = "stop"


@dataclass(frozen=True)
class HTTPError:
    """An error response; `body=None` sends an OpenAI-style error object."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Raw:
    """An answer sent as it is: any status, content type and body."""

    body: str | bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Echo:
    """The request's headers sent back: as the reply's text (status 200) or an error's message."""

    status: int = 200
    delay_s: float = 0.0


Step = str | None | Reply | HTTPError | Raw | Echo | Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    time: float


class FakeOpenAI:
    """Scripted OpenAI-compatible server on `127.0.0.1` with a free port.

    Args:
        steps: the script for chat completions; the last step repeats.
        json_schema_supported: when False, a request with
            `response_format.type == "json_schema"` gets a 400 (as llama.cpp and
            older servers answer) without consuming a step.
        api_key: when set, requests without `Authorization: Bearer <api_key>`
            get a 401.
        models_endpoint: when False, `GET /v1/models` answers 404.
    """

    def __init__(
        self,
        steps: list[Step] | tuple[Step, ...] = ("ok",),
        *,
        json_schema_supported: bool = True,
        api_key: str | None = None,
        models_endpoint: bool = True,
    ) -> None:
        if not steps:
            raise ValueError("`steps` must hold at least one step")
        self.steps = list(steps)
        self.json_schema_supported = json_schema_supported
        self.api_key = api_key
        self.models_endpoint = models_endpoint
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._index = 0
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()  # wakes handlers sleeping in a delay
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- script ------------------------------------------------------------
    @property
    def completions(self) -> list[RecordedRequest]:
        """The recorded chat-completion requests, in arrival order."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next_step(self, body: dict[str, Any]) -> Reply | HTTPError | Raw | Echo:
        with self._lock:
            step = self.steps[min(self._index, len(self.steps) - 1)]
            self._index += 1
        if callable(step):
            step = step(body)
        if step is None or isinstance(step, str):
            return Reply(step)
        if isinstance(step, Reply | HTTPError | Raw | Echo):
            return step
        raise TypeError(f"bad step {step!r}")

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._closing.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _record(self, body: dict[str, Any] | None) -> None:
        self.fake.requests.append(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                time=time.monotonic(),
            )
        )

    def _send(
        self,
        status: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode("utf-8", "surrogatepass")
        else:
            data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def _authorized(self) -> bool:
        key = self.fake.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send(401, _error("Incorrect API key provided.", "invalid_api_key"))
        return False

    def do_GET(self) -> None:
        self._record(None)
        if not self._authorized():
            return
        if self.path.rstrip("/") == "/v1/models" and self.fake.models_endpoint:
            model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "fake"}
            self._send(200, {"object": "list", "data": [model]})
        else:
            self._send(404, _error(f"no route {self.path}", "not_found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode(errors="replace")}
        self._record(body)
        if not self._authorized():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, _error(f"no route {self.path}", "not_found"))
            return
        response_format = body.get("response_format") or {}
        if (
            not self.fake.json_schema_supported
            and response_format.get("type") == "json_schema"
        ):
            self._send(
                400,
                _error(
                    "Unsupported response_format type: json_schema",
                    "invalid_request_error",
                    param="response_format",
                ),
            )
            return
        step = self.fake._next_step(body)
        self.fake._sleep(step.delay_s)
        if isinstance(step, Raw):
            self._send(step.status, step.body, step.headers, step.content_type)
            return
        if isinstance(step, Echo):
            seen = "Request headers: " + json.dumps(dict(self.headers.items()))
            if step.status != 200:
                self._send(step.status, _error(seen, "server_error"))
                return
            step = Reply(seen)
        if isinstance(step, HTTPError):
            payload = (
                step.body
                if step.body is not None
                else _error(f"scripted error {step.status}", "server_error")
            )
            self._send(step.status, payload, step.headers)
            return
        self._send(200, _completion(step, body.get("model") or MODEL))


def _error(message: str, code: str, *, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


def _completion(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": reply.finish_reason,
                "message": {
                    "role": "assistant",
                    "content": reply.text,
                    "refusal": None,
                },
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }
