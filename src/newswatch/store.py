"""The SQLite store: feed state, seen articles, and the alert outbox.

    feeds     one row per feed: conditional-GET state, last poll, errors, next poll
    seen      every identity (canonical link, feed guid, hash) an article was seen under
    articles  the articles found, as plain text (for `alerts` and later search)
    alerts    the outbox: one row per article and target; pending -> sent | failed

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
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import StorageError
from .imports import without
from .models import Article
from .store_feeds import FeedRows
from .store_seen import SeenRows
from .store_status import StatusRows
from .timestamps import iso, now, parse_iso
from .urls import has_credentials, redact_text, redacted

with without("numpy", "pandas"):
    import sqlite_utils


SCHEMA_VERSION = 10


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


class Store(FeedRows, SeenRows, StatusRows):
    def __init__(self, path: Path | str) -> None:
        if sqlite3.sqlite_version_info < (3, 35):  # INSERT ... RETURNING
            raise StorageError(f"newswatch needs SQLite 3.35 or newer; Python's sqlite3 "
                               f"module uses {sqlite3.sqlite_version}")
        self.path = Path(path)
        self._lock_file: int | None = None
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._thread_conns: list[sqlite3.Connection] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if str(self.path) != ":memory:":
                # Readable by its owner only, whatever the umask: it holds what was
                # read from private feeds. SQLite gives its -wal and -shm the same mode.
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                        check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise StorageError(f"{self.path}: cannot open database: {e}") from None
        try:
            self.db = sqlite_utils.Database(self.conn)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except sqlite3.DatabaseError as e:
            self.conn.close()
            raise StorageError(f"{self.path}: cannot open database: {e}") from None
        except StorageError:
            self.conn.close()
            raise

    def close(self) -> None:
        for conn in self._thread_conns:
            conn.close()
        self.conn.close()
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def lock(self) -> None:
        """Claim the database for this process; a second daemon is refused."""
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
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(f"{self.path} was written by a newer newswatch "
                               f"(schema {version}, this one knows {SCHEMA_VERSION})")
        steps = {1: self._create_v1, 2: self._migrate_v2, 3: self._migrate_v3,
                 4: self._migrate_v4, 5: self._migrate_v5, 6: self._migrate_v6,
                 7: self._migrate_v7, 8: self._migrate_v8, 9: self._migrate_v9,
                 10: self._migrate_v10}
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                steps[target]()
                self.conn.execute(f"PRAGMA user_version = {target}")

    def _create_v1(self) -> None:
        db = self.db
        db.table("feeds").create({
            "name": str, "url": str, "etag": str, "last_modified": str, "last_poll": str,
            "last_success": str, "last_status": int, "last_error": str, "error_count": int,
            "next_poll": str, "articles_seen": int, "polls": int,
        }, pk="name", not_null={"error_count", "articles_seen", "polls"},
            defaults={"error_count": 0, "articles_seen": 0, "polls": 0})
        db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, feed TEXT NOT NULL, "
                   "first_seen TEXT NOT NULL) WITHOUT ROWID")
        db.table("articles").create({
            "id": int, "key": str, "feed": str, "url": str, "title": str, "summary": str,
            "content": str, "author": str, "categories": str, "published": str, "found": str,
        }, pk="id", not_null={"key", "feed", "found"})
        db.table("articles").create_index(["key"], unique=True)
        db.table("articles").create_index(["found"])
        db.table("alerts").create({
            "id": int, "article_id": int, "target": str, "rules": str, "snippet": str,
            "status": str, "created": str, "attempts": int, "next_attempt": str, "sent": str,
            "last_error": str,
        }, pk="id", not_null={"article_id", "target", "status", "created", "attempts"},
            defaults={"attempts": 0, "status": "pending"},
            foreign_keys=[("article_id", "articles", "id")])
        db.table("alerts").create_index(["article_id", "target"], unique=True)
        db.table("alerts").create_index(["status", "target", "id"])
        db.table("alerts").create_index(["created"])

    def _migrate_v2(self) -> None:
        """Permanent redirects, 410 Gone and unchanged bodies are remembered per feed."""
        for column in ("fetch_url", "disabled", "body_hash"):
            self.conn.execute(f"ALTER TABLE feeds ADD COLUMN {column} TEXT")

    def _migrate_v3(self) -> None:
        """Each article's language, so `newswatch match` stems it as the poll did."""
        self.conn.execute("ALTER TABLE articles ADD COLUMN language TEXT")

    def _migrate_v4(self) -> None:
        """Stories: an article near-duplicating an alerted one from another feed joins it."""
        self.conn.execute("ALTER TABLE articles ADD COLUMN story_id INTEGER")
        self.conn.execute("CREATE INDEX idx_articles_story_id ON articles (story_id)")

    def _migrate_v5(self) -> None:
        """Digests: alerts sent together in one message share a batch (the first's id)."""
        self.conn.execute("ALTER TABLE alerts ADD COLUMN batch INTEGER")
        self.conn.execute("CREATE INDEX idx_alerts_target_sent ON alerts (target, sent)")

    def _migrate_v6(self) -> None:
        """Article embeddings for `about` rules, with the model that made them."""
        self.conn.execute("CREATE TABLE vectors (article_id INTEGER PRIMARY KEY "
                          "REFERENCES articles(id), model TEXT NOT NULL, vector BLOB NOT NULL)")

    def _migrate_v7(self) -> None:
        """When a message carrying an alert left, until the target answered."""
        self.conn.execute("ALTER TABLE alerts ADD COLUMN sending TEXT")

    def _migrate_v8(self) -> None:
        """The articles still holding text, by age: pruning reads only those it drops,
        not every article ever seen."""
        self.conn.execute(f"CREATE INDEX idx_articles_text_found ON articles (found) "
                          f"WHERE {_HAS_TEXT}")

    def _migrate_v9(self) -> None:
        """The schedule in the database: feeds due are found by their next poll; a
        Retry-After outlives a restart; a heartbeat proves the database takes writes."""
        self.conn.execute("ALTER TABLE feeds ADD COLUMN hold_until TEXT")
        self.conn.execute("CREATE INDEX idx_feeds_next_poll ON feeds (next_poll)")
        self.conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")

    def _migrate_v10(self) -> None:
        """No credential in the database: feed URLs as shown, a redirect target that
        carries one forgotten (the configured URL is fetched and redirects again)."""
        rows = self.conn.execute("SELECT name, url, fetch_url, last_error FROM feeds").fetchall()
        self.conn.executemany(
            "UPDATE feeds SET url = ?, fetch_url = ?, last_error = ? WHERE name = ?",
            [(redacted(url) if url else url, None if fetch and has_credentials(fetch) else fetch,
              redact_text(error) if error else error, name)
             for name, url, fetch, error in rows])

    def beat(self, when: datetime) -> None:
        """A write that proves the database takes writes (raises when it does not)."""
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('heartbeat', ?)", [iso(when)])


    # -- articles ------------------------------------------------------------

    def add_articles(self, articles: Iterable[Article], found: datetime) -> dict[str, int]:
        """Record articles as seen; return the row ids of those stored now, by key.

        Call in a transaction. Two statements per 100 articles, not two per article:
        the articles' INSERT returns the ids of the rows it added.
        """
        stamp = iso(found)
        batch = list(articles)
        self.conn.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)",
                              [(k, a.feed, stamp) for a in batch for k in a.identities()])
        ids: dict[str, int] = {}
        for i in range(0, len(batch), 100):
            chunk = batch[i : i + 100]
            rows = [(a.key, a.feed, a.url, a.title, a.summary, a.content, a.author,
                     json.dumps(list(a.categories)) if a.categories else None,
                     iso(a.published), stamp, a.language or None) for a in chunk]
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
            ids.update((key, row_id) for row_id, key in self.conn.execute(
                "INSERT OR IGNORE INTO articles (key, feed, url, title, summary, content, "
                f"author, categories, published, found, language) VALUES {marks} "
                "RETURNING id, key", [v for row in rows for v in row]))
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
        return self.conn.execute(PRUNE_TEXT, [iso(before), limit]).rowcount

    def prune_rows(self, before: datetime, limit: int = 1000) -> int:
        """Delete up to `limit` articles found before a time that no alert refers to (with
        their vectors); return how many. What they were seen as stays in `seen`, so
        they never count as new again. Call again until it returns 0."""
        with self.transaction():
            ids = [r[0] for r in self.conn.execute(_UNALERTED, [iso(before), limit])]
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
        self.conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
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

    def story_articles(self, since: datetime) -> list[tuple[int, int, str, str, str, list[str]]]:
        """(story id, article id, feed, title, found, rules alerted) of every article in a
        story, found since a time, oldest first."""
        rows = self.conn.execute(
            "SELECT story_id, articles.id, feed, title, found, "
            "(SELECT group_concat(rules, '\x1f') FROM alerts WHERE article_id = articles.id) "
            "FROM articles WHERE story_id IS NOT NULL AND found >= ? ORDER BY articles.id",
            [iso(since)]).fetchall()
        out = []
        for story_id, article_id, feed, title, found, rules in rows:
            names = sorted({r for chunk in (rules or "").split("\x1f") if chunk
                            for r in json.loads(chunk)})
            out.append((story_id, article_id, feed, title or "", found, names))
        return out

    def also_reported_by(self, article_id: int) -> list[str]:
        """The other feeds that carried an article's story."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT b.feed FROM articles a JOIN articles b ON b.story_id = a.story_id "
            "WHERE a.id = ? AND b.id != a.id AND b.feed != a.feed ORDER BY b.id", [article_id])]

    # -- alerts --------------------------------------------------------------

    def add_alert(self, article_id: int, target: str, rules: Iterable[str], snippet: str,
                  created: datetime) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO alerts (article_id, target, rules, snippet, status, created, "
            "attempts, next_attempt) VALUES (?, ?, ?, ?, 'pending', ?, 0, ?)",
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
        return self._thread_conn().execute(
            f"UPDATE alerts SET sending = ? WHERE id IN ({marks}) AND status != 'sent'",
            (iso(when), *alert_ids)).rowcount

    def mark_sent(self, alert_ids: list[int], when: datetime) -> None:
        """Record that a target accepted one message carrying these alerts (several: a
        digest); callable from any thread."""
        marks = ",".join("?" * len(alert_ids))
        batch = min(alert_ids) if len(alert_ids) > 1 else None
        self._thread_conn().execute(
            "UPDATE alerts SET status = 'sent', sent = ?, attempts = attempts + 1, "
            f"last_error = NULL, sending = NULL, batch = ? WHERE id IN ({marks}) "
            "AND status != 'sent'", (iso(when), batch, *alert_ids))

    def in_doubt(self) -> list[dict[str, Any]]:
        """Alerts whose message was leaving when a process stopped without an answer:
        the target may have received them. Clears the marks; call once, at start."""
        rows = [dict(r) for r in self.db.query(
            "SELECT alerts.id, alerts.target, alerts.sending, articles.url FROM alerts "
            "JOIN articles ON articles.id = alerts.article_id "
            "WHERE alerts.sending IS NOT NULL ORDER BY alerts.id")]
        if rows:
            self.conn.execute("UPDATE alerts SET sending = NULL WHERE sending IS NOT NULL")
        return rows

    def messages_sent(self, target: str, since: datetime) -> int:
        """Messages (a digest counts once) a target accepted since a time."""
        row = self.conn.execute(
            "SELECT count(DISTINCT coalesce(batch, id)) FROM alerts "
            "WHERE target = ? AND status = 'sent' AND sent >= ?", (target, iso(since)))
        return int(row.fetchone()[0])

    def _thread_conn(self) -> sqlite3.Connection:
        if threading.get_ident() == self._owner:
            return self.conn
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a crash
            self._local.conn = conn
            self._thread_conns.append(conn)
        return conn

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
        return self.conn.execute(sql, params).rowcount

    def alerts(self, limit: int = 50, status: str | None = None, rule: str | None = None,
               feed: str | None = None, since: datetime | None = None,
               ) -> list[dict[str, Any]]:
        """The latest alerts, newest first, of a status, a rule, a feed, since a time."""
        filters = {"alerts.status = ?": status, "articles.feed = ?": feed,
                   "alerts.created >= ?": iso(since) if since else None,
                   "EXISTS (SELECT 1 FROM json_each(alerts.rules) WHERE value = ?)": rule}
        chosen = {sql: value for sql, value in filters.items() if value is not None}
        where = ("WHERE " + " AND ".join(chosen)) if chosen else ""
        params: list[Any] = list(chosen.values())
        rows = self.db.query(
            "SELECT alerts.id, alerts.rules, alerts.target, alerts.status, alerts.created, "
            "alerts.sent, alerts.attempts, alerts.last_error, alerts.snippet, articles.url, "
            "articles.title, articles.feed, articles.published, articles.id AS article_id "
            "FROM alerts JOIN articles "
            f"ON articles.id = alerts.article_id {where} ORDER BY alerts.id DESC LIMIT ?",
            [*params, limit])
        return [dict(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM alerts GROUP BY status")
        return {status: n for status, n in rows}


# Articles whose text is kept (matches the partial index idx_articles_text_found).
_HAS_TEXT = "(summary IS NOT NULL OR content IS NOT NULL)"
PRUNE_TEXT = ("UPDATE articles SET summary = NULL, content = NULL WHERE id IN "
              f"(SELECT id FROM articles WHERE found < ? AND {_HAS_TEXT} LIMIT ?)")
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
