"""rss2email and feed2exec polling the same loopback farm, for `poll.py --peers`.

Both are installed in their own virtualenv (`make peers` makes `.peers/`),
so their pinned feedparser never meets newswatch's. Each runs its own way,
with its defaults: rss2email with `run --no-send` (fetch, parse, record as
seen; no mail is built or sent, so its figures are an upper bound), and
feed2exec with the `null` output plugin. Both keep their state in a
temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).parent.parent


def find(program: str) -> str | None:
    """A peer's executable: on PATH, or in the .peers virtualenv."""
    local = ROOT / ".peers" / "bin" / program
    return str(local) if local.exists() else shutil.which(program)


def opml(urls: list[str]) -> str:
    outlines = "\n".join(f"    <outline type=\"rss\" text=\"f{i}\" xmlUrl={quoteattr(u)}/>"
                         for i, u in enumerate(urls))
    return (f'<?xml version="1.0"?>\n<opml version="2.0"><head><title>farm</title></head>'
            f"<body>\n{outlines}\n</body></opml>\n")


class Peer:
    """One peer's three commands: set up (once), poll (timed)."""

    def __init__(self, name: str, setup: Callable[[Path, list[str]], None],
                 poll: Callable[[Path], list[str]]) -> None:
        self.name, self.setup, self.poll = name, setup, poll


def _r2e(directory: Path) -> list[str]:
    r2e = find("r2e")
    assert r2e
    return [r2e, "-c", str(directory / "r2e.cfg"), "-d", str(directory / "r2e.json")]


def _rss2email_setup(directory: Path, urls: list[str]) -> None:
    (directory / "farm.opml").write_text(opml(urls))
    base = _r2e(directory)
    subprocess.run([*base, "new", "reader@example.org"], check=True, capture_output=True)
    subprocess.run([*base, "opmlimport", str(directory / "farm.opml")], check=True,
                   capture_output=True)


def _feed2exec(directory: Path) -> list[str]:
    f2e = find("feed2exec")
    assert f2e
    return [f2e, "--config", str(directory / "feed2exec.ini"),
            "--database", str(directory / "feed2exec.db")]


def _feed2exec_setup(directory: Path, urls: list[str]) -> None:
    sections = [f"[f{i}]\nurl = {u}\noutput = feed2exec.plugins.null\n"
                for i, u in enumerate(urls)]
    (directory / "feed2exec.ini").write_text("\n".join(sections))


PEERS = [
    Peer("rss2email", _rss2email_setup, lambda d: [*_r2e(d), "run", "--no-send"]),
    Peer("feed2exec", _feed2exec_setup, lambda d: [*_feed2exec(d), "fetch"]),
]


def available() -> list[Peer]:
    return [p for p in PEERS if find({"rss2email": "r2e"}.get(p.name, p.name))]


def environment(directory: Path) -> dict[str, str]:
    """Keep the peers' own files (caches, default paths) inside the directory."""
    return {**os.environ, "HOME": str(directory), "XDG_CONFIG_HOME": str(directory),
            "XDG_DATA_HOME": str(directory), "XDG_CACHE_HOME": str(directory)}
