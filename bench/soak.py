"""Soak: publish continuously, fail some deliveries, SIGKILL the daemon at random moments.

    python bench/soak.py [--kills 50] [--feeds 5] [--fail-rate 0.2] [--seed 1]

A local feed server keeps publishing (half the items match a rule), a local
webhook refuses a share of the posts, and `newswatch run` is killed with
SIGKILL at random moments and restarted, --kills times. Then the webhook
recovers, the daemon drains its outbox, and the run prints the alerts
expected, delivered, lost and duplicated. Exit 0 when none is lost and none
is duplicated but an alert the daemon reported in doubt at a restart (a kill
between the target's answer and its record: the one repeat a crash can cause).
Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from servers import FeedServer, Item, Webhook, rss  # noqa: E402

LINK = re.compile(r"https://soak\.example/\S+")
IN_DOUBT = re.compile(r"alert=(\d+) was on its way")


class Publisher(threading.Thread):
    """Adds an item to a random feed every 50-250 ms; half of them match the rule."""

    def __init__(self, server: FeedServer, feeds: int, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.server, self.rng = server, rng
        self.items: dict[str, list[Item]] = {f"/f{i}.xml": [] for i in range(feeds)}
        self.expected: set[str] = set()
        self.running = True
        self.lock = threading.Lock()
        for path in self.items:
            server.publish(path, rss([]))

    def run(self) -> None:
        n = 0
        while self.running:
            n += 1
            path = self.rng.choice(list(self.items))
            link = f"https://soak.example{path[:-4]}/{n}"
            matching = self.rng.random() < 0.5
            title = f"Largest drone attack, report {n}" if matching else f"Weather, report {n}"
            with self.lock:
                self.items[path].append(Item(title, link, "Soak test item."))
                self.server.publish(path, rss(self.items[path]), etag=f'"{n}"')
                if matching:
                    self.expected.add(link)
            time.sleep(self.rng.uniform(0.05, 0.25))


def write_config(directory: Path, server: FeedServer, hook: Webhook, feeds: int) -> Path:
    path = directory / "config.toml"
    text = ('[newswatch]\ndatabase = "soak.db"\ninterval = "1s"\ntimeout = "5s"\n'
            'retry_delay = "1s"\nretry_max = "3s"\n\n')
    for i in range(feeds):
        text += f'[[feeds]]\nname = "f{i}"\nurl = "{server.url(f"/f{i}.xml")}"\n\n'
    text += (f'[[targets]]\nname = "hook"\nurl = "{hook.apprise_url}"\n\n'
             "[[rules]]\nname = \"drones\"\nquery = '\"largest drone attack\"'\n")
    path.write_text(text)
    return path


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("a") as out:
        return subprocess.Popen([sys.executable, "-m", "newswatch", "-c", str(config), "run"],
                                stdout=subprocess.DEVNULL, stderr=out)


def delivered(hook: Webhook) -> Counter[str]:
    return Counter(m for msg in hook.messages for m in LINK.findall(msg["message"]))


def soak(kills: int, feeds: int, fail_rate: float, seed: int, drain: float = 90.0,
         quiet: bool = False, keep: Path | None = None) -> dict[str, int]:
    rng = random.Random(seed)
    server, hook = FeedServer(), Webhook()
    hook.fail_rate = fail_rate
    hook.random = random.Random(seed + 1)
    publisher = Publisher(server, feeds, random.Random(seed + 2))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config, log = write_config(directory, server, hook, feeds), directory / "daemon.log"
        started = time.monotonic()
        publisher.start()
        for k in range(kills):
            proc = start(config, log)
            time.sleep(rng.uniform(0.3, 2.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if not quiet:
                print(f"kill {k + 1}/{kills}: {len(delivered(hook))} alerts delivered so far",
                      flush=True)
        publisher.running = False
        publisher.join()
        hook.fail_rate = 0.0
        proc = start(config, log)
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline and not publisher.expected <= set(delivered(hook)):
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        clean_exit = proc.wait(timeout=15) == 0
        log_text = log.read_text()
        doubted = {int(n) for n in IN_DOUBT.findall(log_text)}
        with sqlite3.connect(directory / "soak.db") as conn:
            intact = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            in_doubt = {url for id_, url in conn.execute(
                "SELECT alerts.id, articles.url FROM alerts JOIN articles "
                "ON articles.id = alerts.article_id") if id_ in doubted}
        got = delivered(hook)
        traceback = "Traceback" in log_text
        if keep is not None:
            import shutil
            shutil.copytree(directory, keep, dirs_exist_ok=True)
            (keep / "received.txt").write_text("\n".join(
                f"{m['title']} {LINK.findall(m['message'])}" for m in hook.messages))
    server.close()
    hook.close()
    return {
        "kills": kills, "expected": len(publisher.expected), "delivered": len(got),
        "lost": len(publisher.expected - set(got)),
        "duplicated": sum(n - 1 for n in got.values() if n > 1),
        "in_doubt": len(in_doubt),
        "unexplained_repeats": sum(n - 1 for link, n in got.items()
                                   if n > 1 and link not in in_doubt),
        "unexpected": len(set(got) - publisher.expected),
        "clean_exit": int(clean_exit), "db_intact": int(intact), "tracebacks": int(traceback),
        "seconds": round(time.monotonic() - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--feeds", type=int, default=5)
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="copy the database and log here")
    args = parser.parse_args()
    r = soak(args.kills, args.feeds, args.fail_rate, args.seed, keep=args.keep)
    print(f"\nkills {r['kills']}, {r['seconds']} s: alerts expected {r['expected']}, "
          f"delivered {r['delivered']}, lost {r['lost']}, duplicated {r['duplicated']} "
          f"({r['unexplained_repeats']} not reported in doubt; {r['in_doubt']} in doubt), "
          f"unexpected {r['unexpected']}; clean final exit {bool(r['clean_exit'])}, "
          f"database intact {bool(r['db_intact'])}, tracebacks {r['tracebacks']}")
    sys.exit(0 if r["lost"] == 0 and r["unexplained_repeats"] == 0 and r["db_intact"] else 1)


if __name__ == "__main__":
    main()
