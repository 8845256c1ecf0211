"""Edited articles: a headline or summary a feed changed may now match a rule with
`realert = true`, and then alerts once, marked as updated.

    a feed's later poll -> its document's articles this feed stored before, read in
    one query -> those whose title or summary is not what was stored -> their text
    stored anew; matched against the `realert` rules only -> queued as any match
    (pipeline.queue: stories apply), the snippet marked UPDATED

Nothing of this runs unless a rule has `realert`. An article reaches a target
once, whatever its edits (pipeline.queue), so a headline flipping back and forth
alerts once: an edit is never news twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from .matching import Rules
from .messages import UPDATED
from .models import Article, Config, Match
from .rules.compile import compile_rules
from .store_seen import own_key

if TYPE_CHECKING:
    from .pipeline import Pipeline
    from .polling import Later
    from .store import Store


@dataclass(frozen=True)
class Edits:
    """A poll's edited articles (row id and stored key set, text as the feed has it
    now), and the matches of the `realert` rules among them."""

    articles: tuple[Article, ...] = ()
    matches: tuple[Match, ...] = ()


NO_EDITS = Edits()


class Realert:
    """The `realert` rules of the config in use, compiled once per config."""

    def __init__(self) -> None:
        self._compiled: tuple[Config, Rules] | None = None

    async def edits(self, store: Store, feed: str, articles: list[Article],
                    config: Config) -> Edits:
        """The articles of a parsed document that this feed stored with another text."""
        if not any(r.realert for r in config.rules):
            return NO_EDITS
        found = edited(store, feed, articles)
        if not found:
            return NO_EDITS
        matches = await asyncio.to_thread(self._match, config, found)
        return Edits(tuple(found), tuple(replace(m, snippet=UPDATED + m.snippet)
                                         for m in matches))

    def _match(self, config: Config, articles: list[Article]) -> list[Match]:
        if self._compiled is None or self._compiled[0] is not config:
            matcher = compile_rules(config, lambda r: r.realert and r.lexical)
            self._compiled = (config, Rules(
                matcher, {f.name: f.tags for f in config.feeds},
                {f.name: f.language for f in config.feeds if f.language}))
        rules = self._compiled[1]
        return [m for a in articles if (m := rules.match(a))]


def edited(store: Store, feed: str, articles: list[Article]) -> list[Article]:
    """The articles `feed` stored before (under the key it reads them with, or its own
    key for a link another feed reached first) whose title or summary is not what
    was stored; with their row id and stored key."""
    by_key: dict[str, Article] = {}
    for a in articles:
        by_key.setdefault(a.key, a)
        by_key.setdefault(own_key(feed, a.key), a)
    found: dict[int, Article] = {}
    for key, (row_id, title, summary) in store.stored_texts(feed, list(by_key)).items():
        article = by_key[key]
        if row_id not in found and changed(article, title, summary):
            found[row_id] = replace(article, key=key, row_id=row_id)
    return list(found.values())


def changed(article: Article, title: str, summary: str | None) -> bool:
    """Is an article's text not what was stored? (A summary pruned past the retention
    period, None, is not compared.)"""
    return article.title != title or (summary is not None and article.summary != summary)


def queue(pipeline: Pipeline, edits: Edits, when: datetime, later: list[Later],
          config: Config) -> int:
    """Store the edited articles' text and queue their alerts (in the poll's
    transaction); return how many alerts were queued."""
    for a in edits.articles:
        pipeline.store.update_text(a.row_id or 0, a.title, a.summary, a.content)
    return sum(pipeline.queue(m.article.row_id, m, when, later, config)
               for m in edits.matches)
