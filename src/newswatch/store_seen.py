"""Which articles are new: the `seen` table, and what one feed may claim for another.

An article counts as seen under each of its identities (models.Article.identities).
A canonical link spans feeds, so that an outlet's article and an aggregator's
copy alert once. But a feed must not silence another outlet by listing its URLs
first: a link another feed reached first is the same article only when the two
plausibly carry the same story, which the caller judges (`Claim`): the link's
host is the first feed's site, or the two titles agree as a story. Otherwise the
article is new for this feed too, stored under a key of its own (`own_key`).
Either way the outcome is written for this feed (`remember`), so that a later
poll, or the first article's text being pruned, never changes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .models import Article, _bounded
from .timestamps import iso

# (the article, the feed that reached its link first, that feed's title for it or None
# when no longer stored) -> whether they are one article
Claim = Callable[[Article, str, str | None], bool]


def own_key(feed: str, key: str) -> str:
    """The identity of a link as one feed's own (it reached the link after another)."""
    return _bounded(f"feed:{feed}:{key}")


@dataclass
class Triage:
    fresh: list[Article]  # new: to store (a key of their own when another feed had the link)
    shared: list[Article]  # another feed's article under this feed's link: not new
    original: dict[str, str]  # a fresh article's key -> the key it was read with


class SeenRows:
    conn: Any

    def unseen(self, articles: Iterable[Article], claim: Claim | None = None) -> list[Article]:
        """The articles none of whose identities was seen before (nor earlier in the list)."""
        return self.triage(articles, claim).fresh

    def triage(self, articles: Iterable[Article], claim: Claim | None = None) -> Triage:
        """Sort articles into new ones and seen ones (see the module's docstring);
        without `claim`, a link seen from any feed is seen."""
        batch = list(articles)
        first = self._seen_by({k for a in batch for k in a.identities()})
        # A feed's own keys matter only for links another feed reached first: asked
        # for those alone, a poll with no such link costs one query, not a longer one.
        elsewhere = [a for a in batch if first.get(a.key, a.feed) != a.feed]
        if elsewhere:
            first.update(self._seen_by({own_key(a.feed, a.key) for a in elsewhere}))
        titles = self._titles({a.key for a in elsewhere}) if claim is not None else {}
        result = Triage([], [], {})
        for article in batch:
            ids, mine = article.identities(), own_key(article.feed, article.key)
            owner = first.get(article.key)
            if mine in first or any(first.get(k) == article.feed for k in ids):
                continue  # this feed met it before (or earlier in this list)
            if owner is None:
                result.fresh.append(article)
                result.original[article.key] = article.key
                ids = (*ids, mine)
            elif claim is None or claim(article, owner, titles.get(article.key)):
                result.shared.append(article)
            else:
                fresh = replace(article, key=mine)
                result.fresh.append(fresh)
                result.original[mine] = article.key
                ids = (mine, *ids[1:])
            first.update({k: article.feed for k in (*ids, mine) if k not in first})
        return result

    def remember(self, articles: Iterable[Article], found: datetime) -> None:
        """Record that this feed has met these articles another feed reached first (call
        in the transaction that stores the poll)."""
        self.conn.executemany("INSERT INTO seen VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                              [(own_key(a.feed, a.key), a.feed, iso(found)) for a in articles])

    def _seen_by(self, keys: set[str]) -> dict[str, str]:
        """The feed that first saw each of these keys, for those seen."""
        return self._by_key("SELECT key, feed FROM seen", keys)

    def _titles(self, keys: set[str]) -> dict[str, str]:
        return self._by_key("SELECT key, title FROM articles", keys)

    def _by_key(self, select: str, keys: set[str]) -> dict[str, str]:
        """`select` (two columns, the first `key`) for these keys, 500 at a time."""
        listed = list(keys)
        found: dict[str, str] = {}
        for i in range(0, len(listed), 500):
            chunk = listed[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.conn.execute(f"{select} WHERE key IN ({marks})", chunk).fetchall())
        return found
