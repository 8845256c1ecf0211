"""`newswatch demo` works offline with no configuration, as a newcomer would run it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from newswatch.demo import RULES


def test_demo_rules_are_the_bundled_example_rules() -> None:
    bundled = tomllib.loads((Path(__file__).parent.parent / "config.toml").read_text())
    demo = tomllib.loads(RULES)
    assert [(r["name"], r["query"]) for r in demo["rules"]] == [
        (r["name"], r["query"]) for r in bundled["rules"]]
    assert demo["synonyms"] == bundled["synonyms"]


def test_demo_shows_alerts_then_new_matches_arriving(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "newswatch", "demo"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    out = result.stdout
    first, second = out.split("--- second poll")
    alerted = re.findall(r"^=== (.+)$", first, re.M)
    assert sorted(alerted) == sorted([
        "Pentagon moves Section 333 funds to air defence training",
        "Russia launches largest drone attack of the war on Ukraine",
        "Allies discuss a reassurance force for postwar Ukraine",
        "IAEA: Zaporizhzhia nuclear plant lost external power again"])
    # Only the new match alerts; the same story from another outlet and the drill do not.
    assert re.findall(r"^=== (.+)$", second, re.M) == [
        "Foreign minister Sybiha meets EU envoys in Brussels"]
    assert "matched: ukraine-foreign-minister" in second
    assert not list(tmp_path.iterdir()) or all(p.name.startswith(".") for p in tmp_path.iterdir())
