"""The fast lxml reader gives exactly what feedparser gives, or steps aside.

Every case is read twice, by `parse_feed` (fast path first) and by
`read_with_feedparser`, and the results must be equal field for field.
Cases marked `fast` must also actually take the fast path, so the fast
reader cannot pass these tests by always stepping aside.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newswatch import xmlfeed
from newswatch.parse import parse_feed, read_with_feedparser

FEEDS = Path(__file__).parent / "feeds"
sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

RSS_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:media="http://search.yahoo.com/mrss/" '
            'xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T</title>')
ATOM_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
XML = {"Content-Type": "application/rss+xml; charset=utf-8"}


def rss(*items: str, head: str = RSS_HEAD) -> bytes:
    return (head + "".join(f"<item>{i}</item>" for i in items) + "</channel></rss>").encode()


def atom(*entries: str) -> bytes:
    return (ATOM_HEAD + "".join(f"<entry>{e}</entry>" for e in entries) + "</feed>").encode()


def same(body: bytes, headers: dict[str, str] | None = None) -> bool:
    """Assert both readers agree; return whether the fast one was used."""
    headers = XML if headers is None else headers
    assert parse_feed("f", body, headers) == read_with_feedparser("f", body, headers)
    return xmlfeed.read(body, headers) is not None


FAST = [
    rss("<title>Plain &amp; simple</title><link>https://x.example/a?b=1&amp;c=2</link>"),
    rss("<title>Has &lt;b&gt;bold&lt;/b&gt; markup</title><link>https://x.example/b</link>"),
    rss("<title>Entity &amp;eacute; in text</title><guid>https://x.example/g</guid>"),
    rss("<title>Not html: 3 &lt; 4 &amp;&amp; 5 &gt; 2</title>"
        "<guid isPermaLink='false'>id-1</guid>"),
    rss("<title>Unknown tag &lt;/blink&gt;</title><description>d</description>"),
    rss("<title>CDATA</title><description><![CDATA[<p>Para <b>one</b></p>]]></description>"
        "<content:encoded><![CDATA[<div>Full text</div>]]></content:encoded>"),
    rss("<content:encoded>only content</content:encoded><title>content first</title>"),
    rss("<content:encoded>c</content:encoded><description>after</description>"),
    rss("<description>before</description><content:encoded>c</content:encoded>"),
    rss("<title>t</title><author>jo@x.example (Jo Smith)</author><dc:creator>Ann</dc:creator>"),
    rss("<title>t</title><category>A</category><category domain='d'>B</category>"
        "<category>A</category><dc:subject>C</dc:subject>"),
    rss("<title>t</title><pubDate>Tue, 24 Nov 2026 07:00:00 +0200</pubDate>"),
    rss("<title>t</title><pubDate>not a date</pubDate><dc:date>2026-11-24T08:00:00Z</dc:date>"),
    rss("<title>t</title><guid>https://x.example/g</guid><link>https://x.example/l</link>"),
    rss("<title>t</title><link></link><guid>https://x.example/g2</guid>"),
    rss("<title>  spaced\n title </title><link>\n https://x.example/s \n</link>"),
    rss("<title>Caf\u00c3\u00a9 double-encoded</title>"),
    rss("<title>t</title><media:content url='https://x.example/i.jpg'/><enclosure url='u'/>"),
    rss("<title>\u0412\u0456\u0439\u043d\u0430 \u2014 \u65e0\u4eba\u673a</title>"),
    rss("<title>one</title>", "<title>two</title><!-- a comment -->"),
    atom("<title>Atom</title><link href='https://x.example/a'/><id>urn:x:1</id>"
         "<updated>2026-11-24T06:00:00Z</updated><summary>S</summary>"),
    atom("<title type='html'>&lt;b&gt;Bold&lt;/b&gt; headline</title><id>https://x.example/i</id>"),
    atom("<title type='text'>x &lt;b&gt;not&lt;/b&gt;</title><id>urn:2</id>"
         "<content type='html'>&lt;p&gt;C&lt;/p&gt;</content>"),
    atom("<title>t</title><link rel='self' href='https://x.example/self'/>"
         "<link rel='alternate' type='text/html' href='https://x.example/alt'/>"
         "<link rel='enclosure' href='https://x.example/e.mp3'/>"),
    atom("<title>t</title><author><name>Ann</name><email>a@x.example</email></author>"
         "<category term='war'/><category term='war'/><category term='x' label='X'/>"),
    atom("<title>t</title><author><name>Bob</name></author><published>2026-11-24T06:00:00+01:00"
         "</published><updated>2026-11-25T06:00:00Z</updated>"),
    atom("<content>text content only</content><id>urn:3</id>"),
    rss("<title>Мова</title>", head=RSS_HEAD + "<language>uk-UA</language>"),
    rss("<title>Langue</title>", head=RSS_HEAD + "<dc:language>fr</dc:language>"),
    atom("<title>Sprache</title><id>urn:4</id>").replace(b"<feed ", b'<feed xml:lang="de" '),
]

SLOW = [
    rss("<title>t</title><dc:title>other</dc:title>"),
    rss("<title>t</title><media:title>m</media:title>"),
    rss("<title>t</title><description>a</description><description>b</description>"),
    rss("<title>t</title><atom:link href='https://x.example/'/>"),
    atom("<title type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>X</div></title>"),
    atom("<title>t</title><content src='https://x.example/c'/>"),
    atom("<title>t</title><content type='image/png'>aGVsbG8=</content>"),
    rss("<title>&nbsp; undefined entity</title>"),  # not well-formed: feedparser's loose reader
    rss("<title>t</title>", head=RSS_HEAD.replace("utf-8", "iso-8859-1")),
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss version="2.0"><channel>'
    b"<title>T</title><item><title>&e;</title></item></channel></rss>",
    rss("<title>t</title><source url='https://y.example/'>Y</source>"),
]


@pytest.mark.parametrize("body", FAST, ids=range(len(FAST)))
def test_fast_path_reads_like_feedparser(body: bytes) -> None:
    assert same(body), "expected the fast path to take this document"


@pytest.mark.parametrize(("body", "language"), [(FAST[-3], "uk"), (FAST[-2], "fr"),
                                                (FAST[-1], "de")])
def test_declared_language_reaches_the_articles(body: bytes, language: str) -> None:
    parsed = parse_feed("f", body, XML)
    assert parsed.language == language
    assert {a.language for a in parsed.articles} == {language}


@pytest.mark.parametrize("body", SLOW, ids=range(len(SLOW)))
def test_unusual_documents_are_left_to_feedparser(body: bytes) -> None:
    assert not same(body)


@pytest.mark.parametrize(("headers", "fast"), [
    ({"Content-Type": "application/rss+xml"}, True),
    ({}, True),
    ({"Content-Type": "text/xml"}, False),  # non-ASCII body without a charset: US-ASCII
    ({"Content-Type": "text/xml; charset=UTF-8"}, True),
    ({"Content-Type": "application/xml; charset=windows-1251"}, False),
    ({"Content-Type": "text/html; charset=utf-8"}, False),
    ({"Content-Type": "application/xml", "Content-Location": "https://x.example/f"}, False),
])
def test_headers_decide_the_path(headers: dict[str, str], fast: bool) -> None:
    assert same(rss("<title>Zaporizhzhia \u2014 \u0437\u0430\u0432\u043e\u0434</title>"),
                headers) is fast


@pytest.mark.parametrize("name", sorted(p.stem for p in FEEDS.glob("*.xml")))
def test_feed_files(name: str) -> None:
    body = (FEEDS / f"{name}.xml").read_bytes()
    try:
        expected = read_with_feedparser(name, body, {})
    except Exception as e:  # noqa: BLE001 - the fast path must fail the same way
        with pytest.raises(type(e)):
            parse_feed(name, body, {})
        return
    assert parse_feed(name, body, {}) == expected


def test_farm_feeds() -> None:
    from farm import Farm, _atom, _rss

    farm = Farm(6, 20, 2)
    for i in range(6):
        body = (_atom if i % 3 == 2 else _rss)(i, farm.items[i]).encode()
        assert same(body), f"farm feed {i} should take the fast path"


_PIECES = list("ab <>&;#/\"'é\u0416\u65e0 \n") + [
    "&amp;", "&lt;b&gt;", "&lt;/b&gt;", "&#233;", "&nbsp;", "</p>", "&lt;/p&gt;", "http://x.example/"]
_text = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_text, _text, _text, st.booleans()), min_size=1, max_size=4))
def test_random_items_read_alike(items: list[tuple[str, str, str, bool]]) -> None:
    rendered = []
    for title, summary, link, permalink in items:
        rendered.append(
            f"<title>{_escape(title)}</title><description>{_escape(summary)}</description>"
            f"<guid isPermaLink='{str(permalink).lower()}'>{_escape(link)}</guid>")
    assert same(rss(*rendered))
    assert same(atom(*(f"<title type='html'>{_escape(t)}</title><summary>{_escape(s)}</summary>"
                f"<id>{_escape(i)}</id>" for t, s, i, _ in items)))


@pytest.mark.parametrize(("body", "split"), [
    (b"<rss><channel><title>T</title><item>a</item> <item>b</item></channel></rss>",
     (b"<rss><channel><title>T</title>", [b"<item>a</item>", b"<item>b</item>"],
      b"</channel></rss>")),
    (b"<feed><entry>x</entry><entry/><entry xml:lang='en'>y</entry ></feed>",
     (b"<feed>", [b"<entry>x</entry>", b"<entry xml:lang='en'>y</entry >"], b"</feed>")),
    (b"<rdf:RDF><rss:item>a</rss:item><itemize/></rdf:RDF>",
     (b"<rdf:RDF>", [b"<rss:item>a</rss:item>"], b"<itemize/></rdf:RDF>")),
    (b"<rss><item>never closed", None),
    (b"<rss><channel><title>T</title></channel></rss>", None),
    # each item read inside a long head would cost many times the document
    (b"<rss><channel><title>" + b"t" * 10_000 + b"</title>" + b"<item>i</item>" * 100
     + b"</channel></rss>", None),
])
def test_split_items(body: bytes, split: tuple[bytes, list[bytes], bytes] | None) -> None:
    assert xmlfeed.split_items(body) == split
