"""Polling throughput at 1,000 feeds: newswatch against a bare baseline, in one run.

    python bench/poll.py [--feeds 1000] [--items 50] [--history 1000000] [--rules 10000]

Starts bench/farm.py, writes a config with its feeds, the example rules of
config.toml and a webhook on 127.0.0.1, and times `newswatch once` for
(1) the first poll, (2) a poll where nothing changed, (3) a poll after every
feed gained 5 items; beside each, bench/baseline.py (httpx + feedparser in 2
processes, no store, no rules). Then the same three polls against a database
already holding --history seen articles, and a first poll with --rules
synthetic rules. Prints feeds/s, items/s, CPU seconds, peak memory (the
process and its workers together) and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from corpus import Corpus, rules  # noqa: E402

from servers import Webhook  # noqa: E402


class Farm:
    def __init__(self, feeds: int, items: int, hosts: int = 50) -> None:
        self.feeds, self.hosts = feeds, hosts
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "farm.py"), "--feeds", str(feeds), "--items", str(items),
             "--hosts", str(hosts)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        self.port = int(line[2])

    def urls(self) -> list[str]:
        return [f"http://127.0.0.{2 + i % self.hosts}:{self.port}/feed/{i}."
                f"{'atom' if i % 3 == 2 else 'rss'}" for i in range(self.feeds)]

    def advance(self, k: int) -> None:
        import urllib.request
        urllib.request.urlopen(f"http://127.0.0.1:{self.port}/advance?k={k}", timeout=600).read()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def tree_rss(root: int) -> tuple[int, int]:
    """Memory of a process and all its descendants, in bytes: (RSS summed, PSS summed).

    RSS counts a shared library's pages once per process that maps it; PSS
    splits shared pages between the processes sharing them, so its sum is
    what the family really holds.
    """
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grew = True
    rss = pss = 0
    for pid in family:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a command; wall seconds, CPU seconds (it and its children), peak tree memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    peak = peak_pss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = tree_rss(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}):\n{err[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_mb": peak / 2**20, "pss_mb": peak_pss / 2**20,
            "out": out}  # type: ignore[dict-item]


def write_config(directory: Path, urls: list[str], hook: Webhook, n_rules: int) -> Path:
    bundled = tomllib.loads((HERE.parent / "config.toml").read_text())
    lines = ['[newswatch]', 'database = "nw.db"', 'interval = "15m"', 'timeout = "60s"', ""]
    lines.append("[synonyms]")
    for key, values in bundled.get("synonyms", {}).items():
        lines.append(f"{json.dumps(key)} = {json.dumps(values)}")
    for i, url in enumerate(urls):
        lines += ["", "[[feeds]]", f'name = "f{i}"', f'url = "{url}"']
    lines += ["", "[[targets]]", 'name = "hook"', f'url = "{hook.apprise_url}"']
    queries = [(r["name"], r["query"]) for r in bundled["rules"]]
    if n_rules > len(queries):
        # Synthetic rules in words the farm never writes ('zz' + word): they cost
        # what rules cost, without turning every article into an alert.
        synthetic = rules(Corpus.make(seed=5), n_rules - len(queries))
        queries += [(f"synthetic-{i}", re.sub(r"\b([a-z][a-z0-9]*)", r"zz\1", q))
                    for i, q in enumerate(synthetic)]
    for name, query in queries:
        lines += ["", "[[rules]]", f'name = "{name}"', f"query = {json.dumps(query)}"]
    path = directory / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def prefill(db: Path, n: int) -> None:
    """A database that has already seen n articles, as months of polling leave it: every
    identity in `seen`, and the rows of the last month's articles (a tenth of them;
    older ones were deleted after the retention period)."""
    conn = sqlite3.connect(db)
    rng = random.Random(1)
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    with conn:
        for start in range(0, n, 50_000):
            rows = [(f"https://old.example/{rng.randrange(10**12)}/{i}", f"old{i % 1000}")
                    for i in range(start, min(n, start + 50_000))]
            conn.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, '2026-01-01T00:00:00Z')",
                             rows)
            conn.executemany(
                "INSERT OR IGNORE INTO articles (key, feed, url, title, found) "
                "VALUES (?, ?, ?, 'An old story', ?)",
                [(k, f, k, recent) for k, f in rows[::10]])
    conn.close()


def newswatch_once(config: Path) -> dict[str, float]:
    return measure([sys.executable, "-m", "newswatch", "-q", "-c", str(config), "once"])


def baseline(urls_file: Path, state: Path) -> dict[str, float]:
    result = measure([sys.executable, str(HERE / "baseline.py"), str(urls_file), str(state)])
    result.update(json.loads(str(result["out"])))
    return result


def polls(farm: Farm, directory: Path, config: Path, with_baseline: bool,
          history: int = 0) -> dict[str, dict[str, float]]:
    urls_file, state = directory / "urls.txt", directory / "baseline-etags.json"
    urls_file.write_text("\n".join(farm.urls()))
    if history:
        subprocess.run([sys.executable, "-m", "newswatch", "-q", "-c", str(config), "check"],
                       check=True, capture_output=True)
        from newswatch.store import Store
        Store(directory / "nw.db").close()  # create the schema
        prefill(directory / "nw.db", history)
    out: dict[str, dict[str, float]] = {}
    for name in ("first", "unchanged", "advanced"):
        if name == "advanced":
            farm.advance(5)
        out[name] = newswatch_once(config)
        if with_baseline:
            out[f"baseline-{name}"] = baseline(urls_file, state)
    return out


def run_peers(feeds: int, items: int, ours: dict[str, dict[str, float]],
              our_feeds: int) -> None:
    """rss2email and feed2exec (when installed) on a farm of their own, same polls."""
    import peers

    found = peers.available()
    missing = sorted({p.name for p in peers.PEERS} - {p.name for p in found})
    if missing:
        print(f"\npeers not installed (make peers): {', '.join(missing)}")
    for peer in found:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            farm = Farm(feeds, items)
            try:
                env = peers.environment(directory)
                peer.setup(directory, farm.urls())
                runs = {}
                for name in ("first", "unchanged", "advanced"):
                    if name == "advanced":
                        farm.advance(5)
                    runs[name] = measure(peer.poll(directory), env)
            finally:
                farm.close()
        print(f"\n{peer.name}, {feeds} feeds × {items} items")
        print(f"{'poll':<11} {'wall s':>7} {'feeds/s':>8} {'CPU s':>6} {'peak MB':>8} "
              f"{'newswatch ÷ it (feeds/s)':>25}")
        for name in ("first", "unchanged", "advanced"):
            r = runs[name]
            theirs = feeds / r["wall"]
            mine = our_feeds / ours[name]["wall"]
            print(f"{name:<11} {r['wall']:>7.2f} {theirs:>8.1f} {r['cpu']:>6.1f} "
                  f"{r['peak_mb']:>8.0f} {mine / theirs:>25.1f}")


def report(label: str, feeds: int, items: int, runs: dict[str, dict[str, float]]) -> None:
    print(f"\n{label}")
    print(f"{'poll':<11} {'':<10} {'wall s':>7} {'feeds/s':>8} {'items/s':>8} {'CPU s':>6} "
          f"{'RSS MB':>7} {'PSS MB':>7} {'× baseline':>10}")
    for name, new_items in (("first", items), ("unchanged", 0), ("advanced", 5)):
        r = runs[name]
        b = runs.get(f"baseline-{name}")
        ratio = f"{b['wall'] / r['wall']:>10.2f}" if b else ""
        for who, x in (("newswatch", r), ("baseline", b)):
            if x is None:
                continue
            print(f"{name:<11} {who:<10} {x['wall']:>7.2f} {feeds / x['wall']:>8.0f} "
                  f"{feeds * new_items / x['wall']:>8.0f} {x['cpu']:>6.1f} {x['peak_mb']:>7.0f} "
                  f"{x['pss_mb']:>7.0f} "
                  f"{ratio if who == 'newswatch' else '':>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--peers", action="store_true",
                        help="also time rss2email and feed2exec (installed with `make peers`)")
    parser.add_argument("--peer-feeds", type=int, default=100,
                        help="feeds for the peers' farm (they poll one feed at a time)")
    args = parser.parse_args()
    hook = Webhook()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        plan = [("empty database, example rules", 0, 0, True)]
        if args.history:
            plan.append((f"database holding {args.history:,} seen articles", args.history, 0,
                         False))
        if args.rules:
            plan.append((f"{args.rules:,} rules", 0, args.rules, False))
        for label, history, n_rules, with_baseline in plan:
            directory = Path(tmp) / re.sub(r"\W+", "-", label)
            directory.mkdir()
            farm = Farm(args.feeds, args.items)
            try:
                config = write_config(directory, farm.urls(), hook, n_rules)
                results[label] = polls(farm, directory, config, with_baseline, history)
            finally:
                farm.close()
            report(label, args.feeds, args.items, results[label])
    hook.close()
    empty = results["empty database, example rules"]
    print(f"\nalerts received by the webhook: {len(hook.messages)}")
    for name in ("first", "unchanged", "advanced"):
        print(f"{name:<10} newswatch ÷ baseline (feeds/s): "
              f"{empty[f'baseline-{name}']['wall'] / empty[name]['wall']:.2f}")
    if args.history:
        full = results[f"database holding {args.history:,} seen articles"]
        for name in ("first", "unchanged", "advanced"):
            print(f"{name:<10} with history ÷ empty (time): "
                  f"{full[name]['wall'] / empty[name]['wall']:.2f}  (target ≤ 1.2)")
    if args.peers:
        run_peers(args.peer_feeds, args.items, empty, args.feeds)
    if args.rules:
        many = results[f"{args.rules:,} rules"]
        peak = max(r["pss_mb"] for r in many.values())
        print(f"peak memory at {args.feeds} feeds and {args.rules:,} rules, daemon and workers "
              f"together (PSS): {peak:.0f} MB  (target ≤ 250)")
    cpu_304 = empty["unchanged"]["cpu"]
    print(f"CPU per nothing-changed poll of {args.feeds} feeds: {cpu_304:.1f} s; "
          f"10,000 feeds every 15 min: ~{cpu_304 * 10_000 / args.feeds:.0f} CPU s per 900 s "
          "cycle when nothing changed")


if __name__ == "__main__":
    main()
