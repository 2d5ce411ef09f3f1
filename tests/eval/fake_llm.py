"""A local OpenAI-compatible chat-completions server for tests, on 127.0.0.1.

It stands in for a real model: each request takes the next scripted action (a reply,
an HTTP error, a delay, a malformed body); when the script runs out it answers with
``answer(prompt)``. Requests are recorded for assertions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLlm:
    def __init__(self, answer: Callable[[str], str] | None = None) -> None:
        self.actions: list[tuple[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answer = answer or (lambda prompt: "Answer: 42")
        self.release = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                with fake._lock:
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                    action = fake.actions.pop(0) if fake.actions else ("reply", None)
                kind, arg = action
                if kind == "status":
                    self._send(arg, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"})
                elif kind == "delay":
                    fake.release.wait(arg)
                    self._send(200, fake._completion(body))
                elif kind == "raw":
                    self._send(200, arg)
                else:
                    self._send(200, fake._completion(body, arg))

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _completion(self, body: dict[str, Any], text: str | None = None) -> bytes:
        prompt = body["messages"][-1]["content"]
        content = text if text is not None else self.answer(prompt)
        return json.dumps(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            }
        ).encode()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeLlm:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
