"""The deliver loop: pending alerts -> messages -> each target, in order.

A pass sends every due pending alert, each target's from one thread; a target
that fails waits with a growing delay and holds back only its own alerts. An
alert is marked on its way before it leaves and sent only once the target
accepted it. The loop wakes when alerts are queued, and every `EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from .errors import NoAnswer, NotifyError
from .outbox import Policy, plan
from .store import Outgoing, Store, retry_delay
from .timestamps import iso, parse_iso

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)
EVERY = 15.0  # seconds between passes when nothing wakes the loop


class Delivery:
    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        self._delivering = asyncio.Lock()
        self._wake = asyncio.Event()
        self.passes = 0
        self.last_pass: datetime | None = None  # when a pass last finished

    def wake(self) -> None:
        """Alerts were queued: send them now, not at the next pass."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self._wake.clear()
            try:
                await self.deliver()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next pass tries again
                log.exception("a delivery pass failed; the next one tries again")
            self.last_pass = self.p.clock()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), EVERY)

    async def deliver(self) -> int:
        """Send every due pending alert; return how many were accepted."""
        async with self._delivering:
            self.passes += 1
            pending = self.p.store.pending(self.p.notifier.names())
            results = await asyncio.gather(
                *(self._deliver_target(t, items) for t, items in pending.items()),
                return_exceptions=True)
            sent = 0
            for target, result in zip(pending, results, strict=True):
                if isinstance(result, BaseException):  # one target's trouble, not the pass's
                    log.error("target=%s delivery failed: %s", target, result,
                              exc_info=result)
                else:
                    sent += result
            return sent

    def _policy(self, target: str) -> Policy:
        t = self.p.notifier.targets[target]
        quiet = None
        if t.quiet_hours:
            quiet = (time.fromisoformat(t.quiet_hours[0].zfill(5)),
                     time.fromisoformat(t.quiet_hours[1].zfill(5)))
        return Policy(t.digest, t.max_per_hour, quiet, t.timezone)

    async def _deliver_target(self, target: str, items: list[Outgoing]) -> int:
        clock = self.p.clock()
        due: list[Outgoing] = []
        for alert in items:
            when = parse_iso(alert.next_attempt)
            if when and when > clock:
                break  # keep this target's messages in order
            due.append(alert)
        policy = self._policy(target)
        hour_ago = clock - timedelta(hours=1)
        recent = self.p.store.messages_sent(target, hour_ago) if policy.max_per_hour else 0
        messages = plan(policy, due, clock, recent)
        sent = 0
        while messages:
            receipts = [_Receipt(self.p.store, [a.id for a in m], self.p.clock) for m in messages]
            done, error = await self.p.notifier.deliver(target, messages, receipts)
            for message in messages[:done]:
                sent += len(message)
                log.info("target=%s %s sent", target,
                         f"alert={message[0].id}" if len(message) == 1
                         else f"digest of {len(message)} alerts")
            if error is None or not self._failed(target, messages[done], error):
                break
            messages = messages[done + 1:]  # every alert of it failed for good: go on
        return sent

    def _failed(self, target: str, message: list[Outgoing], e: NotifyError) -> bool:
        """Record a failed send of a message; True if all its alerts have now given up."""
        settings, clock = self.p.config.settings, self.p.clock()
        all_given_up = True
        for alert in message:
            retry_at = clock + retry_delay(alert.attempts + 1, settings.retry_delay,
                                           settings.retry_max)
            created = parse_iso(alert.created) or clock
            give_up = clock - created >= timedelta(seconds=settings.give_up)
            # Unanswered, it may still be taken: it stays marked on its way till then.
            self.p.store.mark_failed_attempt(alert.id, str(e), retry_at, give_up,
                                           answered=not isinstance(e, NoAnswer))
            if give_up:
                log.error("target=%s alert=%d failed for good after %d attempts: %s "
                          "(`newswatch retry` sends it again)", target, alert.id,
                          alert.attempts + 1, e)
            else:
                all_given_up = False
                log.warning("target=%s alert=%d not sent (attempt %d): %s; next try at %s",
                            target, alert.id, alert.attempts + 1, e, iso(retry_at))
        return all_given_up


@dataclass
class _Receipt:
    """A message's alerts marked leaving, then sent, from the thread that sends it."""

    store: Store
    ids: list[int]
    clock: Callable[[], datetime]

    def leaving(self) -> bool:
        return self.store.mark_sending(self.ids, self.clock()) > 0

    def accepted(self) -> None:
        self.store.mark_sent(self.ids, self.clock())


