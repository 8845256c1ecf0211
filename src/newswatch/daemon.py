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
import signal
import socket
import sys
import time
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from . import config as config_module
from . import health
from .errors import ConfigError
from .fetch import Fetcher
from .health import LoopLag
from .models import Config, Feed
from .notify import Notifier
from .pipeline import Pipeline, PollResult
from .store import Store
from .timestamps import now
from .web import StatusServer
from .workers import Parsers

log = logging.getLogger(__name__)
DRAIN_SECONDS = 6.0
SETTLE_SECONDS = 3.0  # then, for a message on its way to be answered and recorded


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
        # What this instance held when it last stopped is free again at once (on a
        # shared database the others' leases stay: see delivery.Delivery._hold).
        store.release(config.settings.instance if store.shared else None, now())
        for alert in [] if store.shared else store.in_doubt():
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
    if not pipeline.delivery.record_unrecorded():
        log.error("alerts %s were accepted by their targets but could not be recorded: "
                  "the next start sends them again", ", ".join(
                      str(i) for ids, _ in pipeline.delivery.unrecorded for i in ids))
    try:  # the other instances need not wait for these leases to run out
        pipeline.store.release(pipeline.config.settings.instance, pipeline.clock())
    except Exception as e:  # noqa: BLE001 - they run out by themselves
        log.warning("could not hand back this instance's leases: %s", e)
    pipeline.store.close()


async def poll_all(config: Config) -> list[PollResult]:
    """`newswatch once`: poll every feed, deliver, return each feed's result."""
    pipeline = open_pipeline(config)

    async def poll(feed: Feed) -> PollResult:
        result = await pipeline.refresh(feed)
        if result.alerts:  # as the daemon does: alerts go out while other feeds are polled
            try:
                await pipeline.deliver()
            except Exception:  # noqa: BLE001 - the last pass below tries again
                log.exception("a delivery pass failed; the next one tries again")
        return result

    try:
        results = await asyncio.gather(*(poll(f) for f in config.feeds))
        try:
            await pipeline.embed()
        except Exception:  # noqa: BLE001 - the lexical alerts still go out
            log.exception("embedding articles for `about` rules failed; the next run retries")
        for result in results:  # `about` rules' alerts count for their articles' feeds
            result.alerts += pipeline.embedder.queued.pop(result.feed, 0)
        try:
            await pipeline.deliver()
        except Exception:  # noqa: BLE001 - alerts stay pending for the next run
            log.exception("delivering alerts failed; they stay pending for the next run")
        try:
            await pipeline.prune()
        except Exception as e:  # noqa: BLE001 - the next run prunes
            log.error("pruning old articles failed: %s", e)
        return list(results)
    finally:
        await close_pipeline(pipeline)


class Daemon:
    """Three loops (poll, embed, deliver) as tasks, housekeeping on a scheduler, and
    the signals. Each loop catches everything but cancellation, so none stops."""

    def __init__(self, config_path: Path, config: Config) -> None:
        self.config_path = config_path
        self.config = config
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.loops: dict[str, asyncio.Task[None]] = {}
        self.reloading = asyncio.Lock()
        self.lag = LoopLag()
        self.scheduler = AsyncIOScheduler(
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})

    async def run(self) -> None:
        self.pipeline = open_pipeline(self.config)
        try:
            self._install_signals()
            self.pipeline.poller.forget_backoff(self.config)
            self.scheduler.start()
            self.scheduler.add_job(self._prune, "interval", hours=1, id="prune",
                                   next_run_time=self.pipeline.clock() + timedelta(minutes=1))
            self._start_watchdog()
            p = self.pipeline
            self.loops = {"poll": self._loop(p.poller.run(self.stopping, self._spawn)),
                          "embed": self._loop(p.embedder.run(self.stopping)),
                          "deliver": self._loop(p.delivery.run(self.stopping)),
                          "lag": self._loop(self.lag.run(self.stopping))}
            self.web = None
            if self.config.settings.http_listen:
                self.web = StatusServer(self.pipeline.store, lambda: self.config,
                                        self._stats, self._unhealthy,
                                        breakers=lambda: self.pipeline.delivery.breakers)
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

    def _loop(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(self._loop_ended)
        return task

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("a loop stopped with an internal error", exc_info=task.exception())

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self.stop, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self._spawn_reload)

    def stop(self, why: str = "stop") -> None:
        if not self.stopping.is_set():
            log.info("%s received: stopping", why)
            self.stopping.set()

    async def _drain(self) -> None:
        self.scheduler.shutdown(wait=False)
        # Woken, the loops see `stopping` and start nothing new; work already started
        # (a poll, a delivery pass) gets DRAIN_SECONDS to finish.
        p = self.pipeline
        p.poller.finished.set()
        p.delivery.wake()
        p.embedder.wake()
        work = set(self.loops.values()) | self.tasks
        if work:
            _, pending = await asyncio.wait(work, timeout=DRAIN_SECONDS)
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

    async def _prune(self) -> None:
        try:
            await self.pipeline.prune()
        except Exception as e:  # noqa: BLE001 - tried again in an hour
            self.pipeline.write_failed(e)
            log.error("pruning old articles failed: %s; trying again in an hour", e)

    # -- reload and health -------------------------------------------------------

    def _spawn_reload(self) -> None:
        self._spawn(self.reload())

    async def reload(self) -> None:
        """Read the config in a thread; apply it between two steps of the loops: a poll
        already started finishes under the config it started with."""
        async with self.reloading:
            log.info("SIGHUP received: reloading %s", self.config_path)
            sd_notify("RELOADING=1")
            try:
                new = await asyncio.to_thread(config_module.load, self.config_path)
                notifier = await asyncio.to_thread(Notifier, new.targets, self.pipeline.notifier)
            except ConfigError as e:
                for problem in e.problems:
                    log.error("reload refused: %s", problem)
                log.error("reload refused: keeping the running configuration")
                sd_notify("READY=1")
                return
            started = time.monotonic()
            self._apply(new, notifier)
            log.info("reloaded: %d feeds, %d rules, %d targets (the loop paused %.0f ms)",
                     len(new.feeds), len(new.rules), len(new.targets),
                     (time.monotonic() - started) * 1000)
            sd_notify("READY=1")

    def _apply(self, new: Config, notifier: Notifier) -> None:
        if new.settings.database != self.config.settings.database:
            log.warning("a new database path takes effect only after a restart")
        if new.settings.http_listen != self.config.settings.http_listen:
            log.warning("a new [http] listen address takes effect only after a restart")
        try:
            self.pipeline.poller.schedule(new)
        except Exception as e:  # noqa: BLE001 - the poll loop syncs them when it can
            self.pipeline.write_failed(e)
            log.error("reload: the new feeds could not be scheduled yet (%s); the poll loop "
                      "tries again every second", e)
        self.config = new
        self.pipeline.reconfigure(new, notifier)
        self.pipeline.poller.finished.set()  # look for due feeds now

    def _stats(self) -> dict[str, float]:
        stats: dict[str, float] = dict(self.pipeline.stats)
        stats["loop_lag_max"] = self.lag.worst
        return stats

    def _unhealthy(self) -> str | None:
        """Why the daemon is not healthy, or None (for /healthz)."""
        return "; ".join(health.problems(self)) or None

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
