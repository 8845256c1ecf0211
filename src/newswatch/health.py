"""Is the daemon doing its job? What /healthz answers, from what the loops record.

Degraded (HTTP 503, with every reason) when: it is stopping; a loop has
stopped; the database does not take writes; feeds are overdue by more than
twice their interval; a parse worker is stuck past its time limit; alerts are
due but no delivery pass has run lately; most feeds get no answer at all (the
network is down); or the event loop was blocked for seconds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .delivery import EVERY as DELIVERY_EVERY
from .polling import TICK

if TYPE_CHECKING:
    from .daemon import Daemon

STALLED = timedelta(seconds=max(60.0, 4 * DELIVERY_EVERY))  # no delivery pass for this long
LAG_LIMIT = 5.0  # seconds the event loop may have been blocked lately


def problems(d: Daemon) -> list[str]:
    if d.stopping.is_set():
        return ["stopping"]
    p, found = d.pipeline, []
    clock = p.clock()
    for name, task in d.loops.items():
        if task.done():
            found.append(f"the {name} loop has stopped")
    if p.write_error:
        found.append(f"the database does not take writes: {p.write_error}")
    late: list[tuple[str, datetime]] = []
    try:
        late = p.store.overdue(d.config.feeds, clock)
    except Exception as e:  # noqa: BLE001 - a database that cannot be read is unhealthy
        found.append(f"the database cannot be read: {e}")
    if late:
        names = ", ".join(name for name, _ in late[:5]) + (" ..." if len(late) > 5 else "")
        found.append(f"{len(late)} feeds overdue by more than twice their interval: {names}")
    if stuck := p.parsers.stuck():
        found.append(f"{stuck} parse tasks stuck past their time limit")
    last = p.poller.last_tick
    if last is None or clock - last > timedelta(seconds=30 * TICK):
        found.append("the poll loop has not looked for due feeds lately")
    if _outbox_stalled(d, clock):
        found.append(f"alerts are due but no delivery pass has run for {STALLED}")
    if reason := p.poller.network.reason(clock):
        found.append(reason)
    if d.lag.recent > LAG_LIMIT:
        found.append(f"the event loop was blocked for {d.lag.recent:.1f} s")
    return found


def _outbox_stalled(d: Daemon, clock: datetime) -> bool:
    last = d.pipeline.delivery.last_pass
    if last is None or clock - last <= STALLED:
        return False
    return d.pipeline.store.due_count(clock) > 0


class LoopLag:
    """How late the event loop wakes a sleeper: a blocked loop wakes it late."""

    PERIOD = 0.25

    def __init__(self) -> None:
        self.worst = 0.0  # since start
        self.recent = 0.0  # over the last minute or so
        self._at = time.monotonic()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            before = time.monotonic()
            await asyncio.sleep(self.PERIOD)
            late = time.monotonic() - before - self.PERIOD
            self.worst = max(self.worst, late)
            if time.monotonic() - self._at > 60:
                self.recent, self._at = 0.0, time.monotonic()
            self.recent = max(self.recent, late)
