"""Real local peers for tests: a feed server, a webhook receiver, an SMTP server.

All bind 127.0.0.1 on a free port and run in threads.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before answering
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    mode: str = "normal"  # "trickle": one byte a second; "chunked": no Content-Length;
                          # "hang": never answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up early is part of what these servers are for


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FeedServer:
    """Serves feeds from memory; supports ETag/304, statuses, delays, gzip."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.times: list[tuple[float, str]] = []  # (time.monotonic(), path) of each GET
        self.in_flight = 0
        self.peak_in_flight = 0
        self.count_lock = threading.Lock()
        self.connections: set[socket.socket] = set()  # open ones, kept alive between GETs
        server = self

        class Handler(_Quiet):
            def setup(self) -> None:
                super().setup()
                server.connections.add(self.connection)

            def finish(self) -> None:
                server.connections.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:
                with server.count_lock:
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                try:
                    self.answer()
                finally:
                    with server.count_lock:
                        server.in_flight -= 1

            def answer(self) -> None:
                server.requests.append((self.path, dict(self.headers.items())))
                server.times.append((time.monotonic(), self.path))
                route = server.routes.get(self.path)
                if route is None:
                    return self._send(404, b"not found", "text/plain", {})
                if route.mode == "hang":
                    time.sleep(60)
                    return None
                if route.delay:
                    time.sleep(route.delay)
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                    if self.headers.get("If-None-Match") == route.etag:
                        return self._send(304, b"", None, headers)
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                body = route.body
                if route.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                if route.mode == "trickle":
                    return self._trickle(body, route.content_type)
                if route.mode == "chunked":
                    return self._chunked(body, route.content_type, headers)
                self._send(route.status, body, route.content_type, headers)

            def _trickle(self, body: bytes, ctype: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(min(len(body), 60)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(1)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _chunked(self, body: bytes, ctype: str, headers: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Transfer-Encoding", "chunked")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    for i in range(0, len(body), 65536):
                        chunk = body[i : i + 65536]
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, body: bytes, ctype: str | None,
                      headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    if ctype:
                        self.send_header("Content-Type", ctype)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.handler = Handler
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        self.httpd = _Server((self.host, self.port), self.handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def go_down(self) -> None:
        """Stop listening and drop every open connection: new ones are refused, as when
        the network is down."""
        self.close()
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def come_back(self) -> None:
        """Listen again on the same port."""
        self._listen()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def publish(self, path: str, body: bytes | str, **kwargs: Any) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **kwargs)
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Webhook:
    """Receives apprise json:// posts; can be told to fail."""

    def __init__(self) -> None:
        self._messages: list[tuple[int, dict[str, Any]]] = []  # (arrival, payload)
        self._arrivals = 0
        self._active = 0  # posts being answered: read `messages` once they are done
        self.fail = False
        self.fail_rate = 0.0  # share of posts answered 500 at random
        self.slow_answer = 0.0  # seconds: act on a post at once, answer it this much later
        # Posts it answers 400, as a service refuses a particular message (a payload in,
        # True out); 200 to the rest.
        self.refuse: Callable[[dict[str, Any]], bool] = lambda payload: False
        self.refused: list[dict[str, Any]] = []
        self.on_post: Callable[[dict[str, Any]], None] = lambda payload: None  # before answering
        self.random = random.Random(0)
        self.lock = threading.Condition()
        hook = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                with hook.lock:
                    hook._active += 1
                try:
                    length = int(self.headers.get("Content-Length", 0))
                    payload = json.loads(self.rfile.read(length) or b"{}")
                    hook.on_post(payload)
                    with hook.lock:
                        hook._arrivals += 1
                        arrival = hook._arrivals
                        if hook.refuse(payload):
                            hook.refused.append(payload)
                            self.send_response(400)
                            self.send_header("Content-Length", "0")
                            self.end_headers()
                            return
                        failing = hook.fail or hook.random.random() < hook.fail_rate
                        slow = hook.slow_answer
                        if slow and not failing:  # a service that acted, but answers late
                            hook._messages.append((arrival, payload))
                    if slow:
                        time.sleep(slow)
                    status = 500 if failing else 200
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.wfile.flush()
                    # Accepted means answered 200: a message counts once the answer is out.
                    if not failing and not slow:
                        with hook.lock:
                            hook._messages.append((arrival, payload))
                finally:
                    with hook.lock:
                        hook._active -= 1
                        hook.lock.notify_all()

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages accepted so far, once the posts being answered are recorded
        (a sender may have read the 200 a moment before the post is counted)."""
        with self.lock:
            self.lock.wait_for(lambda: self._active == 0, timeout=5.0)
            # In the order they arrived: two answering threads may record them the other
            # way round.
            return [payload for _, payload in sorted(self._messages, key=lambda m: m[0])]

    @property
    def received(self) -> int:
        """How many messages were accepted so far, without waiting for posts in progress."""
        with self.lock:
            return len(self._messages)

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self._messages) >= count:
                    return self.messages
            time.sleep(0.05)
        return self.messages

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Item:
    title: str
    link: str | None = None
    description: str = ""
    guid: str | None = None
    published: float | None = None  # epoch seconds; None = now
    content: str | None = None


def rss(items: list[Item], title: str = "Test feed") -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
           f"<channel><title>{escape(title)}</title><link>http://example.com/</link>"
           "<description>test</description>"]
    for i in items:
        out.append("<item>")
        out.append(f"<title>{escape(i.title)}</title>")
        if i.link:
            out.append(f"<link>{escape(i.link)}</link>")
        if i.guid:
            out.append(f'<guid isPermaLink="false">{escape(i.guid)}</guid>')
        out.append(f"<description>{escape(i.description)}</description>")
        if i.content:
            out.append(f"<content:encoded><![CDATA[{i.content}]]></content:encoded>")
        out.append(f"<pubDate>{formatdate(i.published or time.time(), usegmt=True)}</pubDate>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


class Inbox:
    """An aiosmtpd handler that keeps every message it is given (raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"

