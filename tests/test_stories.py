"""One alert per story: near-duplicate headlines from different feeds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from newswatch import config as config_module
from newswatch.cli import main
from newswatch.daemon import poll_all
from newswatch.stories import DEFAULT_THRESHOLD, Stories, headline_key, similarity
from servers import FeedServer, Item, Webhook, rss

PAIRS = Path(__file__).parent / "data" / "headline-pairs.tsv"


def test_stories_are_forgotten_after_their_window_and_only_then() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    stories = Stories(window=3600)
    stories.start(1, "kyiv-independent", "Russia launches largest drone attack on Kyiv", {"r"}, t0)
    stories.start(2, "bbc", "Parliament passes the budget for 2027", {"r"},
                  t0 + timedelta(minutes=30))
    later = t0 + timedelta(minutes=59)
    stories.expire(later)
    assert stories.find("bbc", "Russia launches largest drone attack on Kyiv", later) is not None
    after = t0 + timedelta(minutes=61)
    stories.expire(after)
    assert sorted(stories.stories) == [2]
    assert stories.find("bbc", "Russia launches largest drone attack on Kyiv", after) is None
    assert all(1 not in ids for ids in stories.by_word.values())
    stories.expire(t0 + timedelta(minutes=91))
    assert not stories.stories and not stories.by_word


def test_threshold_separates_the_labelled_headline_pairs() -> None:
    rows = [line.split("\t") for line in PAIRS.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    judged = [(same == "1", similarity(headline_key(a), headline_key(b)) >= DEFAULT_THRESHOLD)
              for same, a, b in rows]
    true_pos = sum(1 for same, grouped in judged if same and grouped)
    precision = true_pos / sum(1 for _, grouped in judged if grouped)
    recall = true_pos / sum(1 for same, _ in judged if same)
    assert precision >= 0.9 and recall >= 0.95, (precision, recall)


def test_who_did_what_to_whom_and_numbers_tell_stories_apart() -> None:
    def same(a: str, b: str) -> bool:
        return similarity(headline_key(a), headline_key(b)) >= DEFAULT_THRESHOLD

    assert same("Russia launches largest drone attack on Ukraine",
                "Russia launches its largest drone attack on Ukraine yet")
    assert not same("Russia launches largest drone attack on Ukraine",
                    "Ukraine launches largest drone attack on Moscow")
    assert not same("Death toll rises to 12 after strike on Dnipro",
                    "Death toll rises to 7 after strike on Dnipro")


RULES = [("drones", '"drone attack"'), ("kyiv", "Kyiv")]


def poll(path: Path) -> None:
    asyncio.run(poll_all(config_module.load(path)))


def setup(feed_server: FeedServer, webhook: Webhook, write_config: Any,
          feeds: dict[str, list[Item]], extra: str = "") -> Path:
    for name, items in feeds.items():
        feed_server.publish(f"/{name}.xml", rss(items), etag=f'"{name}-{len(items)}"')
    return write_config([(n, feed_server.url(f"/{n}.xml")) for n in feeds],
                        [("hook", webhook.apprise_url)], RULES, extra=extra)


def test_ten_outlets_one_story_one_alert(feed_server: FeedServer, webhook: Webhook,
                                         write_config: Any) -> None:
    headlines = ["Russia launches largest drone attack of the war on Ukraine",
                 "Russia launches its largest drone attack yet on Ukraine, officials say",
                 "Russia launches largest drone attack of the war on Ukraine - live",
                 "Ukraine: Russia launches largest drone attack of the war"]
    feeds = {f"outlet{i}": [Item(h, f"https://outlet{i}.example/story")]
             for i, h in enumerate(headlines)}
    path = setup(feed_server, webhook, write_config, feeds)
    poll(path)
    assert len(webhook.wait_for(1)) == 1
    listed = CliRunner().invoke(main, ["-c", str(path), "alerts", "--json"])
    [alert] = json.loads(listed.output)
    assert sorted([alert["feed"], *alert["also_reported_by"]]) == sorted(feeds)


def test_a_later_copy_alerts_again_only_for_a_rule_the_story_had_not_matched(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    first = {"a": [Item("Russia launches largest drone attack on Ukraine",
                        "https://a.example/1")]}
    path = setup(feed_server, webhook, write_config, first)
    poll(path)
    assert [m["title"] for m in webhook.wait_for(1)] == [first["a"][0].title]
    # A restart in between: stories are rebuilt from the database.
    both = {**first, "b": [Item("Russia launches largest drone attack on Ukraine's Kyiv",
                                "https://b.example/1")],
            "c": [Item("Russia launches largest drone attack on Ukraine, officials say",
                       "https://c.example/1")]}
    path = setup(feed_server, webhook, write_config, both)
    poll(path)
    titles = [m["title"] for m in webhook.wait_for(2)]
    assert titles == [first["a"][0].title, both["b"][0].title]  # 'kyiv' is new; c is not
    rows = json.loads(CliRunner().invoke(main, ["-c", str(path), "alerts", "--json"]).output)
    assert rows[0]["rules"] == ["kyiv"]


def test_different_stories_on_the_same_topic_both_alert(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    feeds = {"a": [Item("Russia launches largest drone attack on Ukraine", "https://a.example/1")],
             "b": [Item("Ukraine launches largest drone attack on Moscow", "https://b.example/1")]}
    poll(setup(feed_server, webhook, write_config, feeds))
    assert len(webhook.wait_for(2)) == 2


def test_story_grouping_can_be_turned_off(feed_server: FeedServer, webhook: Webhook,
                                          write_config: Any) -> None:
    feeds = {"a": [Item("Russia launches largest drone attack on Ukraine", "https://a.example/1")],
             "b": [Item("Russia launches largest drone attack on Ukraine", "https://b.example/2")]}
    poll(setup(feed_server, webhook, write_config, feeds, extra='story_window = "0s"'))
    assert len(webhook.wait_for(2)) == 2


_WORDS = ["Russia", "Ukraine", "drone", "attack", "largest", "Kyiv", "Odesa", "12", "7",
          "strikes", "port", "grain", "talks", "ceasefire", "the", "after", "on"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=7).map(" ".join),
                min_size=1, max_size=12),
       st.lists(st.sampled_from(_WORDS), min_size=1, max_size=7).map(" ".join),
       st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9, 1.0]))
def test_story_lookup_finds_what_comparing_with_every_story_finds(
        titles: list[str], title: str, threshold: float) -> None:
    """find() compares a headline only with stories sharing enough words; it must pick
    a story exactly as well as comparing with every story does."""
    from datetime import UTC, datetime

    when = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    stories = Stories(threshold=threshold)
    for i, t in enumerate(titles):
        stories.start(i + 1, f"feed{i}", t, {"r"}, when)
    key = headline_key(title)
    best = max((similarity(key, s.key) for s in stories.stories.values()), default=0.0)
    found = stories.find("elsewhere", title, when)
    if best >= threshold:
        assert found is not None and similarity(key, found.key) == best
    else:
        assert found is None
