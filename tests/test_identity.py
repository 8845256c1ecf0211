"""Links and identities, by data: every case through both readers.

Each document is read by `parse_feed` (the fast reader first) and by
`read_with_feedparser`, and both must give the same links and keys: an article's
key must not depend on which reader read it, nor change between polls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from newswatch.identity import article_key, canonical_url, document_base
from newswatch.models import Article
from newswatch.parse import ParsedFeed, parse_feed, read_with_feedparser, with_base

READERS = [parse_feed, read_with_feedparser]
FINAL = "https://final.example/feeds/main.xml"  # where the body came from, after redirects
Reader = Callable[[str, bytes, dict[str, str]], ParsedFeed]


def rss(*items: str, channel: str = "") -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Links</title>{channel}"
            + "".join(f"<item>{i}</item>" for i in items) + "</channel></rss>").encode()


def atom(*entries: str, base: str = "") -> bytes:
    xml_base = f' xml:base="{base}"' if base else ""
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
            f"{xml_base}><title>Links</title>"
            + "".join(f"<entry>{e}</entry>" for e in entries) + "</feed>").encode()


def json_feed(*items: dict[str, Any]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Links",
                       "items": list(items)}).encode()


def both(body: bytes, headers: dict[str, str]) -> list[Article]:
    """The articles as both readers give them (they must agree)."""
    fast, slow = (read("f", body, headers).articles for read in READERS)
    assert [(a.url, a.key, a.identities()) for a in fast] == [
        (a.url, a.key, a.identities()) for a in slow]
    return fast


XML = {"Content-Type": "application/rss+xml; charset=utf-8"}

# (case, body, headers, the articles' links as an alert shows them)
LINKS: list[tuple[str, bytes, dict[str, str], list[str]]] = [
    ("RSS link from the site's root",
     rss("<title>Plex</title><link>/blog/2013/01/30/Plex</link>"), with_base(XML, FINAL),
     ["https://final.example/blog/2013/01/30/Plex"]),
    ("RSS link beside the feed",
     rss("<title>Two</title><link>post/2</link>"), with_base(XML, FINAL),
     ["https://final.example/feeds/post/2"]),
    ("RSS permalink guid, no link",
     rss("<title>Guid</title><guid>/p/3</guid>"), with_base(XML, FINAL),
     ["https://final.example/p/3"]),
    ("Content-Location, relative to the final URL",
     rss("<title>CL</title><link>story</link>"),
     with_base({**XML, "Content-Location": "/mirror/index.xml"}, FINAL),
     ["https://final.example/mirror/story"]),
    ("Content-Location, absolute",
     rss("<title>CL</title><link>story</link>"),
     with_base({**XML, "content-location": "https://cdn.example/a/feed"}, FINAL),
     ["https://cdn.example/a/story"]),
    ("Content-Location that cannot be read: the final URL",
     rss("<title>CL</title><link>story</link>"),
     with_base({**XML, "Content-Location": "http://[::1/feed"}, FINAL),
     ["https://final.example/feeds/story"]),
    ("an absolute link is left as it is",
     rss("<title>Abs</title><link>https://abs.example/x?utm_source=rss</link>"),
     with_base(XML, FINAL), ["https://abs.example/x?utm_source=rss"]),
    ("Atom xml:base, relative to the document's base",
     atom('<title>A</title><link href="2013/a"/><id>tag:a</id>', base="/blog/"),
     with_base(XML, FINAL), ["https://final.example/blog/2013/a"]),
    ("Atom xml:base on the entry, absolute",
     atom('<title>B</title><link href="b"/><id>tag:b</id>', base="http://other.example/x/"),
     with_base(XML, FINAL), ["http://other.example/x/b"]),
    ("no base known: the link as written",
     rss("<title>Kept</title><link>/as/written</link>"), XML, ["/as/written"]),
]


@pytest.mark.parametrize(("body", "headers", "links"), [c[1:] for c in LINKS],
                         ids=[c[0] for c in LINKS])
def test_relative_links_are_resolved_against_the_documents_base(
        body: bytes, headers: dict[str, str], links: list[str]) -> None:
    articles = both(body, headers)
    assert [a.url for a in articles] == links
    assert [a.key for a in articles if a.url.startswith("https://")] == [
        canonical_url(link) for link in links if link.startswith("https://")]


def test_json_feed_links_are_resolved_against_the_documents_base() -> None:
    body = json_feed({"id": "1", "url": "/j/1", "title": "One"},
                     {"id": "2", "external_url": "j2", "title": "Two"},
                     {"id": "3", "url": "http://[::1/x", "title": "Broken"})
    headers = with_base({"Content-Type": "application/feed+json"}, FINAL)
    parsed = parse_feed("f", body, headers)
    assert [a.url for a in parsed.articles] == [
        "https://final.example/j/1", "https://final.example/feeds/j2", "http://[::1/x"]
    assert parsed.articles[0].key == "https://final.example/j/1"


def test_a_relative_link_keeps_its_article_when_the_headline_is_edited() -> None:
    """Once resolved, a relative link is the identity: no title hash to change."""
    first = rss("<title>Largest drone attack</title><link>/news/1</link>")
    edited = first.replace(b"Largest drone attack", b"Largest drone attack yet")
    headers = with_base(XML, FINAL)
    for read in READERS:
        assert read("f", first, headers).articles[0].key == read(
            "f", edited, headers).articles[0].key == "https://final.example/news/1"


@pytest.mark.parametrize(("url", "content_location", "base"), [
    ("https://a.example/f.xml", "", "https://a.example/f.xml"),
    ("https://a.example/x/f.xml", "../g/", "https://a.example/g/"),
    ("https://a.example/f.xml", "https://b.example/f", "https://b.example/f"),
    ("https://a.example/f.xml", "http://[::1/", "https://a.example/f.xml"),
    ("https://a.example/f.xml", "http://h:99999/", "https://a.example/f.xml"),
    ("https://a.example/f.xml", "javascript:alert(1)", "https://a.example/f.xml"),
    ("", "/relative/only", ""),
    ("", "https://b.example/f", "https://b.example/f"),
    ("ftp://a.example/f", "", ""),
])
def test_document_base(url: str, content_location: str, base: str) -> None:
    assert document_base(url, content_location) == base


# Comments on one post, forum posts, routes: the fragment is what tells them apart.
IDENTIFYING = [
    ("https://blog.example/post/#comment-713578640",
     "https://blog.example/post/#comment-713578640"),
    ("https://forum.example/t?id=5#p12345", "https://forum.example/t?id=5#p12345"),
    ("https://app.example/#!/story/7", "https://app.example/#!/story/7"),
    ("https://News.Example:443/a?utm_campaign=x#comment-1", "https://news.example/a#comment-1"),
    ("http://h.example:99999/a#c1", "http://h.example:99999/a#c1"),
]
# Fragments that name no item (a page anchor, click tracking): dropped, as always.
PLAIN = [
    "https://news.example/a", "https://news.example/a#more-123",
    "https://news.example/a#respond", "https://news.example/a#xtor=RSS-3",
    "https://news.example/a#utm_source=feed&utm_medium=rss",
    "https://news.example/a#.VnZ6kr9Kq2E", "https://news.example/a#",
]


@pytest.mark.parametrize(("link", "key"), IDENTIFYING + [(link, "https://news.example/a")
                                                         for link in PLAIN])
def test_a_fragment_is_in_the_key_when_it_names_an_item(link: str, key: str) -> None:
    assert article_key("f", link, "", "t") == key


@pytest.mark.parametrize("link", PLAIN)
def test_links_without_an_identifying_fragment_keep_the_key_they_had(link: str) -> None:
    """Keys are kept for ever: a key that changed on upgrade would make every article
    still in its feed new again. Those links are keyed by canonical_url, as before."""
    assert article_key("f", link, "g", "t") == canonical_url(link)


def test_without_an_http_link_the_guid_then_the_title_is_the_key() -> None:
    assert article_key("f", "", "g", "t") == "guid:f:g"
    assert article_key("f", "/relative", "g", "t") == "guid:f:g"
    # The title hash as it has always been computed (keys in databases depend on it).
    assert article_key("f", "", "", "P") == "hash:416fa4aa509995ed07668b10b54d08c5"


def comment(n: int, post: str = "https://blog.example/post/") -> str:
    return f"<title>By: Reader {n}</title><link>{post}#comment-{n}</link>"


def test_comments_on_one_post_are_distinct_articles_through_both_readers() -> None:
    articles = both(rss(comment(713578640), comment(713578641)), XML)
    assert [a.key for a in articles] == ["https://blog.example/post/#comment-713578640",
                                         "https://blog.example/post/#comment-713578641"]
    assert not set(articles[0].identities()) & set(articles[1].identities())


def test_a_comment_keeps_its_key_when_its_neighbours_leave_the_feed() -> None:
    alone = both(rss(comment(1)), XML)
    with_others = both(rss(comment(1), comment(2), comment(3, "https://blog.example/b/")), XML)
    assert alone[0].identities() == with_others[0].identities()


def shared_guid(n: int, link: str) -> str:
    return f'<title>Story {n}</title><link>{link}</link><guid isPermaLink="false">g</guid>'


def test_a_guid_shared_by_distinct_links_merges_nothing() -> None:
    articles = both(rss(shared_guid(1, "https://n.example/1"),
                        shared_guid(2, "https://n.example/2")), XML)
    assert [a.key for a in articles] == ["https://n.example/1", "https://n.example/2"]
    assert not set(articles[0].identities()) & set(articles[1].identities())


def test_an_item_listed_twice_under_one_guid_is_one_article() -> None:
    articles = both(rss(shared_guid(1, "https://n.example/1?utm_source=a"),
                        shared_guid(1, "https://n.example/1")), XML)
    assert articles[0].identities() == articles[1].identities() == (
        "https://n.example/1", "guid:f:g")


def test_a_guid_alone_in_its_feed_is_an_identity() -> None:
    """It keeps an article seen when the feed moves its links (http to https, a proxy)."""
    [before] = both(rss(shared_guid(1, "http://n.example/1")), XML)
    [after] = both(rss(shared_guid(1, "https://n.example/1")), XML)
    assert set(before.identities()) & set(after.identities()) == {"guid:f:g"}
