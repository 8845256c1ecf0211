"""The two databases behind the store: SQLite (embedded, the default) and PostgreSQL
(shared by any number of instances).

The store writes one SQL for both: `?` placeholders, `INSERT ... ON CONFLICT`,
ISO-8601 UTC timestamps as text (they sort as the times do). A backend hands out
a connection with sqlite3's `execute`/`executemany` shape, runs statements from
other threads (the notifier's), and keeps the schema version. What differs is
said here: how a transaction starts, how rows are locked for a claim
(`FOR UPDATE SKIP LOCKED`), how alert queueing is serialised across instances.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import StorageError
from .urls import redact_text, redacted

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def database_errors() -> tuple[type[BaseException], ...]:
    """What either driver raises for a database that cannot be used right now."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    try:
        import psycopg
    except ImportError:
        return errors
    return (*errors, psycopg.Error)


class Sqlite:
    kind = "sqlite"
    shared = False  # one process per file (the lock in Store.lock)
    begin = "BEGIN IMMEDIATE"
    claim_suffix = ""

    def __init__(self, path: Path) -> None:
        if sqlite3.sqlite_version_info < (3, 35):  # INSERT ... RETURNING
            raise StorageError(f"newswatch needs SQLite 3.35 or newer; Python's sqlite3 "
                               f"module uses {sqlite3.sqlite_version}")
        self.path = path
        self.name = str(path)
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._thread_conns: list[sqlite3.Connection] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Readable by its owner only, whatever the umask: it holds what was read
            # from private feeds. SQLite gives its -wal and -shm the same mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            self.conn = self._connect()
        except (OSError, sqlite3.Error) as e:
            raise StorageError(f"{path}: cannot open database: {e}") from None
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as e:
            self.conn.close()
            raise StorageError(f"{path}: cannot open database: {e}") from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a crash
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self.conn.execute(f"PRAGMA user_version = {int(version)}")

    def in_thread(self, sql: str, params: Sequence[Any]) -> int:
        """Run a statement from any thread; return the rows it changed."""
        if threading.get_ident() == self._owner:
            return int(self.conn.execute(sql, params).rowcount)
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._thread_conns.append(conn)
        return int(conn.execute(sql, params).rowcount)

    def schema_lock(self, held: bool) -> None:
        """Nothing to do: one process opens a file at a time (Store.lock), and each
        migration step is one transaction."""

    def serialize_alerts(self) -> None:
        """Nothing to do: BEGIN IMMEDIATE already lets one writer in at a time."""

    @staticmethod
    def contains(column: str) -> str:
        """SQL true when `column` holds the text of one `?` (case and all)."""
        return f"instr({column}, ?) > 0"

    def close(self) -> None:
        for conn in self._thread_conns:
            conn.close()
        self.conn.close()


class Postgres:
    kind = "postgresql"
    shared = True  # any number of instances on one database
    begin = "BEGIN"
    claim_suffix = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise StorageError("a postgresql:// database needs the postgres extra: pip "
                               "install '.[postgres]' from a newswatch checkout") from None
        self.name = redacted(url)
        try:
            self.conn = _PgConnection(psycopg.connect(url, autocommit=True))
        except psycopg.Error as e:
            raise StorageError(f"{self.name}: cannot connect: {_first_line(e)}") from None
        # The notifier's threads mark messages sent from their own connections.
        self.pool = ConnectionPool(url, min_size=0, max_size=4, open=True,
                                   kwargs={"autocommit": True})

    def schema_version(self) -> int:
        exists = self.conn.execute("SELECT to_regclass('meta')").fetchone()[0]
        if exists is None:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, version: int) -> None:
        self.conn.execute("INSERT INTO meta VALUES ('schema', ?) ON CONFLICT (key) "
                          "DO UPDATE SET value = excluded.value", [str(version)])

    def in_thread(self, sql: str, params: Sequence[Any]) -> int:
        with self.pool.connection() as conn:
            return int(conn.execute(_pg(sql), params).rowcount)

    def schema_lock(self, held: bool) -> None:
        """Take (or give back) the right to migrate: instances starting together must
        not create the tables twice."""
        self.conn.execute("SELECT pg_advisory_lock(7412)" if held
                          else "SELECT pg_advisory_unlock(7412)")

    def serialize_alerts(self) -> None:
        """Queue alerts one instance at a time (till the transaction ends), so that a
        story two instances meet at once is alerted by one of them."""
        self.conn.execute("SELECT pg_advisory_xact_lock(7413)")

    @staticmethod
    def contains(column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def close(self) -> None:
        self.pool.close()
        self.conn.close()


class _PgConnection:
    """A psycopg connection spoken to in sqlite3's dialect: `?` placeholders."""

    def __init__(self, conn: Any) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        return self.raw.execute(_pg(sql), params or None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        cursor = self.raw.cursor()
        rows = list(rows)
        if rows:
            cursor.executemany(_pg(sql), rows)
        return cursor

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    def close(self) -> None:
        self.raw.close()


@lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    return re.sub(r"\?", "%s", sql.replace("%", "%%"))


def _first_line(e: BaseException) -> str:
    return redact_text(str(e).strip().splitlines()[0]) if str(e).strip() else type(e).__name__


def connect(location: Path | str) -> Sqlite | Postgres:
    if is_postgres(location):
        return Postgres(str(location))
    return Sqlite(Path(location))
