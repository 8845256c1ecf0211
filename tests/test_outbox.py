"""Digests, hourly limits and quiet hours: nothing dropped, driven by an injected clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from newswatch import config as config_module
from newswatch.daemon import close_pipeline, open_pipeline
from newswatch.outbox import Policy, plan
from newswatch.store import Outgoing, iso
from servers import FeedServer, Item, Webhook, rss

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def alert(i: int, created: datetime) -> Outgoing:
    return Outgoing(i, "hook", ("r",), "", 0, "f", f"https://x.example/{i}", f"Story {i}", None,
                    None, iso(created))


def test_without_settings_every_alert_is_its_own_message() -> None:
    pending = [alert(i, T0) for i in range(3)]
    assert plan(Policy(), pending, T0) == [[a] for a in pending]


def test_digest_waits_a_full_period_then_lists_everything() -> None:
    pending = [alert(1, T0), alert(2, T0 + timedelta(minutes=40))]
    policy = Policy(digest=3600)
    assert plan(policy, pending, T0 + timedelta(minutes=59)) == []
    assert plan(policy, pending, T0 + timedelta(minutes=60)) == [pending]


def test_max_per_hour_turns_the_overflow_into_a_digest() -> None:
    pending = [alert(i, T0) for i in range(10)]
    policy = Policy(max_per_hour=3)
    assert plan(policy, pending, T0) == [[pending[0]], [pending[1]], pending[2:]]
    assert plan(policy, pending, T0, messages_last_hour=2) == [pending]
    assert plan(policy, pending, T0, messages_last_hour=3) == []  # the hour is used up


def test_quiet_hours_across_midnight_in_a_time_zone() -> None:
    # 22:00-07:00 in Kyiv (UTC+2 in November) is 20:00-05:00 UTC.
    policy = Policy(quiet=(time(22, 0), time(7, 0)), timezone="Europe/Kyiv")
    night = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    held = [alert(1, night), alert(2, night + timedelta(hours=5))]
    assert policy.is_quiet(night) and policy.is_quiet(night + timedelta(hours=7, minutes=29))
    assert plan(policy, held, night + timedelta(hours=6)) == []
    morning = datetime(2026, 11, 26, 5, 1, tzinfo=UTC)
    assert not policy.is_quiet(morning)
    later = alert(3, morning)
    assert plan(policy, [*held, later], morning) == [held, [later]]


@pytest.fixture
def daytime(feed_server: FeedServer, webhook: Webhook, write_config: Any) -> Any:
    """A config whose one target has quiet hours from 1 h to 3 h from now (UTC)."""
    real = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = real + timedelta(hours=1), real + timedelta(hours=3)
    items = [Item("Largest drone attack on Kyiv", "https://n.example/1"),
             Item("Section 333 funding approved", "https://n.example/2")]
    feed_server.publish("/wire.xml", rss(items))
    path = write_config([("wire", feed_server.url("/wire.xml"))], [("hook", webhook.apprise_url)],
                        [("drones", "drone attack"), ("s333", '"Section 333"')])
    text = path.read_text().replace(
        'url = "' + webhook.apprise_url + '"',
        f'url = "{webhook.apprise_url}"\nquiet_hours = "{start:%H:%M}-{end:%H:%M}"')
    path.write_text(text)
    return path, real


def test_alerts_found_in_quiet_hours_arrive_as_one_digest_when_they_end(
        daytime: Any, feed_server: FeedServer, webhook: Webhook) -> None:
    path, real = daytime
    clock = [real + timedelta(hours=2)]  # inside the quiet hours

    async def run() -> None:
        config = config_module.load(path)
        pipeline = open_pipeline(config)
        pipeline.clock = lambda: clock[0]
        try:
            await pipeline.refresh(config.feeds[0])
            await pipeline.deliver()
            assert webhook.messages == []  # held, not dropped
            clock[0] = real + timedelta(hours=3, minutes=1)
            await pipeline.deliver()
            [digest] = webhook.wait_for(1)
            assert digest["title"] == "newswatch: 2 alerts"
            assert "Largest drone attack on Kyiv" in digest["message"]
            assert "Section 333 funding approved" in digest["message"]
            feed_server.publish("/wire.xml", rss([
                Item("Another drone attack overnight", "https://n.example/3")]))
            await pipeline.refresh(config.feeds[0])
            await pipeline.deliver()
            later = webhook.wait_for(2)[1:]
            assert [m["title"] for m in later] == ["Another drone attack overnight"]
            assert pipeline.store.messages_sent("hook", clock[0] - timedelta(hours=1)) == 2
        finally:
            await close_pipeline(pipeline)

    asyncio.run(run())


@pytest.mark.parametrize(("line", "problem"), [
    ('quiet_hours = "22-07"', 'expected "HH:MM-HH:MM"'),
    ('timezone = "Mars/Olympus"', "unknown time zone"),
    ("max_per_hour = 0", "whole number of at least 1"),
    ('digest = "soon"', "digest"),
])
def test_bad_delivery_settings_are_refused(line: str, problem: str, write_config: Any,
                                           webhook: Webhook, tmp_path: Path) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "x")])
    path.write_text(path.read_text().replace(
        f'url = "{webhook.apprise_url}"', f'url = "{webhook.apprise_url}"\n{line}'))
    with pytest.raises(config_module.ConfigError) as e:
        config_module.load(path)
    assert problem in str(e.value) and 'targets[0] (name "hook")' in str(e.value)


def test_target_templates_shape_title_and_body(feed_server: FeedServer, webhook: Webhook,
                                               write_config: Any) -> None:
    from newswatch.daemon import poll_all

    feed_server.publish("/wire.xml", rss([Item("Largest drone attack on Kyiv",
                                               "https://n.example/1",
                                               description="Officials said the largest "
                                                           "drone attack hit Kyiv.")]))
    path = write_config([("wire", feed_server.url("/wire.xml"))], [("hook", webhook.apprise_url)],
                        [("drones", '"largest drone attack"')])
    path.write_text(path.read_text().replace(
        f'url = "{webhook.apprise_url}"',
        f'url = "{webhook.apprise_url}"\ntitle_template = "[$rules] $title"\n'
        'body_template = "$snippet | $link | $feed"'))
    asyncio.run(poll_all(config_module.load(path)))
    [message] = webhook.wait_for(1)
    assert message["title"] == "[drones] Largest drone attack on Kyiv"
    assert message["message"] == ("Officials said the **largest drone attack** hit Kyiv | "
                                  "https://n.example/1 | wire")  # Markdown: hits in bold


def test_a_template_with_an_unknown_field_is_refused(write_config: Any,
                                                     webhook: Webhook) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "x")])
    path.write_text(path.read_text().replace(
        f'url = "{webhook.apprise_url}"', f'url = "{webhook.apprise_url}"\n'
        'body_template = "$headline"'))
    with pytest.raises(config_module.ConfigError) as e:
        config_module.load(path)
    assert "body_template: unknown field $headline" in str(e.value)
