"""An operator's every day: pausing a rule or a feed, an urgent rule through quiet
hours and digests, and finding alerts by rule, feed and age."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from newswatch import config as config_module
from newswatch.cli import main
from newswatch.daemon import close_pipeline, open_pipeline
from newswatch.outbox import Policy, plan
from newswatch.store import Outgoing, iso
from servers import FeedServer, Item, Webhook, rss

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def alert(i: int, rule: str, created: datetime = T0) -> Outgoing:
    return Outgoing(i, "hook", (rule,), "", 0, "f", f"https://x.example/{i}", f"Story {i}",
                    None, None, iso(created))


def invoke(path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(path), *args], catch_exceptions=False)


def test_an_urgent_rule_goes_through_quiet_hours_and_digests() -> None:
    quiet = Policy(quiet=(time(11, 0), time(13, 0)), urgent=frozenset({"flash"}))
    held, flash = alert(1, "routine"), alert(2, "flash")
    assert plan(quiet, [held, flash], T0) == [[flash]]
    digest = Policy(digest=3600, urgent=frozenset({"flash"}))
    assert plan(digest, [held, flash], T0 + timedelta(minutes=5)) == [[flash]]
    assert plan(digest, [held], T0 + timedelta(hours=1)) == [[held]]


def test_an_urgent_rule_is_counted_first_against_max_per_hour() -> None:
    policy = Policy(max_per_hour=2, urgent=frozenset({"flash"}))
    routine = [alert(i, "routine") for i in range(3)]
    flash = alert(9, "flash")
    assert plan(policy, [*routine, flash], T0) == [[flash], routine]
    assert plan(policy, [*routine, flash], T0, messages_last_hour=2) == []


def test_the_daemon_sends_an_urgent_alert_in_quiet_hours(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    real = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = real + timedelta(hours=1), real + timedelta(hours=3)
    feed_server.publish("/wire.xml", rss([Item("Largest drone attack on Kyiv", "https://n.example/1"),
                                          Item("Section 333 funding approved", "https://n.example/2")]))
    path = write_config([("wire", feed_server.url("/wire.xml"))], [("hook", webhook.apprise_url)],
                        [("drones", "drone attack"), ("s333", '"Section 333"')])
    path.write_text(path.read_text().replace(
        f'url = "{webhook.apprise_url}"',
        f'url = "{webhook.apprise_url}"\nquiet_hours = "{start:%H:%M}-{end:%H:%M}"').replace(
        'name = "drones"', 'name = "drones"\npriority = "high"'))

    async def run() -> None:
        config = config_module.load(path)
        pipeline = open_pipeline(config)
        pipeline.clock = lambda: real + timedelta(hours=2)  # inside the quiet hours
        try:
            await pipeline.refresh(config.feeds[0])
            await pipeline.deliver()
            [urgent] = webhook.wait_for(1)
            assert urgent["title"] == "Largest drone attack on Kyiv"
            await asyncio.sleep(0.3)
            assert len(webhook.messages) == 1  # the routine one waits for the morning
        finally:
            await close_pipeline(pipeline)

    asyncio.run(run())


def test_a_paused_feed_is_not_polled_and_a_paused_rule_not_matched(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    feed_server.publish("/on.xml", rss([Item("Largest drone attack", "https://n.example/1"),
                                        Item("Section 333 funding", "https://n.example/2")]))
    feed_server.publish("/off.xml", rss([Item("Another drone attack", "https://n.example/3")]))
    path = write_config([("on", feed_server.url("/on.xml")), ("off", feed_server.url("/off.xml"))],
                        [("hook", webhook.apprise_url)],
                        [("drones", "drone attack"), ("s333", '"Section 333"')])
    text = path.read_text()
    text = text.replace(f'url = "{feed_server.url("/off.xml")}"',
                        f'url = "{feed_server.url("/off.xml")}"\nenabled = false')
    path.write_text(text.replace('name = "s333"', 'name = "s333"\nenabled = false'))
    checked = invoke(path, "check").output
    assert "feeds:    1 (and 1 paused: off)" in checked
    assert "rules:    1 (and 1 paused: s333)" in checked
    result = invoke(path, "once")
    assert result.exit_code == 0, result.output
    assert "polled 1 feeds" in result.output
    assert feed_server.hits("/off.xml") == 0
    alerts = json.loads(invoke(path, "alerts", "--json").output)
    assert [a["rule"] for a in alerts] == ["drones"]
    feeds = {f["name"]: f for f in json.loads(invoke(path, "feeds", "--json").output)}
    assert feeds["off"]["paused"] and not feeds["on"]["paused"]
    assert "paused (enabled = false)" in invoke(path, "feeds").output
    # A paused rule can still be tried against what was stored:
    assert "Section 333 funding" in invoke(path, "match", "--rule", "s333").output


def test_alerts_by_rule_feed_and_age(feed_server: FeedServer, webhook: Webhook,
                                     write_config: Any) -> None:
    feed_server.publish("/a.xml", rss([Item("Largest drone attack", "https://n.example/1"),
                                       Item("Section 333 funding", "https://n.example/2")]))
    feed_server.publish("/b.xml", rss([Item("Drone attack on port", "https://m.example/1")]))
    path = write_config([("a", feed_server.url("/a.xml")), ("b", feed_server.url("/b.xml"))],
                        [("hook", webhook.apprise_url)],
                        [("drones", "drone attack"), ("s333", '"Section 333"')])
    assert invoke(path, "once").exit_code == 0
    with sqlite3.connect(path.parent / "nw.db") as conn:  # one of them from ten days ago
        conn.execute("UPDATE alerts SET created = ? WHERE id = (SELECT min(id) FROM alerts)",
                     [iso(datetime.now(UTC) - timedelta(days=10))])

    def titles(*args: str) -> list[str]:
        listed = json.loads(invoke(path, "alerts", "--json", *args).output)
        return sorted(a["title"] for a in listed)

    assert len(titles()) == 3
    assert titles("--rule", "drones") == ["Drone attack on port", "Largest drone attack"]
    assert titles("--feed", "a") == ["Largest drone attack", "Section 333 funding"]
    assert titles("--rule", "drones", "--feed", "b") == ["Drone attack on port"]
    assert len(titles("--since", "7d")) == 2
    assert titles("--rule", "nope") == []
    bad = CliRunner().invoke(main, ["--config", str(path), "alerts", "--since", "soon"])
    assert bad.exit_code == 2 and "--since" in bad.output


def test_why_an_alert_waits_and_until_when() -> None:
    from newswatch.outbox import waiting

    quiet = Policy(quiet=(time(11, 0), time(13, 0)), urgent=frozenset({"flash"}))
    routine, flash = alert(1, "routine"), alert(2, "flash")
    assert waiting(quiet, routine, [routine], T0) == ("quiet hours", T0 + timedelta(hours=1))
    assert waiting(quiet, flash, [flash], T0) == ("sending", None)
    digest = Policy(digest=3600)
    later = alert(3, "routine", T0 + timedelta(minutes=20))
    assert waiting(digest, later, [routine, later], T0 + timedelta(minutes=30)) == (
        "digest", T0 + timedelta(hours=1))
    capped = Policy(max_per_hour=5)
    # six taken in the last hour (the limit was lowered): room when two are an hour old
    sent = [T0 - timedelta(minutes=m) for m in (5, 10, 20, 30, 40, 50)]
    assert waiting(capped, routine, [routine], T0, sent) == (
        "max_per_hour (5) reached", T0 + timedelta(minutes=20))
    assert waiting(capped, routine, [routine], T0, sent[:4]) == ("sending", None)
    retried = Outgoing(4, "hook", ("r",), "", 2, "f", "u", "t", None,
                       iso(T0 + timedelta(minutes=4)), iso(T0))
    assert waiting(Policy(), retried, [retried], T0) == ("retry 3", T0 + timedelta(minutes=4))
    assert waiting(Policy(), routine, [routine], T0) == ("sending", None)


def test_the_status_pages_timezone_is_set_in_the_config(write_config: Any) -> None:
    from newswatch import status_page
    from newswatch.store import Store

    path = write_config([("wire", "https://n.example/rss")], [("hook", "stdout://")],
                        [("drones", "drone")])
    path.write_text(path.read_text() + '\n[http]\nlisten = "127.0.0.1:9180"\n'
                    'timezone = "Asia/Tokyo"\n')
    config = config_module.load(path)
    store = Store(config.settings.database)
    try:
        page = status_page.render(store, config, T0, "", {}, True)
    finally:
        store.close()
    assert "Times are in <strong>Asia/Tokyo</strong>" in page
    path.write_text(path.read_text().replace("Asia/Tokyo", "Mars/Olympus"))
    result = invoke(path, "check")
    assert result.exit_code == 2 and "http.timezone" in result.output


def test_match_counts_every_match_while_listing_only_the_limit(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    feed_server.publish("/a.xml", rss([Item(f"Drone attack number {n}", f"https://n.example/{n}")
                                       for n in range(7)] + [Item("Weather", "https://n.example/w")]))
    path = write_config([("a", feed_server.url("/a.xml"))], [("hook", webhook.apprise_url)],
                        [("drones", "drone attack")])
    assert invoke(path, "once").exit_code == 0
    out = invoke(path, "match", "drone", "--limit", "3").output
    assert "7 of 8 stored articles from the last 7d matched (showing 3)" in out
    assert out.count("a: Drone attack number") == 3  # one line per article listed
    assert "(showing" not in invoke(path, "match", "drone", "--limit", "7").output
