"""`newswatch run` as a real process: alerts, SIGHUP reloads, SIGTERM, restart."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from servers import FeedServer, Item, Webhook, rss

pytestmark = pytest.mark.slow


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


class Daemon:
    def __init__(self, config: Path) -> None:
        self.log = config.parent / f"daemon-{time.monotonic_ns()}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "newswatch", "--config", str(config), "run"],
                stdout=subprocess.DEVNULL, stderr=log)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)


def config_text(feed_url: str, hook_url: str, rules: dict[str, str]) -> str:
    text = (f'[newswatch]\ndatabase = "nw.db"\ninterval = "1s"\n\n'
            f'[[feeds]]\nname = "wire"\nurl = "{feed_url}"\n\n'
            f'[[targets]]\nname = "hook"\nurl = "{hook_url}"\n')
    for name, query in rules.items():
        text += f"\n[[rules]]\nname = \"{name}\"\nquery = '{query}'\n"
    return text


def test_daemon_alerts_reloads_stops_and_never_repeats(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    items = [Item("Largest drone attack on Kharkiv", "https://n.example/1")]
    url = feed_server.publish("/wire.xml", rss(items))
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"drones": '"largest drone attack"'}))

    daemon = Daemon(config)
    try:
        assert len(webhook.wait_for(1)) == 1, daemon.output()

        # A second daemon on the same database is refused.
        second = subprocess.run([sys.executable, "-m", "newswatch", "-c", str(config), "run"],
                                capture_output=True, text=True, timeout=20)
        assert second.returncode == 1
        assert "in use by another newswatch process" in second.stderr

        # A new item is picked up by the next poll.
        items.append(Item("Largest drone attack on Lviv", "https://n.example/2"))
        feed_server.publish("/wire.xml", rss(items))
        assert len(webhook.wait_for(2)) == 2, daemon.output()

        # SIGHUP: a new rule takes effect without a restart.
        config.write_text(config_text(url, webhook.apprise_url, {
            "drones": '"largest drone attack"', "s333": '"Section 333"'}))
        daemon.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "reloaded: 1 feeds, 2 rules" in daemon.output())
        items.append(Item("Section 333 aid approved", "https://n.example/3"))
        feed_server.publish("/wire.xml", rss(items))
        assert len(webhook.wait_for(3)) == 3, daemon.output()
        assert "matched: s333" in webhook.messages[2]["message"]

        # SIGHUP with a broken file: refused, the running config stays.
        config.write_text(config_text(url, webhook.apprise_url, {"bad": "(unbalanced"}))
        daemon.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "keeping the running configuration" in daemon.output())
        assert 'rules[0] (name "bad").query: unbalanced parenthesis' in daemon.output()
        items.append(Item("Section 333 review", "https://n.example/4"))
        feed_server.publish("/wire.xml", rss(items))
        assert len(webhook.wait_for(4)) == 4, daemon.output()
        assert daemon.proc.poll() is None

        # SIGTERM: a clean exit, well within 10 s.
        started = time.monotonic()
        assert daemon.stop() == 0
        assert time.monotonic() - started < 10
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()

    with sqlite3.connect(tmp_path / "nw.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM alerts WHERE status = 'sent'").fetchone() == (4,)

    # Restart: polls go on, nothing is sent twice.
    config.write_text(config_text(url, webhook.apprise_url, {
        "drones": '"largest drone attack"', "s333": '"Section 333"'}))
    polls_before = feed_server.hits("/wire.xml")
    daemon = Daemon(config)
    try:
        assert wait_until(lambda: feed_server.hits("/wire.xml") >= polls_before + 3)
        # A new article's alert proves a delivery pass ran since the restart: the
        # four sent before were not sent again by it.
        items.append(Item("Largest drone attack on Dnipro", "https://n.example/5"))
        feed_server.publish("/wire.xml", rss(items))
        assert len(webhook.wait_for(5)) == 5, daemon.output()
        time.sleep(1.0)
        assert [m["message"].count("Dnipro") for m in webhook.messages] == [0, 0, 0, 0, 1]
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
    assert "Traceback" not in daemon.output()


def test_sigterm_abandons_a_hung_fetch_and_exits_within_ten_seconds(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    url = feed_server.publish("/hang.xml", rss([]), delay=30)
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"d": "drone"}).replace(
        'interval = "1s"', 'interval = "1s"\ntimeout = "60s"'))
    daemon = Daemon(config)
    try:
        assert wait_until(lambda: feed_server.hits("/hang.xml") == 1)
        started = time.monotonic()
        assert daemon.stop() == 0
        assert time.monotonic() - started < 10
        assert "abandoned 1 unfinished tasks" in daemon.output()
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


def test_daemon_tells_systemd_it_is_ready_healthy_reloading_and_stopping(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    url = feed_server.publish("/wire.xml", rss([]))
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"d": "drone"}))
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(10)
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"}
    proc = subprocess.Popen([sys.executable, "-m", "newswatch", "-c", str(config), "run"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    messages: list[str] = []

    def receive_until(text: str) -> None:
        while not any(text in m for m in messages):
            messages.append(sock.recv(4096).decode())

    try:
        receive_until("READY=1")
        for _ in range(3):  # the pings keep coming while the loop is healthy
            messages.clear()
            receive_until("WATCHDOG=1")
        messages.clear()
        proc.send_signal(signal.SIGHUP)
        receive_until("RELOADING=1")
        receive_until("READY=1")
        proc.send_signal(signal.SIGTERM)
        receive_until("STOPPING=1")
        assert proc.wait(timeout=10) == 0
    finally:
        sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_parser_workers_die_with_a_killed_daemon(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    url = feed_server.publish("/wire.xml", rss([Item("Largest drone attack", "https://n.example/1")]))
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"d": '"largest drone attack"'}))
    daemon = Daemon(config)
    try:
        assert len(webhook.wait_for(1)) == 1  # a feed was parsed: the workers exist
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(daemon.proc.pid)],
                                  capture_output=True, text=True).stdout.split()
        assert children
        daemon.proc.kill()
        daemon.proc.wait()
        assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children),
                          timeout=5)
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


def test_sighup_adds_and_removes_feeds(tmp_path: Path, feed_server: FeedServer,
                                       webhook: Webhook) -> None:
    first = feed_server.publish("/one.xml", rss([]))
    second = feed_server.publish("/two.xml", rss([Item("Largest drone attack on Dnipro",
                                                       "https://n.example/dnipro")]))
    config = tmp_path / "config.toml"
    rules = {"drones": '"largest drone attack"'}
    config.write_text(config_text(first, webhook.apprise_url, rules))
    daemon = Daemon(config)
    try:
        assert wait_until(lambda: feed_server.hits("/one.xml") >= 1)
        assert feed_server.hits("/two.xml") == 0
        config.write_text(config_text(second, webhook.apprise_url, rules).replace(
            'name = "wire"', 'name = "second"'))  # "wire" removed, "second" added
        daemon.proc.send_signal(signal.SIGHUP)
        assert len(webhook.wait_for(1)) == 1, daemon.output()
        assert webhook.messages[0]["title"] == "Largest drone attack on Dnipro"
        polls_of_removed = feed_server.hits("/one.xml")
        time.sleep(2.5)  # several 1 s intervals
        assert feed_server.hits("/one.xml") == polls_of_removed
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_http_health_metrics_and_status_page(tmp_path: Path, feed_server: FeedServer,
                                             webhook: Webhook) -> None:
    import httpx

    items = [Item("Largest drone attack <on> Kharkiv & Sumy", "https://n.example/1")]
    url = feed_server.publish("/wire.xml", rss(items))
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"drones": '"largest drone attack"'})
                      + f'\n[http]\nlisten = "127.0.0.1:{port}"\n')
    daemon = Daemon(config)
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_until(answering), daemon.output()
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
        assert len(webhook.wait_for(1)) == 1
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        # Every sample names the instance; read them without that label.
        lines = dict(re.sub(r'instance="[^"]*",?', "", line).replace("{}", "").rsplit(" ", 1)
                     for line in metrics.text.splitlines() if not line.startswith("#"))
        assert float(lines["newswatch_polls_total"]) >= 1
        assert float(lines["newswatch_matches_total"]) == 1
        assert float(lines['newswatch_alerts{status="sent"}']) == 1
        assert time.time() - float(lines['newswatch_feed_last_success_timestamp_seconds'
                                         '{feed="wire"}']) < 60
        page = httpx.get(f"{base}/")
        assert page.headers["content-type"].startswith("text/html")
        assert "Largest drone attack &lt;on&gt; Kharkiv &amp; Sumy" in page.text
        assert "<td>wire</td>" in page.text
        assert webhook.apprise_url.split("://")[1] not in page.text  # never a target URL
        assert httpx.post(f"{base}/healthz").status_code == 405
        assert httpx.get(f"{base}/nope").status_code == 404
    finally:
        assert daemon.stop() == 0


def test_daemon_alerts_an_about_rule_from_its_embedding_backlog(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    paraphrase = "Kyiv endures heaviest UAV barrage since 2022 as Russia sends hundreds of drones"
    url = feed_server.publish("/wire.xml", rss([
        Item(paraphrase, "https://n.example/1"),
        Item("Amazon expands drone delivery to three more US cities", "https://n.example/2")]))
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"other": "Shakhtar"}) + (
        '\n[[rules]]\nname = "meaning"\n'
        'about = "Russia launches its largest drone attack on Ukraine"\n'
        "threshold = 0.835\nquery = 'Russia OR Russian'\n"))
    daemon = Daemon(config)
    try:
        messages = webhook.wait_for(1)
        assert [m["title"] for m in messages] == [paraphrase], daemon.output()
        time.sleep(1.5)  # more polls and passes: no repeat, no look-alike
        assert len(webhook.messages) == 1
    finally:
        assert daemon.stop() == 0


def test_a_daemon_killed_before_the_target_answered_sends_again_and_says_so(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    url = feed_server.publish("/wire.xml", rss([
        Item("Largest drone attack on Odesa", "https://n.example/odesa")]))
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"drones": '"largest drone attack"'}))
    webhook.slow_answer = 3.0  # the service acts on the message, its answer takes a while
    daemon = Daemon(config)
    assert wait_until(lambda: webhook.received == 1), daemon.output()
    daemon.proc.kill()  # before the answer came back: newswatch cannot know it arrived
    daemon.proc.wait()

    webhook.slow_answer = 0.0
    daemon = Daemon(config)
    try:
        # Sent again rather than risk losing it, and the log says it may be a repeat.
        assert len(webhook.wait_for(2)) == 2, daemon.output()
        assert wait_until(lambda: "target=hook alert=1 was on its way when newswatch stopped"
                          in daemon.output()), daemon.output()
    finally:
        assert daemon.stop() == 0
    # Accepted and recorded this time: a further restart sends only what is new.
    feed_server.publish("/wire.xml", rss([
        Item("Largest drone attack on Odesa", "https://n.example/odesa"),
        Item("Largest drone attack on Izmail", "https://n.example/izmail")]))
    daemon = Daemon(config)
    assert len(webhook.wait_for(3)) == 3, daemon.output()
    time.sleep(1.0)
    assert daemon.stop() == 0
    assert "Izmail" in webhook.messages[2]["message"] and len(webhook.messages) == 3
    assert "on its way" not in daemon.output()


def test_sigterm_while_a_target_is_slow_to_answer_records_the_answer_before_exit(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    url = feed_server.publish("/wire.xml", rss([
        Item("Largest drone attack on Dnipro", "https://n.example/dnipro")]))
    config = tmp_path / "config.toml"
    hook = webhook.apprise_url + "?rto=15"  # a target given 15 s to answer (apprise: 4 s)
    config.write_text(config_text(url, hook, {"drones": '"largest drone attack"'}))
    webhook.slow_answer = 7.0  # longer than the drain: the stop waits for it a little more
    daemon = Daemon(config)
    assert wait_until(lambda: webhook.received == 1), daemon.output()
    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10

    webhook.slow_answer = 0.0
    daemon = Daemon(config)
    time.sleep(2.5)
    assert daemon.stop() == 0
    assert "on its way" not in daemon.output()  # the answer was recorded: nothing in doubt
    assert len(webhook.messages) == 1


def test_a_target_slower_than_its_timeout_gets_the_alert_again_and_the_log_says_so(
        tmp_path: Path, feed_server: FeedServer, webhook: Webhook) -> None:
    url = feed_server.publish("/wire.xml", rss([
        Item("Largest drone attack on Kherson", "https://n.example/kherson")]))
    config = tmp_path / "config.toml"
    config.write_text(config_text(url, webhook.apprise_url, {"drones": '"largest drone attack"'})
                      .replace('url = "json://', 'timeout = "1s"\nurl = "json://')
                      .replace('interval = "1s"', 'interval = "1s"\nretry_delay = "1s"'))
    webhook.slow_answer = 2.0  # takes the message, answers after the target's 1 s timeout
    daemon = Daemon(config)
    try:
        assert wait_until(lambda: "may arrive twice" in daemon.output()), daemon.output()
        webhook.slow_answer = 0.0
        assert len(webhook.wait_for(2)) == 2, daemon.output()
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
    assert [m["title"] for m in webhook.messages] == ["Largest drone attack on Kherson"] * 2
    assert "target=hook alert=1 was on its way when the target stopped answering" in \
        daemon.output()
