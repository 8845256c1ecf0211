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


def test_poll_benchmark_runs_small() -> None:
    """bench/poll.py end to end on a small farm: every poll completes, the example
    rules alert through the webhook, and the figures are printed."""
    import re
    import subprocess

    out = subprocess.run(
        [sys.executable, str(Path(__file__).parent.parent / "bench" / "poll.py"), "--feeds", "30",
         "--items", "10", "--history", "2000", "--rules", "300"],
        capture_output=True, text=True, timeout=300, check=True).stdout
    received = re.search(r"alerts received by the webhook: (\d+)", out)
    assert received and int(received.group(1)) > 0, out
    for poll in ("first", "unchanged", "advanced"):
        assert re.search(rf"{poll}\s+newswatch ÷ baseline \(feeds/s\): \d", out), out
        assert re.search(rf"{poll}\s+with history ÷ empty \(time\): \d", out), out
    assert re.search(r"peak memory at 30 feeds and 300 rules.*: \d+ MB", out), out


def test_daemon_and_workers_load_no_numpy_pandas_or_chardet() -> None:
    """Each would cost every process megabytes for work newswatch does not ask of it
    (see newswatch/imports.py); numpy is for `about` rules alone."""
    import subprocess

    code = ("import sys, newswatch.cli, newswatch.daemon, newswatch.workers, newswatch.notify;"
            "print(sorted(m for m in ('numpy', 'pandas', 'chardet') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
