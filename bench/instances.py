"""Instances sharing a PostgreSQL database, against one instance, in one run.

    python bench/instances.py [--feeds 2000] [--items 50] [--failover 10]

Starts bench/farm.py and a throwaway PostgreSQL cluster (tests/pg.py), then runs
`newswatch run` daemons on the farm's feeds, in three set-ups: one instance on
SQLite, one on PostgreSQL, two on one PostgreSQL database. Each times three
cycles, as feeds/s until every feed has been polled once more: (1) the first
poll (from the daemons' start), (2) a poll where nothing changed, (3) a poll
after every feed gained 5 items (cycles 2 and 3 start by making every feed due).
Then, with two instances, one is SIGKILLed while a cycle is under way, and the
time is taken until the survivor has polled every feed of that cycle: the dead
instance's claims lapse once it has not been seen alive for `failover`.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from poll import Farm, write_config  # noqa: E402

from pg import Cluster  # noqa: E402
from servers import Webhook  # noqa: E402


class Database:
    """The feeds table of either backend, as the bench reads and nudges it."""

    def __init__(self, location: Path | str) -> None:
        self.location = location

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        if isinstance(self.location, Path):
            with sqlite3.connect(self.location, timeout=30) as conn:
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def polled(self, times: int) -> int:
        try:
            return int(self._run("SELECT count(*) FROM feeds WHERE polls >= ?", (times,))[0][0])
        except Exception:  # noqa: BLE001 - the schema is not there yet
            return 0

    def all_due(self) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._run("UPDATE feeds SET next_poll = ? WHERE leased_by IS NULL", (stamp,))


def start(config: Path, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "newswatch", "-q", "-c", str(config), "run"],
                            env={**__import__("os").environ, "NEWSWATCH_INSTANCE": name},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def until(check: Callable[[], bool], timeout: float = 900.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise SystemExit("timed out")
        time.sleep(0.1)
    return time.monotonic() - started


def configure(directory: Path, farm: Farm, hook: Webhook, database: Path | str,
              failover: float) -> Path:
    config = write_config(directory, farm.urls(), hook, 0)
    text = config.read_text().replace(
        'database = "nw.db"',
        f'database = "{database}"\ninterval = "1h"\nfailover = "{failover:g}s"'
    ).replace('interval = "15m"\n', "").replace('timeout = "60s"', 'timeout = "20s"')
    config.write_text(text)
    return config


def cycles(config: Path, db: Database, farm: Farm, feeds: int, instances: int,
           ) -> dict[str, float]:
    procs = [start(config, f"i{n}") for n in range(instances)]
    try:
        out = {"first": feeds / until(lambda: db.polled(1) >= feeds)}
        time.sleep(1)
        db.all_due()
        out["unchanged"] = feeds / until(lambda: db.polled(2) >= feeds)
        farm.advance(5)
        db.all_due()
        out["advanced"] = feeds / until(lambda: db.polled(3) >= feeds)
        return out
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def takeover(config: Path, db: Database, feeds: int) -> tuple[float, int]:
    """Seconds from a SIGKILL mid-cycle until every feed of that cycle was polled, and
    how many feeds the dead instance still held."""
    procs = [start(config, "a"), start(config, "b")]
    try:
        until(lambda: db.polled(1) >= feeds)
        time.sleep(1)
        db.all_due()
        until(lambda: db.polled(2) >= feeds // 4)
        procs[0].kill()
        procs[0].wait()
        killed = time.monotonic()
        held = int(db._run("SELECT count(*) FROM feeds WHERE leased_by = 'a'")[0][0])
        until(lambda: db.polled(2) >= feeds)
        return time.monotonic() - killed, held
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--failover", type=float, default=10.0)
    args = parser.parse_args()
    farm, hook, cluster = Farm(args.feeds, args.items), Webhook(), Cluster()
    results: dict[str, dict[str, float]] = {}
    try:
        setups: list[tuple[str, int, Callable[[Path], Path | str]]] = [
            ("sqlite, 1 instance", 1, lambda d: d / "nw.db"),
            ("postgresql, 1 instance", 1, lambda d: cluster.new_database()),
            ("postgresql, 2 instances", 2, lambda d: cluster.new_database()),
        ]
        for label, count, where in setups:
            with tempfile.TemporaryDirectory() as tmp:
                directory = Path(tmp)
                location = where(directory)
                config = configure(directory, farm, hook, location, args.failover)
                db = Database(location)
                results[label] = cycles(config, db, farm, args.feeds, count)
            print(f"{label:26} " + "  ".join(f"{k} {v:6.1f} feeds/s"
                                             for k, v in results[label].items()), flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            location = cluster.new_database()
            config = configure(Path(tmp), farm, hook, location, args.failover)
            seconds, held = takeover(config, Database(location), args.feeds)
        one, two = results["postgresql, 1 instance"], results["postgresql, 2 instances"]
        lite = results["sqlite, 1 instance"]
        print("\nratios (same run):")
        for k in one:
            print(f"  {k:10} 2 instances / 1: {two[k] / one[k]:.2f}   "
                  f"postgresql / sqlite (1 instance): {one[k] / lite[k]:.2f}")
        print(f"\ntakeover: a killed instance held {held} claimed feeds; the survivor had "
              f"polled every feed of that cycle {seconds:.1f} s after the kill "
              f"(failover = {args.failover:g} s)")
    finally:
        farm.close()
        hook.close()
        cluster.stop()


if __name__ == "__main__":
    main()
