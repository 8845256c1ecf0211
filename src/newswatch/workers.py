"""Feed parsing in worker processes, so every core parses and the event loop stays free.

feedparser is pure Python and costs milliseconds per feed; in a thread it
would hold the GIL the loop and the sending threads need. Workers are
spawned fresh (never forked from the threaded daemon), ignore SIGINT and
SIGTERM (the daemon decides when they stop), and die with the daemon even
when it is killed with SIGKILL: no orphans.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .errors import ParseError
from .parse import ParsedFeed, parse_feed

PR_SET_PDEATHSIG = 1


def _start_worker(owner: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    threading.Thread(target=_exit_with, args=(owner,), daemon=True).start()


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent dies."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the watcher thread below does the same, within a second


def _exit_with(owner: int) -> None:
    """End this worker once its parent is gone (it was adopted by another process)."""
    while True:
        if os.getppid() != owner:
            os._exit(0)
        time.sleep(1.0)


class Parsers:
    """A pool of parser processes (or, with workers=0, a thread of this process)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.pool: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(os.getpid(),))
        return self.pool

    async def parse(self, feed: str, body: bytes, headers: dict[str, str]) -> ParsedFeed:
        if self.workers == 0:
            return await asyncio.to_thread(parse_feed, feed, body, headers)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), parse_feed, feed, body, headers)
        except BrokenProcessPool:
            self.close()  # a worker died (out of memory?): start afresh next time
            raise ParseError("the parser process died while reading this feed") from None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
