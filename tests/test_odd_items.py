"""One odd item never stops its feed: the valid article beside it is returned,
nothing but ParseError is raised, and every text can be stored in SQLite.

Each case is a feed holding one odd item (or odd channel field) and then a
valid item; each was reported to stop a feed for good before. Cases marked
`loose` make the document ill-formed so feedparser's loose reader reads it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newswatch.errors import ParseError
from newswatch.models import Article
from newswatch.parse import (
    ParsedFeed,
    _article,
    parse_feed,
    read_with_feedparser,
    with_base,
)
from newswatch.store import Store

VALID_TITLE = "Largest drone attack on Odesa"
VALID_LINK = "https://ok.example/valid"
NAMESPACES = ('xmlns:dc="http://purl.org/dc/elements/1.1/" '
              'xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml"')
Check = Callable[[ParsedFeed], None]


def rss(odd: str, channel: str = "", loose: bool = False) -> bytes:
    """An RSS 2.0 feed: the odd item, then the valid one."""
    undefined = "<description>&nbsp;</description>" if loose else ""  # not well-formed
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" {NAMESPACES}>'
            f"<channel><title>Odd feed</title>{channel}{undefined}<item>{odd}</item>"
            f"<item><title>{VALID_TITLE}</title><link>{VALID_LINK}</link></item>"
            "</channel></rss>").encode()


def json_feed(*odd: Any, **fields: Any) -> bytes:
    """A JSON Feed: the odd items, then the valid one; `fields` set the feed's own."""
    valid = {"id": "valid", "url": VALID_LINK, "title": VALID_TITLE}
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Odd feed",
            "items": [*odd, valid], **fields}
    return json.dumps(feed).encode()  # ensure_ascii: a lone surrogate travels as \ud800


def the_odd_one(parsed: ParsedFeed) -> Article:
    [odd] = [a for a in parsed.articles if a.url != VALID_LINK]
    return odd


def kept(**fields: Any) -> Check:
    """The odd item is an article too, with these fields (a callable: a test of it)."""
    def check(parsed: ParsedFeed) -> None:
        odd = the_odd_one(parsed)
        for name, want in fields.items():
            got = getattr(odd, name)
            assert want(got) if callable(want) else got == want, (name, got)
    return check


def skipped(reason: str) -> Check:
    """The odd item is left out, and the warning says why."""
    def check(parsed: ParsedFeed) -> None:
        assert [a.title for a in parsed.articles] == [VALID_TITLE]
        assert parsed.warning and f"1 item skipped: {reason}" in parsed.warning, parsed.warning
    return check


def left_out(parsed: ParsedFeed) -> None:
    """An item with nothing to show is no article (and no problem)."""
    assert [a.title for a in parsed.articles] == [VALID_TITLE]


def feed_fields(**fields: Any) -> Check:
    def check(parsed: ParsedFeed) -> None:
        for name, want in fields.items():
            assert getattr(parsed, name) == want, name
    return check


def warned(text: str) -> Check:
    """The document was read, its valid item too, with a warning saying this."""
    def check(parsed: ParsedFeed) -> None:
        assert parsed.warning and text in parsed.warning, parsed.warning
    return check


def both(*checks: Check) -> Check:
    def check(parsed: ParsedFeed) -> None:
        for c in checks:
            c(parsed)
    return check


def sha256_id(value: str) -> bool:
    return value.startswith("sha256:") and len(value) == 71


BIG = 10_000_000
CASES: list[tuple[str, bytes, Check]] = [
    ("port out of range", rss("<title>Odd port</title><link>https://x.example:99999/a</link>"),
     kept(url="https://x.example:99999/a", key="https://x.example:99999/a")),
    ("port out of range, JSON", json_feed({"id": "1", "url": "https://x.example:99999/a"}),
     kept(url="https://x.example:99999/a")),
    ("IPv6 host never closed", rss("<title>Odd host</title><link>http://[::1/x</link>"),
     kept(url="http://[::1/x", key="http://[::1/x")),
    ("ttl in Arabic-Indic digits", rss("<title>Odd ttl</title>", channel="<ttl>\u0661\u0665</ttl>"),
     both(feed_fields(ttl=None), kept(title="Odd ttl"))),
    ("ttl in fullwidth digits", rss("<title>Odd ttl</title>", channel="<ttl>\uff11\uff15</ttl>"),
     both(feed_fields(ttl=None), kept(title="Odd ttl"))),
    ("ttl ²", rss("<title>Odd ttl</title>", channel="<ttl>²</ttl>"),
     both(feed_fields(ttl=None), kept(title="Odd ttl"))),
    ("ttl ², loose", rss("<title>Odd ttl</title>", channel="<ttl>²</ttl>", loose=True),
     both(feed_fields(ttl=None), kept(title="Odd ttl"))),
    ("ttl of 5,000 digits", rss("<title>Odd ttl</title>", channel=f"<ttl>{'9' * 5000}</ttl>"),
     feed_fields(ttl=None)),
    ("surrogate pair as two references",
     rss("<title>Smile &#55357;&#56832; here</title><link>https://x.example/s</link>"),
     kept(title="Smile \ufffd\ufffd here")),
    ("surrogate pair as two hex references",
     rss("<title>Smile &#xD83D;&#xDE00; here</title><link>https://x.example/s</link>"),
     kept(title="Smile \ufffd\ufffd here")),
    ("surrogate reference in a description",
     rss("<title>Odd</title><description>before &#xD800; after</description>"),
     kept(summary="before \ufffd after")),
    ("references past U+10FFFF",
     rss(f"<title>Far &#x110000; &#{'9' * 5000}; &#x00000000000D800;</title>"),
     kept(title="Far \ufffd \ufffd \ufffd")),
    ("JSON authors: 5", json_feed({"id": "1", "title": "Odd authors", "authors": 5}),
     kept(title="Odd authors", author="")),
    ("JSON feed authors: 5", json_feed({"id": "1", "title": "Odd", "author": 5}, authors=5),
     kept(title="Odd", author="")),
    ("JSON title: 7", json_feed({"id": "1", "title": 7, "url": "https://x.example/7"}),
     kept(title="", url="https://x.example/7")),
    ("JSON feed title: 7", json_feed(title=7), both(feed_fields(title=""), left_out)),
    ("JSON tags: 'x'", json_feed({"id": "1", "title": "Odd tags", "tags": "x"}),
     kept(categories=())),
    ("JSON url: 12", json_feed({"id": "1", "title": "Odd url", "url": 12}),
     kept(url="", key="guid:odd:1")),
    ("JSON id: null", json_feed({"id": None, "title": "No id", "url": "https://x.example/n"}),
     kept(guid="", key="https://x.example/n")),
    ("JSON item: 5", json_feed(5), skipped("ValueError: an item that is a JSON int")),
    ("JSON lone surrogates",
     json_feed({"id": "odd\ud800", "title": "Odd \udfff", "url": "https://x.example/?q=\ud800",
                "content_html": "<p>a\ud800b</p>", "tags": ["\udc80"]}),
     kept(title="Odd \ufffd", guid="odd\ufffd", content="a\ufffdb", categories=("\ufffd",),
          url="https://x.example/?q=\ufffd")),
    ("JSON NUL", json_feed({"id": "1", "title": "a\u0000b"}), kept(title="a\ufffdb")),
    ("JSON nulls", json_feed({field: None for field in (
        "id", "url", "external_url", "title", "summary", "content_html", "tags", "authors",
        "author", "date_published", "date_modified")} | {"content_text": "Only text"}),
     kept(title="", url="", content="Only text", categories=(), author="", published=None)),
    ("encoding name of high bytes",
     rss("<title>Odd</title>").replace(b'encoding="utf-8"', b'encoding="\xee\xee"'),
     warned("unusable encoding name ignored")),
    ("encoding named 'undefined'",
     rss("<title>Odd</title>").replace(b'encoding="utf-8"', b'encoding="undefined"'),
     warned("unusable encoding name ignored: 'undefined'")),
    ("NUL byte", rss("<title>a\x00b</title>"), kept(title="a\ufffdb")),
    ("year 99999", rss("<title>Far future</title><pubDate>Tue, 24 Nov 99999 07:00:00 +0200"
                       "</pubDate>"), kept(published=None)),
    ("year 0", rss("<title>Year zero</title><dc:date>0000-01-01T00:00:00Z</dc:date>"),
     kept(published=None)),
    ("year 0, RFC 822", rss("<title>Year zero</title><pubDate>Sat, 01 Jan 0000 00:00:00 GMT"
                            "</pubDate>"), kept(title="Year zero")),
    ("JSON year 99999", json_feed({"id": "1", "title": "Far", "date_published": "99999-01-01"}),
     kept(title="Far")),
    ("JSON year 0", json_feed({"id": "1", "title": "Zero", "date_published": "0000-01-01"}),
     kept(published=None)),
    ("guid of 100 KB", rss(f"<title>Long guid</title><guid isPermaLink='false'>{'g' * 100_000}"
                           "</guid>"), kept(guid=sha256_id, key=lambda k: len(k) < 100)),
    ("link of 100 KB", rss(f"<title>Long link</title><guid>https://x.example/{'a' * 100_000}"
                           "</guid>"), kept(url="", guid=sha256_id)),
    ("title of 10 MB", rss(f"<title>{'A' * BIG}</title>"), kept(title="A" * 1_000)),
    ("description of 10 MB", rss(f"<title>Long read</title><description>{'word ' * (BIG // 5)}"
                                 "</description>"), kept(summary=lambda s: len(s) == 100_000)),
    ("description of 1 MB of '<a'", rss("<title>Markup</title><description>"
                                        + "&lt;a" * 200_000 + "</description>"), kept(summary="")),
    ("100,000 nested elements", rss("<title>Deep</title>" + "<x>" * 100_000 + "</x>" * 100_000),
     kept(title="Deep")),
    ("item with nothing in it", rss(""), left_out),
    ("item with only empty fields", rss("<title></title><description> </description>"),
     left_out),
    ("GML point outside georss:where, loose",
     rss("<title>Odd place</title><gml:pos>1 2</gml:pos>", loose=True),
     skipped("KeyError: 'where'")),
]


def stored(articles: list[Article], path: Path) -> list[Article]:
    """The articles as a real SQLite file gives them back."""
    store = Store(path)
    try:
        with store.transaction():
            store.add_articles(articles, datetime.now(UTC))
        return list(store.stored_articles(datetime.now(UTC) - timedelta(hours=1)))
    finally:
        store.close()


def text_fields(article: Article) -> list[str]:
    return [v for v in vars(article).values() if isinstance(v, str)] + list(article.categories)


@pytest.mark.parametrize(("body", "check"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_odd_item_leaves_its_feed_readable(body: bytes, check: Check, tmp_path: Path) -> None:
    started = time.monotonic()
    parsed = parse_feed("odd", body, {})
    assert time.monotonic() - started < 10
    assert [(a.title, a.url) for a in parsed.articles][-1] == (VALID_TITLE, VALID_LINK)
    check(parsed)
    for article in parsed.articles:
        for text in text_fields(article):
            text.encode("utf-8")
    for text in (parsed.title, parsed.warning or "", parsed.language):
        text.encode("utf-8")
    assert {a.title for a in stored(parsed.articles, tmp_path / "nw.db")} == {
        a.title for a in parsed.articles}


XML_CASES = [c for c in CASES if not c[1].startswith(b"{")]


@pytest.mark.parametrize(("body", "check"), [c[1:] for c in XML_CASES],
                         ids=[c[0] for c in XML_CASES])
def test_odd_item_reads_the_same_through_feedparser(body: bytes, check: Check) -> None:
    parsed = read_with_feedparser("odd", body, {})
    assert [(a.title, a.url) for a in parsed.articles][-1] == (VALID_TITLE, VALID_LINK)
    check(parsed)


BASE = with_base({"Content-Type": "application/rss+xml"}, "https://feeds.example/odd.xml")


@pytest.mark.parametrize(("link", "url"), [
    ("http://[::1/x", ""),  # feedparser cannot join it to the base: the item has no link
    ("http://h.example:99999/a", "http://h.example:99999/a"),
    ("/fine", "https://feeds.example/fine"),
])
def test_a_link_that_cannot_be_read_against_the_base_keeps_its_item(link: str,
                                                                     url: str) -> None:
    body = rss(f"<title>Odd link</title><link>{link}</link>")
    for read in (parse_feed, read_with_feedparser):
        parsed = read("odd", body, BASE)
        assert [(a.title, a.url) for a in parsed.articles] == [
            ("Odd link", url), (VALID_TITLE, VALID_LINK)]


def test_a_content_location_that_cannot_be_read_costs_no_link() -> None:
    """feedparser joins every link to its base, absolute ones too: a base it cannot
    take apart would leave the document without links."""
    body = rss("<title>Relative</title><link>/rel</link>")
    for headers in ({"Content-Location": "http://[::1/"},
                    {"Content-Location": "http://h.example:99999/"}):
        for read in (parse_feed, read_with_feedparser):
            parsed = read("odd", body, headers)
            assert [a.url for a in parsed.articles] == ["/rel", VALID_LINK]


def test_an_entry_of_nones_is_an_article_or_nothing() -> None:
    """Each reader promises text; a None in any field reads as empty, not as a crash."""
    fields = ("title", "title_detail", "summary", "summary_detail", "content", "link", "id",
              "author", "tags", "published_parsed", "updated_parsed")
    assert _article("odd", dict.fromkeys(fields)) is None
    article = _article("odd", {**dict.fromkeys(fields), "title": "Only a title",
                               "content": [{"type": None, "value": None}], "tags": [None]})
    assert article is not None and (article.title, article.content) == ("Only a title", "")


@pytest.mark.parametrize("content_type", [
    "application/rss+xml; charset=utf\x00-8", "text/xml; charset=undefined",
    "application/xml; charset=\u00ee\u00ee", "application/xml; charset=nosuch"])
def test_an_unusable_charset_in_the_headers_reads_the_feed(content_type: str) -> None:
    for read in (parse_feed, read_with_feedparser):
        parsed = read("odd", rss("<title>Odd</title>"), {"Content-Type": content_type})
        assert [a.title for a in parsed.articles] == ["Odd", VALID_TITLE]
        assert parsed.warning


def test_items_with_null_ids_are_different_articles() -> None:
    """An id of null was the id 'None': every such item was the first one, seen."""
    parsed = parse_feed("odd", json_feed({"id": None, "title": "One"}, {"id": None,
                                                                        "title": "Two"}))
    one, two, _ = parsed.articles
    assert not set(one.identities()) & set(two.identities())


@pytest.mark.parametrize(("body", "headers", "error"), [
    (json_feed(items={}), {}, "without an items list"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000
     + b"]" * 100_000 + b"}", {}, "invalid JSON"),
    (b"[" * 100_000, {"Content-Type": "application/feed+json"}, "invalid JSON"),
], ids=["JSON items: {}", "JSON nested 100,000 deep", "JSON array nested 100,000 deep"])
def test_unreadable_feed_is_a_parse_error(body: bytes, headers: dict[str, str],
                                          error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_feed("odd", body, headers)


CORPUS = Path(__file__).parent.parent.parent / "shared" / "feed-corpus"
HEADER_SETS = [{}, {"Content-Type": "application/xml"}, {"Content-Type": "text/xml"},
               {"Content-Type": "application/rss+xml; charset=utf-8"},
               {"Content-Language": "en"}]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no feed corpus at {CORPUS}")
def test_corpus_raises_nothing_but_parse_errors() -> None:
    """feedparser's own test documents (some 2,100), each through both readers with
    several header sets: a ParseError is an answer, anything else a bug; and no
    ParseError comes from the net for exceptions nobody foresaw."""
    problems = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        body = path.read_bytes()
        started = time.monotonic()
        for headers in HEADER_SETS:
            for read in (parse_feed, read_with_feedparser):
                try:
                    read(path.name, body, headers)
                except ParseError as e:
                    if str(e).startswith("unreadable"):
                        problems.append(f"{path}: {e}")
                except Exception as e:  # noqa: BLE001 - the finding, reported below
                    problems.append(f"{path}: {type(e).__name__}: {e}")
        assert time.monotonic() - started < 5, path
    assert not problems, "\n".join(problems[:20])
