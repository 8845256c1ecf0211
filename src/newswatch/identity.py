"""Where an article's link points, and the key it is known by.

- `document_base(url, content_location)`: the absolute URL a feed's relative links
  are read against, before any xml:base inside it.
- `absolute_link(link, base)`: a link resolved against that base.
- `article_key(feed, link, guid, title)`: the one identity both readers give an
  article: its canonical link, else its guid, else a hash of its title.
- `without_shared_guids(articles)`: a guid that several links share identifies none.

Keys are kept for ever in `seen`, so a key must be the same at every poll of the
same item, and the same before and after an upgrade of newswatch: a key that
changes makes every article still in its feed new again. Two changes do that
once, knowingly: a relative link, once keyed by its guid or title because no
base was known, is now keyed by its absolute link (an item still seen under a
guid that is no link stays seen); and an identifying fragment (article_key).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .models import Article

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def document_base(url: str, content_location: str = "") -> str:
    """Content-Location resolved against the URL the body came from (after
    redirects), else that URL; '' when neither is an http(s) URL one can read."""
    for base in (absolute_link(content_location, url.strip()), url.strip()):
        if base and _usable_base(base):
            return base
    return ""


def _usable_base(url: str) -> bool:
    # A base urljoin cannot take apart (a broken IPv6 host) would make feedparser
    # drop every link in the document, relative or not.
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return False
    return parts.scheme in _DEFAULT_PORTS and bool(parts.hostname)


def absolute_link(link: str, base: str) -> str:
    """A link against a base, as feedparser resolves one: an absolute link as it
    is, a relative one joined to the base; '' for one that cannot be taken apart."""
    link = link.strip()
    if not link or not base or _SCHEME.match(link):
        return link
    try:
        return urljoin(base, link)
    except ValueError:
        return ""


# Already canonical: lower-case http(s) host, no port, user, query or fragment.
_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(/[^?#\s]*)?")


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, utm_* parameters and fragment removed.

    A URL that cannot be taken apart (a port out of range, a lone surrogate in
    its query) is its own canonical form: it still identifies its article.
    """
    if _PLAIN_URL.fullmatch(url):
        return url if "/" in url[8:] else url + "/"
    try:
        return _canonical(url)
    except ValueError:
        return url.strip()


def _canonical(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith("utm_")]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def article_key(feed: str, link: str, guid: str, title: str) -> str:
    """The identity used for dedupe: canonical link, else guid, else a hash of the title.

    A link's fragment is part of the key when it names something on the page
    (`#comment-713578640`, `#p12345`, `#!/story/7`): comment feeds give each comment
    the post's URL and a fragment of its own. A fragment that names no item (empty,
    `#more-123`, `#respond`, tracking such as `#xtor=RSS-3`) is dropped, as it always
    was, so links without an identifying fragment keep the key they had before
    fragments counted. The rule reads the link alone, never the other items beside
    it, so an item keeps its key when its neighbours leave the feed. The first time
    a newswatch that keeps fragments reads an item whose link has an identifying
    fragment, its key is new; if its guid was recorded (comment feeds give one) it
    is still seen, else it alerts once.
    """
    if link.startswith(("http://", "https://")):
        head, _, fragment = link.partition("#")
        if _identifies(fragment.strip()):
            return canonical_url(head) + "#" + fragment.strip()
        return canonical_url(link)
    if guid:
        return f"guid:{feed}:{guid}"
    return "hash:" + sha256(f"{feed}\n{title}")[:32]


# Fragments that point into a page every item shares, or that only track a click.
_NOT_AN_ITEM = re.compile(
    r"[!/]*"  # empty, or an empty hashbang route
    r"|(?:more|more-\d+|respond|comments?|comment-form|disqus_thread|content|main"
    r"|main-content|top|page|article|story|read-?more|continue(?:-reading)?|jump)"
    r"|\.[A-Za-z0-9_-]{6,}"  # AddThis' share tracking (#.VnZ6kr9Kq2E)
    r"|(?:(?:utm_[a-z_]+|xtor|at_[a-z_]+|ref|source|src|from|rss|feed|fsp)"
    r"(?:=[^&]*)?&?)+",  # #xtor=RSS-3, #ref=rss, #utm_source=feed&utm_medium=rss
    re.I)


def _identifies(fragment: str) -> bool:
    return not _NOT_AN_ITEM.fullmatch(fragment)


def sha256(text: str) -> str:
    # surrogatepass: a lone surrogate (made U+FFFD on the way out) must not stop the hash
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def without_shared_guids(articles: list[Article]) -> list[Article]:
    """The articles, each guid that several distinct links share dropped from them.

    Some feeds give every item one guid (the site's URL, "1"); the guid then
    identifies no item, and as an identity it would make each new item look seen.
    Items sharing a guid and a link are one article listed twice, and keep it.
    """
    keys: defaultdict[str, set[str]] = defaultdict(set)
    for article in articles:
        if article.guid:
            keys[article.guid].add(article.key)
    shared = {guid for guid, found in keys.items() if len(found) > 1}
    if not shared:
        return articles
    return [dataclasses.replace(a, guid="") if a.guid in shared else a for a in articles]
