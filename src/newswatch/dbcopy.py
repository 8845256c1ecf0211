"""`newswatch db copy`: an installation's SQLite file into a PostgreSQL database, so
that it can go on with more than one instance. Every row is copied as it is (ids
too, so alerts keep their articles); the target must be empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import StorageError
from .store import Store

# In an order that keeps every reference valid (alerts and vectors name articles).
TABLES = ("feeds", "seen", "articles", "alerts", "vectors", "feedback", "meta")
BATCH = 1000


def copy_database(source: Path, target: str, say: Callable[[str], None]) -> dict[str, int]:
    """Copy every row; return how many of each table. Raises StorageError."""
    if not source.exists():
        raise StorageError(f"{source}: no such database")
    src, dst = Store(source), Store(target)
    try:
        if src.shared or not dst.shared:
            raise StorageError("copy from an SQLite file to a postgresql:// database")
        full = [t for t in TABLES if dst.conn.execute(
            f"SELECT 1 FROM {t} WHERE {_not_schema(t)} LIMIT 1").fetchone()]
        if full:
            raise StorageError(f"{dst.backend.name} is not empty ({', '.join(full)} hold "
                               f"rows): copy into a new database")
        counts: dict[str, int] = {}
        with dst.transaction():
            for table in TABLES:
                counts[table] = _copy_table(src, dst, table)
                say(f"{table}: {counts[table]} rows")
            for table in ("articles", "alerts"):  # new rows numbered after the copied ones
                dst.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        return counts
    finally:
        src.close()
        dst.close()


def _not_schema(table: str) -> str:
    return "key NOT IN ('schema', 'heartbeat')" if table == "meta" else "TRUE"


def _copy_table(src: Store, dst: Store, table: str) -> int:
    cursor = src.conn.execute(f"SELECT * FROM {table} WHERE {_not_schema(table)}")
    columns = [d[0] for d in cursor.description]
    insert = (f"INSERT INTO {table} ({', '.join(columns)}) "
              f"VALUES ({', '.join('?' * len(columns))})")
    copied = 0
    while rows := cursor.fetchmany(BATCH):
        dst.conn.executemany(insert, rows)
        copied += len(rows)
    return copied
