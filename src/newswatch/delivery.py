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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .models import Settings
from .notify import REFUSALS_IN_A_ROW, Outcome
from .outbox import Policy, plan, policy
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
        self.breakers: dict[str, Breaker] = {}  # by target
        self.last_pass: datetime | None = None  # when a pass last finished
        self.held: set[str] = set()  # targets whose messages this instance sends (shared db)
        # Messages a target accepted that the database would not record (a full disk):
        # never sent again, and recorded as soon as it takes writes.
        self.unrecorded: list[tuple[list[int], datetime]] = []

    def wake(self) -> None:
        """Alerts were queued: send them now, not at the next pass."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        renewing = asyncio.get_running_loop().create_task(self._renew(stopping))
        try:
            await self._passes(stopping)
        finally:
            renewing.cancel()

    async def _renew(self, stopping: asyncio.Event) -> None:
        """On a shared database, keep the targets this instance sends for, also while a
        slow send is out: the lease runs out only when this process or its loop is dead."""
        while self.p.store.shared and not stopping.is_set():
            await asyncio.sleep(self.p.config.settings.failover / 3)
            for target in list(self.held):
                try:
                    self._hold(target, self.p.clock())
                except Exception as e:  # noqa: BLE001 - the next pass tries again
                    log.warning("target=%s could not renew its lease: %s", target, e)

    async def _passes(self, stopping: asyncio.Event) -> None:
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
                await asyncio.wait_for(self._wake.wait(), self._until_next())

    def _until_next(self) -> float:
        """Seconds until the next pass: EVERY, or sooner when a retry or a target left
        alone comes due before that."""
        clock = self.p.clock()
        times = [b.until for b in self.breakers.values() if b.until and b.until > clock]
        try:
            if due := self.p.store.next_attempt(clock):
                times.append(due)
        except Exception:  # noqa: BLE001 - a database that cannot be read: look again soon
            return EVERY
        soonest = min(((t - clock).total_seconds() for t in times), default=EVERY)
        return min(EVERY, max(0.5, soonest + 0.1))

    async def deliver(self) -> int:
        """Send every due pending alert; return how many were accepted."""
        async with self._delivering:
            self.record_unrecorded()
            pending = self.p.store.pending(self.p.notifier.names())
            if self.unrecorded:
                taken = {i for ids, _ in self.unrecorded for i in ids}
                pending = {t: [a for a in items if a.id not in taken]
                           for t, items in pending.items()}
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
        return policy(self.p.notifier.targets[target], self.p.config.rules)

    def _hold(self, target: str, clock: datetime) -> bool:
        """On a shared database: whether this instance sends the target's messages now.
        Taking it over from an instance that stopped answering, the messages that one
        left on their way are in doubt: they are sent again."""
        settings = self.p.config.settings
        me, until = settings.instance, clock + timedelta(seconds=settings.failover)
        before = self.p.store.hold_target(target, me, clock, until)
        if before is None:
            self.held.discard(target)
            return False
        self.held.add(target)
        if before != me:
            for alert in self.p.store.in_doubt_for(target):
                log.warning("target=%s alert=%d was on its way when %s stopped (%s) without "
                            "an answer from the target: sent again, it may arrive twice",
                            target, alert["id"], before or "another instance",
                            alert["sending"])
        return True

    async def _deliver_target(self, target: str, items: list[Outgoing]) -> int:
        clock = self.p.clock()
        if self.p.store.shared and not self._hold(target, clock):
            return 0  # another instance sends this target's messages
        breaker = self.breakers.setdefault(target, Breaker())
        if breaker.open(clock):
            return 0  # the target looks down: its alerts wait for it, the others go on
        # Each alert on its own schedule: one waiting to be retried holds back none
        # behind it, and those due keep their order.
        due = [a for a in items if not a.next_attempt or
               (parse_iso(a.next_attempt) or clock) <= clock]
        policy = self._policy(target)
        hour_ago = clock - timedelta(hours=1)
        recent = self.p.store.messages_sent(target, hour_ago) if policy.max_per_hour else 0
        messages = plan(policy, due, clock, recent)
        if not messages:
            return 0
        receipts = [_Receipt(self.p.store, [a.id for a in m], self.p.clock) for m in messages]
        fresh = [all(a.attempts == 0 for a in m) for m in messages]
        outcomes = await self.p.notifier.deliver(target, messages, receipts, fresh)
        breaker.record(outcomes, fresh, self.p.clock(), self.p.config.settings)
        sent = 0
        for message, receipt, outcome in zip(messages, receipts, outcomes, strict=False):
            if outcome.sent:
                sent += len(receipt.ids)
                self._sent(target, message[:len(receipt.ids)], outcome, receipt)
                if len(receipt.ids) < len(message):
                    self.wake()  # a digest that could not show them all: the rest next
            else:
                self._failed(target, message, outcome, breaker.until)
        if breaker.open(self.p.clock()):
            log.warning("target=%s looks down (%s): its alerts wait until %s", target,
                        breaker.why, iso(breaker.until))
        return sent

    def record_unrecorded(self) -> bool:
        """Write down the messages accepted while the database took no writes; return
        whether none is left."""
        while self.unrecorded:
            ids, when = self.unrecorded[0]
            try:
                self.p.store.mark_sent(ids, when)
            except Exception as e:  # noqa: BLE001 - kept, and tried again next pass
                log.warning("%d sent alerts are not recorded yet (%s): they are not sent "
                            "again", sum(len(i) for i, _ in self.unrecorded), e)
                return False
            self.unrecorded.pop(0)
        return True

    def _sent(self, target: str, message: list[Outgoing], outcome: Outcome,
              receipt: _Receipt) -> None:
        what = f"alert={message[0].id}" if len(message) == 1 else \
            f"digest of {len(message)} alerts"
        if not receipt.recorded:  # the sending thread's write failed (or it was sent before)
            ids, when = [a.id for a in message], receipt.when or self.p.clock()
            try:
                self.p.store.mark_sent(ids, when)
            except Exception as e:  # noqa: BLE001 - the database takes no writes now
                self.unrecorded.append((ids, when))
                log.error("target=%s %s was accepted but cannot be recorded (%s): it is "
                          "not sent again, and is recorded once the database takes writes",
                          target, what, e)
        if outcome.plain:
            log.warning("target=%s %s sent as plain text: the full message was refused (%s)",
                        target, what, outcome.error)
        else:
            log.info("target=%s %s sent", target, what)

    def _failed(self, target: str, message: list[Outgoing], outcome: Outcome,
                target_back: datetime | None) -> None:
        """Record a failed send of a message. Refused: the message waits its own retry
        delay. The target down or silent: the message is due again when the target is
        tried again (`target_back`, the breaker's time; kept in the database, so that a
        restart or the next `newswatch once` does not try it sooner)."""
        settings, clock = self.p.config.settings, self.p.clock()
        error = outcome.error or "not sent"
        for alert in message:
            retry_at = clock + retry_delay(alert.attempts + 1, settings.retry_delay,
                                           settings.retry_max) if outcome.refused \
                else target_back or clock
            created = parse_iso(alert.created) or clock
            give_up = clock - created >= timedelta(seconds=settings.give_up)
            # Unanswered, it may still be taken: it stays marked on its way till then.
            self.p.store.mark_failed_attempt(alert.id, error, retry_at, give_up,
                                             answered=not outcome.doubt)
            if outcome.doubt:
                log.warning("target=%s alert=%d was on its way when the target stopped "
                            "answering (%s): it is sent again, and may arrive twice",
                            target, alert.id, error)
            if give_up:
                log.error("target=%s alert=%d failed for good after %d attempts: %s "
                          "(`newswatch retry` sends it again)", target, alert.id,
                          alert.attempts + 1, error)
                self._tell_failures_to(target, alert, error)
            elif not outcome.doubt:
                log.warning("target=%s alert=%d not sent (attempt %d): %s; next try at %s",
                            target, alert.id, alert.attempts + 1, error, iso(retry_at))

    def _tell_failures_to(self, target: str, alert: Outgoing, error: str) -> None:
        """One notice of an alert that failed for good, to `failures_to` (not about itself)."""
        ops = self.p.config.settings.failures_to
        if ops and ops != target:
            self.p.store.add_alert(alert.article_id, ops, alert.rules,
                                   f"(not delivered to {target}: {error}) {alert.snippet}",
                                   self.p.clock())
            self.wake()


@dataclass
class Breaker:
    """A target that looks down is left alone for a growing while: no connection at all,
    no answer in time, or REFUSALS_IN_A_ROW different messages refused in a row. The
    first message it takes closes the breaker. In memory: a restart just tries again."""

    trips: int = 0  # in a row, for the growing wait
    until: datetime | None = None
    why: str = ""

    def open(self, now: datetime) -> bool:
        return self.until is not None and now < self.until

    def record(self, outcomes: Sequence[Outcome], fresh: Sequence[bool], now: datetime,
               settings: Settings) -> None:
        """`fresh`: for each message, whether it was never tried before (a retry refused
        again says nothing new of the target)."""
        if any(o.sent for o in outcomes):
            self.trips, self.until, self.why = 0, None, ""
        last = outcomes[-1] if outcomes else None
        refused = 0
        for o, new in reversed(list(zip(outcomes, fresh, strict=False))):
            if not o.refused:
                break
            refused += new
        if last is not None and (last.down or last.doubt or refused >= REFUSALS_IN_A_ROW):
            self.trips += 1
            self.until = now + retry_delay(self.trips, settings.retry_delay, settings.retry_max)
            self.why = (f"{refused} messages refused in a row" if last.refused
                        else last.error or "no answer")


@dataclass
class _Receipt:
    """A message's alerts marked leaving, then sent, from the thread that sends it."""

    store: Store
    ids: list[int]
    clock: Callable[[], datetime]
    recorded: bool = False  # marked sent by the thread that sent it
    when: datetime | None = None  # when the target accepted it

    def only(self, count: int) -> None:
        self.ids = self.ids[:count]

    def leaving(self) -> bool:
        return self.store.mark_sending(self.ids, self.clock()) > 0

    def accepted(self) -> None:
        self.when = self.clock()
        self.store.mark_sent(self.ids, self.when)
        self.recorded = True


