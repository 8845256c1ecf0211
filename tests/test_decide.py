"""The refresh decision on plain data: stored state + outcome + clock -> the feed's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch.decide import (
    FeedState,
    Outcome,
    after_poll,
    backoff,
    first_poll_after_start,
    lease,
)
from newswatch.models import Feed, Settings
from newswatch.network import Network

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
FEED = Feed("wire", "https://n.example/feed.xml", interval=900.0)
SETTINGS = Settings(database=Path("nw.db"), max_backoff=6 * 3600.0, max_hint=3600.0)
KNOWN = FeedState("wire", url=FEED.url, etag='"v1"', polled=True, body_hash="h1")


def minutes(update_next: datetime) -> float:
    return (update_next - T0).total_seconds() / 60


@pytest.mark.parametrize(("state", "outcome", "down", "next_in", "errors"), [
    # success: the interval; errors reset
    (KNOWN, Outcome(200, body_hash="h2"), False, 15, 0),
    (FeedState("wire", url=FEED.url, error_count=4), Outcome(304), False, 15, 0),
    # a ttl / max-age lengthens the interval up to max_hint, never shortens it
    (KNOWN, Outcome(200, hints=(7200.0, None)), False, 60, 0),
    (KNOWN, Outcome(200, hints=(60.0, 30.0)), False, 15, 0),
    # Retry-After beats the interval
    (KNOWN, Outcome(200, retry_after=3600.0), False, 60, 0),
    # failures double the interval each time, up to max_backoff
    (KNOWN, Outcome(500, "HTTP 500"), False, 15, 1),
    (FeedState("wire", url=FEED.url, error_count=1), Outcome(500, "HTTP 500"), False, 30, 2),
    (FeedState("wire", url=FEED.url, error_count=3), Outcome(500, "HTTP 500"), False, 120, 4),
    (FeedState("wire", url=FEED.url, error_count=40), Outcome(500, "x"), False, 360, 41),
    (KNOWN, Outcome(429, "HTTP 429", retry_after=7200.0), False, 120, 1),
    # the network down: a connection failure does not count against the feed
    (FeedState("wire", url=FEED.url, error_count=3), Outcome(error="refused", network=True),
     True, 15, 3),
    # ... but the same failure while other feeds answer does
    (FeedState("wire", url=FEED.url, error_count=3), Outcome(error="refused", network=True),
     False, 120, 4),
    # ... and a server's own error counts even while the network is down
    (FeedState("wire", url=FEED.url, error_count=3), Outcome(500, "HTTP 500"), True, 120, 4),
])
def test_next_poll_and_errors(state: FeedState, outcome: Outcome, down: bool, next_in: float,
                              errors: int) -> None:
    update = after_poll(FEED, state, outcome, T0, SETTINGS, network_down=down)
    assert minutes(update.next_poll) == next_in
    assert update.error_count == errors
    assert update.last_poll == T0
    assert update.last_error == outcome.error
    assert (update.last_success == T0) == outcome.ok


def test_success_keeps_what_it_did_not_learn_and_records_what_it_did() -> None:
    unchanged = after_poll(FEED, KNOWN, Outcome(304), T0, SETTINGS)
    assert (unchanged.etag, unchanged.body_hash) == ('"v1"', "h1")
    changed = after_poll(FEED, KNOWN, Outcome(200, etag='"v2"', body_hash="h2",
                                               fetch_url="https://m.example/f"), T0, SETTINGS)
    assert (changed.etag, changed.body_hash, changed.fetch_url) == (
        '"v2"', "h2", "https://m.example/f")


def test_gone_disables_and_a_new_url_starts_afresh() -> None:
    gone = after_poll(FEED, KNOWN, Outcome(410, "HTTP 410 Gone"), T0, SETTINGS)
    assert gone.disabled == "HTTP 410 Gone"
    moved = Feed("wire", "https://new.example/feed.xml", interval=900.0)
    stored = FeedState("wire", url=FEED.url, etag='"v1"', error_count=5, polled=True,
                       disabled="HTTP 410 Gone", body_hash="h1")
    fresh = stored.for_url(moved.url)
    assert (fresh.etag, fresh.body_hash, fresh.disabled, fresh.error_count) == (
        None, None, None, 0)
    assert not fresh.polled  # a first poll: old articles at the new address are not news
    update = after_poll(moved, stored, Outcome(200, body_hash="h9"), T0, SETTINGS)
    assert (update.url, update.etag, update.disabled) == (moved.url, None, None)


def test_jitter_only_ever_brings_a_poll_forward_a_little() -> None:
    early = after_poll(FEED, KNOWN, Outcome(200), T0, SETTINGS, jitter=0.95)
    assert 14 <= minutes(early.next_poll) < 15


def test_a_claim_outlasts_the_longest_poll() -> None:
    fast = Feed("fast", "https://f.example/", interval=1.0)
    assert lease(fast, SETTINGS) >= timedelta(seconds=SETTINGS.timeout + SETTINGS.parse_timeout)
    assert lease(FEED, SETTINGS) == timedelta(minutes=15)


def test_a_restart_forgets_backoff_but_not_retry_after() -> None:
    backed_off = FeedState("wire", url=FEED.url, error_count=9,
                           next_poll=T0 + timedelta(hours=6))
    assert first_poll_after_start(FEED, backed_off, T0, 1.0) == T0 + timedelta(minutes=15)
    held = FeedState("wire", url=FEED.url, next_poll=T0 + timedelta(hours=6),
                     hold_until=T0 + timedelta(hours=2))
    assert first_poll_after_start(FEED, held, T0, 1.0) == T0 + timedelta(hours=2)
    soon = FeedState("wire", url=FEED.url, next_poll=T0 + timedelta(minutes=3))
    assert first_poll_after_start(FEED, soon, T0, 1.0) == T0 + timedelta(minutes=3)
    assert first_poll_after_start(FEED, FeedState("wire"), T0, 1.0) == T0  # new: at once


def test_backoff_is_bounded_for_any_number_of_failures() -> None:
    assert backoff(900.0, 1, 21600.0) == 900.0
    assert backoff(900.0, 10**6, 21600.0) == 21600.0
    assert backoff(900.0, 1, 60.0) == 900.0  # never below the interval


def test_network_down_needs_most_feeds_failing_without_an_answer() -> None:
    net = Network()
    for i in range(3):
        net.record(f"f{i}", ok=False, when=T0, network=True)
    assert net.down(T0) and net.reason(T0)
    assert net.record("f3", ok=True, when=T0 + timedelta(seconds=1))  # back: says so once
    assert net.reason(T0 + timedelta(seconds=1)) is None

    answered = Network()  # servers answering with errors: the feeds, not the network
    for i in range(5):
        answered.record(f"f{i}", ok=False, when=T0, network=False)
    assert not answered.down(T0)

    few = Network()  # one host unreachable among many that answer
    for i in range(10):
        few.record(f"f{i}", ok=i > 1, when=T0, network=True)
    assert not few.down(T0)

    stale = Network()  # failures from long ago are forgotten
    for i in range(3):
        stale.record(f"f{i}", ok=False, when=T0, network=True)
    assert not stale.down(T0 + timedelta(minutes=10))
