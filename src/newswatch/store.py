"""The store: feed state, seen articles, and the alert outbox, in SQLite (the
default) or PostgreSQL (shared by any number of instances); see backends.py and
store_schema.py for the tables.

An alert is written in the same transaction that marks its article seen, so
a crash either loses neither (the feed is fetched again) or keeps both; it
is marked sent only after the target accepted it. While a message is out,
its alerts carry the time it left (`sending`): one still marked after a crash
may have reached the target before the process died, and is sent again.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .backends import Postgres, Sqlite, connect, database_errors
from .errors import StorageError
from .models import Article
from .store_feedback import FeedbackRows
from .store_feeds import FeedRows
from .store_leases import LeaseRows
from .store_schema import HAS_TEXT, SCHEMA_VERSION, migrate
from .store_seen import SeenRows
from .store_status import StatusRows
from .timestamps import iso, now, parse_iso

__all__ = ["SCHEMA_VERSION", "Outgoing", "Store", "iso"]



@dataclass(frozen=True)
class Outgoing:
    """A pending alert with what a message needs."""

    id: int
    target: str
    rules: tuple[str, ...]
    snippet: str
    attempts: int
    feed: str
    url: str
    title: str
    published: str | None
    next_attempt: str | None = None
    created: str | None = None
    article_id: int = 0


class Store(FeedRows, SeenRows, StatusRows, LeaseRows, FeedbackRows):
    def __init__(self, location: Path | str) -> None:
        self.backend: Sqlite | Postgres = connect(location)
        self.conn: Any = self.backend.conn
        self.path = Path(self.backend.name) if self.backend.kind == "sqlite" else None
        self._lock_file: int | None = None
        try:
            migrate(self.backend)
        except StorageError:
            self.backend.close()
            raise
        except Exception as e:
            self.backend.close()
            if not isinstance(e, database_errors()):
                raise
            raise StorageError(f"{self.backend.name}: cannot open database: {e}") from None

    @property
    def shared(self) -> bool:
        """Other instances may use this database at the same time (PostgreSQL)."""
        return self.backend.shared

    def close(self) -> None:
        self.backend.close()
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def lock(self) -> None:
        """Claim an SQLite file for this process; a second daemon is refused. (On
        PostgreSQL instances share the database: feeds and targets are leased.)"""
        if self.path is None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StorageError(
                f"{self.path} is in use by another newswatch process (pid {holder})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_file = fd

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute(self.backend.begin)
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def serialize_alerts(self) -> None:
        """In a transaction that queues alerts: no other instance queues any till it ends."""
        self.backend.serialize_alerts()

    def beat(self, when: datetime, instance: str | None = None) -> None:
        """A write that proves the database takes writes (raises when it does not), and
        that this instance is alive (on a shared database: see claim_due)."""
        self.conn.execute("INSERT INTO meta VALUES ('heartbeat', ?) ON CONFLICT (key) "
                          "DO UPDATE SET value = excluded.value", [iso(when)])
        if instance and self.shared:
            self.conn.execute("INSERT INTO instances VALUES (?, ?) ON CONFLICT (name) "
                              "DO UPDATE SET seen = excluded.seen", [instance, iso(when)])


    # -- articles ------------------------------------------------------------

    def add_articles(self, articles: Iterable[Article], found: datetime) -> dict[str, int]:
        """Record articles as seen; return the row ids of those stored now, by key.

        Call in a transaction. Two statements per 100 articles, not two per article:
        the articles' INSERT returns the ids of the rows it added.
        """
        stamp = iso(found)
        batch = list(articles)
        self.conn.executemany("INSERT INTO seen VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                              [(k, a.feed, stamp) for a in batch for k in a.identities()])
        ids: dict[str, int] = {}
        for i in range(0, len(batch), 100):
            chunk = batch[i : i + 100]
            rows = [(a.key, a.feed, a.url, a.title, a.summary, a.content, a.author,
                     json.dumps(list(a.categories)) if a.categories else None,
                     iso(a.published), stamp, a.language or None) for a in chunk]
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
            ids.update((key, row_id) for row_id, key in self.conn.execute(
                "INSERT INTO articles (key, feed, url, title, summary, content, "
                f"author, categories, published, found, language) VALUES {marks} "
                "ON CONFLICT DO NOTHING RETURNING id, key", [v for row in rows for v in row]))
        return ids

    def stored_articles(self, since: datetime, feed: str | None = None) -> Iterator[Article]:
        """Articles found since a time, newest first (those pruned: their title only)."""
        sql = (f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE found >= ?" +
               (" AND feed = ?" if feed else "") + " ORDER BY found DESC, id DESC")
        params = [iso(since), feed] if feed else [iso(since)]
        for r in self.conn.execute(sql, params):
            yield _article(r)

    def prune_text(self, before: datetime, limit: int = 1000) -> int:
        """Drop the text of up to `limit` articles found before a time (identities and
        alerts stay); return how many. Call again until it returns 0."""
        return int(self.conn.execute(PRUNE_TEXT, [iso(before), limit]).rowcount)

    def prune_rows(self, before: datetime, limit: int = 1000) -> int:
        """Delete up to `limit` articles found before a time that no alert refers to (with
        their vectors); return how many. What they were seen as stays in `seen`, so
        they never count as new again. Call again until it returns 0."""
        with self.transaction():
            ids = [r[0] for r in self.conn.execute(_UNALERTED, [iso(before), limit])]
            if not ids:
                return 0
            marks = ",".join("?" * len(ids))
            self.conn.execute(f"DELETE FROM vectors WHERE article_id IN ({marks})", ids)
            self.conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", ids)
        return len(ids)

    # -- vectors (semantic rules) -------------------------------------------

    def unembedded(self, model: str, since: datetime, limit: int = 64) -> list[Article]:
        """Articles found since a time without a vector from this model, oldest first."""
        rows = self.conn.execute(f"SELECT {_ARTICLE_COLUMNS} {_UNEMBEDDED} "
                                 "ORDER BY articles.id LIMIT ?", (iso(since), model, limit))
        return [_article(r) for r in rows]

    def embedding_backlog(self, model: str, since: datetime) -> int:
        row = self.conn.execute(f"SELECT count(*) {_UNEMBEDDED}", (iso(since), model))
        return int(row.fetchone()[0])

    def add_vectors(self, model: str, vectors: list[tuple[int, bytes]]) -> None:
        self.conn.executemany("INSERT INTO vectors VALUES (?, ?, ?) ON CONFLICT (article_id) "
                              "DO UPDATE SET model = excluded.model, vector = excluded.vector",
                              [(i, model, v) for i, v in vectors])

    def vectors(self, model: str, since: datetime) -> Iterator[tuple[Article, bytes]]:
        """Stored articles found since a time with their vectors from this model."""
        rows = self.conn.execute(
            f"SELECT {_ARTICLE_COLUMNS}, vector FROM articles JOIN vectors "
            "ON vectors.article_id = articles.id WHERE found >= ? AND model = ? "
            "ORDER BY articles.id DESC", (iso(since), model))
        for r in rows:
            yield _article(r), r[-1]

    # -- stories -------------------------------------------------------------

    def set_story(self, article_id: int, story_id: int) -> None:
        self.conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article_id))

    def story_articles(self, since: datetime, after: int = 0,
                       ) -> list[tuple[int, int, str, str, str, list[str]]]:
        """(story id, article id, feed, title, found, rules alerted) of every article in a
        story, found since a time (and stored after article `after`), oldest first."""
        where = "story_id IS NOT NULL AND found >= ? AND articles.id > ?"
        rows = self.conn.execute(
            f"SELECT story_id, articles.id, feed, title, found FROM articles WHERE {where} "
            "ORDER BY articles.id", [iso(since), after]).fetchall()
        alerted: dict[int, set[str]] = {}
        for article_id, rules in self.conn.execute(
                "SELECT article_id, rules FROM alerts WHERE article_id IN "
                f"(SELECT id FROM articles WHERE {where})", [iso(since), after]):
            alerted.setdefault(article_id, set()).update(json.loads(rules or "[]"))
        return [(story_id, article_id, feed, title or "", found,
                 sorted(alerted.get(article_id, ())))
                for story_id, article_id, feed, title, found in rows]

    def also_reported_by(self, article_id: int) -> list[str]:
        """The other feeds that carried an article's story."""
        return [r[0] for r in self.conn.execute(
            "SELECT b.feed FROM articles a JOIN articles b ON b.story_id = a.story_id "
            "WHERE a.id = ? AND b.id != a.id AND b.feed != a.feed GROUP BY b.feed "
            "ORDER BY min(b.id)", [article_id])]

    # -- alerts --------------------------------------------------------------

    def add_alert(self, article_id: int, target: str, rules: Iterable[str], snippet: str,
                  created: datetime) -> None:
        self.conn.execute(
            "INSERT INTO alerts (article_id, target, rules, snippet, status, created, "
            "attempts, next_attempt) VALUES (?, ?, ?, ?, 'pending', ?, 0, ?) "
            "ON CONFLICT DO NOTHING",
            (article_id, target, json.dumps(list(rules)), snippet, iso(created), iso(created)))

    def next_attempt(self, after: datetime) -> datetime | None:
        """When the first pending alert waiting for a retry is to be tried, after a time
        (those due already wait on something else: a digest, quiet hours, their target)."""
        row = self.conn.execute("SELECT min(next_attempt) FROM alerts "
                                "WHERE status = 'pending' AND next_attempt > ?",
                                [iso(after)]).fetchone()
        return parse_iso(row[0])

    def due_count(self, when: datetime) -> int:
        """Pending alerts whose next attempt has come."""
        row = self.conn.execute("SELECT count(*) FROM alerts WHERE status = 'pending' "
                                "AND next_attempt <= ?", [iso(when)]).fetchone()
        return int(row[0])

    def pending(self, targets: Iterable[str] | None = None) -> dict[str, list[Outgoing]]:
        """Pending alerts by target, oldest first."""
        rows = self.conn.execute(
            "SELECT alerts.id, target, rules, snippet, attempts, articles.feed, articles.url, "
            "articles.title, articles.published, alerts.next_attempt, alerts.created, "
            "alerts.article_id "
            "FROM alerts JOIN articles "
            "ON articles.id = alerts.article_id WHERE status = 'pending' ORDER BY alerts.id")
        wanted = set(targets) if targets is not None else None
        out: dict[str, list[Outgoing]] = {}
        for r in rows:
            if wanted is None or r[1] in wanted:
                out.setdefault(r[1], []).append(
                    Outgoing(r[0], r[1], tuple(json.loads(r[2])), r[3] or "", r[4], r[5],
                             r[6] or "", r[7] or "", r[8], r[9], r[10], r[11]))
        return out

    def mark_sending(self, alert_ids: list[int], when: datetime) -> int:
        """Record that a message carrying these alerts is leaving; return how many of them
        were not sent already. Callable from any thread."""
        marks = ",".join("?" * len(alert_ids))
        return self.backend.in_thread(
            f"UPDATE alerts SET sending = ? WHERE id IN ({marks}) AND status != 'sent'",
            (iso(when), *alert_ids)) if alert_ids else 0

    def mark_sent(self, alert_ids: list[int], when: datetime) -> None:
        """Record that a target accepted one message carrying these alerts (several: a
        digest); callable from any thread."""
        marks = ",".join("?" * len(alert_ids))
        batch = min(alert_ids) if len(alert_ids) > 1 else None
        if alert_ids:
            self.backend.in_thread(
                "UPDATE alerts SET status = 'sent', sent = ?, attempts = attempts + 1, "
                f"last_error = NULL, sending = NULL, batch = ? WHERE id IN ({marks}) "
                "AND status != 'sent'", (iso(when), batch, *alert_ids))

    def in_doubt(self) -> list[dict[str, Any]]:
        """Alerts whose message was leaving when a process stopped without an answer:
        the target may have received them. Clears the marks; call once, at start."""
        return self.in_doubt_for(None)

    def in_doubt_for(self, target: str | None) -> list[dict[str, Any]]:
        """in_doubt for one target's alerts (None: every target's)."""
        where = "alerts.sending IS NOT NULL" + (" AND alerts.target = ?" if target else "")
        params = [target] if target else []
        rows = dicts(self.conn.execute(
            "SELECT alerts.id, alerts.target, alerts.sending, articles.url FROM alerts "
            f"JOIN articles ON articles.id = alerts.article_id WHERE {where} "
            "ORDER BY alerts.id", params))
        if rows:
            self.conn.execute(f"UPDATE alerts SET sending = NULL WHERE {where}"
                              .replace("alerts.", ""), params)
        return rows

    def messages_sent(self, target: str, since: datetime) -> int:
        """Messages (a digest counts once) a target accepted since a time."""
        return len(self.message_times(target, since))

    def message_times(self, target: str, since: datetime) -> list[datetime]:
        """When each message (a digest counts once) a target accepted since a time was
        sent, oldest first."""
        rows = self.conn.execute(
            "SELECT min(sent) FROM alerts WHERE target = ? AND status = 'sent' AND sent >= ? "
            "GROUP BY coalesce(batch, id) ORDER BY 1", (target, iso(since))).fetchall()
        return [when for (sent,) in rows if (when := parse_iso(sent))]

    def mark_failed_attempt(self, alert_id: int, error: str, retry_at: datetime,
                            give_up: bool = False, answered: bool = True) -> None:
        """Record a send the target refused (answered) or left unanswered; an
        unanswered one stays marked on its way, as the target may yet take it."""
        self.conn.execute(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ?, next_attempt = ?, "
            "status = ?, sending = CASE WHEN ? THEN NULL ELSE sending END WHERE id = ?",
            (error, iso(retry_at), "failed" if give_up else "pending", answered, alert_id))

    def retry_failed(self, target: str | None = None) -> int:
        """Put failed alerts back in the outbox, to be sent at once."""
        sql = ("UPDATE alerts SET status = 'pending', attempts = 0, next_attempt = ? "
               "WHERE status = 'failed'" + (" AND target = ?" if target else ""))
        params = [iso(now()), target] if target else [iso(now())]
        return int(self.conn.execute(sql, params).rowcount)

    def alerts(self, limit: int = 50, status: str | None = None, rule: str | None = None,
               feed: str | None = None, since: datetime | None = None,
               ) -> list[dict[str, Any]]:
        """The latest alerts, newest first, of a status, a rule, a feed, since a time."""
        filters = {"alerts.status = ?": status, "articles.feed = ?": feed,
                   "alerts.created >= ?": iso(since) if since else None,
                   self.backend.contains("alerts.rules"): json.dumps(rule) if rule else None}
        chosen = {sql: value for sql, value in filters.items() if value is not None}
        where = ("WHERE " + " AND ".join(chosen)) if chosen else ""
        params: list[Any] = list(chosen.values())
        rows = self.conn.execute(
            "SELECT alerts.id, alerts.rules, alerts.target, alerts.status, alerts.created, "
            "alerts.sent, alerts.attempts, alerts.last_error, alerts.snippet, articles.url, "
            "articles.title, articles.feed, articles.published, articles.id AS article_id "
            "FROM alerts JOIN articles "
            f"ON articles.id = alerts.article_id {where} ORDER BY alerts.id DESC LIMIT ?",
            [*params, limit])
        return dicts(rows)

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM alerts GROUP BY status")
        return {status: n for status, n in rows}


PRUNE_TEXT = ("UPDATE articles SET summary = NULL, content = NULL WHERE id IN "
              f"(SELECT id FROM articles WHERE found < ? AND {HAS_TEXT} LIMIT ?)")
# Articles found before ? that no alert refers to, at most ? of them.
_UNALERTED = ("SELECT id FROM articles WHERE found < ? AND NOT EXISTS "
              "(SELECT 1 FROM alerts WHERE alerts.article_id = articles.id) LIMIT ?")
# An article row as _article() reads it.
_ARTICLE_COLUMNS = ("articles.id, key, feed, url, title, summary, content, author, categories, "
                    "published, language")
# Articles found since ? with no vector from model ?.
_UNEMBEDDED = ("FROM articles LEFT JOIN vectors ON vectors.article_id = articles.id "
               "WHERE found >= ? AND (vectors.model IS NULL OR vectors.model != ?)")


def _article(r: Any) -> Article:
    return Article(feed=r[2], key=r[1], url=r[3] or "", title=r[4] or "", summary=r[5] or "",
                   content=r[6] or "", author=r[7] or "",
                   categories=tuple(json.loads(r[8])) if r[8] else (),
                   published=parse_iso(r[9]), language=r[10] or "", row_id=r[0])


def retry_delay(attempts: int, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """Growing delay before the next try of a failed send: 30s, 1m, 2m, ... up to cap."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def dicts(cursor: Any) -> list[dict[str, Any]]:
    """A cursor's rows as dicts by column name (either driver)."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
