"""Matcher throughput: articles/s at 100, 1,000 and 10,000 rules, against a naive baseline.

    python bench/match.py [--articles 20000] [--rules 100,1000,10000] [--naive-sample 300]

The naive baseline evaluates every rule against every article (as tools
with one regex per rule do), on the same analysed documents, over a sample
of the stream. One process, one core. Prints a table and the ratios.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from corpus import Corpus, articles, rules  # noqa: E402

from newswatch.rules import CompiledRule, Document, Matcher, evaluate, parse  # noqa: E402


def phrases_of(queries: list[str]) -> list[str]:
    return [m for q in queries for m in re.findall(r'"([^"]+)"', q)]


def run(n_articles: int, rule_counts: list[int], naive_sample: int) -> dict[int, dict[str, float]]:
    corpus = Corpus.make(seed=7)
    all_queries = rules(corpus, max(rule_counts))
    stream = articles(corpus, n_articles, phrases_of(all_queries))
    results: dict[int, dict[str, float]] = {}
    for count in rule_counts:
        queries = all_queries[:count]
        started = time.perf_counter()
        compiled = [CompiledRule(f"r{i}", parse(q)) for i, q in enumerate(queries)]
        matcher = Matcher(compiled)
        compile_s = time.perf_counter() - started

        matches = 0
        started = time.process_time()
        for a in stream:
            matches += len(matcher.match(Document.of(**a)))
        indexed = n_articles / (time.process_time() - started)

        sample = stream[:naive_sample]
        started = time.process_time()
        naive_matches = 0
        for a in sample:
            doc = Document.of(**a)
            naive_matches += sum(1 for r in compiled if evaluate(r.node, doc))
        naive = len(sample) / (time.process_time() - started)
        check = sum(len(matcher.match(Document.of(**a))) for a in sample)
        assert check == naive_matches, "indexed and naive matching disagree"
        results[count] = {"compile_s": compile_s, "indexed": indexed, "naive": naive,
                          "matches": matches}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--rules", default="100,1000,10000")
    parser.add_argument("--naive-sample", type=int, default=300)
    args = parser.parse_args()
    counts = [int(n) for n in args.rules.split(",")]
    results = run(args.articles, counts, args.naive_sample)
    print(f"{args.articles} articles, CPU time of one process\n")
    print(f"{'rules':>7} {'compile s':>10} {'articles/s':>11} {'naive/s':>9} {'× naive':>8} "
          f"{'matches':>8}")
    for count, r in results.items():
        print(f"{count:>7} {r['compile_s']:>10.2f} {r['indexed']:>11.0f} {r['naive']:>9.0f} "
              f"{r['indexed'] / r['naive']:>8.1f} {r['matches']:>8.0f}")
    lo, hi = min(results), max(results)
    print(f"\n{hi} rules vs {lo} rules: {results[lo]['indexed'] / results[hi]['indexed']:.2f}× "
          "slower (target ≤ 2)")
    print(f"{hi} rules: {results[hi]['indexed']:.0f} articles/s (target ≥ 10,000), "
          f"{results[hi]['indexed'] / results[hi]['naive']:.0f}× naive (target ≥ 20)")


if __name__ == "__main__":
    main()
