"""A parse worker's memory under feeds that bring never-seen words on every poll.

    python bench/worker_memory.py [--polls 50] [--articles 50] [--words 500] [--rules 1000]

In a fresh process (spawned, as src/newswatch/workers.py starts its workers)
compiles the rules of config.toml plus --rules synthetic ones (bench/corpus.py),
then matches --polls polls of --articles articles of about --words words each:
mostly invented letter strings no poll repeats, some real news words, some
Cyrillic (invented and real); a share carry a phrase a rule looks for, so
snippets are made too. Prints the resident memory (VmRSS) after the first poll
and after the last, and the growth between them: the caches of words are
bounded by bytes (src/newswatch/rules/caches.py), so it should stay flat.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import string
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from corpus import NEWS, Corpus, rules  # noqa: E402

from newswatch.config import load  # noqa: E402
from newswatch.matching import Rules  # noqa: E402
from newswatch.models import Article, Rule  # noqa: E402

CONFIG = HERE.parent / "config.toml"
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщьюяіїєґ"
REAL_CYRILLIC = ("атака дрон дрони дронів україна київ росія москва ракета удар війна "
                 "обстріл область місто президент уряд санкції").split()
PHRASES = ["largest drone attack", "security cooperation", "reassurance force", "power plant",
           "foreign minister Ukraine", "record number of drones"]


def rss_bytes() -> int:
    """This process's resident memory, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _word(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.60:  # invented Latin: never seen before, in any poll
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 12)))
    if kind < 0.80:
        return rng.choice(NEWS)
    if kind < 0.95:  # invented Cyrillic
        return "".join(rng.choices(CYRILLIC, k=rng.randint(4, 12)))
    return rng.choice(REAL_CYRILLIC)


def poll(rng: random.Random, number: int, articles: int, words: int) -> list[Article]:
    """One poll of a feed: `articles` articles of about `words` words."""
    out = []
    for i in range(articles):
        body = [_word(rng) for _ in range(rng.randint(words * 4 // 5, words * 6 // 5))]
        if rng.random() < 0.2:
            body.insert(rng.randrange(len(body)), rng.choice(PHRASES))
        title = " ".join(_word(rng) for _ in range(10)).capitalize()
        out.append(Article(feed="kyiv-independent", key=f"p{number}a{i}",
                           url=f"https://example.org/{number}/{i}", title=title,
                           summary=" ".join(body[:40]), content=" ".join(body)))
    return out


def measure(polls: int, articles: int, words: int, extra_rules: int,
            seed: int = 1) -> dict[str, int]:
    """In this process: compile the rules, match the polls, report memory (bytes)."""
    config = load(CONFIG)
    generated = tuple(Rule(f"synthetic-{i}", q)
                      for i, q in enumerate(rules(Corpus.make(seed=7), extra_rules)))
    compiled = Rules.compile(replace(config, rules=config.rules + generated))
    rng = random.Random(seed)
    after: dict[int, int] = {}
    matches = 0
    for number in range(1, polls + 1):
        matches += sum(1 for a in poll(rng, number, articles, words) if compiled.match(a))
        if number in (1, polls):
            after[number] = rss_bytes()
    return {"first": after[1], "last": after[polls], "growth": after[polls] - after[1],
            "matches": matches}


def run(polls: int = 50, articles: int = 50, words: int = 500,
        extra_rules: int = 1000) -> dict[str, int]:
    """measure() in a freshly spawned process: nothing learned before it starts."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(measure, polls, articles, words, extra_rules).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=50)
    parser.add_argument("--articles", type=int, default=50)
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args()
    if args.polls < 1:
        parser.error("--polls must be at least 1")
    r = run(args.polls, args.articles, args.words, args.rules)
    mb = 1024 * 1024
    print(f"{args.polls} polls of {args.articles} articles of ~{args.words} new words, "
          f"{args.rules} synthetic rules + config.toml's; {r['matches']} matches")
    print(f"RSS after poll 1: {r['first'] / mb:.1f} MB; after poll {args.polls}: "
          f"{r['last'] / mb:.1f} MB")
    print(f"growth: {r['growth'] / mb:.1f} MB (target < 20 MB)")


if __name__ == "__main__":
    main()
