"""The optional [http] endpoint: /healthz, /metrics (Prometheus), a status page
(status_page.py) and the matches as feeds, /alerts.atom and /alerts.json
(alert_feeds.py).

Served from the daemon's own event loop with asyncio streams (GET and HEAD,
one request per connection), so a wedged loop also stops answering /healthz -
which is what a health check should see. The one thing it changes is a
verdict on an alert (POST /feedback?alert=N&verdict=wrong|right, from the
status page's buttons; see feedback.py): only from the page itself, never
from another site's page in the same browser (its Origin or Sec-Fetch-Site
says so), and with no request body to read. It shows feed
names, public feed URLs (credentials hidden) and article titles; never
target URLs. An article's link is an href only when it is http(s) (see
messages.safe_link); everything else shown is escaped text.

It binds 127.0.0.1 unless `listen` names another host (it has no
authentication). It answers only requests addressed to it by a name it
knows: an IP address, localhost, the host `listen` names, this machine's
own names, and those of `[http] hosts`; else a page on another site whose
name an attacker points at 127.0.0.1 (DNS rebinding) could read it and
judge alerts as the same origin. /healthz answers whatever the name.

Whoever connects costs a file descriptor until the connection closes, so at
most MAX_CONNECTIONS are open at once: past that, the one that has waited
longest without sending its request is closed to make room (a client that
connects and says nothing cannot keep a health check out), and a new one is
closed at once when every open connection is being answered. A request must
arrive whole within REQUEST_TIMEOUT, and its answer be taken within
WRITE_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from . import alert_feeds, status_page
from .models import Config
from .store import Store
from .timestamps import now, parse_iso

if TYPE_CHECKING:
    from .delivery import Breaker

log = logging.getLogger(__name__)
MAX_REQUEST = 8192  # bytes of request line and headers
MAX_CONNECTIONS = 100
REQUEST_TIMEOUT = 5.0  # seconds
WRITE_TIMEOUT = 10.0  # seconds
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_REASONS = {200: "OK", 303: "See Other", 304: "Not Modified", 400: "Bad Request",
            403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
            503: "Service Unavailable"}


def bind_address(listen: str) -> tuple[str, int]:
    """`[http] listen` as (host, port): a bare port, or one with no host, is 127.0.0.1
    (asyncio would read an empty host as every interface)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)  # the first value of each name
    host: str = ""  # the Host header, when it is a plain host[:port]
    host_given: bool = False  # whether there was a Host header at all
    origin: str = ""  # the Origin header, as sent
    fetch_site: str = ""  # the Sec-Fetch-Site header: same-origin, cross-site, ...
    if_none_match: str = ""  # the If-None-Match header: ETags the client has


class StatusServer:
    def __init__(self, store: Store, config: Callable[[], Config],
                 stats: Callable[[], dict[str, float]], healthy: Callable[[], str | None],
                 max_connections: int = MAX_CONNECTIONS,
                 request_timeout: float = REQUEST_TIMEOUT,
                 breakers: Callable[[], Mapping[str, Breaker]] | None = None,
                 clock: Callable[[], datetime] = now) -> None:
        self.store, self.config, self.stats, self.healthy = store, config, stats, healthy
        self.max_connections, self.request_timeout = max_connections, request_timeout
        self.breakers, self.clock = breakers, clock
        self.socket: socket.socket | None = None  # the first of self.sockets
        self.sockets: list[socket.socket] = []
        self._accepting: list[asyncio.Task[None]] = []
        self.open: set[asyncio.StreamWriter] = set()
        self.waiting: dict[asyncio.StreamWriter, None] = {}  # no request yet; oldest first
        self.names: set[str] = {"localhost"}  # its own host names (see _known_host)

    async def start(self, listen: str) -> None:
        host, port = bind_address(listen)
        self.names |= {host_name(host), *await asyncio.to_thread(_own_names)} - {""}
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        # Every address the host has, as asyncio's own server would ("localhost" may be
        # ::1 and 127.0.0.1); a port of 0 is the one the first was given.
        for family, address in dict.fromkeys((f[0], f[4]) for f in found):
            if self.sockets:
                address = (address[0], self.sockets[0].getsockname()[1], *address[2:])
            try:
                listener = socket.create_server(address, family=family)
            except OSError:
                await self.close()
                raise
            listener.setblocking(False)
            self.sockets.append(listener)
        self.socket = self.sockets[0]
        self._accepting = [asyncio.create_task(self._accept(s)) for s in self.sockets]
        log.info("status page, /healthz and /metrics on http://%s/", listen)

    async def close(self) -> None:
        for task in self._accepting:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for listener in self.sockets:
            listener.close()
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
            request = parse_request(head)
            return (request.method, *_unless_unchanged(self.respond(request),
                                                       request.if_none_match))
        except ValueError:
            return "GET", 400, "text/plain", b"bad request\n"
        except Exception:  # noqa: BLE001 - a status page must never take the daemon down
            log.exception("status page failed")
            return "GET", 500, "text/plain", b"internal error\n"

    async def _answer(self, writer: asyncio.StreamWriter, method: str, status: int,
                      ctype: str, body: bytes) -> None:
        """Write the answer (HEAD: its headers only) and wait until it is all sent."""
        extra = "Allow: GET, HEAD\r\n" if status == 405 else ""
        length = f"Content-Length: {len(body)}\r\n"
        if status == 303:  # the body is where to go: the page, after a verdict
            extra, body = f"Location: {body.decode()}\r\n", b""
        elif status == 304:  # the body is the ETag the client has; a 304 has no content
            extra, body, length = f"ETag: {body.decode()}\r\n", b"", ""
        elif status == 200:
            extra = f"ETag: {etag(body)}\r\n"
        head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                f"{length}Cache-Control: no-cache\r\n{extra}"
                "Connection: close\r\n\r\n").encode()
        writer.transport.set_write_buffer_limits(high=0)  # drain() returns once all is sent
        writer.write(head if method == "HEAD" else head + body)
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await writer.drain()
        except (TimeoutError, ConnectionError):
            writer.transport.abort()  # close() would wait for a reader that never reads

    def respond(self, request: Request) -> tuple[int, str, bytes]:
        if request.path != "/healthz" and not self._known_host(request):
            name = host_name(request.host) or "(malformed)"
            return 403, "text/plain", (f"not a name of this server: {name}; add it to "
                                       "[http] hosts in the config\n").encode()
        if request.method == "POST" and request.path == "/feedback":
            return self.feedback(request)
        if request.method not in ("GET", "HEAD"):
            return 405, "text/plain", b"read-only: GET and HEAD only\n"
        path = request.path
        if path == "/healthz":
            problem = self.healthy()
            body = json.dumps({"status": problem or "ok",
                               "instance": self.config().settings.instance}).encode() + b"\n"
            return (503 if problem else 200), "application/json", body
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", self.metrics().encode()
        if path in ("/", "/index.html"):
            query = request.query
            page = self.page(query.get("tz", ""), query.get("refresh") != "off")
            return 200, "text/html; charset=utf-8", page.encode()
        if path in ("/alerts.atom", "/alerts.json"):
            return self.feed(path, request)
        return 404, "text/plain", b"not found\n"

    def feedback(self, request: Request) -> tuple[int, str, bytes]:
        """A verdict from the status page's buttons; then back to the page."""
        from .errors import NewswatchError
        from .feedback import judge

        if not _same_origin(request):
            return 403, "text/plain", b"verdicts come from the status page itself\n"
        alert, verdict = request.query.get("alert", ""), request.query.get("verdict", "")
        if not alert.isdigit() or len(alert) > 18 or verdict not in ("wrong", "right"):
            return 400, "text/plain", b"give alert=ID and verdict=wrong or right\n"
        try:
            for line in judge(self.config(), self.store, int(alert), verdict):
                log.info("status page: %s", line.strip())
        except NewswatchError as e:
            return 404, "text/plain", f"{e}\n".encode()
        return 303, "text/plain", b"/#alerts"

    def page(self, zone: str = "", refresh: bool = True) -> str:
        return status_page.render(self.store, self.config(), self.clock(), zone,
                                  self._breakers(), refresh)

    def feed(self, path: str, request: Request) -> tuple[int, str, bytes]:
        """The matches (of `?rule=NAME`) as Atom or JSON Feed."""
        rule = request.query.get("rule") or None
        articles = self.store.alerted_articles(alert_feeds.ENTRIES, rule)
        origin = f"http://{request.host or self._bound()}"
        if path == "/alerts.atom":
            body = alert_feeds.atom(articles, rule, origin, self.clock())
            return 200, alert_feeds.ATOM_TYPE, body
        return 200, alert_feeds.JSON_TYPE, alert_feeds.json_feed(articles, rule, origin)

    def _known_host(self, request: Request) -> bool:
        """Whether the request names this server (see the module's docstring). No Host
        header at all is a tool's HTTP/1.0 request, never a browser's."""
        if not request.host_given:
            return True
        name = host_name(request.host)
        if not name:
            return False
        if _is_address(name) or name in self.names or name.endswith(".localhost"):
            return True
        return any(name == allowed or (allowed.startswith(".") and
                                       (name.endswith(allowed) or name == allowed[1:]))
                   for allowed in self.config().settings.http_hosts)

    def _bound(self) -> str:
        """The address this server listens on, as a URL's host:port."""
        if self.socket is None:
            return "127.0.0.1"
        host, port = self.socket.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _breakers(self) -> Mapping[str, Breaker]:
        """The deliver loop's breakers by target, when the daemon gave them."""
        return self.breakers() if self.breakers is not None else {}

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
                # Each instance sharing a database reports its own: say which.
                labels = {"instance": config.settings.instance, **labels}
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


def parse_request(head: bytes) -> Request:
    """The request line and the headers it needs of a request head (ValueError: not
    HTTP)."""
    line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = line.split(" ", 2)
    parts = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    headers: dict[str, str] = {}
    for name, _, value in (h.partition(":") for h in lines):
        headers.setdefault(name.strip().lower(), value.strip())
    host = headers.get("host", "")
    return Request(method, parts.path, query, host if _HOST.fullmatch(host) else "",
                   "host" in headers, headers.get("origin", ""),
                   headers.get("sec-fetch-site", "").lower(), headers.get("if-none-match", ""))


def etag(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def _unless_unchanged(answer: tuple[int, str, bytes], if_none_match: str,
                      ) -> tuple[int, str, bytes]:
    """A 200 whose body the client already has (its ETag is among If-None-Match) as a
    304 carrying that ETag: a feed reader polling an unchanged feed gets no body."""
    status, ctype, body = answer
    if status != 200 or not if_none_match:
        return answer
    tag = etag(body)
    given = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return (304, ctype, tag.encode()) if tag in given or "*" in given else answer


def host_name(host: str) -> str:
    """The name of a host[:port] (lower case, no brackets, no final dot); "" if none."""
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if ":" in host else host
    return name.lower().rstrip(".")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _own_names() -> set[str]:
    """This machine's names, as it knows them (no lookup beyond its own resolver)."""
    return {socket.gethostname().lower().rstrip("."), socket.getfqdn().lower().rstrip(".")}


def _same_origin(request: Request) -> bool:
    """Whether a request that changes something comes from the status page: a browser
    names the page that sent it (Origin, Sec-Fetch-Site); a tool such as curl names
    none, and is the user's own."""
    if request.fetch_site not in ("", "same-origin", "none"):
        return False
    if request.origin:
        return bool(request.host) and request.origin in (f"http://{request.host}",
                                                         f"https://{request.host}")
    return True


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

