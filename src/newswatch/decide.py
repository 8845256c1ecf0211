"""What a poll's outcome means for a feed's stored state: pure, no I/O, clock passed in.

    stored FeedState + Outcome of one poll + the time + the network's state
        -> FeedUpdate: every column of the feed's row, including when to poll next

The store writes the update in one call. Rules:
- Success (200 or 304): errors reset; next poll after the feed's interval,
  lengthened by its own hints (ttl, max-age) up to `max_hint`, never sooner
  than a Retry-After; with a little jitter so feeds do not fall into step.
- Failure: the interval doubles per failure in a row, up to `max_backoff`, and
  never sooner than a Retry-After. 410 Gone disables the feed until its URL
  changes. A connection-level failure while the network is down does not
  count against the feed: it is tried again after its plain interval.
- A claim (written before the poll starts) moves the next poll past the longest
  a poll can take, so that a poll that never reports back - a crash, a killed
  process - costs the feed one lease, never its place in the schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .models import Feed, Settings
from .urls import redacted

MAX_DOUBLINGS = 16


@dataclass(frozen=True)
class FeedState:
    """A feed's stored row, as the poller needs it."""

    name: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error_count: int = 0
    next_poll: datetime | None = None
    polled: bool = False  # polled successfully at least once
    fetch_url: str | None = None  # where a permanent redirect pointed
    disabled: str | None = None  # why polling stopped (410 Gone)
    body_hash: str | None = None
    hold_until: datetime | None = None  # a Retry-After: not before this, even after a restart

    def for_url(self, url: str) -> FeedState:
        """The state that applies to polling `url`: a new URL starts afresh, as a new
        feed does (its first poll records the older articles there without alerting)."""
        if self.url == redacted(url):  # stored without its credentials
            return self
        return FeedState(self.name, error_count=0, next_poll=self.next_poll)


@dataclass(frozen=True)
class Outcome:
    """What one poll came to."""

    status: int | None = None  # the HTTP status, when there was one
    error: str | None = None  # None: the feed was read (or had not changed)
    network: bool = False  # a connection-level failure: DNS, refused, unreachable
    retry_after: float | None = None  # seconds the server asked us to wait
    hints: tuple[float | None, ...] = ()  # ttl, max-age: how often the feed changes
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    fetch_url: str | None = None  # after a permanent redirect

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class FeedUpdate:
    """Every column the poller writes for a feed."""

    name: str
    url: str
    fetch_url: str | None
    etag: str | None
    last_modified: str | None
    last_poll: datetime
    last_success: datetime | None  # None: leave as it was
    last_status: int | None
    last_error: str | None
    error_count: int
    body_hash: str | None
    disabled: str | None
    next_poll: datetime
    hold_until: datetime | None


def after_poll(feed: Feed, state: FeedState, outcome: Outcome, started: datetime,
               settings: Settings, network_down: bool = False,
               jitter: float = 1.0) -> FeedUpdate:
    """The feed's row after a poll that started at `started`. `jitter` in [0.95, 1]."""
    state = state.for_url(feed.url)
    hold = started + timedelta(seconds=outcome.retry_after) if outcome.retry_after else None
    base = FeedUpdate(
        feed.name, feed.url, outcome.fetch_url or state.fetch_url,
        outcome.etag or state.etag, outcome.last_modified or state.last_modified,
        started, None, outcome.status, outcome.error, state.error_count,
        outcome.body_hash or state.body_hash, None, started, hold)
    if outcome.ok:
        hinted = max((h for h in outcome.hints if h), default=0.0)
        interval = max(feed.interval, min(hinted, settings.max_hint)) * jitter
        wait = max(interval, outcome.retry_after or 0.0)
        return replace(base, last_success=started, error_count=0,
                       next_poll=started + timedelta(seconds=wait))
    if outcome.status == 410:
        return replace(base, error_count=state.error_count + 1, disabled=outcome.error,
                       next_poll=started + timedelta(seconds=settings.max_backoff))
    if outcome.network and network_down:
        # The network, not the feed: no backoff, so it is read again as soon as it is back.
        return replace(base, next_poll=started + timedelta(seconds=feed.interval * jitter))
    errors = state.error_count + 1
    wait = backoff(feed.interval, errors, settings.max_backoff)
    wait = max(wait, outcome.retry_after or 0.0)
    return replace(base, error_count=errors, next_poll=started + timedelta(seconds=wait))


def backoff(interval: float, errors: int, cap: float) -> float:
    """The wait after `errors` failures in a row: the interval, doubled per failure."""
    return max(interval, min(interval * 2.0 ** min(errors - 1, MAX_DOUBLINGS), cap))


def lease(feed: Feed, settings: Settings) -> timedelta:
    """How far a claim moves a feed's next poll: past the longest a poll can take (its
    fetch, its parse, and `failover` for the wait for a fetch slot)."""
    longest = settings.timeout + settings.parse_timeout + settings.failover
    return timedelta(seconds=max(feed.interval, longest))


def first_poll_after_start(feed: Feed, state: FeedState, now: datetime,
                           jitter: float) -> datetime:
    """When a feed is next polled after newswatch starts: as stored, but no later than
    one interval from now (a backoff from before the restart is forgotten, spread
    over that interval), and no sooner than a server's Retry-After. A feed already
    due within one interval keeps its time: another instance sharing the database
    may have just polled it."""
    if state.next_poll and state.next_poll <= now + timedelta(seconds=feed.interval):
        when = state.next_poll
    else:
        when = now + timedelta(seconds=feed.interval * jitter) if state.next_poll else now
    if state.hold_until and state.hold_until > when:
        when = state.hold_until
    return when


def after_reload(feed: Feed, state: FeedState, now: datetime) -> datetime:
    """When a feed is next polled after a reload: as stored, unless it is new or its URL
    changed, when it is due now."""
    return state.next_poll if state.url == redacted(feed.url) and state.next_poll else now
