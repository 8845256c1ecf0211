"""Importing libraries without the heavy optional modules they load eagerly.

Three libraries import a large module at import time only because it is
installed, for work newswatch does not ask of them, and every process pays:

    sqlite-utils  numpy and pandas, to map their scalar types to columns (numpy ~15 MB;
                  installed with the semantic extra, loaded by `about` rules only)
    requests      chardet, to guess a response's charset (apprise uses requests;
                  without chardet it takes charset-normalizer, its other choice)
    feedparser    chardet, to guess an undeclared charset (~1.5 MB in every worker);
                  it is loaded on first use instead, see lazy_chardet()

Measured at 1,000 feeds and 10,000 rules: the daemon and its two workers
together 277 -> 262 MB (PSS) without numpy, and ~4.5 MB less without chardet.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def without(*names: str) -> Iterator[None]:
    """Imports inside see these modules as not installed, unless already loaded."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # importing raises ImportError
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _chardet_encoding(data: bytes) -> str:
    import chardet

    encoding: str | None = chardet.detect(data)["encoding"]
    return encoding or ""


def lazy_chardet(feedparser: ModuleType) -> None:
    """Give feedparser (imported without chardet) a charset guesser that imports
    chardet the first time a feed declares no charset."""
    encodings = feedparser.encodings
    if getattr(encodings, "lazy_chardet_encoding", None) is None:
        encodings.lazy_chardet_encoding = _chardet_encoding
