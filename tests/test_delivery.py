"""Delivery that cannot be jammed: one refused message never holds back the rest.

Against real local webhooks: a service that refuses one particular message,
one that takes only plain text, one that is down, one slower than its timeout,
and a target told of every alert that failed for good.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from newswatch import config as config_module
from newswatch.daemon import close_pipeline, open_pipeline
from newswatch.pipeline import Pipeline
from servers import FeedServer, Inbox, Item, Webhook, rss

TITLES = [f"Largest drone attack, wave {i}" for i in range(10)]


def write(tmp_path: Path, feed_server: FeedServer, targets: dict[str, str],
          extra: str = "", target_extra: str = "") -> Path:
    feed_server.publish("/wire.xml", rss([Item(t, f"https://n.example/{i}")
                                          for i, t in enumerate(TITLES)]))
    text = (f'[newswatch]\ndatabase = "nw.db"\nbackfill = "1d"\n{extra}\n'
            f'[[feeds]]\nname = "wire"\nurl = "{feed_server.url("/wire.xml")}"\n')
    for name, url in targets.items():
        text += f'[[targets]]\nname = "{name}"\nurl = "{url}"\n{target_extra}\n'
    text += "[[rules]]\nname = \"drones\"\nquery = '\"largest drone attack\"'\n"
    text += f"notify = {list(t for t in targets if t != 'ops')!r}\n".replace("'", '"')
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def run(path: Path, scenario: Callable[[Pipeline], Any]) -> Any:
    config = config_module.load(path)

    async def go() -> Any:
        pipeline = open_pipeline(config)
        try:
            await pipeline.refresh(config.feeds[0])
            return await scenario(pipeline)
        finally:
            await close_pipeline(pipeline)

    return asyncio.run(go())


def rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "nw.db") as conn:
        return conn.execute(sql).fetchall()


def test_a_refused_message_holds_back_none_behind_it(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    webhook.refuse = lambda payload: "wave 2" in payload.get("title", "")
    path = write(tmp_path, feed_server, {"hook": webhook.apprise_url})

    async def scenario(pipeline: Pipeline) -> int:
        return await pipeline.deliver()  # one delivery pass

    assert run(path, scenario) == 9
    assert [m["title"] for m in webhook.messages] == [t for t in TITLES if "wave 2" not in t]
    # Refused in both forms, rich then plain; waiting for its own retry.
    assert len(webhook.refused) == 2 and "**" not in webhook.refused[1]["message"]
    [(status, attempts, error)] = rows(
        tmp_path, "SELECT status, attempts, last_error FROM alerts WHERE status != 'sent'")
    assert (status, attempts) == ("pending", 1) and "error=400" in error


def test_a_message_refused_as_markup_goes_out_as_plain_text(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    # A service that cannot take the markdown of one message (as Telegram refuses
    # broken HTML): that message alone goes as plain text.
    webhook.refuse = lambda payload: ("wave 4" in payload.get("title", "")
                                      and "**" in payload.get("message", ""))
    path = write(tmp_path, feed_server, {"hook": webhook.apprise_url})

    async def scenario(pipeline: Pipeline) -> int:
        return await pipeline.deliver()

    assert run(path, scenario) == 10
    messages = {m["title"]: m["message"] for m in webhook.messages}
    assert set(messages) == set(TITLES)
    assert "**" not in messages[TITLES[4]] and "https://n.example/4" in messages[TITLES[4]]
    assert "**" in messages[TITLES[3]]  # the others keep their markup
    assert rows(tmp_path, "SELECT count(*) FROM alerts WHERE status = 'sent'") == [(10,)]


def test_a_target_that_is_down_is_left_alone_and_holds_back_no_other(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    path = write(tmp_path, feed_server, {"hook": webhook.apprise_url,
                                         "dead": "json://127.0.0.1:9/nothing-listens"})

    async def scenario(pipeline: Pipeline) -> tuple[int, int, int]:
        first = await pipeline.deliver()
        breaker = pipeline.delivery.breakers["dead"]
        assert breaker.open(pipeline.clock()) and "could not be reached" in breaker.why
        again = await pipeline.deliver()  # left alone: no new attempt meanwhile
        attempts = rows(tmp_path, "SELECT sum(attempts) FROM alerts WHERE target = 'dead'")
        return first, again, attempts[0][0]

    first, again, attempts = run(path, scenario)
    assert first == 10 and again == 0
    assert attempts == 1  # one connection refused; the nine behind it were not tried
    assert [m["title"] for m in webhook.messages] == TITLES
    # Each of the dead target's alerts is due again as soon as the target is retried.
    assert rows(tmp_path, "SELECT count(*) FROM alerts WHERE target = 'dead' AND "
                          "status = 'pending'") == [(10,)]


def test_the_breaker_closes_on_the_first_message_taken(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    # Every message refused (400): after three, the target itself is taken to be failing.
    webhook.refuse = lambda payload: True
    path = write(tmp_path, feed_server, {"hook": webhook.apprise_url})

    async def scenario(pipeline: Pipeline) -> tuple[int, int]:
        assert await pipeline.deliver() == 0
        assert pipeline.delivery.breakers["hook"].open(pipeline.clock())
        tried = rows(tmp_path, "SELECT count(*) FROM alerts WHERE attempts > 0")[0][0]
        webhook.refuse = lambda payload: False
        later = pipeline.clock() + timedelta(hours=2)
        pipeline.clock = lambda: later
        sent = await pipeline.deliver()
        breaker = pipeline.delivery.breakers["hook"]
        assert not breaker.open(later)
        # Closed for good by that success: failing again, it is left alone for the
        # first, shortest while again (retry_delay), not a longer one.
        feed_server.publish("/wire.xml", rss([Item(f"Largest drone attack, later {i}",
                                                   f"https://n.example/later/{i}")
                                              for i in range(3)]))
        await pipeline.refresh(pipeline.config.feeds[0])
        webhook.fail = True
        assert await pipeline.deliver() == 0
        assert breaker.until is not None and breaker.until - later == timedelta(seconds=30)
        return tried, sent

    assert run(path, scenario) == (3, 10)
    assert [m["title"] for m in webhook.messages] == TITLES  # in order


def test_a_target_slower_than_its_timeout_gets_it_again_reported_in_doubt(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook,
        caplog: pytest.LogCaptureFixture) -> None:
    TITLES[:] = TITLES[:2]
    try:
        webhook.slow_answer = 2.0  # acts on the message, answers after the 1 s timeout
        path = write(tmp_path, feed_server, {"hook": webhook.apprise_url},
                     target_extra='timeout = "1s"')

        async def scenario(pipeline: Pipeline) -> int:
            assert await pipeline.deliver() == 0
            webhook.slow_answer = 0.0
            later = pipeline.clock() + timedelta(hours=2)
            pipeline.clock = lambda: later
            return await pipeline.deliver()

        assert run(path, scenario) == 2
    finally:
        TITLES[:] = [f"Largest drone attack, wave {i}" for i in range(10)]
    titles = [m["title"] for m in webhook.messages]
    assert titles == ["Largest drone attack, wave 0"] * 2 + ["Largest drone attack, wave 1"]
    assert ("target=hook alert=1 was on its way when the target stopped answering"
            in caplog.text and "may arrive twice" in caplog.text)


def test_an_alert_that_failed_for_good_is_told_to_failures_to(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    ops = Webhook()
    try:
        webhook.refuse = lambda payload: "wave 7" in payload.get("title", "")
        path = write(tmp_path, feed_server, {"hook": webhook.apprise_url,
                                             "ops": ops.apprise_url},
                     extra='failures_to = "ops"\ngive_up = "1h"')

        async def scenario(pipeline: Pipeline) -> None:
            await pipeline.deliver()
            later = pipeline.clock() + timedelta(hours=2)  # past give_up
            pipeline.clock = lambda: later
            await pipeline.deliver()
            await pipeline.deliver()

        run(path, scenario)
        [notice] = ops.messages
        assert notice["title"] == "Largest drone attack, wave 7"
        assert "not delivered to hook" in notice["message"]
        assert rows(tmp_path, "SELECT count(*) FROM alerts WHERE status = 'failed'") == [(1,)]
        assert len(webhook.messages) == 9
    finally:
        ops.close()


def test_a_webhook_gets_each_alert_as_fields_not_only_markdown(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    path = write(tmp_path, feed_server, {"hook": webhook.apprise_url})

    async def scenario(pipeline: Pipeline) -> int:
        return await pipeline.deliver()

    assert run(path, scenario) == 10
    first = webhook.messages[0]
    [fields] = first["alerts"]
    assert fields["title"] == TITLES[0] and fields["link"] == "https://n.example/0"
    assert fields["feed"] == "wire" and fields["rules"] == ["drones"]
    assert isinstance(fields["alert_id"], int) and "**" not in fields["snippet"]


def test_a_long_headline_by_email_is_taken_and_holds_back_nothing(
        tmp_path: Path, feed_server: FeedServer, smtp: tuple[Inbox, int]) -> None:
    """A real SMTP server refuses a line over 1,000 bytes (`500 Line too long`), as the
    Subject of a 1,503-character headline was, unfolded."""
    inbox, port = smtp
    saved = TITLES[:]
    # apprise waits 5.5 s between two mails to one server: two messages are enough.
    TITLES[:] = ["Largest drone attack " + "and more words " * 100, TITLES[0]]
    try:
        url = (f"mailto://127.0.0.1:{port}?from=nw@example.com&to=me@example.com"
               "&secure=no&smtp=127.0.0.1")
        path = write(tmp_path, feed_server, {"mail": url})

        async def scenario(pipeline: Pipeline) -> int:
            return await pipeline.deliver()

        assert run(path, scenario) == 2
    finally:
        TITLES[:] = saved
    assert len(inbox.messages) == 2
    for message in inbox.messages:
        assert max(len(line) for line in message.splitlines()) <= 998


@pytest.mark.parametrize(("said", "kind"), [
    # what apprise 2 logs, as captured: the payload's own words decide nothing
    ([(10, "JSON Payload: {'title': 'Talks timed out, connection refused'}"),
      (30, "Failed to send JSON POST notification: Bad Request., error=400.")], "refused"),
    ([(30, "A Connection error occurred sending JSON POST to 127.0.0.1."),
      (10, "Socket Exception: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries "
           "exceeded (Caused by NewConnectionError('Failed to establish a new connection: "
           "[Errno 111] Connection refused'))")], "down"),
    ([(30, "A Connection error occurred sending JSON POST to 127.0.0.1."),
      (10, "Socket Exception: HTTPConnectionPool(host='127.0.0.1', port=80): Read timed "
           "out. (read timeout=1.0)")], "doubt"),
    ([(30, "Failed to send JSON POST notification: Service Unavailable., error=503.")],
     "down"),
    ([(30, "Failed to send JSON POST notification: Gateway Timeout., error=504.")], "doubt"),
    ([(30, 'Connection error while submitting email to "127.0.0.1"'),
      (10, "Socket Exception: Connection unexpectedly closed")], "doubt"),
])
def test_a_failed_send_is_told_from_what_apprise_said(said: list[tuple[int, str]],
                                                      kind: str) -> None:
    from newswatch.notify import classify

    outcome = classify(said, "hook")
    assert {"refused": outcome.refused, "down": outcome.down,
            "doubt": outcome.doubt}[kind], outcome


def test_alerts_refused_again_at_the_head_of_the_queue_hold_back_none_behind_them(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    poison = {TITLES[0], TITLES[1], TITLES[2]}
    webhook.refuse = lambda payload: payload.get("title") in poison
    path = write(tmp_path, feed_server, {"hook": webhook.apprise_url})

    async def scenario(pipeline: Pipeline) -> tuple[int, int]:
        first = await pipeline.deliver()  # three fresh refusals: the target is left alone
        later = pipeline.clock() + timedelta(hours=2)
        pipeline.clock = lambda: later
        return first, await pipeline.deliver()

    assert run(path, scenario) == (0, 7)
    assert [m["title"] for m in webhook.messages] == TITLES[3:]


def test_a_digest_too_long_for_its_service_marks_sent_only_what_it_shows(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    saved = TITLES[:]
    # json:// takes 32,768 characters: 300 entries of a digest do not fit in one.
    TITLES[:] = [f"Largest drone attack {i} " + "word " * 40 for i in range(300)]
    try:
        path = write(tmp_path, feed_server, {"hook": webhook.apprise_url},
                     target_extra='digest = "1m"')

        async def scenario(pipeline: Pipeline) -> list[int]:
            later = pipeline.clock() + timedelta(minutes=2)
            pipeline.clock = lambda: later
            return [await pipeline.deliver() for _ in range(4)]

        counts = run(path, scenario)
    finally:
        TITLES[:] = saved
    assert len(webhook.messages) >= 2 and sum(counts) == 300, counts
    shown = [a["link"] for m in webhook.messages for a in m["alerts"]]
    assert sorted(shown) == sorted(f"https://n.example/{i}" for i in range(300))
    for message in webhook.messages:  # what a digest lists is what it marked sent
        assert message["message"].count("https://n.example/") == len(message["alerts"])
    assert rows(tmp_path, "SELECT count(*) FROM alerts WHERE status = 'sent'") == [(300,)]
