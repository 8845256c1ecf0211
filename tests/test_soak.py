"""A small soak: the daemon SIGKILLed at random moments loses and repeats nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

import soak  # noqa: E402

pytestmark = pytest.mark.slow


def test_kills_during_publishing_and_failing_deliveries_lose_and_repeat_nothing() -> None:
    result = soak.soak(kills=4, feeds=3, fail_rate=0.3, seed=11, drain=60, quiet=True)
    assert result["expected"] > 0
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["unexpected"] == 0
    assert result["db_intact"] and result["clean_exit"] and not result["tracebacks"]
