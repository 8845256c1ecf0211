"""The parser, by data: each feed file in tests/feeds has its expectation beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newswatch.errors import ParseError
from newswatch.parse import canonical_url, html_to_text, parse_feed

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
])
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_same_story_with_edited_title_keeps_its_identity() -> None:
    body = (FEEDS / "rss2.xml").read_bytes()
    edited = body.replace(b"largest drone attack of the war", b"largest drone attack yet")
    first = parse_feed("frontline", body).articles[0]
    second = parse_feed("frontline", edited).articles[0]
    assert first.title != second.title
    assert first.key == second.key
