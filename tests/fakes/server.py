"""A small threaded HTTP server on loopback for fake upstream APIs, with fault injection.

Subclasses implement ``handle(request) -> Reply``. Tests drive the faults::

    with SomeFake() as fake:
        fake.latency = 0.05                      # added to every request
        fake.fail_next(2)                        # next two requests answer 500
        fake.fail_next(status=503, path="/Contact")  # only paths containing "/Contact"
        fake.slow_next(1.0)                      # next request waits 1 s before answering
        fake.reset_next()                        # next request: TCP reset, no answer
        fake.close_next()                        # next request: connection closed, no answer
        fake.fail_always(status=502)             # until clear_faults()
        fake.respond_next(Reply.json(200, body)) # a canned answer, e.g. a recorded body
        fake.requests[-1].path, fake.request_count

Only the standard library is used, so the fakes start in a few milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FakeServer", "RecordedRequest", "Reply", "compact_json"]


def compact_json(payload: object) -> bytes:
    """Serialise like Express's res.json: no spaces, non-ASCII left as UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter, matching its name case-insensitively."""
        for key, values in self.query.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return default

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError if it is not)."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, body bytes and headers."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(
        cls, status: int, payload: object, *, headers: tuple[tuple[str, str], ...] = ()
    ) -> Reply:
        """A compact JSON answer with Express's content type."""
        return cls(
            status,
            compact_json(payload),
            (("Content-Type", "application/json; charset=utf-8"), *headers),
        )


@dataclass
class _Fault:
    action: str  # "reply", "reset", "close" or "delay"
    remaining: int | None  # None: until cleared
    path: str | None = None
    reply: Reply | None = None
    delay: float = 0.0

    def matches(self, request: RecordedRequest) -> bool:
        return self.path is None or self.path in request.path


@dataclass
class _Connections:
    lock: threading.Lock = field(default_factory=threading.Lock)
    open: set[socket.socket] = field(default_factory=set)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as requests.Session uses it
    timeout = 10  # idle keep-alive connections end on their own
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle plus the client's
        # delayed ACK adds 40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections.lock:
            self.server.connections.open.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections.lock:
                self.server.connections.open.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read fake.requests instead."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            target=self.path,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        fake = self.server.fake
        fake._record(request)
        fault = fake._take_fault(request)
        if not fake._pause(fake.latency + (fault.delay if fault else 0.0)):
            return
        if fault is not None and fault.action in {"reset", "close"}:
            if fault.action == "reset":
                # Linger 0 turns the close into a TCP RST instead of an orderly FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.close_connection = True
            return
        if fault is not None and fault.reply is not None:
            reply = fault.reply
        else:
            try:
                reply = fake.handle(request)
            except Exception:
                reply = fake.error_reply(500)
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 refuses connections when a worker opens 16 at
    # once on a busy machine; real APIs do not, so neither may the fakes.
    request_queue_size = 128
    fake: FakeServer
    connections: _Connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is expected; nothing to report."""


class FakeServer:
    """Base class: a loopback HTTP server on an ephemeral port, with faults and a request log."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.latency = 0.0
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Subclass hooks

    def handle(self, request: RecordedRequest) -> Reply:
        """Answer one request (subclasses implement the API)."""
        raise NotImplementedError

    def error_reply(self, status: int) -> Reply:
        """The body the real service sends with a forced error status (default: empty)."""
        return Reply(status)

    # Lifecycle

    def start(self) -> Self:
        """Start serving on an ephemeral port; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, 0), _Handler)
        server.fake = self
        server.connections = _Connections()
        self._server = server
        # stop() waits for the serve loop's next poll; a short interval keeps teardown fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with server.connections.lock:
            for conn in list(server.connections.open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the fake server is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    # Request log

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many requests were received."""
        with self._lock:
            return len(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # Faults

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        reply: Reply | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next count requests (whose path contains path) with an error."""
        self._add(_Fault("reply", count, path, reply or self.error_reply(status)))

    def respond_next(self, reply: Reply, count: int = 1, *, path: str | None = None) -> None:
        """Answer the next count requests (whose path contains path) with a canned reply."""
        self._add(_Fault("reply", count, path, reply))

    def fail_always(
        self, *, status: int = 500, reply: Reply | None = None, path: str | None = None
    ) -> None:
        """Answer every request (whose path contains path) with an error until clear_faults()."""
        self._add(_Fault("reply", None, path, reply or self.error_reply(status)))

    def reset_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Reset the connection (TCP RST) instead of answering the next count requests."""
        self._add(_Fault("reset", count, path))

    def close_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Close the connection without answering the next count requests."""
        self._add(_Fault("close", count, path))

    def slow_next(self, seconds: float, count: int = 1, *, path: str | None = None) -> None:
        """Wait seconds before answering the next count requests normally."""
        self._add(_Fault("delay", count, path, delay=seconds))

    def clear_faults(self) -> None:
        """Remove every pending fault (latency stays as set)."""
        with self._lock:
            self._faults.clear()

    def _add(self, fault: _Fault) -> None:
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, request: RecordedRequest) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(request):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _pause(self, seconds: float) -> bool:
        """Sleep, waking early if the server stops; False means stop."""
        if seconds <= 0:
            return True
        return not self._stopping.wait(seconds)
