"""Poll, match, store and deliver, end to end in one process, with real peers."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from newswatch import config as config_module
from newswatch import notify
from newswatch.daemon import close_pipeline, open_pipeline, poll_all
from newswatch.pipeline import PollResult
from servers import FeedServer, Inbox, Item, Webhook, rss

RULES = [("drones", '"largest drone attack"'), ("s333", '"Section 333"')]


def once(path: Path) -> list[PollResult]:
    return asyncio.run(poll_all(config_module.load(path)))


def db_rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path.parent / "nw.db") as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def setup(feed_server: FeedServer, webhook: Webhook, write_config: Any) -> Any:
    def make(feeds: dict[str, list[Item]], rules: list[tuple[str, str]] = RULES,
             **kwargs: Any) -> Path:
        for name, items in feeds.items():
            feed_server.publish(f"/{name}.xml", rss(items), etag=f'"{name}-{len(items)}"')
        return write_config(
            [(name, feed_server.url(f"/{name}.xml")) for name in feeds],
            [("hook", webhook.apprise_url)], rules, **kwargs)
    return make


def test_matching_article_alerts_once_with_rule_title_link_and_snippet(
        setup: Any, webhook: Webhook, feed_server: FeedServer) -> None:
    items = [
        Item("Russia launches largest drone attack", "https://news.example/a?utm_source=x",
             "Air raid alerts across Ukraine after the largest drone attacks so far."),
        Item("Weather: rain in Lviv", "https://news.example/b", "Nothing to see."),
    ]
    path = setup({"wire": items})
    results = once(path)
    assert [(r.feed, r.status, r.new, r.alerts) for r in results] == [("wire", 200, 2, 1)]
    [message] = webhook.messages
    assert message["title"] == "Russia launches largest drone attack"
    assert "https://news.example/a?utm_source=x" in message["message"]
    assert "drones" in message["message"]  # the rule's name
    assert "wire" in message["message"]
    assert "**largest drone attacks**" in message["message"]
    # Polling again (304) and again with the body re-served (200) sends nothing new.
    once(path)
    feed_server.routes["/wire.xml"].etag = None
    once(path)
    assert len(webhook.messages) == 1
    assert db_rows(path, "SELECT status FROM alerts") == [("sent",)]


def test_new_item_alerts_and_old_ones_do_not_repeat(setup: Any, webhook: Webhook,
                                                    feed_server: FeedServer) -> None:
    first = [Item("Section 333 funding approved", "https://d.example/1")]
    path = setup({"defence": first})
    once(path)
    assert len(webhook.messages) == 1
    # A new item, and the old one with an edited title.
    items = [Item("Section 333 funds approved by Congress", "https://d.example/1"),
             Item("Another Section 333 case", "https://d.example/2")]
    feed_server.publish("/defence.xml", rss(items), etag='"v2"')
    once(path)
    titles = [m["title"] for m in webhook.messages]
    assert titles == ["Section 333 funding approved", "Another Section 333 case"]


def test_one_message_per_article_naming_every_rule(setup: Any, webhook: Webhook) -> None:
    item = Item("Largest drone attack hits base funded under Section 333", "https://x.example/1")
    once(setup({"wire": [item]}))
    [message] = webhook.messages
    assert "drones, s333" in message["message"]


def test_same_story_in_two_feeds_alerts_once(setup: Any, webhook: Webhook) -> None:
    a = Item("Largest drone attack on Kyiv", "https://news.example/story?utm_medium=rss")
    b = Item("Largest drone attack on Kyiv (updated)", "https://NEWS.example/story#top")
    once(setup({"one": [a], "two": [b]}))
    assert len(webhook.messages) == 1


def test_backfill_records_old_articles_without_alerting(setup: Any, webhook: Webhook) -> None:
    old = Item("Largest drone attack, last week", "https://n.example/old",
               published=time.time() - 3 * 86400)
    new = Item("Largest drone attack, today", "https://n.example/new")
    path = setup({"wire": [old, new]})
    [result] = once(path)
    assert result.new == 2
    assert [m["title"] for m in webhook.messages] == ["Largest drone attack, today"]


def test_a_new_feed_repeating_an_item_alerts_it_once(setup: Any, webhook: Webhook) -> None:
    """A feed's first poll is parsed and matched in one trip, before the seen check:
    an item the feed lists twice (the same, or again under its guid with another
    title) still makes one alert. (One guid on two links is two items: see
    test_identity's shared-guid cases.)"""
    a = Item("Largest drone attack on Kharkiv", "https://n.example/k")
    b = Item("Largest drone attack on Sumy", "https://n.example/s", guid="sumy-1")
    b2 = Item("Largest drone attack on Sumy, updated", "https://n.example/s", guid="sumy-1")
    [result] = once(setup({"wire": [a, a, b, b2]}))
    assert (result.new, result.alerts) == (2, 2)
    assert sorted(m["title"] for m in webhook.messages) == [
        "Largest drone attack on Kharkiv", "Largest drone attack on Sumy"]


def test_a_broken_feed_is_recorded_and_does_not_stop_the_others(
        setup: Any, webhook: Webhook, feed_server: FeedServer) -> None:
    path = setup({"good": [Item("Largest drone attack", "https://n.example/1")],
                  "broken": [], "page": []})
    feed_server.publish("/broken.xml", "server error", status=500)
    feed_server.publish("/page.xml", "<!doctype html><html><body>hi</body></html>",
                        content_type="text/html")
    results = {r.feed: r for r in once(path)}
    assert results["broken"].error == "HTTP 500 Internal Server Error"
    assert results["page"].error == "not a feed: the server sent an HTML page"
    assert results["good"].alerts == 1 and len(webhook.messages) == 1
    rows = dict(db_rows(path, "SELECT name, error_count FROM feeds"))
    assert rows == {"good": 0, "broken": 1, "page": 1}


def test_dead_webhook_keeps_alert_pending_until_it_is_accepted(
        setup: Any, webhook: Webhook) -> None:
    path = setup({"wire": [Item("Largest drone attack", "https://n.example/1")]})
    webhook.fail = True
    once(path)
    [(status, attempts, error)] = db_rows(path, "SELECT status, attempts, last_error FROM alerts")
    assert (status, attempts) == ("pending", 1)
    assert error == "target 'hook' is failing (HTTP 500)"
    webhook.fail = False
    once(path)  # the retry is not due yet: nothing is sent early
    assert webhook.messages == []
    with sqlite3.connect(path.parent / "nw.db") as conn:  # let the retry time pass
        conn.execute("UPDATE alerts SET next_attempt = '2000-01-01T00:00:00Z'")
    once(path)
    assert [m["title"] for m in webhook.messages] == ["Largest drone attack"]
    assert db_rows(path, "SELECT status, attempts FROM alerts") == [("sent", 2)]


def test_a_target_that_stops_answering_is_given_up_on_and_nothing_goes_twice(
        setup: Any, webhook: Webhook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "SEND_TIMEOUT", 0.5)
    path = setup({"wire": [Item(f"Largest drone attack, wave {i}", f"https://n.example/{i}")
                           for i in range(3)]})
    config = config_module.load(path)

    async def run() -> tuple[int, int]:
        pipeline = open_pipeline(config)
        try:
            await pipeline.refresh(config.feeds[0])
            webhook.slow_answer = 2.0  # takes the first message, answers after the timeout
            hung = await pipeline.deliver()
            # No answer yet: still on its way (a crash now would report it in doubt).
            [(sending,)] = pipeline.store.conn.execute(
                "SELECT sending FROM alerts WHERE id = 1").fetchall()
            assert sending is not None
            webhook.slow_answer = 0.0
            monkeypatch.setattr(notify, "SEND_TIMEOUT", 10.0)
            # The target looks down for a while; once that has passed, the next pass
            # plans all three and waits for the hung send, which is accepted meanwhile:
            # the first is skipped, not sent again.
            assert pipeline.delivery.breakers["hook"].open(pipeline.clock())
            assert await pipeline.deliver() == 0  # left alone meanwhile
            later = pipeline.clock() + timedelta(minutes=1)
            pipeline.clock = lambda: later
            return hung, await pipeline.deliver()
        finally:
            await close_pipeline(pipeline)

    assert asyncio.run(run()) == (0, 3)
    assert [m["title"] for m in webhook.messages] == [
        "Largest drone attack, wave 0", "Largest drone attack, wave 1",
        "Largest drone attack, wave 2"]
    assert db_rows(path, "SELECT status, sending FROM alerts") == [("sent", None)] * 3
    [(error,)] = db_rows(path, "SELECT last_error FROM alerts WHERE id = 1")
    assert error is None  # accepted in the end


def test_rule_notify_picks_its_targets(feed_server: FeedServer, webhook: Webhook,
                                       write_config: Any) -> None:
    other = Webhook()
    try:
        feed_server.publish("/w.xml", rss([Item("Section 333 and the largest drone attack",
                                                "https://n.example/1")]))
        once(write_config([("w", feed_server.url("/w.xml"))],
                          [("a", webhook.apprise_url), ("b", other.apprise_url)],
                          [("drones", '"largest drone attack"', "a"), ("s333", '"Section 333"')]))
        assert "drones, s333" in webhook.messages[0]["message"]
        assert "matched: s333" in other.messages[0]["message"]
    finally:
        other.close()


def test_alert_by_email_through_a_local_smtp_server(
        feed_server: FeedServer, write_config: Any, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    feed_server.publish("/w.xml", rss([Item("Largest drone attack on Odesa",
                                            "https://n.example/odesa", "Largest drone attack.")]))
    mailto = (f"mailto://127.0.0.1:{port}?from=nw@example.com&to=desk@example.com"
              "&secure=no&smtp=127.0.0.1")
    once(write_config([("w", feed_server.url("/w.xml"))], [("mail", mailto)], RULES))
    [raw] = inbox.messages
    mail = message_from_bytes(raw)
    assert "Largest drone attack on Odesa" in mail["Subject"]
    assert mail["To"] == "desk@example.com"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk()
             if p.get_content_maintype() == "text"}
    assert "<b>Largest drone attack</b>" in parts["text/html"]
    assert 'href="https://n.example/odesa"' in parts["text/html"]
    assert "https://n.example/odesa" in parts["text/plain"]
    assert "**" not in parts["text/plain"]


def test_feed_text_cannot_inject_markup_into_messages(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    item = Item("Largest drone attack", "https://n.example/x",
                "Largest drone attack &lt;img src=x onerror=alert(1)&gt; *bold* [link](http://evil)")
    feed_server.publish("/w.xml", rss([item]))
    once(write_config([("w", feed_server.url("/w.xml"))], [("hook", webhook.apprise_url)], RULES))
    body = webhook.messages[0]["message"]
    assert "\\<img" in body and "\\*bold\\*" in body and "\\[link\\]" in body


def test_atom_and_rdf_files_served_over_http_alert(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    feeds_dir = Path(__file__).parent / "feeds"
    atom = feed_server.publish("/atom.xml", (feeds_dir / "atom.xml").read_bytes(),
                               content_type="application/atom+xml", etag='"a1"')
    rdf = feed_server.publish("/rdf.xml", (feeds_dir / "rdf.xml").read_bytes(),
                              content_type="application/rdf+xml")
    path = write_config([("atom", atom), ("rdf", rdf)], [("hook", webhook.apprise_url)],
                        [("s333", '"Section 333"'), ("coalition", '"coalition of the willing"')],
                        backfill="36500d")  # the files' dates are fixed; none is too old
    once(path)
    titles = sorted(m["title"] for m in webhook.messages)
    assert titles == ["Coalition of the willing meets in Paris", "Section 333 funds approved"]


def test_a_slow_feed_times_out_while_a_healthy_one_alerts(
        setup: Any, webhook: Webhook, feed_server: FeedServer) -> None:
    path = setup({"slow": [Item("Largest drone attack", "https://n.example/slow")],
                  "fast": [Item("Largest drone attack again", "https://n.example/fast")]},
                 extra='timeout = "1s"')
    feed_server.routes["/slow.xml"].delay = 3
    started = time.monotonic()
    results = {r.feed: r for r in once(path)}
    assert time.monotonic() - started < 3
    assert results["slow"].error == "timed out after 1s"
    assert [m["title"] for m in webhook.messages] == ["Largest drone attack again"]


def test_a_dead_target_delays_only_its_own_alerts_and_order_is_kept(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    dead = Webhook()
    dead.fail = True
    try:
        items = [Item(f"Largest drone attack, part {i}", f"https://n.example/{i}")
                 for i in range(3)]
        feed_server.publish("/w.xml", rss(items))
        path = write_config([("w", feed_server.url("/w.xml"))],
                            [("live", webhook.apprise_url), ("dead", dead.apprise_url)],
                            [("drones", '"largest drone attack"')])
        once(path)
        assert len(webhook.messages) == 3
        rows = db_rows(path, "SELECT status, attempts FROM alerts WHERE target = 'dead' "
                             "ORDER BY id")
        # A 500 says the service can take nothing now: the target is left alone for a
        # while, and the two behind the first were not tried.
        assert rows == [("pending", 1), ("pending", 0), ("pending", 0)]
        dead.fail = False
        with sqlite3.connect(path.parent / "nw.db") as conn:
            conn.execute("UPDATE alerts SET next_attempt = '2000-01-01T00:00:00Z'")
        once(path)
        assert [m["title"] for m in dead.messages] == [i.title for i in items]
        assert len(webhook.messages) == 3
    finally:
        dead.close()


def test_alert_is_given_up_after_the_give_up_age_and_retry_sends_it(
        setup: Any, webhook: Webhook) -> None:
    from click.testing import CliRunner

    from newswatch.cli import main

    path = setup({"wire": [Item("Largest drone attack", "https://n.example/1")]},
                 extra='give_up = "1h"')
    webhook.fail = True
    once(path)
    assert db_rows(path, "SELECT status, attempts FROM alerts") == [("pending", 1)]
    with sqlite3.connect(path.parent / "nw.db") as conn:  # an hour and more later
        conn.execute("UPDATE alerts SET next_attempt = '2000-01-01T00:00:00Z', "
                     "created = '2000-01-01T00:00:00Z'")
    once(path)
    assert db_rows(path, "SELECT status, attempts FROM alerts") == [("failed", 2)]
    runner = CliRunner()
    listed = runner.invoke(main, ["-c", str(path), "alerts", "--status", "failed", "--json"])
    assert [a["title"] for a in json.loads(listed.output)] == ["Largest drone attack"]
    webhook.fail = False
    once(path)
    assert webhook.messages == []  # failed alerts stay failed until retried
    result = runner.invoke(main, ["-c", str(path), "retry"])
    assert "1 failed alerts queued again" in result.output
    once(path)
    assert [m["title"] for m in webhook.messages] == ["Largest drone attack"]
    assert db_rows(path, "SELECT status FROM alerts") == [("sent",)]
