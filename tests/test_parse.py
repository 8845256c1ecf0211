"""The parser, by data: each feed file in tests/feeds has its expectation beside it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from newswatch.errors import ParseError
from newswatch.parse import canonical_url, clean, html_to_text, parse_feed

FEEDS = Path(__file__).parent / "feeds"
CASES = sorted(p.stem for p in FEEDS.glob("*.xml"))


@pytest.mark.parametrize("name", CASES)
def test_feed_file(name: str) -> None:
    body = (FEEDS / f"{name}.xml").read_bytes()
    expected = json.loads((FEEDS / f"{name}.expected.json").read_text())
    if "error" in expected:
        with pytest.raises(ParseError) as e:
            parse_feed("f", body, expected["headers"])
        assert expected["error"] in str(e.value)
        return
    feed_name = name.split(".")[0] if name != "rss2" else "frontline"
    parsed = parse_feed(feed_name, body, expected["headers"])
    assert parsed.title == expected["title"]
    if "ttl" in expected:
        assert parsed.ttl == expected["ttl"]
    assert len(parsed.articles) == len(expected["articles"])
    for article, want in zip(parsed.articles, expected["articles"], strict=True):
        for key, value in want.items():
            if key == "key_prefix":
                assert article.key.startswith(value)
            elif key == "published":
                got = article.published.isoformat() if article.published else None
                assert got == value
            elif key == "categories":
                assert list(article.categories) == value
            else:
                assert getattr(article, key) == value, key


@pytest.mark.parametrize(("url", "canonical"), [
    ("HTTPS://Example.COM/a/b?utm_source=x&id=1#top", "https://example.com/a/b?id=1"),
    ("http://example.com:80/x", "http://example.com/x"),
    ("http://example.com:8080/x", "http://example.com:8080/x"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/A?b=2&a=1", "https://example.com/A?b=2&a=1"),
    ("https://example.com/?UTM_Campaign=z", "https://example.com/"),
])
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(("html", "text"), [
    ("<p>One</p><p>Two</p>", "One Two"),
    ("a&nbsp;b", "a b"),  # a no-break space is a space
    ("x<br>y", "x y"),
    ("<style>p{}</style>visible<script>hidden()</script>", "visible"),
    ("AT&amp;T &lt;tag&gt;", "AT&T <tag>"),
    ("plain text", "plain text"),
    ("<b>wo</b>rd and <a href='x'>link</a>", "word and link"),  # inline tags join
    ('<a title="a > b">text</a>', "text"),  # '>' inside a quoted attribute
    ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),  # not tags
    ("x<!-- a <b>comment</b> -->y", "x y"),
    ("<SCRIPT type='x'>var a = '<p>';</SCRIPT>shown", "shown"),
    ("<p>caf&eacute; &#8212; &#x2014; &amp;amp;</p>", "café — — &amp;"),
    ("<![CDATA[raw]]>text", "text"),
    ("<li>one</li><li>two</li>", "one two"),
    ('safe<iframe src="x"> <b>fallback</b></iframe>', "safe"),  # an iframe's text is not shown
    ("x<?php echo 1; ?>y", "x y"),
    ("text <a href='x", "text"),  # a tag left open at the end is no text
])
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


# What a browser shows, where a regex tag stripper lost or kept the wrong text.
@pytest.mark.parametrize(("html", "text"), [
    # A stray quote after an attribute starts an attribute name, not a quoted run.
    ("<p>x <a data-link-color='#1F98C7''>Follow @Scobleizer</a> and more text, it's here.</p>",
     "x Follow @Scobleizer and more text, it's here."),
    ("<a href=\"a\" title='x''>one</a> it's two", "one it's two"),
    ('<a b="c"">one</a> and "two"', 'one and "two"'),
    ("<img alt='it''s'>after it's", "after it's"),
    # Broken tags: text where a browser shows text, nothing where it shows nothing.
    ("one < /p> two", "one < /p> two"),
    ("one </3> two", "one two"),  # a bogus comment
    ("one <//p> two", "one two"),
    ("a <b broken tag and text after", "a"),  # a tag open at the end hides the rest
    # Comments end where a browser ends them, scripts included.
    ('<p>a <!-- note</p><script>var x = "-->";</script><p>visible</p>', 'a "; visible'),
    ("<script>x()</script>one <!-- never closed <p>two</p>", "one"),
    ("<script>var s = '<!--';</script>shown", "shown"),
    ("x<!--->y", "x y"),
    ("x<!-->y", "x y"),
    ("x<!--a--!>y", "x y"),
    # Markup inside that would change how the bytes are read: they are UTF-8.
    ('<?xml version="1.0" encoding="utf-8"?><p>café</p>', "café"),
    ('<meta charset="iso-8859-1"><p>café — 日本</p>', "café — 日本"),
    # Elements a browser does not show, or shows as text.
    ("<title>Page</title><p>Body</p>", "Body"),
    ("<template><p>hidden</p></template>shown", "shown"),
    ("<xmp><b>raw</b></xmp>", "<b>raw</b>"),
    ("<textarea>a<b>c</textarea>", "a<b>c"),
    ("&notit; &amp &#150;", "¬it; & –"),  # HTML5's character references
])
def test_html_to_text_as_a_browser_shows_it(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_the_html_parser_follows_html5() -> None:
    """libxml2's HTML parser tokenizes as HTML5 from 2.14 on (lxml 6 bundles it), as
    the cases above need; an older one reads broken markup by rules of its own."""
    assert etree.LIBXML_VERSION >= (2, 14)


MB = 1_000_000


@pytest.mark.parametrize(("html", "text"), [
    ("<a" * (MB // 2), ""),  # one tag left open, a megabyte long
    ("<a " * (MB // 3), ""),
    ("<" * MB, "<" * MB),  # no tag ever starts
    ("text <!--" + "<a" * (MB // 2), "text"),
    ("<!--" * (MB // 4), ""),
    ("text <![CDATA[" + "<a" * (MB // 2), "text"),
    ("<div>" * 100_000 + "deep" + "</div>" * 100_000, "deep"),
    ("<div>x" * 100_000, " ".join(["x"] * 100_000)),  # no depth limit drops text
    ("<b>" * 200_000 + "bold", "bold"),
    ("&amp;" * (MB // 5), "&" * (MB // 5)),
    ("<p>x" + "\u0301\u0316" * (MB // 2), "x" + "\u0316" * 15 + "\u0301" * 15),  # see _nfc
    ("<a b='c''>x" * (MB // 12), "x" * (MB // 12)),
    ("<a '" * (MB // 3), ""),
    ('<a b="' * (MB // 4), ""),
    ("<!--" + "-" * MB, ""),
    ("<script>" + "<!--" * (MB // 4), ""),
    ("</" * (MB // 2), ""),
    ("<?" * (MB // 2), ""),
    ("<!" * (MB // 2), ""),
], ids=["<a", "<a space", "<", "open comment", "<!--", "open CDATA", "nested div",
        "nested div text", "nested b", "&amp;", "combining marks", "stray quotes",
        "quotes as names", "open quoted value", "dashes", "script of comments", "</", "<?",
        "<!"])
def test_hostile_html_takes_linear_time(html: str, text: str) -> None:
    """Each took minutes to hours with a regex tag stripper (64 KB of '<a': 26 s)."""
    started = time.monotonic()
    assert html_to_text(html) == text
    assert time.monotonic() - started < 5


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*"<>/!?-[]&;#x0aA \"'=\u0301\ud800\x00", "<p>", "</p>",
                                 "<script>", "<!--", "-->", "<![CDATA[", "]]>", "&amp;",
                                 "&#xD800;"]), max_size=40).map("".join))
def test_any_fragment_reads_as_clean_text(html: str) -> None:
    text = html_to_text(html)
    assert text == clean(text)


def test_same_story_with_edited_title_keeps_its_identity() -> None:
    body = (FEEDS / "rss2.xml").read_bytes()
    edited = body.replace(b"largest drone attack of the war", b"largest drone attack yet")
    first = parse_feed("frontline", body).articles[0]
    second = parse_feed("frontline", edited).articles[0]
    assert first.title != second.title
    assert first.key == second.key


def test_json_feed_1_1() -> None:
    body = (FEEDS / "jsonfeed-1.1.json").read_bytes()
    parsed = parse_feed("frontline", body, {"Content-Type": "application/feed+json"})
    assert parsed.title == "Frontline Wire (JSON)" and parsed.language == "en"
    first, second, third = parsed.articles
    assert first.key == "https://frontline.example/news/record-drones"
    assert first.title == "Record number of drones launched overnight"
    assert first.summary == "Officials said 810 drones were launched."
    assert first.content == "Air defences shot down 700 of 810 drones."
    assert first.author == "Jane Doe, Oleh Petrenko"
    assert first.categories == ("Ukraine", "air defence")
    assert first.published and first.published.isoformat() == "2026-11-24T04:30:00+00:00"
    assert second.key == "guid:frontline:frontline-2002"
    assert second.content == "Identified by its id."
    assert second.published and second.published.isoformat() == "2026-11-24T07:00:00+00:00"
    assert third.guid == "2003" and third.content == "Plain text & no markup <here>."


def test_json_feed_1_0_with_feed_author_and_external_url() -> None:
    parsed = parse_feed("blog", (FEEDS / "jsonfeed-1.0.json").read_bytes(), {})
    [article] = parsed.articles
    assert article.url == "https://elsewhere.example/story"
    assert article.author == "Blog Author"


@pytest.mark.parametrize(("body", "error"), [
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON"),
    (b'{"name": "not a feed"}', "without a JSON Feed version"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "without an items list"),
])
def test_broken_json_feeds_are_named(body: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_feed("f", body, {"Content-Type": "application/feed+json"})
