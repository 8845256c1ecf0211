"""The optional [http] endpoint: /healthz, /metrics (Prometheus) and a status page.

Served from the daemon's own event loop with asyncio streams (GET and HEAD,
one request per connection, read-only), so a wedged loop also stops
answering /healthz - which is what a health check should see. It shows feed
names, public feed URLs (no user, password or query) and article titles;
never target URLs. An article's link is an href only when it is http(s) (see
messages.safe_link); everything else shown is escaped text.

It binds 127.0.0.1 unless `listen` names another host (it has no
authentication). Whoever connects costs a file descriptor until the
connection closes, so at most MAX_CONNECTIONS are open at once: past that,
the one that has waited longest without sending its request is closed to
make room (a client that connects and says nothing cannot keep a health
check out), and a new one is closed at once when every open connection is
being answered. A request must arrive whole within REQUEST_TIMEOUT, and its
answer be taken within WRITE_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
import socket
from collections.abc import Callable
from typing import Any

from .fetch import public_url
from .messages import safe_link
from .models import Config
from .store import Store
from .timestamps import parse_iso

log = logging.getLogger(__name__)
MAX_REQUEST = 8192  # bytes of request line and headers
MAX_CONNECTIONS = 100
REQUEST_TIMEOUT = 5.0  # seconds
WRITE_TIMEOUT = 10.0  # seconds
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}


def bind_address(listen: str) -> tuple[str, int]:
    """`[http] listen` as (host, port): a bare port, or one with no host, is 127.0.0.1
    (asyncio would read an empty host as every interface)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class StatusServer:
    def __init__(self, store: Store, config: Callable[[], Config],
                 stats: Callable[[], dict[str, float]], healthy: Callable[[], str | None],
                 max_connections: int = MAX_CONNECTIONS,
                 request_timeout: float = REQUEST_TIMEOUT) -> None:
        self.store, self.config, self.stats, self.healthy = store, config, stats, healthy
        self.max_connections, self.request_timeout = max_connections, request_timeout
        self.socket: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self.open: set[asyncio.StreamWriter] = set()
        self.waiting: dict[asyncio.StreamWriter, None] = {}  # no request yet; oldest first

    async def start(self, listen: str) -> None:
        host, port = bind_address(listen)
        loop = asyncio.get_running_loop()
        family, _, _, _, address = (await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE))[0]
        self.socket = socket.create_server(address, family=family)
        self.socket.setblocking(False)
        self._accepting = asyncio.create_task(self._accept(self.socket))
        log.info("status page, /healthz and /metrics on http://%s/", listen)

    async def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        if self.socket is not None:
            self.socket.close()
        for writer in list(self.open):
            writer.transport.abort()

    async def _accept(self, listener: socket.socket) -> None:
        """Accept one connection at a time (asyncio's server takes up to 100 before any
        is looked at): past the limit, waiting ones are closed as new ones come."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(listener)
            except OSError as e:  # out of descriptors (EMFILE), or a connection reset
                log.warning("status page: cannot accept a connection: %s", e)
                await asyncio.sleep(0.1)
                continue
            try:
                await loop.connect_accepted_socket(self._protocol, conn)
            except OSError:
                conn.close()

    def _protocol(self) -> asyncio.StreamReaderProtocol:
        """A connection as a reader and a writer, handed to _handle."""
        return asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=MAX_REQUEST), self._handle)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.open) >= self.max_connections and not self._make_room():
            writer.transport.abort()
            return
        self.open.add(writer)
        self.waiting[writer] = None
        try:
            request = await self._read(reader)
            if request is not None and writer in self.waiting:  # else closed to make room
                del self.waiting[writer]
                await self._answer(writer, *request)
        finally:
            self.waiting.pop(writer, None)
            self.open.discard(writer)
            writer.close()  # at once: nothing is left to send (see _answer)

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for its request, if any."""
        if not self.waiting:
            return False
        oldest = next(iter(self.waiting))
        del self.waiting[oldest]
        self.open.discard(oldest)
        oldest.transport.abort()
        return True

    async def _read(self, reader: asyncio.StreamReader) -> tuple[str, int, str, bytes] | None:
        """(method, status, content type, body) for the request; None when it did not
        come whole in time (a slow or idle client, or one that left): no answer."""
        try:
            async with asyncio.timeout(self.request_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            return None
        except asyncio.LimitOverrunError:
            return "GET", 400, "text/plain", b"request head too large\n"
        try:
            method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            return (method, *self.respond(method, path.split("?", 1)[0]))
        except ValueError:
            return "GET", 400, "text/plain", b"bad request\n"
        except Exception:  # noqa: BLE001 - a status page must never take the daemon down
            log.exception("status page failed")
            return "GET", 500, "text/plain", b"internal error\n"

    async def _answer(self, writer: asyncio.StreamWriter, method: str, status: int,
                      ctype: str, body: bytes) -> None:
        """Write the answer (HEAD: its headers only) and wait until it is all sent."""
        allow = "Allow: GET, HEAD\r\n" if status == 405 else ""
        head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n{allow}"
                "Connection: close\r\n\r\n").encode()
        writer.transport.set_write_buffer_limits(high=0)  # drain() returns once all is sent
        writer.write(head if method == "HEAD" else head + body)
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await writer.drain()
        except (TimeoutError, ConnectionError):
            writer.transport.abort()  # close() would wait for a reader that never reads

    def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"read-only: GET and HEAD only\n"
        if path == "/healthz":
            problem = self.healthy()
            body = json.dumps({"status": problem or "ok"}).encode() + b"\n"
            return (503 if problem else 200), "application/json", body
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", self.metrics().encode()
        if path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", self.page().encode()
        return 404, "text/plain", b"not found\n"

    def metrics(self) -> str:
        stats, config = self.stats(), self.config()
        counts = self.store.counts()
        feeds = {r["name"]: r for r in self.store.feeds()}
        out: list[str] = []

        def metric(name: str, kind: str, help_text: str,
                   samples: list[tuple[dict[str, str], float]]) -> None:
            out.append(f"# HELP newswatch_{name} {help_text}")
            out.append(f"# TYPE newswatch_{name} {kind}")
            for labels, value in samples:
                text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
                number = str(int(value)) if float(value).is_integer() else repr(float(value))
                out.append(f"newswatch_{name}{{{text}}} {number}" if text
                           else f"newswatch_{name} {number}")

        metric("polls_total", "counter", "Feed polls since the daemon started.",
               [({}, stats.get("polls", 0))])
        metric("poll_errors_total", "counter", "Feed polls that failed since start.",
               [({}, stats.get("poll_errors", 0))])
        metric("articles_total", "counter", "New articles found since start.",
               [({}, stats.get("articles", 0))])
        metric("matches_total", "counter", "New articles that matched a rule since start.",
               [({}, stats.get("matches", 0))])
        metric("polls_unchanged_total", "counter", "Polls that found the feed unchanged (304, "
               "or the same body) and skipped parsing, since start.",
               [({}, stats.get("unchanged", 0))])
        metric("event_loop_lag_max_seconds", "gauge", "The longest the event loop was blocked "
               "since start.", [({}, stats.get("loop_lag_max", 0.0))])
        metric("alerts", "gauge", "Alerts in the database by status.",
               [({"status": s}, counts.get(s, 0)) for s in ("pending", "sent", "failed")])
        metric("feeds", "gauge", "Feeds in the configuration.", [({}, len(config.feeds))])
        if config.about_rules:
            from .semantic import backlog, configured

            name = configured(config.settings).name
            metric("embedding_backlog", "gauge", "Articles waiting to be embedded for "
                   "`about` rules.", [({}, backlog(self.store, config.settings.backfill, name))])
        metric("rules", "gauge", "Rules in the configuration.", [({}, len(config.rules))])
        last = []
        errors = []
        for feed in config.feeds:
            row = feeds.get(feed.name, {})
            when = parse_iso(row.get("last_success"))
            if when:
                last.append(({"feed": feed.name}, when.timestamp()))
            errors.append(({"feed": feed.name}, row.get("error_count", 0) or 0))
        metric("feed_last_success_timestamp_seconds", "gauge",
               "When each feed was last polled successfully (Unix time).", last)
        metric("feed_errors_in_a_row", "gauge", "Failed polls of each feed since its last "
               "success.", errors)
        return "\n".join(out) + "\n"

    def page(self) -> str:
        config = self.config()
        states = {r["name"]: r for r in self.store.feeds()}
        e = html.escape
        feed_rows = []
        for feed in config.feeds:
            s: dict[str, Any] = states.get(feed.name, {})
            error = s.get("last_error") or ""
            feed_rows.append(
                f"<tr class=\"{'bad' if s.get('error_count') else ''}\"><td>{e(feed.name)}</td>"
                f"<td>{e(public_url(feed.url))}</td><td>{e(s.get('last_success') or 'never')}"
                f"</td><td>{e(str(s.get('last_status') or ''))}</td><td>{e(error)}</td>"
                f"<td>{s.get('articles_seen', 0)}</td><td>{e(s.get('next_poll') or '')}</td></tr>")
        alert_rows = []
        for a in self.store.alerts(limit=30):
            rules = ", ".join(json.loads(a["rules"]))
            alert_rows.append(
                f"<tr><td>{e(a['created'])}</td><td>{e(a['status'])}</td><td>{e(a['target'])}"
                f"</td><td>{e(rules)}</td><td>{e(a['feed'])}</td><td>{_article(a)}</td></tr>")
        counts = self.store.counts()
        summary = (f"{len(config.feeds)} feeds, {len(config.rules)} rules, "
                   f"{counts.get('pending', 0)} alerts pending, "
                   f"{counts.get('failed', 0)} failed")
        return _PAGE.format(summary=e(summary), feeds="\n".join(feed_rows),
                            alerts="\n".join(alert_rows) or
                            '<tr><td colspan="6">no alerts yet</td></tr>',
                            failed=self._failed_rows(config))

    def _failed_rows(self, config: Config) -> str:
        """Alerts given up on: visible here, not only in the log, until retried."""
        secrets = _target_secrets(config)
        rows = []
        for a in self.store.alerts(limit=20, status="failed"):
            error = _hide(a["last_error"] or "", secrets)
            rows.append(
                f"<tr class=\"bad\"><td>{html.escape(a['created'] or '')}</td>"
                f"<td>{html.escape(a['target'])}</td><td>{a['attempts'] or 0}</td>"
                f"<td>{html.escape(error)}</td><td>{_article(a)}</td></tr>")
        return "\n".join(rows) or '<tr><td colspan="5">none</td></tr>'


def _article(row: dict[str, Any]) -> str:
    """An alert's article: its title, a link only to an http(s) address."""
    text = html.escape(row["title"] or row["url"] or "")
    link = safe_link(row["url"] or "")
    return f'<a href="{html.escape(link)}">{text}</a>' if link else text


def _target_secrets(config: Config) -> list[str]:
    """Target URLs, and the parts of them that may be tokens or passwords, longest first."""
    pieces = {t.url for t in config.targets}
    for t in config.targets:
        pieces.update(p for p in re.split(r"[/?&=@:#,]+", t.url.split("://", 1)[-1])
                      if len(p) >= 4)
    names = {t.name for t in config.targets}  # shown anyway: never taken for a secret
    return sorted(pieces - names, key=len, reverse=True)


def _hide(text: str, secrets: list[str]) -> str:
    # An error message may quote what the sender was given; a target URL holds secrets.
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>newswatch</title>
<meta http-equiv="refresh" content="60">
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ text-align: left; padding: .25em .75em; border-bottom: 1px solid #ddd; }}
tr.bad td {{ background: #fff0f0; }}
</style></head><body>
<h1>newswatch</h1><p>{summary}</p>
<h2>Feeds</h2>
<table><tr><th>feed</th><th>url</th><th>last success</th><th>status</th><th>last error</th>
<th>articles</th><th>next poll</th></tr>
{feeds}
</table>
<h2>Recent alerts</h2>
<table><tr><th>found</th><th>status</th><th>target</th><th>rules</th><th>feed</th>
<th>article</th></tr>
{alerts}
</table>
<h2>Failed alerts</h2>
<p>Given up on after their retries; <code>newswatch retry</code> sends them again.</p>
<table><tr><th>found</th><th>target</th><th>attempts</th><th>last error</th><th>article</th></tr>
{failed}
</table>
</body></html>
"""
