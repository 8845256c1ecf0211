"""Where each target's alert of an article stands: sent (when), pending (why, and
until when), failed (why). Pure: what the store and the deliver loop hold is
passed in, with the time.

A pending alert's reason is the outbox's own (`outbox.waiting`), under the
same policy the deliver loop applies to its target; a target the deliver loop
left alone for a while (its breaker is open) says so and until when.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .outbox import Policy, waiting
from .store import Outgoing
from .store_status import AlertedArticle, TargetAlert
from .timestamps import parse_iso

if TYPE_CHECKING:
    from .delivery import Breaker


@dataclass(frozen=True)
class TargetState:
    target: str
    status: str  # sent | pending | failed
    why: str = ""  # pending: the outbox's reason ("retry 2", "quiet hours", ...)
    until: datetime | None = None  # pending: when that reason ends, if known
    when: datetime | None = None  # sent: when the target took it
    error: str = ""  # the last error a target answered (failed, or pending a retry)
    attempts: int = 0
    down_until: datetime | None = None  # the target looks down until then
    down_why: str = ""
    leaving: datetime | None = None  # a message carrying it left then, no answer yet


@dataclass(frozen=True)
class Outbox:
    """The outbox and the deliver loop as they are at `now`."""

    now: datetime
    policies: Mapping[str, Policy]  # by target; a target not there is no longer configured
    pending: Mapping[str, list[Outgoing]]  # every pending alert, by target
    recent: Mapping[str, Sequence[datetime]]  # when each target took its last hour's messages
    breakers: Mapping[str, Breaker]  # by target; empty when the deliver loop is not known

    def state(self, alert: TargetAlert, article: AlertedArticle) -> TargetState:
        if alert.status == "sent":
            return TargetState(alert.target, "sent", when=parse_iso(alert.sent))
        if alert.status != "pending":
            return TargetState(alert.target, alert.status, error=alert.last_error or "",
                               attempts=alert.attempts)
        why, until = self._waiting(alert, article)
        breaker = self.breakers.get(alert.target)
        down = breaker is not None and breaker.open(self.now)
        return TargetState(alert.target, "pending", why, until, error=alert.last_error or "",
                           attempts=alert.attempts,
                           down_until=breaker.until if down and breaker else None,
                           down_why=breaker.why if down and breaker else "",
                           leaving=parse_iso(alert.sending))

    def _waiting(self, alert: TargetAlert, article: AlertedArticle,
                 ) -> tuple[str, datetime | None]:
        chosen = self.policies.get(alert.target)
        if chosen is None:
            return "no such target in the configuration", None
        outgoing = Outgoing(alert.id, alert.target, alert.rules, alert.snippet,
                            alert.attempts, article.feed, article.url, article.title,
                            article.published, alert.next_attempt, alert.created, article.id)
        return waiting(chosen, outgoing, self.pending.get(alert.target, [outgoing]), self.now,
                       self.recent.get(alert.target, ()))
