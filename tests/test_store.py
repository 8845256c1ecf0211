"""The SQLite store: migrations, locking, the outbox."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from newswatch.errors import StorageError
from newswatch.models import Article, Feed
from newswatch.store import SCHEMA_VERSION, Store, iso, parse_iso

V1 = Path(__file__).parent / "data" / "schema-v1.sql"
OLD, RECENT = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)


def stories(n: int, **fields: str) -> list[Article]:
    return [Article(feed="wire", key=f"https://n.example/{i}", url=f"https://n.example/{i}",
                    title=f"Story {i}", **fields) for i in range(n)]


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


def test_pruning_drops_old_text_and_keeps_identities(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    articles = stories(4, summary="Largest drone attack so far.", content="Full text.")
    try:
        with store.transaction():
            store.add_articles(articles[:2], OLD)
            store.add_articles(articles[2:], RECENT)
        assert store.prune_text(datetime(2026, 11, 1, tzinfo=UTC)) == 2
        assert store.prune_text(datetime(2026, 11, 1, tzinfo=UTC)) == 0
        kept = {a.key: (a.title, a.summary, a.content) for a in store.stored_articles(OLD)}
        assert kept == {
            **{a.key: (a.title, "", "") for a in articles[:2]},  # the title stays
            **{a.key: (a.title, "Largest drone attack so far.", "Full text.")
               for a in articles[2:]}}
        assert store.unseen(articles) == []  # pruned articles still count as seen
    finally:
        store.close()


def test_pruning_text_reads_only_the_articles_it_drops(tmp_path: Path) -> None:
    """The statement prune_text runs, as SQLite saw it, goes through the partial index:
    a database of years of articles is not read through on every prune."""
    store = Store(tmp_path / "nw.db")
    ran: list[str] = []
    try:
        store.conn.set_trace_callback(ran.append)
        store.prune_text(datetime(2026, 11, 1, tzinfo=UTC))
        store.conn.set_trace_callback(None)
        [statement] = [s for s in ran if s.lstrip().upper().startswith("UPDATE ARTICLES")]
        # The traced text has the parameter bound; EXPLAIN the very statement that ran.
        plan = store.conn.execute("EXPLAIN QUERY PLAN " + statement).fetchall()
        assert any("idx_articles_text_found" in row[3] for row in plan), plan
    finally:
        store.close()


def test_pruning_rows_keeps_identities_and_whatever_an_alert_refers_to(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    articles = [replace(a, guid=f"g{i}") for i, a in enumerate(stories(5))]
    try:
        with store.transaction():
            ids = store.add_articles(articles[:3], OLD)
            store.add_articles(articles[3:], RECENT)
            store.add_alert(ids[articles[0].key], "hook", ["drones"], "", OLD)
            store.add_vectors("m", [(ids[articles[1].key], b"v")])
        before = datetime(2026, 11, 1, tzinfo=UTC)
        assert [store.prune_rows(before, limit=1) for _ in range(3)] == [1, 1, 0]
        left = {a.key for a in store.stored_articles(datetime(2000, 1, 1, tzinfo=UTC))}
        assert left == {articles[0].key, articles[3].key, articles[4].key}
        assert store.alerts()[0]["title"] == "Story 0"  # the alert still shows its article
        assert store.conn.execute("SELECT count(*) FROM vectors").fetchone() == (0,)
        assert store.unseen(articles) == []  # deleted articles still count as seen
        assert store.prune_rows(datetime(2026, 11, 1, tzinfo=UTC)) == 0
    finally:
        store.close()


def test_claiming_due_feeds_moves_them_on_by_their_lease(tmp_path: Path) -> None:
    store = Store(tmp_path / "nw.db")
    t0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    feeds = {n: Feed(n, f"https://n.example/{n}", interval=60.0)
             for n in ("due", "later", "gone", "also-due")}
    try:
        store.sync_feeds(feeds.values(), lambda f, s: {
            "due": t0 - timedelta(minutes=5), "also-due": t0, "gone": t0 - timedelta(hours=1),
            "later": t0 + timedelta(minutes=5)}[f.name], t0)
        store.conn.execute("UPDATE feeds SET disabled = 'HTTP 410 Gone' WHERE name = 'gone'")
        store.sync_feeds([Feed("removed", "https://n.example/r")], lambda f, s: t0, t0)
        del feeds["gone"]
        assert store.claim_due(feeds, t0, 1, lambda f: timedelta(minutes=2))[0].name == "due"
        claimed = store.claim_due(feeds, t0, 10, lambda f: timedelta(minutes=2))
        assert [f.name for f in claimed] == ["also-due"]  # "due" is claimed already
        assert store.feed_state("due").next_poll == t0 + timedelta(minutes=2)
        assert store.claim_due(feeds, t0 + timedelta(minutes=2), 10,
                               lambda f: timedelta(minutes=2)) != []  # a lapsed claim
        late = dict(store.overdue(feeds.values(), t0 + timedelta(minutes=10)))
        assert set(late) == {"due", "also-due", "later"}
        assert store.overdue(feeds.values(), t0 + timedelta(minutes=3)) == []
    finally:
        store.close()


@given(st.lists(st.datetimes(timezones=st.timezones()), min_size=2, max_size=5))
def test_stored_timestamps_sort_as_the_times_do_and_read_back(times: list[datetime]) -> None:
    assume(all(t.astimezone(UTC).year >= 1 for t in times))
    seconds = [t.astimezone(UTC).replace(microsecond=0) for t in times]
    assert sorted(iso(t) or "" for t in times) == [iso(t) for t in sorted(seconds)]
    assert [parse_iso(iso(t)) for t in times] == seconds
