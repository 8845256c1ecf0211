"""Bytes and response headers -> articles, as plain text with a stable identity.

parse_feed() raises ParseError and nothing else, in time linear in the body:
an item it cannot read is skipped and named in the feed's warning, so one odd
item never stops the feed, and every text it returns can be stored as UTF-8.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import io
import json
import logging
import re
import threading
import typing
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex
from lxml import etree

from . import xmlfeed
from .errors import ParseError
from .imports import lazy_chardet, without
from .models import Article
from .rules.text import detect_language, language_code

with without("chardet", "cchardet"):
    import feedparser
    from feedparser.datetimes import _parse_date
lazy_chardet(feedparser)

log = logging.getLogger(__name__)
T = TypeVar("T")

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
          "h6", "blockquote", "pre", "section", "article", "header", "footer", "figcaption",
          "table", "hr", "dd", "dt"}
_SKIP = {"script", "style", "template", "noscript", "iframe", "noembed", "noframes"}  # unseen
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Text:
    """An lxml parser target that keeps the text of an HTML fragment as it streams
    by: no tree is built, so no depth limit cuts a deeply nested fragment short.
    Block elements and comments separate words; inline elements do not."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.hidden = 0  # how deep inside <script>, <style>, ... the reader is

    def start(self, tag: str, attrib: object) -> None:
        if tag in _SKIP:
            self.hidden += 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def end(self, tag: str) -> None:
        if tag in _SKIP:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def comment(self, text: str) -> None:
        self.parts.append(" ")

    def close(self) -> str:
        text, self.parts, self.hidden = "".join(self.parts), [], 0
        return text


_readers = threading.local()


def _markup_text(html: str) -> str:
    """The text of HTML as libxml2's HTML5 tokenizer reads it: in one pass, so in
    time linear in the input whatever it holds (unclosed tags or comments)."""
    parser = getattr(_readers, "html", None)
    if parser is None:  # one per thread: a parser holds its target's state while reading
        # huge_tree: else a text over 10 MB is dropped whole; an HTML parser
        # expands no entities, so that limit guards nothing here.
        parser = _readers.html = etree.HTMLParser(target=_Text(), no_network=True,
                                                  huge_tree=True)
    return str(etree.fromstring(html, parser))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags gone, entities decoded, spaces folded.

    Block-level tags separate words; inline ones (<b>, <a>, ...) do not.
    """
    if "<" not in html:
        return clean(unescape(html))
    # libxml2 cannot be handed a lone surrogate (lxml stops reading there).
    return clean(_markup_text(storable_text(html)))


def clean(text: str) -> str:
    """NFC, with every run of white space (a no-break space too) made one space."""
    text = _nfc(text).strip()
    # Every white space character but the ASCII space is unprintable: most text
    # is clean already and is not split into words and joined again.
    if text.isprintable() and "  " not in text:
        return text
    return " ".join(text.split())


# NFC sorts each run of combining marks by insertion, in time quadratic in the
# run's length (80,000 marks: 6 s). No script puts more than 30 on one letter
# (UAX #15's stream-safe limit), so longer runs are cut to 30 before NFC.
_MARK_RUN = regex.compile(r"(\P{ccc=0}{30})\P{ccc=0}+")


def _nfc(text: str) -> str:
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", _MARK_RUN.sub(r"\1", text))


# A lone surrogate (from a JSON "\ud800") cannot be encoded as UTF-8, which
# SQLite and every target need; a NUL ends a string in C. Each becomes U+FFFD.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """The text with every character UTF-8 and C strings can hold (itself if it has)."""
    if text.isascii() and "\x00" not in text:  # most text: two scans in C, no regex call
        return text
    return _UNSTORABLE.sub("\ufffd", text)


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


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    articles: list[Article]
    ttl: float | None = None  # seconds, from RSS <ttl>
    warning: str | None = None  # the feed was malformed but readable, or items were skipped
    language: str = ""  # declared (a code newswatch knows) or detected; '' if no guess


def parse_feed(feed: str, body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse a feed body; raise ParseError if it is not a feed at all."""
    return _finished(feed, _read_any, body, headers)


def read_with_feedparser(feed: str, body: bytes,
                         headers: dict[str, str] | None = None) -> ParsedFeed:
    """parse_feed without the fast path: any feed feedparser can read."""
    return _finished(feed, _read_with_feedparser, body, headers)


Reader = Callable[[str, bytes, dict[str, str]], ParsedFeed]


def _finished(feed: str, read: Reader, body: bytes, headers: dict[str, str] | None) -> ParsedFeed:
    """The one way out of this module: ParseError, or articles that can be stored."""
    try:
        parsed = read(feed, body, _checked(body, headers))
    except ParseError:
        raise
    except Exception as e:
        # A reader failing on a document nobody foresaw: the feed gets an error
        # and its backoff, like any unreadable feed, instead of ending the poll.
        log.warning("feed=%s unreadable", feed, exc_info=True)
        raise ParseError(f"unreadable feed: {type(e).__name__}: {_describe(e)}") from None
    return dataclasses.replace(parsed, title=storable_text(parsed.title[:_CAPS["title"]]),
                               articles=[storable(a) for a in parsed.articles])


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
        return _read_json_feed(feed, body)
    fast = xmlfeed.read(body, headers)
    if fast is None:
        return _read_with_feedparser(feed, body, headers)
    title, ttl, declared, entries = fast
    language = _language(declared, entries)
    articles, skipped = _articles(feed, entries, language)
    return ParsedFeed(clean(title), articles, _ttl_minutes(ttl), _warning(None, skipped),
                      language)


_JSON_START = re.compile(rb"\s*\{")


def _checked(body: bytes, headers: dict[str, str] | None) -> dict[str, str]:
    """Refuse an empty body (without copying a large one); header names lower-cased,
    as HTTP names are any case and feedparser looks them up in lower case."""
    if not body or body.isspace():
        raise ParseError("empty body")
    return {k.lower(): v for k, v in (headers or {}).items()}


def _read_json_feed(feed: str, body: bytes) -> ParsedFeed:
    """A JSON Feed (1.0 or 1.1, https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # Recursion: nested deep
        raise ParseError(f"not a feed: invalid JSON ({_describe(e)})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
            "https://jsonfeed.org/version/"):
        raise ParseError("not a feed: JSON without a JSON Feed version")
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: a JSON Feed without an items list")
    entries, odd = _each(lambda item: _json_entry(item, data), items)
    language = _language(_str(data.get("language")), entries)
    articles, skipped = _articles(feed, entries, language)
    return ParsedFeed(clean(_str(data.get("title"))), articles,
                      warning=_warning(None, odd + skipped), language=language)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_id(value: object) -> str:
    """An item's id as text; null (or a list, ...) is no id, not the id 'None'."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _json_authors(obj: dict[str, Any]) -> list[Any]:
    """1.1's authors, else 1.0's author; a value of another type names no one."""
    authors = obj.get("authors")
    if isinstance(authors, list) and authors:
        return authors
    return [obj["author"]] if obj.get("author") else []


def _json_entry(item: object, feed: dict[str, Any]) -> dict[str, Any]:
    """A JSON Feed item in the shape feedparser gives entries, for _article()."""
    if not isinstance(item, dict):
        raise ValueError(f"an item that is a JSON {type(item).__name__}, not an object")
    authors = _json_authors(item) or _json_authors(feed)
    names = [_str(a.get("name")) for a in authors if isinstance(a, dict)]
    content = []
    if _str(item.get("content_html")):
        content.append({"type": "text/html", "value": item["content_html"]})
    elif _str(item.get("content_text")):
        content.append({"type": "text/plain", "value": item["content_text"]})
    tags = item["tags"] if isinstance(item.get("tags"), list) else []
    return {
        "title": _str(item.get("title")), "title_detail": {"type": "text/plain"},
        "summary": _str(item.get("summary")), "summary_detail": {"type": "text/plain"},
        "content": content, "link": _str(item.get("url")) or _str(item.get("external_url")),
        "id": _json_id(item.get("id")), "author": ", ".join(n for n in names if n),
        "tags": [{"term": t} for t in tags if isinstance(t, str)],
        "published_parsed": _parse_date(_str(item.get("date_published"))),
        "updated_parsed": _parse_date(_str(item.get("date_modified"))),
    }


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
    language = _language(d.feed.get("language") or "", d.entries)
    articles, skipped = _articles(feed, d.entries, language)
    malformed = None
    if d.bozo:
        malformed = f"malformed feed, read anyway: {_describe(d.get('bozo_exception'))}"
    return ParsedFeed(clean(d.feed.get("title", "")), articles, _ttl(d),
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


def _articles(feed: str, entries: list[Any], language: str) -> tuple[list[Article], list[str]]:
    return _each(lambda e: _article(feed, e, language), entries)


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
    sample = [html_to_text(str(e.get("title", ""))[:1_000]) for e in entries[:20]]
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


def _text(detail: Any, value: str) -> str:
    kind = (detail or {}).get("type", "text/html")
    return html_to_text(value) if "html" in kind else clean(value)


def _article(feed: str, e: Any, language: str = "") -> Article | None:
    title = _text(e.get("title_detail"), e.get("title", ""))
    summary = _text(e.get("summary_detail"), e.get("summary", ""))
    content = " ".join(_text(c, c.get("value", "")) for c in e.get("content", []))
    if content == summary:
        summary = ""  # feedparser copies content into summary for some feeds
    link = _bounded_link(e.get("link") or "")
    guid = _bounded_id((e.get("id") or "").strip())
    if not (title or summary or content or link):
        return None
    return Article(
        feed=feed, key=_key(feed, link, guid, title), url=link, title=title, summary=summary,
        content=content, published=_published(e), guid=guid, author=clean(e.get("author", "")),
        categories=tuple(t.get("term", "") for t in e.get("tags", []) if t.get("term")),
        language=language)


# A link or id longer than this is no address anyone opens: the link is
# dropped and the id replaced by its hash, which still tells items apart.
_MAX_ID = 8_192


def _bounded_link(link: str) -> str:
    link = link.strip()
    return link if len(link) <= _MAX_ID else ""


def _bounded_id(guid: str) -> str:
    return guid if len(guid) <= _MAX_ID else "sha256:" + _sha256(guid)


def _sha256(text: str) -> str:
    # surrogatepass: a lone surrogate (made U+FFFD on the way out) must not stop the hash
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _key(feed: str, link: str, guid: str, title: str) -> str:
    """The identity used for dedupe: canonical link, else guid, else a hash of the title."""
    if link.startswith(("http://", "https://")):
        return canonical_url(link)
    if guid:
        return f"guid:{feed}:{guid}"
    return "hash:" + _sha256(f"{feed}\n{title}")[:32]


def _published(e: Any) -> datetime | None:
    parsed = e.get("published_parsed") or e.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError):
        return None
