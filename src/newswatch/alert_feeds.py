"""The matches as feeds a reader can subscribe to: Atom 1.0 and JSON Feed 1.1.

One entry per article that matched (not per target), newest first: all of
them, or one rule's. An entry's id is `urn:newswatch:article:ID`, stable for as
long as the article is kept. Its link is given only when it is http(s) (see
messages.safe_link). Text from feeds is written as text: escaped for XML, with
the characters XML 1.0 forbids dropped (a reader refuses a whole feed for one).
An unknown rule is an empty feed, not an error: a subscription to a rule that
has not fired yet keeps working.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from .messages import safe_link
from .store_status import AlertedArticle
from .timestamps import iso

ENTRIES = 50
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_TYPE = "application/feed+json; charset=utf-8"
# Not allowed anywhere in an XML 1.0 document, not even as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str | None) -> str:
    """Text with the characters XML 1.0 cannot carry dropped."""
    return _NOT_XML.sub("", text or "")


def _text(value: str | None) -> str:
    return escape(clean(value))


def _attr(value: str | None) -> str:
    return escape(clean(value), {'"': "&quot;"})


def entry_id(article: AlertedArticle) -> str:
    return f"urn:newswatch:article:{article.id}"


def _feed_id(rule: str | None) -> str:
    return "urn:newswatch:alerts" + (f":rule:{quote(rule, safe='')}" if rule else "")


def _title(rule: str | None) -> str:
    return f"newswatch: alerts of rule {rule}" if rule else "newswatch: alerts"


def _query(rule: str | None) -> str:
    return f"?rule={quote(rule, safe='')}" if rule else ""


def _updated(articles: Sequence[AlertedArticle], now: datetime) -> str:
    return max((a.found for a in articles), default=iso(now) or "")


def atom(articles: Sequence[AlertedArticle], rule: str | None, origin: str,
         now: datetime) -> bytes:
    """An Atom 1.0 document of the articles; `origin` is the server's http://host:port."""
    head = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{_text(_feed_id(rule))}</id>",
        f'<title type="text">{_text(_title(rule))}</title>',
        f"<updated>{_updated(articles, now)}</updated>",
        f'<link rel="self" type="application/atom+xml" '
        f'href="{_attr(origin + "/alerts.atom" + _query(rule))}"/>',
        f'<link rel="alternate" type="text/html" href="{_attr(origin + "/")}"/>',
        "<author><name>newswatch</name></author>",
        "<generator>newswatch</generator>",
    ]
    return "\n".join([*head, *(_atom_entry(a) for a in articles), "</feed>", ""]).encode()


def _atom_entry(article: AlertedArticle) -> str:
    link = safe_link(article.url)
    parts = [
        "<entry>",
        f"<id>{entry_id(article)}</id>",
        f'<title type="text">{_text(article.title or article.url or "(untitled)")}</title>',
        f'<link rel="alternate" href="{_attr(link)}"/>' if link else "",
        f"<published>{article.published}</published>" if article.published else "",
        f"<updated>{article.found}</updated>",
        f'<summary type="text">{_text(article.snippet)}</summary>',
        *(f'<category scheme="urn:newswatch:rule" term="{_attr(r)}"/>' for r in article.rules),
        f'<source><title type="text">{_text(article.feed)}</title></source>',
        "</entry>",
    ]
    return "\n".join(p for p in parts if p)


def json_feed(articles: Sequence[AlertedArticle], rule: str | None, origin: str) -> bytes:
    """A JSON Feed 1.1 document of the articles."""
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _title(rule),
        "home_page_url": origin + "/",
        "feed_url": origin + "/alerts.json" + _query(rule),
        "description": "Articles that matched newswatch rules, newest first.",
        "items": [_json_item(a) for a in articles],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def _json_item(article: AlertedArticle) -> dict[str, object]:
    item: dict[str, object] = {
        "id": entry_id(article),
        "title": clean(article.title or article.url or "(untitled)"),
        "content_text": clean(article.snippet or article.title),
        "date_published": article.published or article.found,
        "date_modified": article.found,
        "tags": [clean(r) for r in article.rules],
        # JSON Feed's way to carry what it has no field for: a key starting with _.
        "_newswatch": {"feed": clean(article.feed), "rules": [clean(r) for r in article.rules],
                       "found": article.found, "published": article.published},
    }
    if link := safe_link(article.url):
        item["url"] = link
    return item
