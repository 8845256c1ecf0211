"""Hostile and broken feeds: each ends as a clear per-feed error, at a bounded cost,
while a healthy feed polled alongside still alerts."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import sqlite3
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from newswatch import config as config_module
from newswatch.daemon import poll_all
from newswatch.pipeline import PollResult
from servers import FeedServer, Item, Route, Webhook, rss

HEALTHY = rss([Item("Largest drone attack on Odesa", "https://healthy.example/1")])
BIG = 1_200_000  # over the 1 MB cap the tests configure


def billion_laughs() -> str:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [' + "".join(entities) + ']>\n'
            '<rss version="2.0"><channel><title>t</title><item><title>Largest drone attack '
            '&lol9;</title><link>https://bomb.example/1</link></item></channel></rss>')


def external_entity(path: str) -> str:
    return ('<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://' + path +
            '">]>\n<rss version="2.0"><channel><title>t</title><item><title>Largest drone '
            'attack &xxe;</title><link>https://xxe.example/1</link></item></channel></rss>')


def many_entries(n: int) -> str:
    return rss([Item(f"Story number {i}", f"https://many.example/{i}", "Some text.")
                for i in range(n)])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def poll(feed_server: FeedServer, webhook: Webhook, tmp_path: Path) -> Any:
    """Poll a hostile route beside a healthy feed; return its result, the time taken."""
    feed_server.publish("/healthy.xml", HEALTHY)

    def run(route: Route | None, url: str | None = None,
            max_body: str = "1MB") -> tuple[PollResult, float]:
        if route is not None:
            feed_server.routes["/hostile.xml"] = route
        path = tmp_path / "config.toml"
        if not path.exists() or url or max_body != "1MB":
            path.write_text(f"""
[newswatch]
database = "nw.db"
timeout = "2s"
max_body = "{max_body}"
[[feeds]]
name = "hostile"
url = "{url or feed_server.url('/hostile.xml')}"
[[feeds]]
name = "healthy"
url = "{feed_server.url('/healthy.xml')}"
[[targets]]
name = "hook"
url = "{webhook.apprise_url}"
[[rules]]
name = "drones"
query = '"largest drone attack"'
""")
        started = time.monotonic()
        results = asyncio.run(poll_all(config_module.load(path)))
        elapsed = time.monotonic() - started
        assert [m["title"] for m in webhook.messages] == ["Largest drone attack on Odesa"]
        return next(r for r in results if r.feed == "hostile"), elapsed

    return run


CASES = [
    ("too large, with Content-Length", Route(body=b"x" * BIG), "body too large"),
    ("too large, chunked", Route(body=b"<rss>" + b"x" * BIG, mode="chunked"), "body too large"),
    ("gzip bomb", Route(body=gzip.compress(b"\0" * 50_000_000),
                        headers={"Content-Encoding": "gzip"}), "body too large"),
    ("deflate bomb", Route(body=zlib.compress(b"\0" * 50_000_000),
                           headers={"Content-Encoding": "deflate"}), "body too large"),
    ("chunked gzip bomb", Route(body=gzip.compress(b"\0" * 50_000_000), mode="chunked",
                                headers={"Content-Encoding": "gzip"}), "body too large"),
    ("corrupt gzip", Route(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}),
     "could not be decompressed"),
    ("corrupt deflate", Route(body=b"neither zlib nor raw deflate",
                              headers={"Content-Encoding": "deflate"}),
     "could not be decompressed"),
    ("trickle", Route(body=HEALTHY.encode(), mode="trickle"), "timed out after 2s"),
    ("accepts, never answers", Route(mode="hang"), "timed out after 2s"),
    ("404", Route(body=b"nope", status=404), "HTTP 404 Not Found"),
    ("500", Route(body=b"oops", status=500), "HTTP 500 Internal Server Error"),
    ("HTML page", Route(body=b"<!DOCTYPE html><html><body><p>Hello</p></body></html>",
                        content_type="text/html"), "not a feed: the server sent an HTML page"),
    ("empty body", Route(body=b""), "empty body"),
    ("not XML", Route(body=b"\x00\x01binary\xff\xfe garbage", content_type="text/plain"),
     "not a feed"),
]


@pytest.mark.parametrize(("route", "error"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_feed_is_a_clear_bounded_error(poll: Any, route: Route, error: str) -> None:
    result, elapsed = poll(route)
    assert result.error is not None and error in result.error
    assert elapsed < 6


def test_refused_connection(poll: Any) -> None:
    result, elapsed = poll(None, url=f"http://127.0.0.1:{closed_port()}/feed.xml")
    assert result.error.startswith("connection failed")
    assert elapsed < 6


def test_redirect_loop(poll: Any, feed_server: FeedServer) -> None:
    feed_server.routes["/loop"] = Route(status=302, headers={"Location": "/hostile.xml"})
    result, _ = poll(Route(status=302, headers={"Location": "/loop"}))
    assert "too many redirects" in result.error


def test_entity_expansion_bomb_is_not_expanded(poll: Any, tmp_path: Path) -> None:
    result, elapsed = poll(Route(body=billion_laughs().encode()))
    assert elapsed < 6
    stored = (tmp_path / "nw.db").read_bytes()
    assert b"lollollollollol" not in stored


def test_external_entities_are_never_read(poll: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4242")
    result, elapsed = poll(Route(body=external_entity(str(secret)).encode()))
    assert b"TOPSECRET-4242" not in (tmp_path / "nw.db").read_bytes()


def test_invalid_utf8_and_a_wrong_charset_still_yield_the_articles(poll: Any,
                                                                   tmp_path: Path) -> None:
    body = HEALTHY.replace("Largest drone attack on Odesa", "Weather in Odesa \udcff").encode(
        "utf-8", "surrogateescape")
    result, _ = poll(Route(body=body.replace(b"healthy.example", b"bad-utf8.example")))
    assert result.error is None and result.new == 1
    cp1251 = rss([Item("Дроны атаковали Киев", "https://ru.example/1")]).encode("cp1251",
                                                                               "replace")
    result, _ = poll(Route(body=cp1251, content_type="application/rss+xml; charset=utf-8"))
    assert result.error is None and result.new == 1


def test_ten_thousand_entries_are_all_recorded(poll: Any) -> None:
    result, elapsed = poll(Route(body=many_entries(10_000).encode()), max_body="20MB")
    assert (result.error, result.new) == (None, 10_000)
    assert elapsed < 60


def feed_state(tmp_path: Path) -> dict[str, Any]:
    with sqlite3.connect(tmp_path / "nw.db") as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM feeds WHERE name = 'hostile'").fetchone())


def seconds_between(a: str, b: str) -> float:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return (datetime.strptime(b, fmt) - datetime.strptime(a, fmt)).total_seconds()


@pytest.mark.parametrize("header", ["3600", "date"])
def test_retry_after_delays_the_next_poll(poll: Any, tmp_path: Path, header: str) -> None:
    value = header if header != "date" else format_datetime(
        datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    result, _ = poll(Route(status=429, headers={"Retry-After": value}))
    assert result.status == 429
    state = feed_state(tmp_path)
    assert seconds_between(state["last_poll"], state["next_poll"]) >= 3590


def test_failing_feed_backs_off_exponentially_and_resets_on_success(
        poll: Any, tmp_path: Path, feed_server: FeedServer) -> None:
    gaps = []
    for _ in range(5):
        poll(Route(status=500))
        state = feed_state(tmp_path)
        gaps.append(seconds_between(state["last_poll"], state["next_poll"]))
    # 15 min, 30 min, 1 h, 2 h, 4 h (default interval 15m, cap 6h)
    assert [round(g / 900) for g in gaps] == [1, 2, 4, 8, 16]
    for _ in range(2):
        poll(Route(status=500))
    # To the second: the last poll is stored rounded down, the next one rounded up.
    assert 6 * 3600 <= seconds_between(feed_state(tmp_path)["last_poll"],
                                       feed_state(tmp_path)["next_poll"]) <= 6 * 3600 + 1
    assert feed_state(tmp_path)["error_count"] == 7
    poll(Route(body=rss([]).encode()))
    state = feed_state(tmp_path)
    assert state["error_count"] == 0 and state["last_error"] is None
    assert seconds_between(state["last_poll"], state["next_poll"]) <= 901


def test_permanent_redirect_is_followed_from_then_on_and_reported(
        poll: Any, tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.publish("/moved.xml", rss([]))
    poll(Route(status=301, headers={"Location": feed_server.url("/moved.xml")}))
    assert feed_state(tmp_path)["fetch_url"] == feed_server.url("/moved.xml")
    before = feed_server.hits("/hostile.xml")
    poll(None)
    assert feed_server.hits("/hostile.xml") == before  # the old address is not asked again
    from click.testing import CliRunner

    from newswatch.cli import main
    out = CliRunner().invoke(main, ["-c", str(tmp_path / "config.toml"), "feeds", "--json"])
    feeds = {f["name"]: f for f in json.loads(out.output)}
    assert feeds["hostile"]["moved_to"] == feed_server.url("/moved.xml")


def test_gone_feed_is_disabled(poll: Any, tmp_path: Path, feed_server: FeedServer) -> None:
    result, _ = poll(Route(status=410, body=b"gone"))
    assert result.error == "HTTP 410 Gone"
    assert feed_state(tmp_path)["disabled"] == "HTTP 410 Gone"
    before = feed_server.hits("/hostile.xml")
    result, _ = poll(None)
    assert result.error == "disabled: HTTP 410 Gone"
    assert feed_server.hits("/hostile.xml") == before


def test_unchanged_body_is_not_parsed_again(poll: Any, tmp_path: Path,
                                            feed_server: FeedServer) -> None:
    body = rss([Item("A story", "https://s.example/1")]).encode()  # no ETag: full 200s
    first, _ = poll(Route(body=body))
    second, _ = poll(None)
    assert (first.new, second.new, second.status) == (1, 0, 200)
    assert feed_state(tmp_path)["polls"] == 2


def test_per_host_concurrency_is_limited(feed_server: FeedServer, webhook: Webhook,
                                         write_config: Any) -> None:
    feeds = []
    for i in range(6):
        feed_server.publish(f"/slow{i}.xml", rss([]), delay=0.3)
        feeds.append((f"slow{i}", feed_server.url(f"/slow{i}.xml")))
    asyncio.run(poll_all(config_module.load(
        write_config(feeds, [("hook", webhook.apprise_url)], []))))
    assert feed_server.peak_in_flight == 2  # per_host = 2 by default


@pytest.mark.parametrize(("hint", "expected_minutes"), [
    ({"body": rss([]).replace("<channel>", "<channel><ttl>40</ttl>")}, 40),  # RSS ttl
    ({"headers": {"Cache-Control": "public, max-age=1800"}}, 30),
    ({"body": rss([]).replace("<channel>", "<channel><ttl>600</ttl>")}, 60),  # capped: max_hint
    ({"headers": {"Cache-Control": "max-age=60"}}, 15),  # never sooner than the interval
])
def test_feed_hints_lengthen_the_interval_within_bounds(
        poll: Any, tmp_path: Path, hint: dict[str, Any], expected_minutes: int) -> None:
    route = Route(body=hint.get("body", rss([])).encode(), headers=hint.get("headers", {}))
    poll(route)
    state = feed_state(tmp_path)
    gap = seconds_between(state["last_poll"], state["next_poll"]) / 60
    # Stored to the second: the poll's start rounded down, the next poll's rounded up.
    assert expected_minutes * 0.94 <= gap <= expected_minutes + 1 / 60


def odd_feed(odd_item: str, channel: str = "") -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Odd'
            f"</title>{channel}<item>{odd_item}</item><item><title>Weather in Odesa</title>"
            "<link>https://odd.example/valid</link></item></channel></rss>").encode()


@pytest.mark.parametrize(("route", "new"), [
    (Route(body=odd_feed("<title>Port</title><link>https://x.example:99999/a</link>")), 2),
    (Route(body=odd_feed("<title>Ttl</title>", channel="<ttl>²</ttl>")), 2),
    (Route(body=odd_feed("<title>Smile &#55357;&#56832;</title><link>https://x.example/s"
                         "</link>")), 2),
    (Route(body=odd_feed("<title>Markup</title><description>" + "&lt;a" * 200_000
                         + "</description>")), 2),
    (Route(body=json.dumps({"version": "https://jsonfeed.org/version/1.1", "authors": 5,
                            "items": [{"id": "\ud800", "title": "Odd \udfff"}, 7,
                                      {"id": "2", "url": "https://odd.example/valid",
                                       "title": "Weather in Odesa"}]}).encode(),
           content_type="application/feed+json"), 2),
], ids=["port out of range", "ttl ²", "surrogate references", "1 MB of '<a'",
        "JSON of odd types and lone surrogates"])
def test_odd_item_does_not_stop_its_feed(poll: Any, tmp_path: Path, route: Route,
                                         new: int) -> None:
    """Each of these failed the whole feed on every poll: an exception, or (the
    megabyte of unclosed tags) a parse of some two hours, past any time limit."""
    result, _ = poll(route, max_body="4MB")
    assert (result.error, result.new) == (None, new)
    with sqlite3.connect(tmp_path / "nw.db") as conn:
        titles = [r[0] for r in conn.execute("SELECT title FROM articles WHERE feed = 'hostile'")]
    assert "Weather in Odesa" in titles
