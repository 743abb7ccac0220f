"""A webhook receiver on 127.0.0.1 for tests: records every request, answers with scripted statuses, and
can be stopped and started again on the same port (a receiver that is down for a while)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.time() when it arrived


class Receiver:
    """`statuses` is consumed one status per request (then `default_status`)."""

    def __init__(self, port: int = 0, default_status: int = 200):
        self.port = port
        self.default_status = default_status
        self.delay = 0.0  # seconds to wait before answering (requests stay in flight)
        self.statuses: list[int] = []
        self.headers: dict[str, str] = {}  # sent with every answer (e.g. a redirect's Location)
        self.received: list[Received] = []
        self.on_request: Callable[[Received], None] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died between its headers and the end of its body (a SIGKILL mid-request): a
                    # real server never handles such a request, so it is not recorded.
                    self.close_connection = True
                    return
                item = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                with receiver._lock:
                    receiver.received.append(item)
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default_status
                if receiver.on_request is not None:
                    receiver.on_request(item)
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    for name, value in receiver.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender is gone (killed, or it timed out): nobody to answer
                    self.close_connection = True

            def log_message(self, *_args: object) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The first `count` requests, waiting at most `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhook requests within {timeout} s, got {len(self.received)}")
