"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), its items in the shape
feedparser gives entries, so that one function makes articles of both.

A field of another type than the specification's (a title of 7, tags of "x",
authors of 5) reads as absent; an item that is no object is skipped by the caller.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ParseError
from .imports import lazy_chardet, without

with without("chardet", "cchardet"):
    import feedparser
    from feedparser.datetimes import _parse_date
lazy_chardet(feedparser)


def read(body: bytes) -> tuple[dict[str, Any], list[Any]]:
    """The document and its items; ParseError when it is no JSON Feed."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:  # Recursion: nested deep
        first = (str(e).splitlines() or ["unknown problem"])[0][:200]
        raise ParseError(f"not a feed: invalid JSON ({first})") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
            "https://jsonfeed.org/version/"):
        raise ParseError("not a feed: JSON without a JSON Feed version")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: a JSON Feed without an items list")
    return document, items


def entry(item: object, document: dict[str, Any]) -> dict[str, Any]:
    """A JSON Feed item as feedparser would give it (its url as written: the caller
    resolves it against the document's base)."""
    if not isinstance(item, dict):
        raise ValueError(f"an item that is a JSON {type(item).__name__}, not an object")
    authors = _authors(item) or _authors(document)
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
        "id": _id(item.get("id")), "author": ", ".join(n for n in names if n),
        "tags": [{"term": t} for t in tags if isinstance(t, str)],
        "published_parsed": _parse_date(_str(item.get("date_published"))),
        "updated_parsed": _parse_date(_str(item.get("date_modified"))),
    }


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _id(value: object) -> str:
    """An item's id as text; null (or a list, ...) is no id, not the id 'None'."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _authors(obj: dict[str, Any]) -> list[Any]:
    """1.1's authors, else 1.0's author; a value of another type names no one."""
    authors = obj.get("authors")
    if isinstance(authors, list) and authors:
        return authors
    return [obj["author"]] if obj.get("author") else []
