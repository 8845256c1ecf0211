"""The long-running service: schedule polls, deliver alerts, obey signals.

SIGTERM/SIGINT drain: no new polls start, in-flight work gets a few seconds
to finish and is then cancelled (an unfinished poll commits nothing), the
database is closed, exit 0. SIGHUP reloads the config; an invalid file is
refused with its problems logged and the running config stays.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import sys
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from . import config as config_module
from .errors import ConfigError
from .fetch import Fetcher
from .models import Config, Feed
from .notify import Notifier
from .pipeline import Pipeline, PollResult
from .store import Store, now, parse_iso
from .web import StatusServer
from .workers import Parsers

log = logging.getLogger(__name__)
DRAIN_SECONDS = 6.0
SETTLE_SECONDS = 3.0  # then, for a message on its way to be answered and recorded
OUTBOX_EVERY = 15.0
EMBED_EVERY = 5.0  # seconds between looks at the embedding backlog


def sd_notify(message: str) -> None:
    """Tell systemd about readiness and health (a no-op outside systemd)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.sendto(message.encode(), address)
        except OSError as e:
            log.debug("sd_notify failed: %s", e)


def open_pipeline(config: Config) -> Pipeline:
    store = Store(config.settings.database)
    try:
        store.lock()
        for alert in store.in_doubt():
            log.warning("target=%s alert=%d was on its way when newswatch stopped (%s) without "
                        "an answer from the target: sent again, it may arrive twice",
                        alert["target"], alert["id"], alert["sending"])
    except Exception:
        store.close()
        raise
    return Pipeline(store, Fetcher(config.settings), Notifier(config.targets), config,
                    Parsers(config, config.settings.parse_workers))


async def close_pipeline(pipeline: Pipeline) -> None:
    await pipeline.notifier.settle(SETTLE_SECONDS)
    await pipeline.fetcher.aclose()
    pipeline.parsers.close()
    pipeline.store.close()


async def poll_all(config: Config) -> list[PollResult]:
    """`newswatch once`: poll every feed, deliver, return each feed's result."""
    pipeline = open_pipeline(config)

    async def poll(feed: Feed) -> PollResult:
        result = await pipeline.refresh(feed)
        if result.alerts:  # as the daemon does: alerts go out while other feeds are polled
            await pipeline.deliver()
        return result

    try:
        results = await asyncio.gather(*(poll(f) for f in config.feeds))
        await pipeline.embed()
        await pipeline.deliver()
        pipeline.prune()
        return list(results)
    finally:
        await close_pipeline(pipeline)


class Daemon:
    def __init__(self, config_path: Path, config: Config) -> None:
        self.config_path = config_path
        self.config = config
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.polling: set[str] = set()
        self.scheduler = AsyncIOScheduler(
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})

    async def run(self) -> None:
        self.pipeline = open_pipeline(self.config)
        try:
            self._install_signals()
            self.scheduler.start()
            for feed in self.config.feeds:
                self._schedule(feed)
            self.scheduler.add_job(self._spawn_delivery, "interval", seconds=OUTBOX_EVERY,
                                   id="outbox")
            if self.config.about_rules:
                self.scheduler.add_job(self._spawn_embedding, "interval", seconds=EMBED_EVERY,
                                       id="embed")
            self.scheduler.add_job(self._prune, "interval", hours=1, id="prune",
                                   next_run_time=now() + timedelta(minutes=1))
            self._start_watchdog()
            self.web = None
            if self.config.settings.http_listen:
                self.web = StatusServer(self.pipeline.store, lambda: self.config,
                                        lambda: dict(self.pipeline.stats), self._unhealthy)
                await self.web.start(self.config.settings.http_listen)
            sd_notify("READY=1\nSTATUS=polling")
            log.info("newswatch running: %d feeds, %d rules, %d targets",
                     len(self.config.feeds), len(self.config.rules), len(self.config.targets))
            await self.stopping.wait()
            sd_notify("STOPPING=1")
            if self.web is not None:
                await self.web.close()
            await self._drain()
        finally:
            await close_pipeline(self.pipeline)
        log.info("newswatch stopped")

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self.stop, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self.reload)

    def stop(self, why: str = "stop") -> None:
        if not self.stopping.is_set():
            log.info("%s received: stopping", why)
            self.stopping.set()

    async def _drain(self) -> None:
        self.scheduler.shutdown(wait=False)
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=DRAIN_SECONDS)
            for task in pending:
                task.cancel()
            if pending:
                log.info("abandoned %d unfinished tasks", len(pending))
                await asyncio.wait(pending, timeout=1.0)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        if self.stopping.is_set():
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("internal error", exc_info=task.exception())

    # -- polling -----------------------------------------------------------------

    def _schedule(self, feed: Feed, soon: bool = False) -> None:
        """Schedule a feed's next poll: its stored next_poll, or soon (with jitter)."""
        when = now() + timedelta(seconds=random.uniform(0, min(2.0, feed.interval / 10)))
        stored = parse_iso(self.pipeline.store.feed_state(feed.name).next_poll)
        if not soon and stored and stored > when:
            when = stored  # a restart does not poll early
        self.scheduler.add_job(self._spawn_poll, "date", run_date=when, args=[feed.name],
                               id=f"feed:{feed.name}", replace_existing=True)

    # Scheduler jobs are coroutines so they run on the event loop, not in a thread.
    async def _spawn_poll(self, name: str) -> None:
        self._spawn(self._poll(name))

    async def _poll(self, name: str) -> None:
        feed = next((f for f in self.config.feeds if f.name == name), None)
        if feed is None or name in self.polling:
            return
        self.polling.add(name)
        try:
            result = await self.pipeline.refresh(feed)
        finally:
            self.polling.discard(name)
        if not self.stopping.is_set() and any(f.name == name for f in self.config.feeds):
            self._schedule(feed)
        if result.alerts:
            await self.pipeline.deliver()
        if result.new and self.config.about_rules:
            self._spawn(self._embed())  # new articles: score them now, not at the next tick

    async def _prune(self) -> None:
        self.pipeline.prune()

    async def _spawn_delivery(self) -> None:
        self._spawn(self.pipeline.deliver())

    async def _spawn_embedding(self) -> None:
        self._spawn(self._embed())

    async def _embed(self) -> None:
        """Embed new articles for `about` rules (in a thread); deliver what they alert."""
        try:
            if await self.pipeline.embed():
                await self.pipeline.deliver()
        except Exception:  # noqa: BLE001 - a failing model must not stop polling
            log.exception("embedding articles for `about` rules failed; will retry")

    # -- reload and health -------------------------------------------------------

    def reload(self) -> None:
        log.info("SIGHUP received: reloading %s", self.config_path)
        sd_notify("RELOADING=1")
        try:
            new = config_module.load(self.config_path)
        except ConfigError as e:
            for problem in e.problems:
                log.error("reload refused: %s", problem)
            log.error("reload refused: keeping the running configuration")
            sd_notify("READY=1")
            return
        if new.settings.database != self.config.settings.database:
            log.warning("a new database path takes effect only after a restart")
        if new.settings.http_listen != self.config.settings.http_listen:
            log.warning("a new [http] listen address takes effect only after a restart")
        old_feeds = {f.name: f for f in self.config.feeds}
        self.config = new
        self.pipeline.reconfigure(new, Notifier(new.targets, self.pipeline.notifier))
        for name in old_feeds.keys() - {f.name for f in new.feeds}:
            if self.scheduler.get_job(f"feed:{name}"):
                self.scheduler.remove_job(f"feed:{name}")
        for feed in new.feeds:
            if feed.name not in old_feeds or old_feeds[feed.name].url != feed.url:
                self._schedule(feed, soon=True)
        wants_embedding = bool(new.about_rules)
        if wants_embedding and not self.scheduler.get_job("embed"):
            self.scheduler.add_job(self._spawn_embedding, "interval", seconds=EMBED_EVERY,
                                   id="embed")
        elif not wants_embedding and self.scheduler.get_job("embed"):
            self.scheduler.remove_job("embed")
        log.info("reloaded: %d feeds, %d rules, %d targets",
                 len(new.feeds), len(new.rules), len(new.targets))
        sd_notify("READY=1")

    def _unhealthy(self) -> str | None:
        """Why the daemon is not healthy, or None (for /healthz)."""
        if self.stopping.is_set():
            return "stopping"
        if not self.scheduler.running:
            return "scheduler not running"
        try:
            self.pipeline.store.conn.execute("SELECT 1").fetchone()
        except Exception as e:  # noqa: BLE001 - any database failure is unhealthy
            return f"database: {e}"
        return None

    def _start_watchdog(self) -> None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        if not usec.isdigit() or os.environ.get("WATCHDOG_PID", str(os.getpid())) != str(
                os.getpid()):
            return
        # Pinged from the event loop itself: a wedged loop stops the pings.
        self.scheduler.add_job(self._ping_watchdog, "interval", seconds=int(usec) / 2e6,
                               id="watchdog")

    async def _ping_watchdog(self) -> None:
        sd_notify("WATCHDOG=1")


def run(config_path: Path, config: Config) -> None:
    # Threads hand over the GIL every 0.5 ms instead of 5: a sending thread that has
    # its answer records it sooner while another thread parses a feed, which
    # narrows the window in which a crash can repeat an alert.
    sys.setswitchinterval(0.0005)
    asyncio.run(Daemon(config_path, config).run())
