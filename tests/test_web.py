"""The status page: what it shows of alerts, and what it must never show."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from newswatch import config as config_module
from newswatch.models import Article
from newswatch.store import Store
from newswatch.web import MAX_CONNECTIONS, StatusServer

SECRET_URL = "json://bot:hunter2secret@127.0.0.1:9/hook?token=tok3nvalue"
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


class Links(HTMLParser):
    """The links of a page that lead off it (not to its own sections, feeds or style)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v or "" for k, v in attrs
                           if k == "href" and not (v or "").startswith(("#", "/"))]


@pytest.fixture
def page_of(tmp_path: Path, write_config: Any) -> Iterator[Any]:
    """Store articles with alerts, some failed for good; return the status page."""
    config = config_module.load(write_config([], [("hook", SECRET_URL)], [("drones", "x")]))
    store = Store(config.settings.database)

    def page(articles: list[tuple[str, str, str | None]]) -> str:
        """(title, url, error): error set means the alert failed for good."""
        with store.transaction():
            ids = store.add_articles([Article(feed="wire", key=f"k{i}", url=url, title=title)
                                      for i, (title, url, _) in enumerate(articles)], NOW)
            for i in range(len(articles)):
                store.add_alert(ids[f"k{i}"], "hook", ["drones"], "", NOW)
        errors = {ids[f"k{i}"]: error for i, (_, _, error) in enumerate(articles)}
        for row in store.alerts(limit=100):
            if (error := errors[row["article_id"]]) is not None:
                store.mark_failed_attempt(row["id"], error, NOW + timedelta(hours=1),
                                          give_up=True)
        return StatusServer(store, lambda: config, dict, lambda: None).page()

    yield page
    store.close()


@pytest.mark.parametrize(("url", "href"), [
    ("https://news.example/a b", "https://news.example/a%20b"),
    ("javascript:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ('https://evil.example/"onmouseover="alert(1)', "https://evil.example/%22onmouseover=%22alert%281%29"),
])
def test_only_an_http_article_link_is_an_href(page_of: Any, url: str, href: str | None) -> None:
    page = page_of([("Drone attack <b>now</b>", url, None)])
    hrefs = Links(page).hrefs
    assert hrefs == ([href] if href else [])
    assert "Drone attack &lt;b&gt;now&lt;/b&gt;" in page


def test_failed_alerts_are_listed_without_target_secrets(page_of: Any) -> None:
    page = page_of([("Sent fine", "https://news.example/1", None),
                    ("Refused for good", "javascript:alert(1)",
                     f"target 'hook' did not accept the message ({SECRET_URL})"),
                    ("Also refused", "https://news.example/3", "answered 500 <html>")])
    failed = page.split('<h2 id="failed">Failed alerts</h2>', 1)[1]
    rows = re.findall(r"<tr class=\"problem\">(.*?)</tr>", failed)
    assert len(rows) == 2
    assert "Also refused" in rows[0] and "answered 500 &lt;html&gt;" in rows[0]
    assert "Refused for good" in rows[1] and "target &#x27;hook&#x27; did not accept" in rows[1]
    assert "Sent fine" not in failed
    for secret in ("hunter2secret", "tok3nvalue", SECRET_URL):
        assert secret not in page
    assert Links(failed).hrefs == ["https://news.example/3"]


def test_no_failed_alerts_says_so(page_of: Any) -> None:
    page = page_of([("Sent fine", "https://news.example/1", None)])
    failed = page.split('<h2 id="failed">Failed alerts</h2>', 1)[1]
    assert '<td colspan="5">None.</td>' in failed


# The server itself, on real sockets on 127.0.0.1.


@pytest.fixture
def serve(write_config: Any) -> Iterator[Callable[..., StatusServer]]:
    """Start StatusServers on an event loop of their own thread, as the daemon's."""
    path = write_config([("wire", "https://news.example/rss")], [("hook", SECRET_URL)],
                        [("drones", "x")])
    # as behind a proxy that serves it as nw.example and every name under corp.example
    path.write_text(path.read_text() + '\n[http]\nhosts = ["nw.example", ".corp.example"]\n')
    config = config_module.load(path)
    store = Store(config.settings.database)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started: list[StatusServer] = []

    def start(listen: str = "127.0.0.1:0", **limits: Any) -> StatusServer:
        server = StatusServer(store, lambda: config, dict, lambda: None, **limits)
        asyncio.run_coroutine_threadsafe(server.start(listen), loop).result(5)
        started.append(server)
        return server

    start.store = store  # type: ignore[attr-defined]
    yield start
    for server in started:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.2), loop).result(5)  # handlers end
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
    store.close()


def _address(server: StatusServer) -> tuple[str, int]:
    assert server.socket is not None
    host, port = server.socket.getsockname()[:2]
    return host, port


def _exchange(address: tuple[str, int], request: bytes, timeout: float = 5.0) -> bytes:
    """Send a request and read until the server closes the connection."""
    with socket.create_connection(address, timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _split(response: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}, body


@pytest.mark.parametrize("path", ["/", "/?tz=Asia/Tokyo&refresh=off", "/healthz", "/metrics",
                                  "/alerts.atom", "/alerts.json?rule=drones", "/nowhere"])
def test_head_answers_the_headers_of_get_without_a_body(serve: Any, path: str) -> None:
    address = _address(serve())
    get_status, get_headers, get_body = _split(_exchange(address, f"GET {path} HTTP/1.1\r\n"
                                                                  "Host: x\r\n\r\n".encode()))
    head = _exchange(address, f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status, headers, body = _split(head)
    assert head.endswith(b"\r\n\r\n") and body == b""
    assert status == get_status and headers == get_headers
    assert int(headers["content-length"]) == len(get_body) > 0


def test_other_methods_are_refused_naming_the_allowed_ones(serve: Any) -> None:
    status, headers, _ = _split(_exchange(_address(serve()), b"POST / HTTP/1.1\r\n\r\n"))
    assert status == "HTTP/1.1 405 Method Not Allowed" and headers["allow"] == "GET, HEAD"


def _closed_by_server(s: socket.socket) -> bool:
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_request_that_never_ends_its_headers_is_dropped(serve: Any) -> None:
    """Slow-loris: a header line every 0.2 s, never the blank line that ends them."""
    address = _address(serve(request_timeout=1.0))
    started = time.monotonic()
    with socket.create_connection(address, timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\n")
        try:
            for i in range(50):
                s.sendall(f"X-Slow-{i}: 1\r\n".encode())
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert _closed_by_server(s)  # with no answer
    assert 1.0 <= time.monotonic() - started < 3.0


def test_an_idle_connection_is_closed_after_the_request_timeout(serve: Any) -> None:
    address = _address(serve(request_timeout=1.0))
    with socket.create_connection(address, timeout=5) as s:
        started = time.monotonic()
        assert _closed_by_server(s)
        assert 1.0 <= time.monotonic() - started < 3.0


@pytest.mark.parametrize(("path", "expected"), [
    ("/healthz", b'"ok"'), ("/", b"<h1>newswatch</h1>"), ("/alerts.atom", b"</feed>"),
    ("/alerts.json", b'"items"'),
])
def test_idle_connections_past_the_limit_make_room_for_a_request(
        serve: Any, path: str, expected: bytes) -> None:
    server = serve(max_connections=20)
    address = _address(server)
    idle = []
    try:
        for _ in range(300):
            idle.append(socket.create_connection(address, timeout=5))
        time.sleep(0.2)
        assert len(server.open) <= 20
        started = time.monotonic()
        status, _, body = _split(_exchange(address, f"GET {path} HTTP/1.1\r\n\r\n".encode()))
        assert status == "HTTP/1.1 200 OK" and expected in body
        assert time.monotonic() - started < 1.0
    finally:
        for s in idle:
            s.close()


@pytest.mark.parametrize(("listen", "host"), [
    ("0", "127.0.0.1"), (":0", "127.0.0.1"), ("127.0.0.1:0", "127.0.0.1"),
    ("[::1]:0", "::1"),
])
def test_a_bare_port_binds_only_the_loopback(serve: Any, listen: str, host: str) -> None:
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    assert _address(serve(listen))[0] == host


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts descriptors in /proc")
def test_the_daemon_keeps_answering_under_1500_idle_connections(
        tmp_path: Path, write_config: Any) -> None:
    """1,500 idle connections once took every descriptor of a daemon under systemd's
    default limit (1,024); now at most MAX_CONNECTIONS stay open, and /healthz answers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2000:
        if hard != resource.RLIM_INFINITY and hard < 2000:
            pytest.skip("this test needs 2,000 descriptors for its clients")
        resource.setrlimit(resource.RLIMIT_NOFILE, (2000, hard))
    port = _free_port()
    path = write_config([], [("hook", "json://127.0.0.1:9/x")], [],
                        extra=f'\n[http]\nlisten = "127.0.0.1:{port}"\n')
    log = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "newswatch", "--config", str(path), "run"],
        stdout=subprocess.DEVNULL, stderr=log,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)))
    idle: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 20
        while not _answers(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        baseline = _descriptors(daemon.pid)
        most = baseline
        for i in range(1500):
            with contextlib.suppress(OSError):
                idle.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            if i % 100 == 0:
                most = max(most, _descriptors(daemon.pid))
        time.sleep(0.3)
        most = max(most, _descriptors(daemon.pid))
        started = time.monotonic()
        assert _answers(port), (tmp_path / "daemon.log").read_text()
        assert time.monotonic() - started < 2.0
        assert most <= baseline + MAX_CONNECTIONS + 10, (baseline, most)
    finally:
        for s in idle:
            s.close()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=20)
        log.close()
    assert daemon.returncode == 0


def _answers(port: int) -> bool:
    """Whether GET /healthz gets an HTTP answer (200, or 503 with its reasons)."""
    try:
        status, _, _ = _split(_exchange(("127.0.0.1", port), b"GET /healthz HTTP/1.1\r\n\r\n",
                                        timeout=2))
    except OSError:
        return False
    return status.startswith("HTTP/1.1 ")


# The matches as feeds: /alerts.atom and /alerts.json.

HOSTILE = "<script>alert(1)</script> ]]> &amp; \x00\x07\x1b\ufffe end"
HOSTILE_SHOWN = "<script>alert(1)</script> ]]> &amp;  end"  # as a reader must read it


def alerted(store: Store, articles: list[dict[str, Any]], first: int = 0) -> list[int]:
    """Store articles with their alerts (target -> rules); return their ids, in order.
    Their keys are numbered from `first`."""
    keys = [f"k{first + i}" for i in range(len(articles))]
    with store.transaction():
        ids = store.add_articles([
            Article(feed=a.get("feed", "wire"), key=key, url=a["url"], title=a["title"],
                    published=a.get("published"))
            for key, a in zip(keys, articles, strict=True)], NOW)
        for key, a in zip(keys, articles, strict=True):
            for target, rules in a["alerts"].items():
                store.add_alert(ids[key], target, rules, a.get("snippet", ""), NOW)
    return [ids[key] for key in keys]


def _request(server: StatusServer, method: str, path: str, *headers: str,
             version: str = "1.1") -> tuple[str, dict[str, str], bytes]:
    head = "".join(f"{h}\r\n" for h in headers)
    return _split(_exchange(_address(server),
                            f"{method} {path} HTTP/{version}\r\n{head}\r\n".encode()))


def fetch(server: StatusServer, path: str, *headers: str) -> tuple[str, dict[str, str], bytes]:
    """GET, as from behind the proxy that serves it as nw.example (see `serve`)."""
    return _request(server, "GET", path, "Host: nw.example:9180", *headers)


def atom_entries(body: bytes) -> list[dict[str, Any]]:
    """Each entry's fields, read by lxml (which refuses XML that is not well-formed)."""
    from lxml import etree

    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = etree.fromstring(body)
    return [{"id": e.findtext("a:id", namespaces=ns), "title": e.findtext("a:title", namespaces=ns),
             "links": e.xpath("a:link/@href", namespaces=ns),
             "summary": e.findtext("a:summary", namespaces=ns),
             "rules": e.xpath("a:category/@term", namespaces=ns),
             "feed": e.findtext("a:source/a:title", namespaces=ns),
             "published": e.findtext("a:published", namespaces=ns),
             "updated": e.findtext("a:updated", namespaces=ns)}
            for e in root.findall("a:entry", ns)]


THREE = [
    {"title": "Drone attack on Kharkiv", "url": "https://news.example/1", "snippet": "Kharkiv",
     "published": NOW - timedelta(hours=1),
     "alerts": {"hook": ["drones"], "ops": ["drones"]}},
    {"title": "Section 333 aid", "url": "https://news.example/2", "alerts": {"hook": ["s333"]}},
    {"title": "Drones and Section 333", "url": "https://news.example/3",
     "alerts": {"hook": ["drones", "s333"], "ops": ["drones"]}},
]


def test_the_atom_feed_has_one_entry_per_article_newest_first(serve: Any) -> None:
    import feedparser

    server = serve()
    ids = alerted(serve.store, THREE)
    status, headers, body = fetch(server, "/alerts.atom")
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-type"] == "application/atom+xml; charset=utf-8"
    entries = atom_entries(body)
    assert [e["id"] for e in entries] == [f"urn:newswatch:article:{i}" for i in ids[::-1]]
    assert [e["title"] for e in entries] == [a["title"] for a in THREE[::-1]]
    assert [e["rules"] for e in entries] == [["drones", "s333"], ["s333"], ["drones"]]
    assert entries[2] == {"id": f"urn:newswatch:article:{ids[0]}",
                          "title": "Drone attack on Kharkiv", "links": ["https://news.example/1"],
                          "summary": "Kharkiv", "rules": ["drones"], "feed": "wire",
                          "published": "2026-11-30T05:00:00Z", "updated": "2026-11-30T06:00:00Z"}
    # What a feed reader sees: a valid Atom 1.0 feed it can subscribe to.
    parsed = feedparser.parse(body)
    assert not parsed.bozo and parsed.version == "atom10"
    assert [e.id for e in parsed.entries] == [e["id"] for e in entries]
    assert parsed.feed.links[0] == {"rel": "self", "type": "application/atom+xml",
                                    "href": "http://nw.example:9180/alerts.atom"}


def test_the_json_feed_has_the_same_entries(serve: Any) -> None:
    server = serve()
    ids = alerted(serve.store, THREE)
    status, headers, body = fetch(server, "/alerts.json")
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-type"] == "application/feed+json; charset=utf-8"
    feed = json.loads(body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "http://nw.example:9180/alerts.json"
    items = feed["items"]
    assert [i["id"] for i in items] == [f"urn:newswatch:article:{i}" for i in ids[::-1]]
    assert items[2] == {
        "id": f"urn:newswatch:article:{ids[0]}", "url": "https://news.example/1",
        "title": "Drone attack on Kharkiv", "content_text": "Kharkiv",
        "date_published": "2026-11-30T05:00:00Z", "date_modified": "2026-11-30T06:00:00Z",
        "tags": ["drones"], "_newswatch": {"feed": "wire", "rules": ["drones"],
                                           "found": "2026-11-30T06:00:00Z",
                                           "published": "2026-11-30T05:00:00Z"}}


@pytest.mark.parametrize(("rule", "expected"), [
    ("s333", [2, 1]), ("drones", [2, 0]), ("nobody", []), ("Дрони і ракети", [3]),
])
@pytest.mark.parametrize("path", ["/alerts.atom", "/alerts.json"])
def test_a_rules_feed_has_only_its_articles(serve: Any, path: str, rule: str,
                                            expected: list[int]) -> None:
    server = serve()
    ids = alerted(serve.store, [*THREE, {"title": "Rockets", "url": "https://news.example/4",
                                         "alerts": {"hook": ["Дрони і ракети"]}}])
    status, _, body = fetch(server, f"{path}?rule={quote(rule)}")
    assert status == "HTTP/1.1 200 OK"  # an unknown rule too: a feed with no entries
    found = ([e["id"] for e in atom_entries(body)] if path.endswith("atom")
             else [i["id"] for i in json.loads(body)["items"]])
    assert found == [f"urn:newswatch:article:{ids[i]}" for i in expected]


def test_feeds_carry_hostile_text_as_text_and_no_script_link(serve: Any) -> None:
    import feedparser

    server = serve()
    alerted(serve.store, [{"title": HOSTILE, "url": "javascript:alert(1)", "feed": "<wire>",
                           "snippet": "a ]]> b <i>c</i>\x0c d", "alerts": {"hook": ["<r>"]}}])
    _, _, atom = fetch(server, "/alerts.atom")
    [entry] = atom_entries(atom)  # lxml: well-formed
    assert (entry["title"], entry["summary"], entry["feed"], entry["rules"]) == (
        HOSTILE_SHOWN, "a ]]> b <i>c</i> d", "<wire>", ["<r>"])
    assert entry["links"] == [] and b"javascript" not in atom and b"<script" not in atom
    assert not feedparser.parse(atom).bozo
    _, _, body = fetch(server, "/alerts.json")
    [item] = json.loads(body)["items"]
    assert item["title"] == HOSTILE_SHOWN and "url" not in item
    assert b"javascript" not in body


def test_a_host_name_binds_each_of_its_addresses_on_one_port(serve: Any) -> None:
    server = serve("localhost:0")
    bound = {s.getsockname()[:2] for s in server.sockets}
    port = server.sockets[0].getsockname()[1]
    wanted = {(a[4][0], port) for a in socket.getaddrinfo("localhost", port,
                                                          type=socket.SOCK_STREAM)}
    assert bound == wanted
    for host, _ in bound:
        status, _, _ = _split(_exchange((host, port), b"GET /healthz HTTP/1.1\r\n\r\n"))
        assert status == "HTTP/1.1 200 OK"


def _post(server: StatusServer, path: str, *headers: str) -> tuple[str, dict[str, str], bytes]:
    return _request(server, "POST", path, "Host: nw.example:9180", *headers)


def test_a_verdict_from_the_status_page_is_kept_and_shown(serve: Any) -> None:
    server = serve()
    alerted(serve.store, [
        {"url": "https://n.example/1", "title": "Drone fair opens", "alerts": {"hook": ["drones"]}},
        {"url": "https://n.example/2", "title": "Drone attack", "alerts": {"hook": ["drones"]}}])
    alert = serve.store.alerts(limit=10)[-1]["id"]  # the first article's
    page = fetch(server, "/")[2].decode()
    assert page.count('<button type="submit">Wrong<span class="vh"> alert: ') == 2
    status, headers, _ = _post(server, f"/feedback?alert={alert}&verdict=wrong",
                               "Origin: http://nw.example:9180", "Sec-Fetch-Site: same-origin")
    assert status == "HTTP/1.1 303 See Other" and headers["location"] == "/#alerts"
    assert serve.store.feedback() == {"drones": ([], ["Drone fair opens"])}
    page = fetch(server, "/")[2].decode()
    assert "<strong>marked wrong</strong>" in page
    assert page.count("Wrong<span") == 1  # the judged one offers only the other verdict
    assert serve.store.verdicts([alert]) == {alert: "wrong"}
    # From a tool (no Origin, no Sec-Fetch-Site): the user's own; a second verdict replaces.
    assert _post(server, f"/feedback?alert={alert}&verdict=right")[0].endswith("303 See Other")
    assert serve.store.feedback() == {"drones": (["Drone fair opens"], [])}


@pytest.mark.parametrize("headers", [
    ("Origin: http://evil.example",),
    ("Origin: http://nw.example:9180", "Sec-Fetch-Site: cross-site"),
    ("Sec-Fetch-Site: same-site",),
    ("Origin: null",),
])
def test_another_site_cannot_judge_alerts(serve: Any, headers: tuple[str, ...]) -> None:
    server = serve()
    alerted(serve.store, [{"url": "https://n.example/1", "title": "Drone attack",
                           "alerts": {"hook": ["drones"]}}])
    alert = serve.store.alerts(limit=1)[0]["id"]
    status, _, _ = _post(server, f"/feedback?alert={alert}&verdict=wrong", *headers)
    assert status == "HTTP/1.1 403 Forbidden"
    assert serve.store.feedback() == {}


@pytest.mark.parametrize(("path", "status"), [
    ("/feedback?alert=1&verdict=maybe", "400 Bad Request"),
    ("/feedback?alert=x&verdict=wrong", "400 Bad Request"),
    ("/feedback?verdict=wrong", "400 Bad Request"),
    ("/feedback?alert=99&verdict=wrong", "404 Not Found"),
    ("/elsewhere?alert=1&verdict=wrong", "405 Method Not Allowed"),
])
def test_a_verdict_needs_an_alert_that_exists(serve: Any, path: str, status: str) -> None:
    assert _post(serve(), path)[0] == f"HTTP/1.1 {status}"


@pytest.mark.parametrize(("host", "status"), [
    ("Host: evil.example:9180", "403 Forbidden"),  # a name pointed at 127.0.0.1
    ("Host: nw.example.evil.example", "403 Forbidden"),
    ("Host: corp.example.evil", "403 Forbidden"),
    ("Host: bad_name", "403 Forbidden"),
    ("Host: 127.0.0.1:9180", "200 OK"),
    ("Host: [::1]:9180", "200 OK"),
    ("Host: localhost:9180", "200 OK"),
    ("Host: app.localhost", "200 OK"),
    ("Host: NW.example.:9180", "200 OK"),  # [http] hosts, any case, a final dot
    ("Host: news.corp.example", "200 OK"),  # ".corp.example": every name under it
    ("Host: corp.example", "200 OK"),
    (None, "200 OK"),  # HTTP/1.0 without a Host: a tool's, never a browser's
])
def test_only_names_of_this_server_are_answered(serve: Any, host: str | None,
                                                status: str) -> None:
    server = serve()
    headers = (host,) if host else ()
    for path in ("/", "/metrics", "/alerts.atom"):
        assert _request(server, "GET", path, *headers, version="1.1" if host else "1.0")[0] \
            == f"HTTP/1.1 {status}", (path, host)
    # whatever the name
    assert _request(server, "GET", "/healthz", *headers)[0] == "HTTP/1.1 200 OK"


def test_a_page_on_a_rebound_name_cannot_judge_alerts(serve: Any) -> None:
    """DNS rebinding: evil.example's page, its name now resolving to 127.0.0.1, sends
    a verdict that its browser calls same-origin."""
    server = serve()
    alerted(serve.store, [{"url": "https://n.example/1", "title": "Drone attack",
                           "alerts": {"hook": ["drones"]}}])
    alert = serve.store.alerts(limit=1)[0]["id"]
    status, _, body = _request(server, "POST", f"/feedback?alert={alert}&verdict=wrong",
                               "Host: evil.example:9180", "Origin: http://evil.example:9180",
                               "Sec-Fetch-Site: same-origin")
    assert status == "HTTP/1.1 403 Forbidden"
    assert body == b"not a name of this server: evil.example; add it to [http] hosts in " \
        b"the config\n"
    assert serve.store.feedback() == {}


def test_a_bad_host_name_in_the_config_is_refused(write_config: Any) -> None:
    path = write_config([], [("hook", SECRET_URL)], [("r", "x")])
    path.write_text(path.read_text() + '\n[http]\nhosts = ["ok.example", "not ok"]\n')
    with pytest.raises(config_module.ConfigError) as e:
        config_module.load(path)
    assert "http.hosts: not a host name: 'not ok'" in str(e.value)


def test_a_feed_reader_polling_an_unchanged_feed_gets_304_without_a_body(serve: Any) -> None:
    server = serve()
    alerted(serve.store, THREE[:1])
    status, headers, body = fetch(server, "/alerts.atom")
    tag = headers["etag"]
    assert status == "HTTP/1.1 200 OK" and body and tag.startswith('"')
    for given in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        status, headers, body = fetch(server, "/alerts.atom", f"If-None-Match: {given}")
        assert status == "HTTP/1.1 304 Not Modified", given
        assert headers["etag"] == tag and body == b"" and "content-length" not in headers
    assert fetch(server, "/alerts.atom", 'If-None-Match: "other"')[0] == "HTTP/1.1 200 OK"
    alerted(serve.store, THREE[1:2], first=1)  # a new match: a new body, a new ETag
    status, headers, body = fetch(server, "/alerts.atom", f"If-None-Match: {tag}")
    assert status == "HTTP/1.1 200 OK" and headers["etag"] != tag and body
