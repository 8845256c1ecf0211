"""Outside text is data: a stranger's `${VAR}` is never expanded, credentials never
reach the database or the logs, `feeds add` reads within bounds, and a public feed
cannot redirect newswatch into the operator's own network."""

from __future__ import annotations

import gzip
import json
import sqlite3
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.store import Store
from servers import FeedServer, Item, Webhook, rss

TOKEN = "s3cr3t-T0KEN-value"


def invoke(path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["--config", str(path), *args], env=env,
                              catch_exceptions=False)


def everything_the_server_saw(server: FeedServer) -> str:
    return json.dumps(server.requests)


def every_value_in(db: Path) -> str:
    """Every table's every column, as text."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f"SELECT * FROM {t}"))


def config_with(tmp_path: Path, feeds: str, target: str = "json://127.0.0.1:9/x",
                extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[newswatch]\ndatabase = "nw.db"\n{extra}\n{feeds}\n'
                    f'[[targets]]\nname = "hook"\nurl = "{target}"\n\n'
                    "[[rules]]\nname = \"drones\"\nquery = 'drone'\n")
    return path


# -- ${VAR}: only where the operator wrote it --------------------------------------------


def test_an_imported_url_never_expands_the_operators_secret(
        tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.publish("/feed.xml?ref=${NW_TOKEN}", rss([Item("Drone news", "https://n.example/1")]))
    opml = tmp_path / "list.opml"
    opml.write_text('<opml version="2.0"><body><outline text="Trap" type="rss" '
                    f'xmlUrl="{feed_server.url("/feed.xml?ref=${NW_TOKEN}")}"/></body></opml>')
    path = config_with(tmp_path, "")
    env = {"NW_TOKEN": TOKEN}
    assert invoke(path, "feeds", "import", str(opml), env=env).exit_code == 0
    assert "$${NW_TOKEN}" in path.read_text()

    result = invoke(path, "once", env=env)
    assert result.exit_code == 0, result.output
    assert feed_server.requests, "the imported feed was polled"
    assert TOKEN not in everything_the_server_saw(feed_server)
    assert TOKEN not in every_value_in(tmp_path / "nw.db")

    exported = invoke(path, "feeds", "export", env=env).output
    assert "ref=${NW_TOKEN}" in exported and TOKEN not in exported


def test_a_pages_link_never_expands_the_operators_secret(
        tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.publish("/f.xml?k=${NW_TOKEN}&lang=en", rss([Item("Drone", "https://n.example/1")]))
    feed_server.publish("/page", '<html><head><link rel="alternate" type="application/rss+xml" '
                        'href="/f.xml?k=&#36;{NW_TOKEN}&amp;lang=en"></head></html>',
                        content_type="text/html")
    path = config_with(tmp_path, "")
    result = invoke(path, "feeds", "add", feed_server.url("/page"), env={"NW_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "lang=en" in result.output  # the URL as polled, its query included
    assert TOKEN not in everything_the_server_saw(feed_server)
    assert TOKEN not in path.read_text()
    assert "$${NW_TOKEN}" in path.read_text()


def test_the_operators_own_variables_expand_in_feed_urls_and_headers(
        tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.publish("/private.xml?api_key=" + TOKEN, rss([Item("Drone", "https://n.example/1")]))
    path = config_with(tmp_path, '[[feeds]]\nname = "private"\n'
                       f'url = "{feed_server.url("/private.xml?api_key=${NW_KEY}")}"\n'
                       'headers = { Authorization = "Bearer ${NW_TOKEN}" }\n')
    env = {"NW_KEY": TOKEN, "NW_TOKEN": TOKEN + "-bearer"}
    result = invoke(path, "-vv", "once", env=env)
    assert result.exit_code == 0, result.output
    path_seen, headers_seen = feed_server.requests[-1]
    assert path_seen == "/private.xml?api_key=" + TOKEN
    assert headers_seen["Authorization"] == f"Bearer {TOKEN}-bearer"
    assert TOKEN not in result.output  # -vv: httpx names every URL it requests
    assert "api_key=***" in result.output
    assert TOKEN not in every_value_in(tmp_path / "nw.db")
    for args in (("feeds", "--json"), ("feeds",), ("feeds", "export")):
        assert TOKEN not in invoke(path, *args, env=env).output


def test_a_header_value_with_a_line_break_is_refused(tmp_path: Path) -> None:
    path = config_with(tmp_path, '[[feeds]]\nname = "f"\nurl = "https://f.example/"\n'
                       'headers = { Authorization = "Bearer ${NW_TOKEN}" }\n')
    result = invoke(path, "check", env={"NW_TOKEN": "a\r\nX-Evil: 1"})
    assert result.exit_code == 2
    assert "feeds[0]" in result.output and "line break" in result.output
    assert "X-Evil" not in result.output  # the value is a secret: never echoed


# -- credentials never stored ------------------------------------------------------------


def test_no_credential_reaches_the_database_and_it_is_private(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    feed_server.publish("/feed.xml?token=" + TOKEN, rss([Item("Drone attack", "https://n.example/1")]))
    # A permanent redirect whose target carries a credential: followed, never stored.
    feed_server.publish("/old.xml", "", status=301,
                        headers={"Location": "/feed.xml?token=" + TOKEN})
    url = feed_server.url("/feed.xml?token=" + TOKEN).replace(
        "http://", "http://me:pw-" + TOKEN + "@")
    path = config_with(tmp_path, f'[[feeds]]\nname = "a"\nurl = "{url}"\n\n'
                       f'[[feeds]]\nname = "b"\nurl = "{feed_server.url("/old.xml")}"\n',
                       target=webhook.apprise_url)
    for _ in range(2):  # the second poll reads what the first stored
        result = invoke(path, "once")
        assert result.exit_code == 0, result.output
        assert "feed a:" not in result.output and "feed b:" not in result.output
    db = tmp_path / "nw.db"
    assert TOKEN not in every_value_in(db)
    assert feed_server.hits("/old.xml") == 2  # the configured URL, each time
    for file in (db, tmp_path / "nw.db-wal"):
        if file.exists():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    store = Store(db)
    store.lock()
    assert stat.S_IMODE(Path(str(db) + ".lock").stat().st_mode) == 0o600
    store.close()


def test_an_older_database_is_scrubbed_on_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "nw.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO feeds (name, url, fetch_url, last_error) VALUES (?, ?, ?, ?)",
                     ["f", f"https://u:{TOKEN}@h.example/f?key={TOKEN}",
                      f"https://h.example/g?sig={TOKEN}",
                      f"connection failed for https://h.example/f?key={TOKEN}"])
        # Back to version 9: what versions 10 to 12 added, taken away.
        conn.execute("DROP TABLE feedback")
        conn.execute("ALTER TABLE feeds DROP COLUMN leased_by")
        conn.execute("DROP TABLE target_leases")
        conn.execute("DROP TABLE instances")
        conn.execute("PRAGMA user_version = 9")
    Store(db).close()
    assert TOKEN not in every_value_in(db)
    assert "https://***@h.example/f?key=***" in every_value_in(db)


# -- commands that never send need no secret ----------------------------------------------


def test_read_only_commands_run_without_the_targets_secrets(
        tmp_path: Path, feed_server: FeedServer) -> None:
    feed_server.publish("/f.xml", rss([Item("Drone", "https://n.example/1")]))
    path = config_with(tmp_path, f'[[feeds]]\nname = "f"\nurl = "{feed_server.url("/f.xml")}"\n',
                       target="json://127.0.0.1:9/${NW_HOOK_TOKEN}")
    assert invoke(path, "once", env={"NW_HOOK_TOKEN": TOKEN}).exit_code == 0
    for args in (("alerts",), ("alerts", "--json"), ("feeds",), ("feeds", "--json"),
                 ("feeds", "export"), ("match", "drone"), ("retry",)):
        result = invoke(path, *args)
        assert result.exit_code == 0, (args, result.output)
        assert "NW_HOOK_TOKEN" not in result.output, args
    for args in (("once",), ("check",), ("test-notify",)):
        result = invoke(path, *args)
        assert result.exit_code == 2, args
        assert "environment variable NW_HOOK_TOKEN is not set" in result.output


# -- feeds add reads within bounds -------------------------------------------------------


class _Endless(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<p>" + b"x" * 65_000
        try:
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endless() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_feeds_add_stops_an_endless_body_at_the_cap(tmp_path: Path, endless: str) -> None:
    path = config_with(tmp_path, "", extra='max_body = "2MB"')
    result = invoke(path, "feeds", "add", endless)
    assert result.exit_code == 1
    assert "body too large (over 2000000 bytes)" in result.output


def test_feeds_add_stops_a_gzip_bomb_at_the_cap(tmp_path: Path, feed_server: FeedServer) -> None:
    bomb = b"<rss><channel><title>" + b" " * 50_000_000  # 50 MB, ~50 kB gzipped
    feed_server.publish("/bomb.xml", bomb, gzip=True)
    assert len(gzip.compress(bomb)) < 100_000
    path = config_with(tmp_path, "", extra='max_body = "2MB"')
    result = invoke(path, "feeds", "add", feed_server.url("/bomb.xml"))
    assert result.exit_code == 1
    assert "no feed at" in result.output


# -- redirects into the operator's network -----------------------------------------------


@pytest.fixture
def inside() -> Iterator[FeedServer]:
    """A server on another loopback address, which the tests below call private."""
    server = FeedServer(host="127.0.0.2")
    yield server
    server.close()


PRIVATE = 'private_networks = ["127.0.0.2/32"]'


def test_a_public_feed_cannot_redirect_into_a_private_network(
        tmp_path: Path, feed_server: FeedServer, inside: FeedServer) -> None:
    inside.publish("/admin.xml", rss([Item("Drone", "https://n.example/1")]))
    feed_server.publish("/go.xml", "", status=302, headers={"Location": inside.url("/admin.xml")})
    feed_server.publish("/stay.xml", "", status=302, headers={"Location": "/real.xml"})
    feed_server.publish("/real.xml", rss([Item("Drone", "https://n.example/2")]))
    path = config_with(tmp_path, f'[[feeds]]\nname = "go"\nurl = "{feed_server.url("/go.xml")}"\n'
                       f'[[feeds]]\nname = "stay"\nurl = "{feed_server.url("/stay.xml")}"\n',
                       extra=PRIVATE)
    result = invoke(path, "once")
    assert "feed go: redirect to a private address refused (127.0.0.2 is 127.0.0.2)" in \
        result.output
    assert inside.requests == []
    assert "feed stay:" not in result.output and feed_server.hits("/real.xml") == 1


def test_a_private_redirect_is_followed_when_allowed_or_when_the_feed_is_private(
        tmp_path: Path, feed_server: FeedServer, inside: FeedServer) -> None:
    inside.publish("/admin.xml", rss([Item("Drone", "https://n.example/1")]))
    inside.publish("/moved.xml", "", status=302, headers={"Location": "/admin.xml"})
    feed_server.publish("/go.xml", "", status=302, headers={"Location": inside.url("/admin.xml")})
    feeds = (f'[[feeds]]\nname = "go"\nurl = "{feed_server.url("/go.xml")}"\n'
             f'[[feeds]]\nname = "own"\nurl = "{inside.url("/moved.xml")}"\n')
    result = invoke(config_with(tmp_path, feeds, extra=PRIVATE), "once")
    assert "feed own:" not in result.output and "feed go: redirect" in result.output
    allowed = PRIVATE + "\nallow_private_redirects = true"
    result = invoke(config_with(tmp_path, feeds, extra=allowed), "once")
    assert "feed go:" not in result.output, result.output
    assert inside.hits("/admin.xml") == 3


def test_a_config_error_quoting_a_query_prints_no_terminal_controls(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[targets]]\nname = "t"\nurl = "stdout://"\n'
                    '[[rules]]\nname = "r"\nquery = "(drone \\u001b]52;c;aGk=\\u0007"\n')
    result = invoke(path, "check")
    assert result.exit_code == 2 and "rules[0]" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
