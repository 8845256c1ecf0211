"""Quick variants of the benchmarks: they run, and their checks hold (no timing asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

import match as match_bench  # noqa: E402


def test_match_benchmark_runs_and_indexed_agrees_with_naive() -> None:
    # run() asserts that indexed and naive matching find the same rules.
    results = match_bench.run(n_articles=1500, rule_counts=[50, 500], naive_sample=1500)
    assert set(results) == {50, 500}
    assert results[500]["matches"] > results[50]["matches"] > 0
    assert all(r["indexed"] > 0 and r["naive"] > 0 for r in results.values())
