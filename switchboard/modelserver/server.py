"""An OpenAI-compatible chat-completions server that answers from a script.

Standard library only (`http.server` in threads): it starts in milliseconds, in a
thread for tests and fixtures or in the foreground for `switchboard model serve`.
Endpoints: `POST /v1/chat/completions` (streamed as server-sent events or not),
`GET /v1/models`, `GET /health`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from switchboard.modelserver.script import Answer, Script

DEFAULT_MODELS = ("m1",)
_CHUNK = 24  # characters of text per streamed chunk


class ScriptedModel:
    """The scripted model server as a Python object.

        with ScriptedModel(Script.parse([{"match": "hi", "reply": "hello"}])) as model:
            model.base_url   # http://127.0.0.1:PORT/v1

    `script` may be replaced while the server runs. `requests` keeps the most
    recent request bodies (newest last) for tests to inspect.
    """

    def __init__(
        self,
        script: Script | str | Path | list[Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Sequence[str] = DEFAULT_MODELS,
        keep_requests: int = 200,
    ) -> None:
        if isinstance(script, (str, Path)):
            script = Script.load(script)
        elif not isinstance(script, Script):
            script = Script.parse(script)
        self.script = script
        self.models = tuple(models)
        self.requests: deque[dict[str, Any]] = deque(maxlen=keep_requests)
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.model = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ending in `/v1`."""
        host = self._httpd.server_address[0]
        assert isinstance(host, str)  # an AF_INET server's address
        return f"http://{host}:{self.port}/v1"

    def start(self) -> ScriptedModel:
        """Serve in a daemon thread; returns at once."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-model", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `stop()` (from another thread) or KeyboardInterrupt."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        """Stop serving; answers waiting out a delay end at once."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, body: dict[str, Any]) -> Answer:
        self.requests.append(body)
        return self.script.answer(body.get("messages") or [], tools_offered=bool(body.get("tools")))

    def wait(self, seconds: float) -> bool:
        """Sleep for a delay; False if the server is stopping."""
        return not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    model: ScriptedModel

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no error
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "switchboard"} for m in self.server.model.models
            ]
            self._json(200, {"object": "list", "data": data})
        elif path in ("/health", ""):
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?", 1)[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, json.JSONDecodeError):
            self._json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        model = self.server.model
        answer = model.answer(body)
        if answer.delay and not model.wait(answer.delay):
            return
        completion = _Completion(body, answer)
        try:
            if body.get("stream"):
                self._stream(completion.chunks(), dropped=answer.drop)
            else:
                self._json(200, completion.whole())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (an aborted session); nothing to do

    def _json(self, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _stream(self, chunks: Iterator[dict[str, Any]], dropped: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = list(chunks)
        if dropped:  # the first half, then the connection closes: no finish reason, no [DONE]
            sent = sent[: max(len(sent) // 2, 1)]
        for chunk in sent:
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        if not dropped:
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class _Completion:
    """One answer in OpenAI's chat-completion shapes."""

    def __init__(self, body: dict[str, Any], answer: Answer) -> None:
        self.answer = answer
        self.model = str(body.get("model") or DEFAULT_MODELS[0])
        self.id = "chatcmpl-" + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.calls: list[dict[str, Any]] = [
            {
                "id": "call_" + uuid.uuid4().hex[:20],
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in answer.tool_calls
        ]
        self.finish = "tool_calls" if self.calls else "stop"
        prompt = sum(len(json.dumps(m.get("content"))) for m in body.get("messages") or [])
        completion = len(answer.text) + sum(len(c["function"]["arguments"]) for c in self.calls)
        self.usage = {"prompt_tokens": prompt // 4 + 1, "completion_tokens": completion // 4 + 1}
        self.usage["total_tokens"] = self.usage["prompt_tokens"] + self.usage["completion_tokens"]
        self.include_usage = bool((body.get("stream_options") or {}).get("include_usage", True))

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.answer.text or None}
        if self.calls:
            message["tool_calls"] = self.calls
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish}],
            "usage": self.usage,
        }

    def chunks(self) -> Iterator[dict[str, Any]]:
        yield self._chunk({"role": "assistant", "content": ""})
        text = self.answer.text
        for start in range(0, len(text), _CHUNK):
            yield self._chunk({"content": text[start : start + _CHUNK]})
        for index, call in enumerate(self.calls):
            yield self._chunk({"tool_calls": [{"index": index, **call}]})
        yield self._chunk({}, finish=self.finish)
        if self.include_usage:
            yield {**self._chunk({}), "choices": [], "usage": self.usage}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
