"""From config to matcher: rules with their synonyms and scopes; articles to documents."""

from __future__ import annotations

from ..models import Article, Config, Rule
from .matcher import CompiledRule, Document, Matcher
from .query import parse
from .synonyms import Synonyms


def compile_rule(rule: Rule, synonyms: Synonyms) -> CompiledRule:
    # frozenset() is a shared singleton; an empty one built from a generator is not.
    names = frozenset(s for s in rule.feeds if not s.startswith("tag:")) or frozenset()
    tags = frozenset(s[4:] for s in rule.feeds if s.startswith("tag:")) or frozenset()
    return CompiledRule(rule.name, synonyms.expand(parse(rule.query)), names, tags)


def compile_rules(config: Config) -> Matcher:
    """Every rule of a config in one matcher (on start and on reload)."""
    synonyms = Synonyms(config.synonyms)
    return Matcher([compile_rule(r, synonyms) for r in config.rules])


def document(article: Article) -> Document:
    return Document.of(title=article.title, summary=article.summary, content=article.content,
                       author=article.author, category=article.categories)
