"""Two `newswatch run` instances on one PostgreSQL database, feeds that keep publishing,
one instance SIGKILLed halfway: every matching article is delivered exactly once
(but for what the survivor says it resends in doubt), and no feed is fetched by
both instances in one cycle."""

from __future__ import annotations

import json
import random
import re
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newswatch.cli import main
from servers import FeedServer, Item, Webhook, rss
from test_daemon import Daemon, wait_until

pytestmark = pytest.mark.slow
FEEDS = [f"f{i}" for i in range(12)]
INTERVAL = 1.0


def config(tmp_path: Path, name: str, database: str, feed_server: FeedServer,
           webhook: Webhook, workers: int) -> Path:
    text = (f'[newswatch]\ndatabase = "{database}"\ninstance = "{name}"\n'
            f'interval = "{INTERVAL:g}s"\ntimeout = "2s"\nparse_timeout = "5s"\n'
            f'failover = "3s"\nparse_workers = {workers}\n')
    for feed in FEEDS:
        text += f'[[feeds]]\nname = "{feed}"\nurl = "{feed_server.url(f"/{feed}.xml")}"\n'
    text += (f'[[targets]]\nname = "hook"\nurl = "{webhook.apprise_url}"\n'
             "[[rules]]\nname = \"drones\"\nquery = '\"largest drone attack\"'\n")
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


class Newsroom:
    """Feeds that keep publishing: a matching article every `every` seconds somewhere."""

    def __init__(self, server: FeedServer) -> None:
        self.server, self.items = server, {f: [] for f in FEEDS}
        self.published: list[str] = []
        self.stop = threading.Event()
        for feed in FEEDS:
            server.publish(f"/{feed}.xml", rss([]))

    def run(self, every: float) -> None:
        rng = random.Random(7)
        while not self.stop.wait(every):
            feed, n = rng.choice(FEEDS), len(self.published)
            title = f"Largest drone attack report {n}"
            self.items[feed].insert(0, Item(title, f"https://n.example/{feed}/{n}"))
            self.server.publish(f"/{feed}.xml", rss(self.items[feed][:30]))
            self.published.append(title)


def test_two_instances_one_killed_deliver_every_article_once(
        tmp_path: Path, postgres: str, feed_server: FeedServer, webhook: Webhook) -> None:
    newsroom = Newsroom(feed_server)
    a = Daemon(config(tmp_path, "a", postgres, feed_server, webhook, workers=0))
    b = Daemon(config(tmp_path, "b", postgres, feed_server, webhook, workers=1))
    publisher = threading.Thread(target=newsroom.run, args=(0.25,), daemon=True)
    try:
        assert wait_until(lambda: "newswatch running" in a.output() + b.output(), 30)
        publisher.start()
        time.sleep(6)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        killed_at = time.monotonic()
        time.sleep(6)
        newsroom.stop.set()
        publisher.join()
        expected = set(newsroom.published)
        assert len(expected) > 30

        def received() -> Counter[str]:
            return Counter(m["title"] for m in webhook.messages)

        assert wait_until(lambda: set(received()) >= expected, 60), (
            sorted(expected - set(received()))[:5], b.output()[-3000:])
        time.sleep(2)  # nothing more should come
        repeats = {t: n for t, n in received().items() if n > 1}
        resent = len(re.findall(r"was on its way when a stopped", b.output()))
        assert sum(n - 1 for n in repeats.values()) <= resent, (repeats, resent)
        assert set(received()) == expected

        # The survivor polls every feed, and no feed was fetched by both instances in
        # one cycle: a feed's next poll is at least 0.95 of an interval after its
        # poll began, so a span of D seconds holds at most D / 0.95 + 1 fetches (one
        # more for a claimed feed that waited for a fetch slot); polled by both
        # instances, it would hold twice that.
        polls_after_kill = {p for t, p in feed_server.times if t > killed_at + 4}
        assert polls_after_kill == {f"/{feed}.xml" for feed in FEEDS}
        for feed in FEEDS:
            times = [t for t, path in feed_server.times if path == f"/{feed}.xml"]
            span = times[-1] - times[0]
            assert len(times) <= span / (0.95 * INTERVAL) + 2, (
                feed, [round(t - killed_at, 2) for t in times])
        assert b.stop() == 0
        rows = json.loads(CliRunner().invoke(
            main, ["--config", str(tmp_path / "b.toml"), "alerts", "--json", "--limit", "1000"]
        ).output)
        assert sorted(r["title"] for r in rows) == sorted(expected)
        assert {r["status"] for r in rows} == {"sent"}
    finally:
        newsroom.stop.set()
        for d in (a, b):
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()


def test_an_installation_moves_from_sqlite_to_postgresql(
        tmp_path: Path, postgres: str, feed_server: FeedServer, webhook: Webhook) -> None:
    feed_server.publish("/wire.xml", rss([Item("Largest drone attack on Kyiv", "https://n.example/1")]))
    sqlite = tmp_path / "sqlite.toml"
    sqlite.write_text(f'[newswatch]\ndatabase = "nw.db"\n[[feeds]]\nname = "wire"\n'
                      f'url = "{feed_server.url("/wire.xml")}"\n[[targets]]\nname = "hook"\n'
                      f'url = "{webhook.apprise_url}"\n'
                      "[[rules]]\nname = \"drones\"\nquery = '\"largest drone attack\"'\n")

    def run(path: Path, *args: str) -> Any:
        result = CliRunner().invoke(main, ["--config", str(path), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    run(sqlite, "once")
    assert len(webhook.wait_for(1)) == 1
    copied = run(sqlite, "db", "copy", str(tmp_path / "nw.db"), postgres)
    assert "alerts: 1 rows" in copied.output and "articles: 1 rows" in copied.output
    shared = tmp_path / "shared.toml"
    shared.write_text(sqlite.read_text().replace('database = "nw.db"',
                                                 f'database = "{postgres}"'))
    before = json.loads(run(sqlite, "alerts", "--json").output)
    assert json.loads(run(shared, "alerts", "--json").output) == before
    feed_server.publish("/wire.xml", rss([
        Item("Largest drone attack on Odesa", "https://n.example/2"),
        Item("Largest drone attack on Kyiv", "https://n.example/1")]))
    run(shared, "once")
    messages = webhook.wait_for(2)
    time.sleep(0.5)
    assert [m["title"] for m in webhook.messages] == [
        "Largest drone attack on Kyiv", "Largest drone attack on Odesa"]  # nothing again
    ids = [a["id"] for a in json.loads(run(shared, "alerts", "--json").output)]
    assert len(set(ids)) == 2 and max(ids) > before[0]["id"]
    again = CliRunner().invoke(main, ["db", "copy", str(tmp_path / "nw.db"), postgres])
    assert again.exit_code == 1 and "is not empty" in again.output
    assert messages


def pipelines(tmp_path: Path, postgres: str, feed_server: FeedServer,
              webhook: Webhook) -> list[Any]:
    from newswatch import config as config_module
    from newswatch.daemon import open_pipeline

    out = []
    for name in ("a", "b"):
        path = config(tmp_path, name, postgres, feed_server, webhook, workers=0)
        out.append(open_pipeline(config_module.load(path)))
    return out


def test_one_story_alerts_once_whichever_instance_meets_it(
        tmp_path: Path, postgres: str, feed_server: FeedServer, webhook: Webhook) -> None:
    import asyncio

    from newswatch.daemon import close_pipeline

    Newsroom(feed_server)
    feed_server.publish("/f0.xml", rss([Item("Largest drone attack on Kyiv overnight",
                                             "https://one.example/1")]))
    feed_server.publish("/f1.xml", rss([Item("Largest drone attack on Kyiv overnight - Two",
                                             "https://two.example/9")]))

    async def run() -> None:
        a, b = pipelines(tmp_path, postgres, feed_server, webhook)
        try:
            assert (await a.refresh(a.config.feed("f0"))).alerts == 1
            assert (await b.refresh(b.config.feed("f1"))).alerts == 0  # a's story
            await b.deliver()
            assert [m["title"] for m in webhook.wait_for(1)] == [
                "Largest drone attack on Kyiv overnight"]
        finally:
            await close_pipeline(a)
            await close_pipeline(b)

    asyncio.run(run())


def test_a_target_taken_over_from_a_dead_instance_resends_what_it_left_in_doubt(
        tmp_path: Path, postgres: str, feed_server: FeedServer, webhook: Webhook,
        caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    from datetime import timedelta

    from newswatch.daemon import close_pipeline

    Newsroom(feed_server)
    feed_server.publish("/f0.xml", rss([Item("Largest drone attack on Lviv",
                                             "https://one.example/2")]))

    async def run() -> None:
        a, b = pipelines(tmp_path, postgres, feed_server, webhook)
        try:
            await a.refresh(a.config.feed("f0"))
            clock = a.clock()
            assert a.delivery._hold("hook", clock)  # a sends this target's messages...
            [alert] = a.store.pending()["hook"]
            a.store.mark_sending([alert.id], clock)  # ... and dies with one on its way
            assert await b.deliver() == 0  # a's lease still runs: b leaves the target
            assert webhook.messages == []
            b.clock = lambda: clock + timedelta(seconds=4)  # failover = "3s" has passed
            assert await b.deliver() == 1
            assert [m["title"] for m in webhook.wait_for(1)] == ["Largest drone attack on Lviv"]
            assert "was on its way when a stopped" in caplog.text
            assert b.store.leases()["hook"][0] == "b"
        finally:
            await close_pipeline(b)
            await close_pipeline(a)

    asyncio.run(run())


def test_healthz_and_metrics_name_the_instance_that_answers(
        tmp_path: Path, postgres: str, feed_server: FeedServer, webhook: Webhook) -> None:
    import socket
    import urllib.request

    Newsroom(feed_server)
    daemons, ports = [], []
    try:
        for name in ("a", "b"):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
            path = config(tmp_path, name, postgres, feed_server, webhook, workers=0)
            path.write_text(path.read_text() + f'\n[http]\nlisten = "127.0.0.1:{ports[-1]}"\n')
            daemons.append(Daemon(path))

        def get(port: int, what: str) -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{what}", timeout=5) as r:
                return r.read().decode()

        def answering() -> bool:
            try:
                return all(get(p, "/healthz") for p in ports)
            except OSError:
                return False

        assert wait_until(answering, 30)
        for name, port in zip(("a", "b"), ports, strict=True):
            assert json.loads(get(port, "/healthz"))["instance"] == name
            assert f'newswatch_feeds{{instance="{name}"}} {len(FEEDS)}' in get(port, "/metrics")
        for d in daemons:
            assert d.stop() == 0
        # A feed being polled says by which instance (here: a claim made by hand).
        from datetime import timedelta

        from newswatch.models import Feed
        from newswatch.store import Store
        from newswatch.timestamps import now

        store = Store(postgres)
        store.conn.execute("UPDATE feeds SET next_poll = '2000-01-01T00:00:00Z'")
        feed = Feed("f3", feed_server.url("/f3.xml"))
        assert store.claim_due({"f3": feed}, now(), 1, lambda f: timedelta(hours=1), "c")
        store.close()
        listed = {r["name"]: r for r in json.loads(CliRunner().invoke(
            main, ["--config", str(tmp_path / "a.toml"), "feeds", "--json"]).output)}
        assert listed["f3"]["polled_by"] == "c" and listed["f4"]["polled_by"] is None
        table = CliRunner().invoke(main, ["--config", str(tmp_path / "a.toml"), "feeds"]).output
        assert "being polled by c" in table
    finally:
        for d in daemons:
            if d.proc.poll() is None:
                d.stop()
