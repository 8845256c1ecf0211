"""`newswatch match`: run a query or rule over the articles already stored.

The same matcher and the same documents as the live pipeline, so what it
lists is exactly what the rule would have caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from .models import Article
from .rules import CompiledRule, Matcher, snippet
from .rules.compile import document
from .store import Store


@dataclass(frozen=True)
class Hit:
    article: Article
    snippet: str


def backtest(store: Store, rule: CompiledRule, since: datetime, feed: str | None = None,
             tags: dict[str, tuple[str, ...]] | None = None,
             languages: dict[str, str] | None = None) -> Iterator[tuple[int, Hit | None]]:
    """Yield (articles scanned so far, hit or None) for each stored article."""
    matcher = Matcher([rule])
    tags, languages = tags or {}, languages or {}
    for n, article in enumerate(store.stored_articles(since, feed), 1):
        doc = document(article, languages.get(article.feed))
        if matcher.match(doc, article.feed, tags.get(article.feed, ())):
            yield n, Hit(article, snippet(doc, [rule.node]))
        else:
            yield n, None
