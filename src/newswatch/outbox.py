"""What to send a target now: single alerts, digests, or nothing yet. Pure; clock passed in.

Per target, three settings shape delivery, and none of them drops anything:
- `digest = "1h"`: no single messages; once the oldest waiting alert has waited
  a full period, one message lists every waiting alert.
- `max_per_hour = N`: at most N messages in any hour; when more alerts wait
  than the hour has room for, the last message of the hour is a digest of all
  the rest, and when the hour is used up they wait for the next.
- `quiet_hours = "22:00-07:00"` (in the target's `timezone`): nothing is sent
  during them; what arrived meanwhile goes out as one digest when they end.
An alert of a rule with `priority = "high"` goes out at once, on its own, through
quiet hours and digests; only `max_per_hour` holds it (it is counted first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import Rule, Target
from .store import Outgoing
from .timestamps import parse_iso


@dataclass(frozen=True)
class Policy:
    digest: float = 0.0  # seconds; 0: send alerts one by one
    max_per_hour: int = 0  # 0: no limit
    quiet: tuple[time, time] | None = None  # local start and end
    timezone: str = "UTC"
    urgent: frozenset[str] = frozenset()  # rules with priority = "high"

    def quiet_period(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The quiet period containing `now`, or else the latest one that ended before it."""
        if self.quiet is None:
            return None
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        start_t, end_t = self.quiet
        for days_back in range(0, 3):
            day = (local - timedelta(days=days_back)).date()
            start = datetime.combine(day, start_t, zone)
            end = datetime.combine(day, end_t, zone)
            if end <= start:
                end += timedelta(days=1)  # crosses midnight
            if start <= local:
                return start, end
        return None

    def is_quiet(self, now: datetime) -> bool:
        period = self.quiet_period(now)
        return period is not None and period[0] <= now < period[1]


def policy(target: Target, rules: Iterable[Rule]) -> Policy:
    """A target's policy: its settings, and the rules whose alerts go through at once."""
    quiet = None
    if target.quiet_hours:
        quiet = (time.fromisoformat(target.quiet_hours[0].zfill(5)),
                 time.fromisoformat(target.quiet_hours[1].zfill(5)))
    urgent = frozenset(r.name for r in rules if r.priority == "high")
    return Policy(target.digest, target.max_per_hour, quiet, target.timezone, urgent)


def plan(policy: Policy, pending: list[Outgoing], now: datetime,
         messages_last_hour: int = 0) -> list[list[Outgoing]]:
    """The messages to send now, in order: each a list of alerts (one, or a digest)."""
    urgent = [a for a in pending if policy.urgent.intersection(a.rules)]
    rest = [a for a in pending if not policy.urgent.intersection(a.rules)]
    sends = [[a] for a in urgent] + _held_back(policy, rest, now)
    if policy.max_per_hour and sends:
        room = policy.max_per_hour - messages_last_hour
        if room <= 0:
            return []
        if len(sends) > room:
            overflow = [a for message in sends[room - 1:] for a in message]
            sends = [*sends[: room - 1], overflow]
    return sends


def _held_back(policy: Policy, pending: list[Outgoing], now: datetime) -> list[list[Outgoing]]:
    """The messages quiet hours and digests let through now."""
    if not pending or policy.is_quiet(now):
        return []
    sends: list[list[Outgoing]] = []
    rest = list(pending)
    period = policy.quiet_period(now)
    if period is not None:
        start, end = period
        held = [a for a in rest if start <= _created(a, now) < end]
        if held:
            sends.append(held)
            rest = [a for a in rest if a not in held]
    if policy.digest and rest:
        oldest = min(_created(a, now) for a in rest)
        if now - oldest >= timedelta(seconds=policy.digest):
            sends.append(rest)
        rest = []
    sends.extend([a] for a in rest)
    return sends


def _created(alert: Outgoing, now: datetime) -> datetime:
    return parse_iso(alert.created) or now


def waiting(policy: Policy, alert: Outgoing, pending: list[Outgoing], now: datetime,
            sent_last_hour: Sequence[datetime] = ()) -> tuple[str, datetime | None]:
    """Why a pending alert has not gone yet, and until when (None: not known).

    `pending`: every pending alert of its target (a digest waits for its oldest);
    `sent_last_hour`: when each message it took in the last hour was sent.
    """
    retry = parse_iso(alert.next_attempt) if alert.attempts else None
    if retry and retry > now:
        return f"retry {alert.attempts + 1}", retry
    if policy.max_per_hour and len(sent_last_hour) >= policy.max_per_hour:
        # room comes when enough of them are an hour old
        oldest_kept = sorted(sent_last_hour)[len(sent_last_hour) - policy.max_per_hour]
        return f"max_per_hour ({policy.max_per_hour}) reached", oldest_kept + timedelta(hours=1)
    if policy.urgent.intersection(alert.rules):
        return "sending", None
    if policy.is_quiet(now):
        period = policy.quiet_period(now)
        return "quiet hours", period[1] if period else None
    if policy.digest:
        oldest = min((_created(a, now) for a in pending), default=_created(alert, now))
        return "digest", oldest + timedelta(seconds=policy.digest)
    return "sending", None
