"""When a link another feed reached first is the same article (see store_seen.py).

Two feeds carry one article when the link's host is the first feed's own site (an
outlet's article, met again through an aggregator or a second section feed), or
when the two titles agree as a story does (an aggregator's copy of an outlet's
headline). Anything else is another article for this feed: a feed listing another
outlet's URLs under titles of its own cannot make that outlet's story count as seen.
When in doubt, not the same: a repeat costs a message, a claim wrongly honoured
costs the alert.
"""

from __future__ import annotations

from .models import Article, Config
from .store_seen import Claim
from .stories import headline_key, similarity
from .urls import host_of, site


def claim_for(config: Config) -> Claim:
    """The judgement for a config, made once per config (a poll asks for it twice, and
    it is rarely called: only for a link another feed reached first)."""
    cached = _CLAIMS.get(id(config))
    if cached is None or cached[0] is not config:
        _CLAIMS.clear()  # one config is in force at a time; a reload replaces it
        cached = _CLAIMS[id(config)] = (config, _claim(config))
    return cached[1]


_CLAIMS: dict[int, tuple[Config, Claim]] = {}


def _claim(config: Config) -> Claim:
    sites: dict[str, str] = {}  # feed name -> its site, worked out when first needed
    urls = {f.name: f.url for f in config.feeds}
    threshold = config.settings.story_threshold

    def site_of(feed: str) -> str | None:
        if feed not in sites and feed in urls:
            sites[feed] = site(host_of(urls[feed]))
        return sites.get(feed)

    def same(article: Article, first_feed: str, first_title: str | None) -> bool:
        first_site = site_of(first_feed)
        if first_site and site(host_of(article.url)) == first_site:
            return True
        if not first_title or not article.title:
            return False
        return similarity(headline_key(first_title), headline_key(article.title)) >= threshold

    return same
