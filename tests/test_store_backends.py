"""The store's promises, on both databases: SQLite (embedded) and PostgreSQL (shared by
instances). Each test runs once per backend (the `database` fixture)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newswatch.decide import FeedUpdate
from newswatch.errors import StorageError
from newswatch.models import Article, Feed
from newswatch.store import SCHEMA_VERSION, Store

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def article(n: int, feed: str = "wire", **fields: str) -> Article:
    url = f"https://n.example/{n}"
    return Article(feed=feed, key=url, url=url, title=fields.get("title", f"Story {n}"),
                   summary=fields.get("summary", "text"), guid=fields.get("guid", ""))


@pytest.fixture
def store(database: Path | str) -> Store:
    s = Store(database)
    yield s
    s.close()


def stored(store: Store, *articles: Article, when: datetime = T0) -> dict[str, int]:
    with store.transaction():
        return store.add_articles(articles, when)


def test_articles_are_stored_once_and_seen_under_every_identity(store: Store) -> None:
    ids = stored(store, article(1), article(2, guid="g2"))
    assert sorted(ids) == ["https://n.example/1", "https://n.example/2"]
    assert stored(store, article(1)) == {}  # already there: no row, no id
    assert store.unseen([article(1), article(2), article(3)]) == [article(3)]
    moved = Article(feed="wire", key="https://n.example/2b", url="https://n.example/2b",
                    title="Story 2", guid="g2")
    assert store.unseen([moved]) == []  # the same guid in the same feed
    assert [a.title for a in store.stored_articles(T0 - timedelta(days=1))] == \
        ["Story 2", "Story 1"]


def test_the_outbox_from_queued_to_sent(store: Store) -> None:
    ids = stored(store, article(1), article(2, feed="other"))
    with store.transaction():
        for key, row in ids.items():
            store.add_alert(row, "hook", ["drones"] if key.endswith("1") else ["s333"],
                            "snippet", T0)
        store.add_alert(ids["https://n.example/1"], "hook", ["drones"], "again", T0)
    pending = store.pending()["hook"]
    assert [a.title for a in pending] == ["Story 1", "Story 2"]
    first = pending[0]
    done = threading.Event()

    def from_another_thread() -> None:  # as the notifier marks what it sends
        assert store.mark_sending([first.id], T0) == 1
        store.mark_sent([first.id], T0 + timedelta(seconds=1))
        done.set()

    threading.Thread(target=from_another_thread).start()
    assert done.wait(10)
    assert [a.id for a in store.pending()["hook"]] == [pending[1].id]
    assert store.messages_sent("hook", T0 - timedelta(hours=1)) == 1
    assert store.message_times("hook", T0 - timedelta(hours=1)) == [T0 + timedelta(seconds=1)]
    assert store.message_times("hook", T0 + timedelta(seconds=2)) == []
    store.mark_failed_attempt(pending[1].id, "refused", T0 + timedelta(minutes=5),
                              give_up=True)
    assert store.counts() == {"sent": 1, "failed": 1}
    assert [a["title"] for a in store.alerts(rule="s333")] == ["Story 2"]
    assert [a["title"] for a in store.alerts(rule="drone")] == []  # a whole name, not a part
    assert [a["title"] for a in store.alerts(feed="wire", status="sent")] == ["Story 1"]
    assert store.retry_failed("hook") == 1 and store.counts() == {"sent": 1, "pending": 1}


def test_a_message_on_its_way_is_in_doubt_for_its_target_only(store: Store) -> None:
    ids = stored(store, article(1), article(2))
    with store.transaction():
        store.add_alert(ids["https://n.example/1"], "a", ["r"], "", T0)
        store.add_alert(ids["https://n.example/2"], "b", ["r"], "", T0)
    pending = store.pending()
    store.mark_sending([pending["a"][0].id, pending["b"][0].id], T0)
    assert [r["target"] for r in store.in_doubt_for("a")] == ["a"]
    assert store.in_doubt_for("a") == []  # cleared
    assert [r["target"] for r in store.in_doubt()] == ["b"]


def test_claims_lease_feeds_and_a_reload_leaves_a_lease_alone(store: Store) -> None:
    feeds = {n: Feed(n, f"https://n.example/{n}", interval=60.0)
             for n in ("due", "later", "gone", "also-due")}
    when = {"due": T0 - timedelta(minutes=5), "also-due": T0, "gone": T0 - timedelta(hours=1),
            "later": T0 + timedelta(minutes=5)}
    store.sync_feeds(feeds.values(), lambda f, s: when[f.name], T0)
    store.conn.execute("UPDATE feeds SET disabled = 'HTTP 410 Gone' WHERE name = 'gone'")
    del feeds["gone"]
    lease = lambda f: timedelta(minutes=2)  # noqa: E731
    assert [f.name for f in store.claim_due(feeds, T0, 1, lease, "one")] == ["due"]
    assert [f.name for f in store.claim_due(feeds, T0, 10, lease, "two")] == ["also-due"]
    rows = {r["name"]: r for r in store.feeds()}
    assert (rows["due"]["leased_by"], rows["also-due"]["leased_by"]) == ("one", "two")
    assert store.feed_state("due").next_poll == T0 + timedelta(minutes=2)
    # A reload that would make every feed due now keeps the ones being polled:
    store.sync_feeds(feeds.values(), lambda f, s: T0, T0)
    assert store.claim_due(feeds, T0, 10, lease, "three") == [feeds["later"]]
    store.apply(FeedUpdate("due", "https://n.example/due", None, None, None, T0, T0, 200,
                           None, 0, None, None, T0 + timedelta(minutes=1), None))
    assert {r["name"]: r for r in store.feeds()}["due"]["leased_by"] is None
    store.release("two", T0)
    assert store.claim_due(feeds, T0, 10, lease, "four") == [feeds["also-due"]]


def test_target_leases_are_held_renewed_and_taken_over(store: Store) -> None:
    later = T0 + timedelta(seconds=90)
    assert store.hold_target("hook", "one", T0, later) == ""
    assert store.hold_target("hook", "two", T0, later) is None  # one holds it
    assert store.hold_target("hook", "one", T0 + timedelta(seconds=30), later) == "one"
    assert store.hold_target("other", "two", T0, later) == ""
    after = later + timedelta(seconds=1)  # one stopped renewing
    assert store.hold_target("hook", "two", after, after + timedelta(seconds=90)) == "one"
    assert store.leases()["hook"][0] == "two"
    store.release("two", after)
    assert store.leases() == {}


def test_pruning_keeps_identities_and_what_alerts_refer_to(store: Store) -> None:
    ids = stored(store, article(1), article(2), when=T0 - timedelta(days=40))
    with store.transaction():
        store.add_alert(ids["https://n.example/1"], "hook", ["r"], "", T0)
    while store.prune_text(T0 - timedelta(days=30)):
        pass
    while store.prune_rows(T0 - timedelta(days=30)):
        pass
    left = list(store.stored_articles(T0 - timedelta(days=50)))
    assert [(a.title, a.summary) for a in left] == [("Story 1", "")]
    assert store.unseen([article(2)]) == []


def test_vectors_and_stories(store: Store) -> None:
    ids = stored(store, article(1), article(2, feed="other"), article(3))
    one, two, three = (ids[f"https://n.example/{n}"] for n in (1, 2, 3))
    store.add_vectors("m", [(one, b"\x00\x01"), (two, b"\x02")])
    store.add_vectors("m", [(one, b"\x09")])  # embedded again: replaced
    assert sorted((a.title, v) for a, v in store.vectors("m", T0 - timedelta(1))) == \
        [("Story 1", b"\x09"), ("Story 2", b"\x02")]
    assert [a.title for a in store.unembedded("m", T0 - timedelta(1))] == ["Story 3"]
    with store.transaction():
        store.set_story(one, one)
        store.set_story(two, one)
        store.add_alert(one, "hook", ["drones", "kyiv"], "", T0)
    rows = store.story_articles(T0 - timedelta(hours=1))
    assert [(s, a, f, r) for s, a, f, _, _, r in rows] == [
        (one, one, "wire", ["drones", "kyiv"]), (one, two, "other", [])]
    assert [r[1] for r in store.story_articles(T0 - timedelta(hours=1), after=one)] == [two]
    assert store.also_reported_by(one) == ["other"]


def test_reopening_is_idempotent_and_a_newer_schema_refused(database: Path | str) -> None:
    Store(database).close()
    store = Store(database)
    assert store.backend.schema_version() == SCHEMA_VERSION
    store.backend.set_schema_version(SCHEMA_VERSION + 1)
    store.close()
    with pytest.raises(StorageError, match="written by a newer newswatch"):
        Store(database)


def test_two_instances_claiming_at_once_never_claim_one_feed_twice(
        postgres: str) -> None:
    feeds = {f"f{i}": Feed(f"f{i}", f"https://n.example/{i}") for i in range(200)}
    first, second = Store(postgres), Store(postgres)
    try:
        first.sync_feeds(feeds.values(), lambda f, s: T0, T0)
        got: dict[str, list[str]] = {}
        go = threading.Barrier(2)

        def claim(store: Store, name: str) -> None:
            go.wait()
            mine: list[str] = []
            while batch := store.claim_due(feeds, T0, 7, lambda f: timedelta(minutes=5), name):
                mine += [f.name for f in batch]
            got[name] = mine

        threads = [threading.Thread(target=claim, args=(s, n))
                   for s, n in ((first, "one"), (second, "two"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert set(got["one"]).isdisjoint(got["two"])
        assert sorted(got["one"] + got["two"]) == sorted(feeds)
        assert got["one"] and got["two"]  # both took part
    finally:
        first.close()
        second.close()


def test_an_article_two_instances_store_at_once_is_stored_once(postgres: str) -> None:
    stores = [Store(postgres) for _ in range(2)]
    try:
        results: list[dict[str, int]] = []
        go = threading.Barrier(2)

        def store_it(s: Store) -> None:
            go.wait()
            with s.transaction():
                s.serialize_alerts()
                results.append(s.add_articles([article(7)], T0))

        threads = [threading.Thread(target=store_it, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(len(r) for r in results) == [0, 1]  # one got the row, one nothing
    finally:
        for s in stores:
            s.close()


def test_a_postgres_url_with_a_bad_password_is_a_clear_error_without_it(postgres: str) -> None:
    bad = postgres.replace("postgresql://postgres@", "postgresql://nobody:hunter2@")
    with pytest.raises(StorageError) as e:
        Store(bad)
    assert "hunter2" not in str(e.value) and "cannot connect" in str(e.value)


def test_alert_rules_are_stored_as_json(store: Store) -> None:
    ids = stored(store, article(1))
    with store.transaction():
        store.add_alert(ids["https://n.example/1"], "hook", ["a_b", "c%d"], "", T0)
    row = store.alerts()[0]
    assert json.loads(row["rules"]) == ["a_b", "c%d"]
    assert len(store.alerts(rule="a_b")) == 1 and store.alerts(rule="a%b") == []


def test_instances_starting_together_on_a_new_database_both_start(postgres: str) -> None:
    opened: list[Store] = []
    failed: list[BaseException] = []
    go = threading.Barrier(4)

    def start() -> None:
        go.wait()
        try:
            opened.append(Store(postgres))
        except BaseException as e:  # noqa: BLE001 - reported below
            failed.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in opened:
        s.close()
    assert failed == [] and len(opened) == 4


def test_a_start_never_undoes_a_poll_another_instance_finishes_meanwhile(postgres: str) -> None:
    feed = Feed("f", "https://n.example/f", interval=60.0)
    a, b = Store(postgres), Store(postgres)
    try:
        a.sync_feeds([feed], lambda f, s: T0, T0)
        assert a.claim_due({"f": feed}, T0, 10, lambda f: timedelta(minutes=5), "a")
        done = FeedUpdate("f", feed.url, None, None, None, T0, T0, 200, None, 0, None, None,
                          T0 + timedelta(minutes=1), None)

        def when(f: Feed, state: object) -> datetime:
            # b works out a time from the row as it read it, while a finishes its poll.
            finishing = threading.Thread(target=a.apply, args=(done,))
            finishing.start()
            finishing.join(0.5)
            return T0  # due now, as a start makes a new feed

        b.sync_feeds([feed], when, T0)
        assert wait_for(lambda: a.feed_state("f").next_poll == T0 + timedelta(minutes=1))
        assert a.claim_due({"f": feed}, T0, 10, lambda f: timedelta(minutes=5), "b") == []
    finally:
        a.close()
        b.close()


def wait_for(check: object, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_dead_instances_claims_lapse_after_failover_not_after_its_lease(
        postgres: str) -> None:
    feeds = {"f": Feed("f", "https://n.example/f", interval=3600.0)}
    store = Store(postgres)
    try:
        store.sync_feeds(feeds.values(), lambda f, s: T0, T0)
        store.beat(T0, "a")
        assert store.claim_due(feeds, T0, 10, lambda f: timedelta(hours=1), "a")
        later = T0 + timedelta(seconds=30)
        store.beat(later, "b")
        alive = later - timedelta(seconds=60)  # failover: 60 s
        assert store.claim_due(feeds, later, 10, lambda f: timedelta(hours=1), "b", alive) == []
        store.beat(later, "a")  # a is still alive: its claim stands
        much_later = T0 + timedelta(minutes=2)
        assert store.claim_due(feeds, much_later, 10, lambda f: timedelta(hours=1), "b",
                               much_later - timedelta(seconds=60)) == [feeds["f"]]
        assert {r["name"]: r for r in store.feeds()}["f"]["leased_by"] == "b"
    finally:
        store.close()
