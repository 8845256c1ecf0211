"""The compiled rule set of a config: which rules an article matches.

Used by the pipeline, by `newswatch match`, and inside the parser worker
processes, which match new articles off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Article, Config, Match
from .rules import Matcher, snippet
from .rules.compile import compile_rules, document


@dataclass(frozen=True)
class Rules:
    """The compiled rule set, with the feed tags that scoped rules need."""

    matcher: Matcher
    tags: dict[str, tuple[str, ...]]  # feed name -> its tags
    languages: dict[str, str]  # feed name -> the language set for it in the config

    @classmethod
    def compile(cls, config: Config) -> Rules:
        return cls(compile_rules(config), {f.name: f.tags for f in config.feeds},
                   {f.name: f.language for f in config.feeds if f.language})

    def match(self, article: Article) -> Match | None:
        doc = document(article, self.languages.get(article.feed))
        names = self.matcher.match(doc, article.feed, self.tags.get(article.feed, ()))
        if not names:
            return None
        return Match(article, tuple(names), snippet(doc, self.matcher.nodes(names)))
