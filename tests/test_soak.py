"""A small soak: the daemon SIGKILLed at random moments loses nothing and repeats
only an alert it reports in doubt (killed between the target's answer and its record)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

import soak  # noqa: E402

pytestmark = pytest.mark.slow


def test_kills_during_publishing_and_failing_deliveries_lose_nothing_repeat_only_in_doubt() -> None:
    result = soak.soak(kills=4, feeds=3, fail_rate=0.3, seed=11, drain=60, quiet=True)
    assert result["expected"] > 0
    assert result["lost"] == 0
    assert result["unexplained_repeats"] == 0  # a repeat only of one reported in doubt
    assert result["unexpected"] == 0
    assert result["db_intact"] and result["clean_exit"] and not result["tracebacks"]
