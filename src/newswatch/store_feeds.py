"""The feeds table: each feed's state and its place in the schedule.

The schedule lives here, not in memory: every feed's next poll is a column.
The poll loop claims the feeds that are due (moving their next poll past the
longest a poll can take), and whatever the poll comes to writes the next one.
A lost task, a crash or a killed worker costs a feed one lease, never its place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from .decide import FeedState, FeedUpdate
from .models import Feed
from .timestamps import iso, iso_not_before, parse_iso
from .urls import has_credentials, redacted


class FeedRows:
    conn: Any
    backend: Any

    def feed_state(self, name: str) -> FeedState:
        rows = self._states("WHERE name = ?", [name])
        return rows.get(name) or FeedState(name)

    def _states(self, where: str = "", params: list[str] | None = None, lock: bool = False,
                ) -> dict[str, FeedState]:
        """The feeds' rows; `lock`: held till the transaction ends, on a database other
        instances share (their claims skip them meanwhile, their writes wait)."""
        suffix = " FOR UPDATE" if lock and self.backend.shared else ""
        rows = self.conn.execute(
            "SELECT name, url, etag, last_modified, error_count, next_poll, last_success, "
            f"fetch_url, disabled, body_hash, hold_until FROM feeds {where}{suffix}",
            params or [])
        return {r[0]: FeedState(r[0], r[1], r[2], r[3], r[4], parse_iso(r[5]),
                                r[6] is not None, r[7], r[8], r[9], parse_iso(r[10]))
                for r in rows}

    def apply(self, u: FeedUpdate) -> None:
        """Write what a poll came to (the row is created if need be)."""
        self.conn.execute("INSERT INTO feeds (name) VALUES (?) ON CONFLICT DO NOTHING",
                          [u.name])
        self.conn.execute(
            "UPDATE feeds SET url = ?, fetch_url = ?, etag = ?, last_modified = ?, "
            "last_poll = ?, last_success = coalesce(?, last_success), last_status = ?, "
            "last_error = ?, error_count = ?, body_hash = ?, disabled = ?, next_poll = ?, "
            "hold_until = ?, polls = polls + 1, leased_by = NULL WHERE name = ?",
            (_shown(u.url), _fetchable(u.fetch_url), u.etag, u.last_modified, iso(u.last_poll),
             iso(u.last_success), u.last_status, u.last_error, u.error_count, u.body_hash,
             u.disabled, iso_not_before(u.next_poll), iso_not_before(u.hold_until), u.name))

    def count_new(self, name: str, new_articles: int) -> None:
        self.conn.execute("UPDATE feeds SET articles_seen = articles_seen + ? WHERE name = ?",
                          (new_articles, name))

    def sync_feeds(self, feeds: Iterable[Feed], when: Callable[[Feed, FeedState], datetime],
                   clock: datetime) -> None:
        """Give every configured feed a row and its next poll, `when(feed, state)`, in
        one transaction (a changed URL also lifts a 410's stop)."""
        feeds = list(feeds)
        with self.transaction():
            # Read and written under lock: a time worked out from a row another
            # instance has since moved would poll that feed twice in one cycle.
            states = self._states(lock=True)
            self.conn.executemany("INSERT INTO feeds (name) VALUES (?) ON CONFLICT DO NOTHING",
                                  [(f.name,) for f in feeds if f.name not in states])
            rows = []
            for feed in feeds:
                state = states.get(feed.name) or FeedState(feed.name)
                moved = state.url is not None and state.url != _shown(feed.url)
                rows.append((iso(clock), iso(when(feed, state)), moved, feed.name))
            # A feed another instance (or this one) is polling keeps its lease: moved
            # earlier, it would be fetched twice in one cycle.
            self.conn.executemany(
                "UPDATE feeds SET next_poll = CASE WHEN leased_by IS NOT NULL AND next_poll > ? "
                "THEN next_poll ELSE ? END, disabled = CASE WHEN ? THEN NULL "
                "ELSE disabled END WHERE name = ?", rows)

    def claim_due(self, feeds: dict[str, Feed], now: datetime, limit: int,
                  lease: Callable[[Feed], timedelta], owner: str | None = None,
                  dead_before: datetime | None = None) -> list[Feed]:
        """The configured feeds whose next poll has come, soonest first (at most `limit`),
        each with its next poll moved on by its lease, in one transaction. On a shared
        database the rows are locked as they are read: another instance claiming at
        the same moment skips them, and finds them due again only once the lease ends,
        or once their instance was last seen alive (`beat`) before `dead_before`."""
        if limit <= 0 or not feeds:
            return []
        claimed: list[Feed] = []
        with self.transaction():
            if self.backend.shared:
                names = list(feeds)
                marks = ",".join("?" * len(names))
                rows = self.conn.execute(
                    "SELECT name FROM feeds WHERE (next_poll <= ? OR leased_by IN "
                    "(SELECT name FROM instances WHERE seen < ?)) AND disabled IS NULL "
                    f"AND name IN ({marks}) ORDER BY next_poll LIMIT ?"
                    f"{self.backend.claim_suffix}",
                    [iso(now), iso(dead_before or now - timedelta(days=3650)), *names, limit])
            else:  # one instance: reading every due row is cheaper than a long IN list
                rows = self.conn.execute(
                    "SELECT name FROM feeds WHERE next_poll <= ? AND disabled IS NULL "
                    "ORDER BY next_poll", [iso(now)])
            for (name,) in rows:
                if name in feeds:
                    claimed.append(feeds[name])
                    if len(claimed) == limit:
                        break
            self.conn.executemany("UPDATE feeds SET next_poll = ?, leased_by = ? WHERE name = ?",
                                  [(iso(now + lease(f)), owner, f.name) for f in claimed])
        return claimed

    def overdue(self, feeds: Iterable[Feed], now: datetime) -> list[tuple[str, datetime]]:
        """Configured feeds whose next poll is more than twice their interval past."""
        by_name = {f.name: f for f in feeds}
        if not by_name:
            return []
        shortest = min(f.interval for f in by_name.values())
        rows = self.conn.execute(
            "SELECT name, next_poll FROM feeds WHERE next_poll < ? AND disabled IS NULL",
            [iso(now - timedelta(seconds=2 * shortest))])
        late = []
        for name, next_poll in rows:
            due = parse_iso(next_poll)
            feed = by_name.get(name)
            if feed and due and now - due > timedelta(seconds=2 * feed.interval):
                late.append((name, due))
        return late

    def feeds(self) -> list[dict[str, Any]]:
        cursor = self.conn.execute("SELECT * FROM feeds ORDER BY name")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def transaction(self) -> Any:  # provided by Store
        raise NotImplementedError


def _shown(url: str | None) -> str | None:
    """A feed's URL as the database keeps it: credentials hidden (see urls.redacted)."""
    return redacted(url) if url else url


def _fetchable(url: str | None) -> str | None:
    """A permanent redirect's target, unless it carries a credential: then it is not
    kept, and the configured URL is fetched (and redirects) each time."""
    return None if url and has_credentials(url) else url
