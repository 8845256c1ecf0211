"""From config to matcher: rules with their synonyms and scopes; articles to documents."""

from __future__ import annotations

from collections.abc import Callable

from ..models import Article, Config, Rule
from .matcher import CompiledRule, Document, Matcher
from .query import parse
from .synonyms import Synonyms
from .text import detect_language, query_languages

_NONE: frozenset[str] = frozenset()  # shared by every unscoped rule (~200 bytes each)


def scope(rule: Rule) -> tuple[frozenset[str], frozenset[str]]:
    """A rule's scope: the feed names and the tags of its `feeds` list."""
    names = frozenset(s for s in rule.feeds if not s.startswith("tag:")) or _NONE
    tags = frozenset(s[4:] for s in rule.feeds if s.startswith("tag:")) or _NONE
    return names, tags


def compile_rule(rule: Rule, synonyms: Synonyms) -> CompiledRule:
    """A rule, its words stemmed in the languages set by text.query_languages()."""
    return CompiledRule(rule.name, synonyms.expand(parse(rule.query)), *scope(rule))


def rule_languages(config: Config, rule: Rule) -> tuple[str, ...]:
    """The languages a rule's words are stemmed in: its own, else the config's and every
    language a feed is set to."""
    if rule.language:
        return (rule.language,)
    extra = [f.language for f in config.feeds if f.language]
    return tuple(dict.fromkeys([*config.settings.languages, *extra]))


def compile_rules(config: Config, which: Callable[[Rule], bool] = lambda r: r.lexical
                  ) -> Matcher:
    """A config's rules in one matcher (on start and on reload).

    By default the rules whose query alerts on its own: `about` rules are
    scored once articles are embedded, their queries (as gates) apart.
    """
    compiled = []
    synonyms: dict[tuple[str, ...], Synonyms] = {}
    for rule in config.rules:
        if not which(rule):
            continue
        languages = rule_languages(config, rule)
        with query_languages(languages):
            if languages not in synonyms:
                synonyms[languages] = Synonyms(config.synonyms)
            compiled.append(compile_rule(rule, synonyms[languages]))
    return Matcher(compiled)


def document(article: Article, language: str | None = None) -> Document:
    """An article as the matcher reads it, in `language` (default: the article's own,
    else detected from its text)."""
    if language is None:
        language = article.language or detect_language(article.title, article.summary)
    return Document.of(title=article.title, summary=article.summary, content=article.content,
                       author=article.author, category=article.categories, language=language)
