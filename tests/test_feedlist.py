"""Feeds in and out of config.toml: OPML import/export and `feeds add` with discovery."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from newswatch import config as config_module
from newswatch.cli import main
from newswatch.feedlist import read_opml
from servers import FeedServer, Item, Webhook, rss

OPML = Path(__file__).parent / "data" / "inoreader.opml"
CONFIG = """\
# My watch list. Comments and layout must survive an import.
[newswatch]
database = "nw.db"

[[feeds]]
name = "bbc-world"   # already here: the import skips it
url = "https://feeds.bbci.co.uk/news/world/rss.xml"

[[targets]]
name = "hook"
url = "{hook}"

[[rules]]
name = "drones"
query = '"drone attack"'
"""


def invoke(path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(path), *args], catch_exceptions=False)


def test_opml_import_adds_feeds_with_folders_as_tags_and_keeps_the_file(
        tmp_path: Path, webhook: Webhook) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(hook=webhook.apprise_url))
    result = invoke(path, "feeds", "import", str(OPML), "--tag", "imported")
    assert result.exit_code == 0, result.output
    assert "added 4 feeds, skipped 1" in result.output
    text = path.read_text()
    assert text.startswith("# My watch list. Comments and layout must survive an import.")
    assert 'name = "bbc-world"   # already here: the import skips it' in text
    config = config_module.load(path)
    assert [f.name for f in config.feeds] == [
        "bbc-world", "kyiv-independent", "ukrainska-pravda-en", "defense-news",
        "war-on-the-rocks"]
    by_url = {f.url: f for f in config.feeds}
    assert by_url["https://kyivindependent.com/news-archive/rss/"].tags == ("ukraine", "imported")
    assert by_url["https://warontherocks.com/feed/"].tags == ("defence-security", "imported")
    # Importing again adds nothing.
    assert "added 0 feeds, skipped 5" in invoke(path, "feeds", "import", str(OPML)).output


def test_export_reads_back_as_the_same_feeds(tmp_path: Path, webhook: Webhook) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(hook=webhook.apprise_url))
    invoke(path, "feeds", "import", str(OPML))
    exported = invoke(path, "feeds", "export").output
    outlines = read_opml(exported.encode())
    config = config_module.load(path)
    assert [(o.url, o.tags) for o in outlines] == [(f.url, f.tags) for f in config.feeds]


def test_a_broken_opml_file_changes_nothing(tmp_path: Path, webhook: Webhook) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(hook=webhook.apprise_url))
    before = path.read_text()
    bad = tmp_path / "bad.opml"
    bad.write_text("<html><body>not opml</body></html>")
    result = CliRunner().invoke(main, ["--config", str(path), "feeds", "import", str(bad)])
    assert result.exit_code != 0 and "not an OPML file" in result.output
    assert path.read_text() == before


def test_feeds_add_discovers_the_feed_of_a_page(tmp_path: Path, feed_server: FeedServer,
                                                write_config: Any, webhook: Webhook) -> None:
    feed_server.publish("/news/feed.xml", rss([Item("A story", "https://n.example/1")],
                                              title="Frontline Wire"))
    feed_server.publish("/news/", '<!doctype html><html><head><title>Frontline</title>'
                        '<link rel="stylesheet" href="/s.css">'
                        '<link rel="alternate" type="application/rss+xml" title="RSS" '
                        'href="feed.xml"></head><body>news</body></html>',
                        content_type="text/html; charset=utf-8")
    feed_server.publish("/plain/", "<html><body>no feeds here</body></html>",
                        content_type="text/html")
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "story")])
    result = invoke(path, "feeds", "add", feed_server.url("/news/"), "--tag", "ukraine")
    assert result.exit_code == 0, result.output
    [feed] = config_module.load(path).feeds
    assert (feed.name, feed.url, feed.tags) == (
        "frontline-wire", feed_server.url("/news/feed.xml"), ("ukraine",))
    assert "already in" in invoke(path, "feeds", "add", feed_server.url("/news/feed.xml")).output
    before = path.read_text()
    failed = CliRunner().invoke(main, ["--config", str(path), "feeds", "add",
                                       feed_server.url("/plain/")])
    assert failed.exit_code != 0 and "no feed at" in failed.output
    assert path.read_text() == before
    assert tomllib.loads(before)["feeds"][0]["name"] == "frontline-wire"


def test_feeds_and_alerts_print_tables(tmp_path: Path, webhook: Webhook) -> None:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(hook=webhook.apprise_url))
    out = invoke(path, "feeds").output.splitlines()
    assert out[0].split() == ["feed", "state", "seen", "last", "poll", "next", "poll"]
    assert out[1].split()[:3] == ["bbc-world", "never", "polled"]
