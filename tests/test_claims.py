"""One feed cannot silence another outlet: a link another feed reached first is the
same article only when the two feeds plausibly carry the same story."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from newswatch.claims import claim_for
from newswatch.models import Article, Config, Feed, Settings
from newswatch.store import Store
from servers import FeedServer, Item, Webhook, rss

WHEN = datetime(2026, 11, 30, 12, tzinfo=UTC)
CONFIG = Config(Path("c.toml"), Settings(database=Path("nw.db")), feeds=(
    Feed("evil", "https://evil.example/feed.xml"),
    Feed("legit", "https://www.legit.example/rss"),
    Feed("legit-world", "https://feeds.legit.example/world.xml"),
    Feed("aggregator", "https://news.aggregator.example/rss"),
), targets=(), rules=())
CLAIM = claim_for(CONFIG)


def article(feed: str, url: str, title: str) -> Article:
    return Article(feed=feed, key=url, url=url, title=title)


def poll(store: Store, *articles: Article) -> list[Article]:
    """What a poll stores (as polling.py does): the new articles, and the claims met."""
    seen = store.triage(articles, CLAIM)
    with store.transaction():
        store.add_articles(seen.fresh, WHEN)
        store.remember(seen.shared, WHEN)
    return seen.fresh


def test_a_feed_listing_another_outlets_urls_does_not_silence_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    squat = [article("evil", f"https://www.legit.example/news/{n}", f"Weather for day {n}")
             for n in range(1000, 1010)]
    assert len(poll(store, *squat)) == 10
    real = article("legit", "https://www.legit.example/news/1001", "Massive drone attack on Kyiv")
    fresh = poll(store, real)
    assert [(a.url, a.title, a.feed) for a in fresh] == [
        (real.url, real.title, "legit")]
    assert fresh[0].key != real.key  # its own key: the link's key stays the first feed's
    assert poll(store, real) == []  # once stored, never new again


def test_the_same_article_through_two_feeds_is_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    url = "https://www.legit.example/news/7"
    assert len(poll(store, article("legit", url, "Ministers agree on budget"))) == 1
    # The outlet's other feed (another host of the same site), under another title:
    assert poll(store, article("legit-world", url, "World briefing")) == []
    # An aggregator's copy of the headline, with the outlet's name added:
    assert poll(store, article("aggregator", url, "Ministers agree on budget - Legit")) == []


def test_an_outcome_holds_after_the_first_article_is_pruned(tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    url = "https://elsewhere.example/a/1"
    poll(store, article("aggregator", url, "Ceasefire talks resume in Doha"))
    assert poll(store, article("evil", url, "Ceasefire talks resume in Doha today")) == []
    with sqlite3.connect(tmp_path / "nw.db") as conn:
        conn.execute("DELETE FROM articles")  # as pruning does after `retention`
    assert poll(store, article("evil", url, "Ceasefire talks resume in Doha today")) == []


def test_the_daemon_alerts_the_real_outlets_story(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    squat = [Item(f"Weather for day {n}", f"https://legit.example/news/{n}")
             for n in range(1000, 1030)]
    feed_server.publish("/evil.xml", rss(squat))
    feed_server.publish("/legit.xml", rss([Item("Markets close higher", "https://legit.example/m")]))
    path = write_config([("evil", feed_server.url("/evil.xml")),
                         ("legit", feed_server.url("/legit.xml"))],
                        [("hook", webhook.apprise_url)], [("drones", '"drone attack"')])

    def once() -> None:
        result = CliRunner().invoke(main_command(), ["--config", str(path), "once"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output

    once()
    feed_server.publish("/legit.xml", rss([
        Item("Massive drone attack on Kyiv", "https://legit.example/news/1001"),
        Item("Markets close higher", "https://legit.example/m")]))
    once()
    messages = webhook.wait_for(1)
    assert len(messages) == 1 and "Massive drone attack on Kyiv" in messages[0]["title"] + \
        messages[0]["message"]
    once()
    assert len(webhook.messages) == 1


def main_command() -> Any:
    from newswatch.cli import main

    return main
