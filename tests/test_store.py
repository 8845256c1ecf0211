"""The SQLite store: migrations, locking, the outbox."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from newswatch.errors import StorageError
from newswatch.models import Article
from newswatch.store import _HAS_TEXT, SCHEMA_VERSION, Store, iso, parse_iso

V1 = Path(__file__).parent / "data" / "schema-v1.sql"


def test_a_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1.read_text())
    store = Store(path)
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        state = store.feed_state("wire")
        assert (state.url, state.etag, state.polled) == ("https://n.example/feed", '"e1"', True)
        assert state.fetch_url is None and state.disabled is None
        [alert] = store.pending()["hook"]
        assert (alert.title, alert.rules) == ("Largest drone attack", ("drones",))
        assert store.unseen([]) == []
    finally:
        store.close()


def test_a_database_from_a_newer_newswatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="written by a newer newswatch"):
        Store(path)


def test_a_second_process_cannot_lock_the_database(tmp_path: Path) -> None:
    first = Store(tmp_path / "nw.db")
    first.lock()
    second = Store(tmp_path / "nw.db")
    try:
        with pytest.raises(StorageError, match="in use by another newswatch process"):
            second.lock()
    finally:
        second.close()
        first.close()
    third = Store(tmp_path / "nw.db")  # the lock goes with the process that held it
    third.lock()
    third.close()


def test_wal_mode_and_busy_timeout(tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    try:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    finally:
        store.close()


def test_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nw.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="cannot open database"):
        Store(path)


def test_a_message_left_on_its_way_by_a_crash_is_in_doubt_once_and_still_pending(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1.read_text())
    when = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    store = Store(path)
    [alert] = store.pending()["hook"]
    store.mark_sending([alert.id], when)
    store.close()  # the process died before the target answered

    store = Store(path)
    try:
        [doubt] = store.in_doubt()
        assert (doubt["id"], doubt["target"], doubt["url"]) == (alert.id, "hook", alert.url)
        assert store.in_doubt() == []  # reported once
        assert [a.id for a in store.pending()["hook"]] == [alert.id]  # and sent again

        store.mark_sending([alert.id], when)
        store.mark_failed_attempt(alert.id, "HTTP 500", when, give_up=False)
        assert store.in_doubt() == []  # a refusal is an answer
        store.mark_sending([alert.id], when)
        store.mark_sent([alert.id], when)
        assert store.in_doubt() == [] and store.pending() == {}
    finally:
        store.close()


def test_pruning_drops_old_text_keeps_identities_and_reads_only_what_it_drops(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    old, recent = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    articles = [Article(feed="wire", key=f"https://n.example/{i}", url=f"https://n.example/{i}",
                        title=f"Story {i}", summary="Largest drone attack so far.",
                        content="Full text.") for i in range(4)]
    try:
        with store.transaction():
            store.add_articles(articles[:2], old)
            store.add_articles(articles[2:], recent)
        assert store.prune_text(datetime(2026, 11, 1, tzinfo=UTC)) == 2
        assert store.prune_text(datetime(2026, 11, 1, tzinfo=UTC)) == 0
        kept = {a.key: (a.title, a.summary, a.content) for a in store.stored_articles(old)}
        assert kept == {
            **{a.key: (a.title, "", "") for a in articles[:2]},  # the title stays
            **{a.key: (a.title, "Largest drone attack so far.", "Full text.")
               for a in articles[2:]}}
        assert store.unseen(articles) == []  # pruned articles still count as seen
        # A database of years of articles is not read through on every prune.
        [plan] = store.conn.execute(
            "EXPLAIN QUERY PLAN UPDATE articles SET summary = NULL, content = NULL "
            f"WHERE found < ? AND {_HAS_TEXT}", ["2026-11-01"]).fetchall()
        assert "idx_articles_text_found" in plan[3]
    finally:
        store.close()


@given(st.lists(st.datetimes(timezones=st.timezones()), min_size=2, max_size=5))
def test_stored_timestamps_sort_as_the_times_do_and_read_back(times: list[datetime]) -> None:
    assume(all(t.astimezone(UTC).year >= 1 for t in times))
    seconds = [t.astimezone(UTC).replace(microsecond=0) for t in times]
    assert sorted(iso(t) or "" for t in times) == [iso(t) for t in sorted(seconds)]
    assert [parse_iso(iso(t)) for t in times] == seconds
