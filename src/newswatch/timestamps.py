"""Times as newswatch stores them: ISO 8601 UTC text, to the second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    """Timestamps are stored as ISO 8601 UTC text, which sorts by time: the year has
    four digits, also before 1000 (strftime's %Y writes 999 there)."""
    if not when:
        return None
    if when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    return when.isoformat(timespec="seconds")[:19] + "Z"


def iso_not_before(when: datetime | None) -> str | None:
    """iso() rounded up to the next whole second: a time not to act before (a feed's
    next poll) is never stored earlier than it is."""
    if when is not None and when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return iso(when)


def parse_iso(text: str | None) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) if text else None
