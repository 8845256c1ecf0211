"""Bytes and response headers -> articles, as plain text with a stable identity."""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import xmlfeed
from .errors import ParseError
from .imports import lazy_chardet, without
from .models import Article
from .rules.text import detect_language, language_code

with without("chardet", "cchardet"):
    import feedparser
    from feedparser.datetimes import _parse_date
lazy_chardet(feedparser)

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
          "h6", "blockquote", "pre", "section", "article", "header", "footer", "figcaption",
          "table", "hr", "dd", "dt"}
_SKIP = {"script", "style", "template", "noscript"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


_DROPPED = re.compile(r"<(script|style|template|noscript)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
# A tag starts with a letter (or /, !, ?); quoted attribute values may hold '>'.
_TAG = re.compile(r"""<(?:(/?)([A-Za-z][\w:.-]*)(?:[^>"']|"[^"]*"|'[^']*')*|[!?][^>]*)>""")


def _tag_gap(m: re.Match[str]) -> str:
    name = (m.group(2) or "").lower()
    return " " if name in _BLOCK or not name else ""


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags gone, entities decoded, spaces folded.

    Block-level tags separate words; inline ones (<b>, <a>, ...) do not.
    """
    if "<" not in html and "&" not in html:
        return clean(html)
    text = _COMMENT.sub(" ", _DROPPED.sub(" ", html))
    return clean(unescape(_TAG.sub(_tag_gap, text)))


def clean(text: str) -> str:
    """NFC, with every run of white space (a no-break space too) made one space."""
    text = unicodedata.normalize("NFC", text).strip()
    # Every white space character but the ASCII space is unprintable: most text
    # is clean already and is not split into words and joined again.
    if text.isprintable() and "  " not in text:
        return text
    return " ".join(text.split())


# Already canonical: lower-case http(s) host, no port, user, query or fragment.
_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(/[^?#\s]*)?")


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, utm_* parameters and fragment removed."""
    if _PLAIN_URL.fullmatch(url):
        return url if "/" in url[8:] else url + "/"
    return _canonical(url)


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
    warning: str | None = None  # the feed was malformed but readable
    language: str = ""  # declared (a code newswatch knows) or detected; '' if no guess


def parse_feed(feed: str, body: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse a feed body; raise ParseError if it is not a feed at all."""
    headers = _checked(body, headers)
    if _JSON_START.match(body) or "json" in headers.get("content-type", ""):
        return read_json_feed(feed, body)
    fast = xmlfeed.read(body, headers)
    if fast is not None:
        title, ttl, declared, entries = fast
        language = _language(declared, entries)
        articles = [_article(feed, e, language) for e in entries]
        return ParsedFeed(clean(title), [a for a in articles if a], _ttl_minutes(ttl),
                          language=language)
    return read_with_feedparser(feed, body, headers)


_JSON_START = re.compile(rb"\s*\{")


def _checked(body: bytes, headers: dict[str, str] | None) -> dict[str, str]:
    """Refuse an empty body (without copying a large one); header names lower-cased,
    as HTTP names are any case and feedparser looks them up in lower case."""
    if not body or body.isspace():
        raise ParseError("empty body")
    return {k.lower(): v for k, v in (headers or {}).items()}


def read_json_feed(feed: str, body: bytes) -> ParsedFeed:
    """A JSON Feed (1.0 or 1.1, https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError(f"not a feed: invalid JSON ({_describe(e)})") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
            "https://jsonfeed.org/version/"):
        raise ParseError("not a feed: JSON without a JSON Feed version")
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: a JSON Feed without an items list")
    entries = [_json_entry(i, data) for i in items if isinstance(i, dict)]
    language = _language(str(data.get("language") or ""), entries)
    articles = [_article(feed, e, language) for e in entries]
    return ParsedFeed(clean(_str(data.get("title"))), [a for a in articles if a],
                      language=language)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _json_entry(item: dict[str, Any], feed: dict[str, Any]) -> dict[str, Any]:
    """A JSON Feed item in the shape feedparser gives entries, for _article()."""
    authors = item.get("authors") or ([item["author"]] if item.get("author") else []) or (
        feed.get("authors") or ([feed["author"]] if feed.get("author") else []))
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
        "id": str(item.get("id", "")), "author": ", ".join(n for n in names if n),
        "tags": [{"term": t} for t in tags if isinstance(t, str)],
        "published_parsed": _parse_date(_str(item.get("date_published"))),
        "updated_parsed": _parse_date(_str(item.get("date_modified"))),
    }


def read_with_feedparser(feed: str, body: bytes,
                         headers: dict[str, str] | None = None) -> ParsedFeed:
    """parse_feed without the fast path: any feed feedparser can read."""
    headers = _checked(body, headers)
    d = feedparser.parse(io.BytesIO(body), response_headers=headers,
                         sanitize_html=False, resolve_relative_uris=False)
    if not d.entries and (d.bozo or not d.version):
        raise ParseError(_not_a_feed(d, body, headers))
    language = _language(d.feed.get("language") or "", d.entries)
    articles = [_article(feed, e, language) for e in d.entries]
    warning = None
    if d.bozo:
        warning = f"malformed feed, read anyway: {_describe(d.get('bozo_exception'))}"
    return ParsedFeed(clean(d.feed.get("title", "")), [a for a in articles if a], _ttl(d),
                      warning, language)


def _language(declared: str, entries: list[Any]) -> str:
    """The feed's language: as declared, else detected from its first headlines."""
    code = language_code(declared)
    if code:
        return code
    sample = [html_to_text(str(e.get("title", ""))) for e in entries[:20]]
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
    text = str(exc) if exc else "unknown problem"
    return text.splitlines()[0][:200]


def _ttl(d: Any) -> float | None:
    return _ttl_minutes(str(d.feed.get("ttl", "")))


def _ttl_minutes(ttl: str) -> float | None:
    ttl = ttl.strip()
    return float(ttl) * 60 if ttl.isdigit() else None


def _text(detail: Any, value: str) -> str:
    kind = (detail or {}).get("type", "text/html")
    return html_to_text(value) if "html" in kind else clean(value)


def _article(feed: str, e: Any, language: str = "") -> Article | None:
    title = _text(e.get("title_detail"), e.get("title", ""))
    summary = _text(e.get("summary_detail"), e.get("summary", ""))
    content = " ".join(_text(c, c.get("value", "")) for c in e.get("content", []))
    if content == summary:
        summary = ""  # feedparser copies content into summary for some feeds
    link = (e.get("link") or "").strip()
    guid = (e.get("id") or "").strip()
    if not (title or summary or content or link):
        return None
    if link.startswith(("http://", "https://")):
        key = canonical_url(link)
    elif guid:
        key = f"guid:{feed}:{guid}"
    else:
        key = "hash:" + hashlib.sha256(f"{feed}\n{title}".encode()).hexdigest()[:32]
    return Article(
        feed=feed, key=key, url=link, title=title, summary=summary, content=content,
        published=_published(e), guid=guid, author=clean(e.get("author", "")),
        categories=tuple(t.get("term", "") for t in e.get("tags", []) if t.get("term")),
        language=language)


def _published(e: Any) -> datetime | None:
    parsed = e.get("published_parsed") or e.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError):
        return None
