"""Bytes and response headers -> articles, as plain text with a stable identity.

parse_feed() raises ParseError and nothing else, in time linear in the body:
an item it cannot read is skipped and named in the feed's warning, so one odd
item never stops the feed, and every text it returns can be stored as UTF-8.

Relative links are read against the document's base, which reaches both readers
(and the JSON Feed reader) as an absolute `content-location` header: see
with_base(). Links and identities come from identity.py, text from htmltext.py.
"""

from __future__ import annotations

import calendar
import codecs
import dataclasses
import io
import logging
import re
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from . import jsonfeed, xmlfeed
from .errors import ParseError
from .htmltext import clean, html_to_text, storable_text
from .identity import _canonical as _canonical  # noqa: F401 - tests compare it with the shortcut
from .identity import (
    absolute_link,
    article_key,
    canonical_url,
    document_base,
    sha256,
    without_shared_guids,
)
from .imports import lazy_chardet, without
from .models import Article
from .rules.text import detect_language, language_code

with without("chardet", "cchardet"):
    import feedparser
    from feedparser.encodings import parse_content_type
lazy_chardet(feedparser)

__all__ = ["ParsedFeed", "canonical_url", "clean", "html_to_text", "parse_feed",
           "read_with_feedparser", "storable", "storable_text", "with_base"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    articles: list[Article]
    ttl: float | None = None  # seconds, from RSS <ttl>
    warning: str | None = None  # the feed was malformed but readable, or items were skipped
    language: str = ""  # declared (a code newswatch knows) or detected; '' if no guess


def parse_feed(feed: str, body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse a feed body; raise ParseError if it is not a feed at all.

    Pass with_base(headers, url) as the headers to have relative links resolved.
    """
    return _finished(feed, _read_any, body, headers)


def with_base(headers: dict[str, str], url: str) -> dict[str, str]:
    """The response headers, names lower-cased, with `content-location` the base the
    document's relative links are read against: the server's Content-Location
    resolved against `url` (where the body came from, after redirects), else `url`.
    Without a usable base there is no such header: links are kept as written."""
    lowered = {k.lower(): v for k, v in headers.items()}
    base = document_base(url, lowered.pop("content-location", ""))
    return {**lowered, "content-location": base} if base else lowered


def read_with_feedparser(feed: str, body: bytes,
                         headers: dict[str, str] | None = None) -> ParsedFeed:
    """parse_feed without the fast path: any feed feedparser can read."""
    return _finished(feed, _read_with_feedparser, body, headers)


Reader = Callable[[str, bytes, dict[str, str]], ParsedFeed]


def _finished(feed: str, read: Reader, body: bytes, headers: dict[str, str] | None) -> ParsedFeed:
    """The one way out of this module: ParseError, or articles that can be stored."""
    try:
        body, checked, ignored = _usable_encodings(body, _checked(body, headers))
        parsed = read(feed, body, checked)
    except ParseError:
        raise
    except Exception as e:
        # A reader failing on a document nobody foresaw: the feed gets an error
        # and its backoff, like any unreadable feed, instead of ending the poll.
        log.warning("feed=%s unreadable", feed, exc_info=True)
        raise ParseError(f"unreadable feed: {type(e).__name__}: {_describe(e)}") from None
    warning = "; ".join(w for w in (ignored, parsed.warning) if w) or None
    return dataclasses.replace(parsed, title=storable_text(parsed.title[:_CAPS["title"]]),
                               articles=[storable(a) for a in parsed.articles],
                               warning=warning)


# Bounds, in characters: no headline or byline comes near 1,000, and few
# articles near 100,000 (some 15,000 words). A feed that sends more has its
# item kept, cut there, rather than a row of megabytes that every match reads.
_CAPS = {"title": 1_000, "author": 1_000, "summary": 100_000, "content": 100_000}
_MAX_CATEGORIES, _MAX_CATEGORY = 100, 200


def storable(article: Article) -> Article:
    """The article with every text field within its bound and encodable as UTF-8."""
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(article, name)
        fixed = storable_text(value[:_CAPS.get(name)])
        if fixed is not value:
            changes[name] = fixed
    for name in _TEXTS_FIELDS:
        values = getattr(article, name)
        texts = tuple(storable_text(v[:_MAX_CATEGORY]) for v in values[:_MAX_CATEGORIES])
        if texts != values:
            changes[name] = texts
    return dataclasses.replace(article, **changes) if changes else article


_TYPES = typing.get_type_hints(Article)
_TEXT_FIELDS = [name for name, kind in _TYPES.items() if kind is str]
_TEXTS_FIELDS = [name for name, kind in _TYPES.items() if kind == tuple[str, ...]]


def _read_any(feed: str, body: bytes, headers: dict[str, str]) -> ParsedFeed:
    if _JSON_START.match(body) or "json" in headers.get("content-type", ""):
        return _read_json_feed(feed, body, _base(headers))
    fast = xmlfeed.read(body, headers)
    if fast is None:
        return _read_with_feedparser(feed, body, headers)
    title, ttl, declared, entries = fast
    language = _language(_str(declared), entries)
    articles, skipped = _articles(feed, entries, language, _base(headers))
    return ParsedFeed(clean(_str(title)), articles, _ttl_minutes(_str(ttl)),
                      _warning(None, skipped), language)


_JSON_START = re.compile(rb"\s*\{")


def _checked(body: bytes, headers: dict[str, str] | None) -> dict[str, str]:
    """Refuse an empty body (without copying a large one); header names lower-cased,
    as HTTP names are any case and feedparser looks them up in lower case."""
    if not body or body.isspace():
        raise ParseError("empty body")
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if "content-location" in lowered:
        # feedparser joins every link to this base, absolute ones too: a base it
        # cannot take apart (a broken IPv6 host) would cost the document its links.
        return with_base(lowered, "")
    return lowered


def _base(headers: dict[str, str]) -> str:
    return headers.get("content-location", "")


def _read_json_feed(feed: str, body: bytes, base: str) -> ParsedFeed:
    document, items = jsonfeed.read(body)
    entries, odd = _each(lambda item: jsonfeed.entry(item, document), items)
    language = _language(_str(document.get("language")), entries)
    articles, skipped = _articles(feed, entries, language, base)
    return ParsedFeed(clean(_str(document.get("title"))), articles,
                      warning=_warning(None, odd + skipped), language=language)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _read_with_feedparser(feed: str, body: bytes, headers: dict[str, str]) -> ParsedFeed:
    if b"&#" in body:
        body = _CHARREF.sub(_storable_charref, body)
    try:
        d, odd = _feedparser(body, headers), list[str]()
    except Exception:
        # feedparser fails on some elements in an odd place (a GML point outside
        # georss:where, ...): each item is read alone, and only that one is lost.
        split = xmlfeed.split_items(body)
        if split is None:
            raise
        d, odd = _items_apart(*split, headers)
    if not d.entries and (d.bozo or not d.version):
        raise ParseError(_not_a_feed(d, body, headers))
    language = _language(_str(d.feed.get("language")), d.entries)
    articles, skipped = _articles(feed, d.entries, language, _base(headers))
    malformed = None
    if d.bozo:
        malformed = f"malformed feed, read anyway: {_describe(d.get('bozo_exception'))}"
    return ParsedFeed(clean(_str(d.feed.get("title"))), articles, _ttl(d),
                      _warning(malformed, odd + skipped), language)


def _feedparser(body: bytes, headers: dict[str, str]) -> Any:
    return feedparser.parse(io.BytesIO(body), response_headers=headers,
                            sanitize_html=False, resolve_relative_uris=False)


def _items_apart(head: bytes, items: list[bytes], tail: bytes,
                 headers: dict[str, str]) -> tuple[Any, list[str]]:
    """feedparser's reading of a document, each item read inside the rest of the
    document alone; and why each item it failed on was skipped."""
    d = _feedparser(head + tail, headers)
    found, skipped = _each(lambda item: _feedparser(head + item + tail, headers).entries, items)
    d["entries"] = [entry for entries in found for entry in entries]
    return d, skipped


# feedparser's own reading of the encoding declared in the document's first line.
_XML_ENCODING = re.compile(rb"<\?.*encoding=['\"](.*?)['\"].*\?>")


def _usable_encodings(body: bytes, headers: dict[str, str]) -> tuple[
        bytes, dict[str, str], str | None]:
    """The document without an encoding name a reader would fail on (bytes that are
    not UTF-8, a NUL, Python's 'undefined' codec), and a note naming it.

    feedparser reads a document declared in an encoding it does not know as UTF-8
    or windows-1252, with a warning; a name it would fail on is read the same way."""
    ignored = []
    mime, charset = parse_content_type(headers.get("content-type", ""))
    if charset and not _usable_encoding(charset):
        headers = {**headers, "content-type": mime}
        ignored.append(charset)
    bom = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0
    declared = _XML_ENCODING.match(body[:bom + 1024], bom)  # a declaration is short
    if declared and not _usable_encoding(declared[1]):
        body = body[:declared.start(1)] + body[declared.end(1):]
        ignored.append(declared[1].decode("utf-8", "replace"))
    if not ignored:
        return body, headers, None
    return body, headers, "unusable encoding name ignored: " + ", ".join(map(repr, ignored))


def _usable_encoding(name: str | bytes) -> bool:
    try:
        text = name.decode("utf-8") if isinstance(name, bytes) else name
        return codecs.lookup(text).name != "undefined"
    except LookupError:
        return True  # unknown: feedparser tries UTF-8 and others instead
    except ValueError:  # not UTF-8 (UnicodeDecodeError), or a NUL in it
        return False


# feedparser turns a character reference into a character and encodes it as
# UTF-8: a surrogate (&#xD800;, or a pair written as two references) or a code
# point past U+10FFFF raises there. Such a reference is read as U+FFFD, as an
# HTML5 reader reads it.
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+))")


def _storable_charref(m: re.Match[bytes]) -> bytes:
    hex_digits, digits = m.groups()
    number = (hex_digits or digits).lstrip(b"0") or b"0"
    code = int(number, 16 if hex_digits else 10) if len(number) <= 8 else -1
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return m[0]
    return b"&#xFFFD"


def _each(read: Callable[[Any], T | None], items: Iterable[Any]) -> tuple[list[T], list[str]]:
    """read() of each item, and why each item it could not read was skipped: one odd
    item never costs its feed the others."""
    done: list[T] = []
    skipped: list[str] = []
    for item in items:
        try:
            result = read(item)
        except Exception as e:
            skipped.append(f"{type(e).__name__}: {_describe(e)}")
            continue
        if result is not None:
            done.append(result)
    return done, skipped


def _articles(feed: str, entries: list[Any], language: str,
              base: str) -> tuple[list[Article], list[str]]:
    articles, skipped = _each(lambda e: _article(feed, e, language, base), entries)
    return without_shared_guids(articles), skipped


def _warning(malformed: str | None, skipped: list[str]) -> str | None:
    notes = [malformed] if malformed else []
    if skipped:
        items = "1 item" if len(skipped) == 1 else f"{len(skipped)} items"
        notes.append(f"{items} skipped: {skipped[0]}")
    return "; ".join(notes) or None


def _language(declared: str, entries: list[Any]) -> str:
    """The feed's language: as declared, else detected from its first headlines."""
    code = language_code(declared)
    if code:
        return code
    # detect_language() reads 600 characters: a megabyte headline is not read whole.
    sample = [html_to_text(_str(e.get("title"))[:1_000]) for e in entries[:20]]
    return detect_language(" ".join(sample))


def _not_a_feed(d: Any, body: bytes, headers: dict[str, str]) -> str:
    head = body[:512].lstrip().lower()
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if b"<html" in head or b"<!doctype html" in head or "text/html" in content_type:
        return "not a feed: the server sent an HTML page"
    if d.bozo:
        return f"not a feed: {_describe(d.get('bozo_exception'))}"
    return "not a feed: no RSS, Atom or RDF document found"


def _describe(exc: object) -> str:
    lines = str(exc).splitlines() if exc else []
    return storable_text(lines[0][:200]) if lines else "unknown problem"


def _ttl(d: Any) -> float | None:
    return _ttl_minutes(str(d.feed.get("ttl", "")))


_TTL = re.compile("[0-9]{1,9}")  # ASCII digits: '²' is a digit to str.isdigit() too


def _ttl_minutes(ttl: str) -> float | None:
    ttl = ttl.strip()
    return float(ttl) * 60 if _TTL.fullmatch(ttl) else None


def _text(detail: Any, value: object) -> str:
    if not isinstance(value, str):
        return ""
    kind = _str((detail or {}).get("type")) or "text/html"
    return html_to_text(value) if "html" in kind else clean(value)


def _article(feed: str, e: Any, language: str = "", base: str = "") -> Article | None:
    """An entry as either reader (or the JSON Feed reader) gives it, as an Article.
    A field of another type than the reader promises (None) reads as empty."""
    title = _text(e.get("title_detail"), e.get("title"))
    summary = _text(e.get("summary_detail"), e.get("summary"))
    content = " ".join(_text(c, c.get("value")) for c in e.get("content") or []
                       if isinstance(c, dict))
    if content == summary:
        summary = ""  # feedparser copies content into summary for some feeds
    link = absolute_link(_bounded_link(_str(e.get("link"))), base)
    guid = _bounded_id(_str(e.get("id")).strip())
    if not (title or summary or content or link):
        return None
    return Article(
        feed=feed, key=article_key(feed, link, guid, title), url=link, title=title,
        summary=summary, content=content, published=_published(e), guid=guid,
        author=clean(_str(e.get("author"))), categories=_categories(e), language=language)


def _categories(e: Any) -> tuple[str, ...]:
    tags = e.get("tags") or []
    return tuple(term for t in tags if isinstance(t, dict) and (term := _str(t.get("term"))))


# A link or id longer than this is no address anyone opens: the link is
# dropped and the id replaced by its hash, which still tells items apart.
_MAX_ID = 8_192


def _bounded_link(link: str) -> str:
    link = link.strip()
    return link if len(link) <= _MAX_ID else ""


def _bounded_id(guid: str) -> str:
    return guid if len(guid) <= _MAX_ID else "sha256:" + sha256(guid)


def _published(e: Any) -> datetime | None:
    # dict.get: feedparser's own get() answers a missing updated_parsed with the
    # published one and a DeprecationWarning (an error where warnings are).
    parsed = dict.get(e, "published_parsed") or dict.get(e, "updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError):
        return None
