"""`newswatch init`: the bundled example config as a user's first config.

The starter is the repository's config.toml itself (shipped in the package as
starter.toml), so what `make run` runs and what `init` writes never drift apart.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def starter_text() -> str:
    return resources.files("newswatch").joinpath("starter.toml").read_text(encoding="utf-8")


def write_starter(path: Path, force: bool = False) -> None:
    """Write the starter config (readable by its owner only: it will hold secrets'
    names and perhaps more); raises FileExistsError unless `force`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(starter_text())


def next_steps(path: Path, default: bool) -> str:
    flag = "" if default else f" --config {path}"
    steps = [(f"newswatch{flag} check", "validate it after each edit (rules, targets)"),
             (f"newswatch{flag} once", "poll every feed once now and send what matches"),
             (f"newswatch{flag} run", "the daemon; status page at http://127.0.0.1:9180/"),
             ("newswatch demo", "see alerts arrive from sample feeds, offline")]
    width = max(len(command) for command, _ in steps)
    return "\n".join([
        f"wrote {path}: a dozen world-news feeds, example rules, alerts on standard output.",
        "next:", *(f"  {command:<{width}}  # {why}" for command, why in steps)])
