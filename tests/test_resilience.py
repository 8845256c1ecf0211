"""`newswatch run` as a process under ordinary trouble: it never goes blind.

Reloads while parses are queued, a feed that burns CPU beside a healthy one,
the network going away and coming back, a full disk. After each, every feed
is polled again and a new matching article still alerts.
"""

from __future__ import annotations

import json
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from servers import FeedServer, Item, Webhook, rss
from test_daemon import Daemon, wait_until
from test_never_blind import burner

pytestmark = pytest.mark.slow
RULE = "[[rules]]\nname = \"drones\"\nquery = '\"largest drone attack\"'\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(tmp_path: Path, feed_server: FeedServer, webhook: Webhook, feeds: list[str],
           extra: str = "", interval: str = "1s") -> Path:
    text = (f'[newswatch]\ndatabase = "nw.db"\ninterval = "{interval}"\nmax_body = "20MB"\n'
            f"{extra}\n")
    for name in feeds:
        text += f'[[feeds]]\nname = "{name}"\nurl = "{feed_server.url(f"/{name}.xml")}"\n'
    text += f'[[targets]]\nname = "hook"\nurl = "{webhook.apprise_url}"\n' + RULE
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def healthz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())["status"]
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())["status"]


def stopped(daemon: Daemon) -> None:
    if daemon.proc.poll() is None:
        daemon.proc.kill()
        daemon.proc.wait()


def test_sighup_while_parses_are_queued_loses_no_feed(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    big = [f"big{i}" for i in range(12)]
    small = [f"small{i}" for i in range(3)]
    for name in big:
        feed_server.publish(f"/{name}.xml", burner(2500))
    for name in small:
        feed_server.publish(f"/{name}.xml", rss([Item(f"{name} news", f"https://s/{name}")]))
    path = config(tmp_path, feed_server, webhook, big + small, "parse_workers = 1",
                  interval="2s")
    daemon = Daemon(path)
    try:
        # Parses queue behind the one worker; reload three times meanwhile.
        assert wait_until(lambda: sum(feed_server.hits(f"/{n}.xml") for n in big) >= 6)
        for _ in range(3):
            daemon.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        assert wait_until(lambda: daemon.output().count("reloaded: 15 feeds") == 3)
        pauses = [float(m) for m in re.findall(r"the loop paused (\d+) ms", daemon.output())]
        assert len(pauses) == 3 and max(pauses) < 100, pauses
        polled = {n: feed_server.hits(f"/{n}.xml") for n in big + small}
        reloaded = time.monotonic()
        # Every feed is polled again: within two intervals of the first round's end.
        assert wait_until(lambda: all(feed_server.hits(f"/{n}.xml") >= polled[n] + 2
                                      for n in big + small), timeout=40), (
            {n: (polled[n], feed_server.hits(f"/{n}.xml")) for n in big + small},
            daemon.output()[-3000:])
        print(f"every feed polled twice more {time.monotonic() - reloaded:.1f} s after the "
              f"third SIGHUP; the loop paused {max(pauses):.0f} ms at most")
        assert daemon.stop() == 0
    finally:
        stopped(daemon)
    assert "Traceback" not in daemon.output()


def test_a_feed_that_burns_cpu_does_not_delay_a_healthy_one(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    healthy = [Item("Calm day", "https://h.example/0")]
    feed_server.publish("/burner.xml", burner())
    feed_server.publish("/healthy.xml", rss(healthy))
    path = config(tmp_path, feed_server, webhook, ["burner", "healthy"],
                  'parse_timeout = "3s"\nmax_backoff = "2s"')
    daemon = Daemon(path)
    try:
        assert wait_until(lambda: "parsing took longer than 3 s" in daemon.output(),
                          timeout=30), daemon.output()
        # The burner is polled and parsed again and again; a new article on the
        # healthy feed alerts within seconds all the same.
        healthy.append(Item("Largest drone attack on Kyiv", "https://h.example/1"))
        feed_server.publish("/healthy.xml", rss(healthy))
        published = time.monotonic()
        assert len(webhook.wait_for(1, timeout=15)) == 1, daemon.output()
        delay = time.monotonic() - published
        print(f"healthy alert {delay:.2f} s after publication")
        assert delay < 5, delay
        assert wait_until(lambda: daemon.output().count("parsing took longer") >= 2,
                          timeout=30)
        started = time.monotonic()
        assert daemon.stop() == 0
        print(f"SIGTERM: exited after {time.monotonic() - started:.2f} s")
        assert time.monotonic() - started < 10
    finally:
        stopped(daemon)


def test_an_outage_does_not_climb_backoff_and_recovery_polls_every_feed(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    names = [f"f{i}" for i in range(5)]
    for name in names:
        feed_server.publish(f"/{name}.xml", rss([Item(f"{name}", f"https://o/{name}")]))
    port = free_port()
    path = config(tmp_path, feed_server, webhook, names, f'max_backoff = "1h"\n\n'
                  f'[http]\nlisten = "127.0.0.1:{port}"\n')
    daemon = Daemon(path)
    try:
        assert wait_until(lambda: all(feed_server.hits(f"/{n}.xml") >= 2 for n in names))
        assert healthz(port) == (200, "ok")
        feed_server.go_down()  # connections refused, as with no network
        assert wait_until(lambda: healthz(port)[1].startswith("network down"), timeout=15), (
            healthz(port), daemon.output()[-2000:])
        assert healthz(port)[0] == 503
        time.sleep(12)  # feeds failing on a 1 s interval would back off to 16 s and more
        assert "the network looks down" in daemon.output()
        gaps: dict[str, float] = {}
        for _ in range(4):  # a feed caught mid-poll shows its claim's lease: look again
            with sqlite3.connect(tmp_path / "nw.db") as conn:
                for name, gap in conn.execute(
                        "SELECT name, round((julianday(next_poll) - julianday(last_poll)) "
                        "* 86400) FROM feeds"):
                    gaps[name] = min(gap, gaps.get(name, gap))
            time.sleep(0.4)
        assert all(gap <= 3 for gap in gaps.values()), gaps  # no backoff: the network
        feed_server.come_back()
        back = {n: feed_server.hits(f"/{n}.xml") for n in names}
        assert wait_until(lambda: all(feed_server.hits(f"/{n}.xml") > back[n] for n in names),
                          timeout=4), daemon.output()[-3000:]
        assert wait_until(lambda: healthz(port) == (200, "ok"), timeout=10)
        assert daemon.stop() == 0
    finally:
        stopped(daemon)


class _LoggedDaemon:
    """`newswatch run` whose log goes through a pipe: a file-size limit must not
    stop the test from reading it."""

    def __init__(self, config: Path) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "newswatch", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)


def _one_article(tmp_path: Path, feed_server: FeedServer,
                 webhook: Webhook) -> tuple[list[Item], int, Path]:
    """A feed with one matching article, and a config with a status page: (the feed's
    items, the page's port, the config's path)."""
    items = [Item("Largest drone attack on Sumy", "https://d.example/1")]
    feed_server.publish("/wire.xml", rss(items))
    port = free_port()
    return items, port, config(tmp_path, feed_server, webhook, ["wire"],
                               f'max_backoff = "2s"\n\n[http]\nlisten = "127.0.0.1:{port}"\n')


def test_a_full_disk_is_reported_and_polling_resumes_when_there_is_room(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    items, port, path = _one_article(tmp_path, feed_server, webhook)
    daemon = _LoggedDaemon(path)
    try:
        assert len(webhook.wait_for(1)) == 1, daemon.output()
        # The disk fills up: no file of the daemon's may grow past 4 KiB.
        unlimited = resource.RLIM_INFINITY
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (4096, unlimited))
        items.append(Item("Largest drone attack on Poltava", "https://d.example/2"))
        feed_server.publish("/wire.xml", rss(items))
        assert wait_until(lambda: "does not take writes" in healthz(port)[1], timeout=20), (
            healthz(port), daemon.output()[-3000:])
        assert daemon.proc.poll() is None
        assert webhook.received == 1
        # Room again: the feed is polled, its new article alerts, health is back.
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        assert len(webhook.wait_for(2, timeout=30)) == 2, daemon.output()[-3000:]
        assert wait_until(lambda: healthz(port) == (200, "ok"), timeout=10), healthz(port)
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0
    finally:
        daemon.close()
    assert "Traceback" not in daemon.output()


def test_a_message_accepted_while_the_disk_is_full_is_not_sent_again(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    items, _, path = _one_article(tmp_path, feed_server, webhook)
    unlimited = resource.RLIM_INFINITY
    daemon: _LoggedDaemon | None = None

    def disk_fills(payload: dict[str, Any]) -> None:
        # The disk fills while the target takes the message: it cannot be recorded.
        if daemon is not None and webhook.received == 0:
            resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (4096, unlimited))

    webhook.on_post = disk_fills
    daemon = _LoggedDaemon(path)
    try:
        assert len(webhook.wait_for(1)) == 1, daemon.output()
        assert wait_until(lambda: "cannot be recorded" in daemon.output(), timeout=20), \
            daemon.output()[-3000:]
        time.sleep(3)  # passes go by while the disk is full
        assert webhook.received == 1, daemon.output()[-3000:]
        resource.prlimit(daemon.proc.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        items.append(Item("Largest drone attack on Poltava", "https://d.example/2"))
        feed_server.publish("/wire.xml", rss(items))
        got = webhook.wait_for(2, timeout=30)
        time.sleep(2)  # a repeat would come with it
        assert [m["title"] for m in webhook.messages] == [
            "Largest drone attack on Sumy", "Largest drone attack on Poltava"], \
            daemon.output()[-3000:]
        assert len(got) == 2
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=10) == 0
    finally:
        daemon.close()
    # Recorded once there was room: a restart sends nothing again.
    with sqlite3.connect(tmp_path / "nw.db") as db:
        assert db.execute("SELECT status, sending FROM alerts ORDER BY id").fetchall() == [
            ("sent", None), ("sent", None)]
