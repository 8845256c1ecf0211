"""Messages for every service, checked in what apprise actually sends.

Hostile feed text goes in; the payload the real apprise plugin builds is caught
at requests' Session.request, the last step before the network (nothing real
can stand in for discord.com or api.telegram.org). Email goes through a real
local SMTP server, json:// to a real local webhook.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.header import decode_header, make_header
from html.parser import HTMLParser
from typing import Any

import apprise
import pytest
import requests
from markdown_it import MarkdownIt

from newswatch.messages import Message, body_format, compose, safe_link, service_of
from newswatch.models import Target
from newswatch.store import Outgoing
from servers import Inbox, Webhook

SNIPPET = ("Sirens after the **largest drone attack** so far @everyone @here <!channel> "
           "<!everyone> <@123> <@&456> @room [Verify your account](https://evil.example) "
           "<http://evil.example/phish|Log in here> <a href=\"javascript:alert(1)\">x</a>")


def alert(id_: int, title: str, url: str, snippet: str = SNIPPET, feed: str = "wire",
          rules: tuple[str, ...] = ("drones",)) -> Outgoing:
    return Outgoing(id=id_, target="t", rules=rules, snippet=snippet, attempts=0, feed=feed,
                    url=url, title=title, published="2026-11-30T06:00:00Z")


LONG = alert(1, "@everyone @here <!channel> Largest drone attack " + "x" * 2500,
             "https://news.example/a b|c>d\"e'(f)[g]`h")
PHISH = alert(2, "[Verify your account](https://evil.example)", "javascript:alert(1)",
              feed="@everyone feed")
SLACKY = alert(3, "<http://evil.example/phish|Log in here>\r\n<!here> "
               "<a href=\"http://evil.example\">Log in</a>",
               "https://news.example/ok?x=1&y=<!channel>")
# More than any service takes in one message, in two-byte characters (Matrix counts bytes).
MANY = [alert(i, f"Атака дронів & <ракет> на Київ @everyone № {i} " + "ж" * 300,
              f"https://news.example/{i}", snippet="Сирени **атака дронів** " * 40)
        for i in range(150)]
# A snippet to shorten; plain words, so what Telegram shows is as long as what it is sent.
WORDY = alert(5, "Drone attack " + "z" * 400, "https://news.example/w", snippet="word " * 3000)
CASES = {"long": [LONG], "phish": [PHISH], "slack": [SLACKY], "digest": [LONG, PHISH, SLACKY],
         "many": MANY, "wordy": [WORDY]}
LONG_LINK = "https://news.example/a%20b%7Cc%3Ed%22e%27%28f%29%5Bg%5D%60h"

# A mention that would ping a whole room or a chosen user or role, in any service.
LIVE_MENTION = re.compile(r"@(everyone|here|room|channel)\b|<!(channel|here|everyone)"
                          r"|<@&?\d+>", re.I)
# An address a reader links by itself (javascript: and data: are never linked bare).
BARE_ADDRESS = re.compile(r"\bhttps?://[^\s<>\"'|)\]\\]*", re.I)


# --- catching what apprise sends ---------------------------------------------------------

def _answer(url: str) -> requests.Response:
    """What each service answers: enough for apprise to count the message accepted."""
    r = requests.Response()
    r.status_code, r.url = 200, url
    r.headers["Content-Type"] = "application/json"
    body: Any = {}
    if ".well-known" in url:
        r.status_code = 404
    elif "hooks.slack.com" in url:
        r.raw = io.BytesIO(b"ok")
        return r
    elif url.endswith("/login"):
        body = {"access_token": "t", "user_id": "@user:matrix.example", "device_id": "D"}
    elif "/join/" in url:
        body = {"room_id": "!room:matrix.example"}
    elif "/send/" in url:
        body = {"event_id": "$e"}
    elif "api.telegram.org" in url:
        body = {"ok": True, "result": {"message_id": 1}}
    r.raw = io.BytesIO(json.dumps(body).encode())
    return r


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Requests apprise makes, as (method, url, JSON payload); each answered as accepted."""
    calls: list[dict[str, Any]] = []

    def request(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        payload = kwargs.get("json")
        if payload is None and isinstance(kwargs.get("data"), str | bytes):
            try:
                payload = json.loads(kwargs["data"])
            except ValueError:
                payload = kwargs["data"]
        calls.append({"method": method.upper(), "url": url, "payload": payload})
        return _answer(url)

    monkeypatch.setattr(requests.Session, "request", request)
    return calls


def send(url: str, m: Message) -> bool:
    ap = apprise.Apprise()
    assert ap.add(url)
    return bool(ap.notify(title=m.title, body=m.body, body_format=apprise.NotifyFormat(m.fmt)))


# --- reading a payload -------------------------------------------------------------------

@dataclass
class Part:
    """One piece of text a service shows: how it reads it, and how long it may be."""

    text: str
    kind: str  # "markdown" | "slack" | "html" | "text"
    limit: int
    size: Callable[[str], int] = lambda t: len(t.encode("utf-16-le")) // 2


class Html(HTMLParser):
    """Tags that must balance, the links in them, and the text shown."""

    VOID = {"br", "hr", "img", "meta", "link", "input", "wbr"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.unbalanced: list[str] = []
        self.hrefs: list[str] = []
        self.shown: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and (not self.stack or self.stack.pop() != tag):
            self.unbalanced.append(tag)

    def handle_data(self, data: str) -> None:
        self.shown.append(data)


def markdown_links(text: str) -> list[str]:
    """Where a CommonMark reader (Discord, Matrix, most webhooks) would link to."""
    def walk(tokens: Any) -> Iterator[str]:
        for t in tokens:
            if t.type == "link_open":
                yield str(t.attrs.get("href", ""))
            yield from walk(t.children or [])

    return list(walk(MarkdownIt("commonmark").parse(text)))


def links_in(part: Part) -> list[str]:
    """Every address a reader of this part could click: link markup and bare addresses
    (Discord, Slack, Telegram and mail readers link those too)."""
    text = part.text
    found: list[str] = []
    if part.kind == "markdown":
        found += markdown_links(text)
    elif part.kind == "slack":
        found += [html.unescape(u) for u in re.findall(r"<([^<>|]+)(?:\|[^<>]*)?>", text)]
        text = html.unescape(re.sub(r"<[^<>|]+(?:\|[^<>]*)?>", " ", text))
    elif part.kind == "html":
        parsed = Html(text)
        found += parsed.hrefs
        text = " ".join(parsed.shown)
    return found + BARE_ADDRESS.findall(text)


def check(parts: list[Part], alerts: list[Outgoing]) -> None:
    """Fits, pings no one, links only to the articles, and each article's link is there."""
    allowed = {safe_link(a.url) for a in alerts} - {""}
    for part in parts:
        shown = " ".join(Html(part.text).shown) if part.kind == "html" else part.text
        assert part.size(shown) <= part.limit, (part.kind, part.size(shown), part.limit)
        assert not LIVE_MENTION.search(part.text), LIVE_MENTION.search(part.text)
        assert set(links_in(part)) <= allowed, set(links_in(part)) - allowed
        if part.kind == "html":
            parsed = Html(part.text)
            assert not parsed.unbalanced and not parsed.stack, part.text
    everything = " ".join(html.unescape(p.text) for p in parts)
    shown = [link for link in allowed if link in everything]
    assert shown == list(allowed) if len(alerts) <= 3 else shown  # a long digest: some


def discord(calls: list[dict[str, Any]]) -> list[Part]:
    [payload] = [c["payload"] for c in calls]
    # apprise's embed mode turns @everyone in a body into allow_mentions and a ping line
    mentions = payload.get("allow_mentions") or payload.get("allowed_mentions") or {}
    assert not (mentions.get("parse") or mentions.get("users") or mentions.get("roles"))
    parts = [Part(payload["content"], "markdown", 2000)] if "content" in payload else []
    for embed in payload.get("embeds", []):
        parts += [Part(embed["title"], "markdown", 256), Part(embed["description"], "markdown",
                                                               4096)]
    return parts


def slack(calls: list[dict[str, Any]]) -> list[Part]:
    [payload] = [c["payload"] for c in calls]
    [attachment] = payload["attachments"]
    if "blocks" not in attachment:
        return [Part(attachment["title"], "slack", 250), Part(attachment["text"], "slack",
                                                               35000)]
    blocks = {b["type"]: b for b in attachment["blocks"]}
    return [Part(blocks["header"]["text"]["text"], "text", 150),
            Part(blocks["section"]["text"]["text"], "slack", 3000)]


def telegram(calls: list[dict[str, Any]]) -> list[Part]:
    [payload] = [c["payload"] for c in calls]
    assert payload["parse_mode"] == "HTML"
    return [Part(payload["text"], "html", 4096)]  # counted as shown, after the tags


def matrix(calls: list[dict[str, Any]]) -> list[Part]:
    [event] = [c["payload"] for c in calls if "/send/" in c["url"]]
    size = len(json.dumps(event, ensure_ascii=False).encode())
    assert size <= 65536
    parts = [Part(event["body"], "text", 65536, lambda t: len(t.encode()))]
    if "formatted_body" in event:
        parts.append(Part(event["formatted_body"], "html", 65536, lambda t: len(t.encode())))
    return parts


SERVICES = [
    ("discord://1234/abcd", discord),
    ("discord://1234/abcd?format=markdown", discord),  # embeds: apprise reads pings
    ("slack://T1/B1/C1/#chan", slack),
    ("https://hooks.slack.com/services/T1/B1/C1?blocks=yes", slack),
    ("tgram://123:abc/456", telegram),
    ("matrixs://user:pass@matrix.example/!room:matrix.example", matrix),
]


@pytest.mark.parametrize("plain", [False, True], ids=["rich", "plain"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("url", "parts"), SERVICES, ids=[u for u, _ in SERVICES])
def test_each_service_is_sent_a_message_that_fits_and_pings_and_links_nothing_else(
        url: str, parts: Callable[[list[dict[str, Any]]], list[Part]], case: str, plain: bool,
        sent: list[dict[str, Any]]) -> None:
    alerts = CASES[case]
    m = compose(Target("t", url), alerts, plain=plain)
    assert send(url, m)
    assert "\n" not in m.title and "\r" not in m.title
    check(parts(sent), alerts)


# --- email, through a real SMTP server ----------------------------------------------------

@pytest.mark.parametrize("plain", [False, True], ids=["rich", "plain"])
@pytest.mark.parametrize("case", CASES)
def test_email_subject_is_one_short_line_and_links_only_to_articles(
        smtp: tuple[Inbox, int], case: str, plain: bool) -> None:
    inbox, port = smtp
    url = (f"mailto://127.0.0.1:{port}?from=nw@example.com&to=desk@example.com&secure=no"
           "&smtp=127.0.0.1")
    alerts = CASES[case]
    assert send(url, compose(Target("mail", url), alerts, plain=plain))
    [raw] = inbox.messages
    assert max(len(line) for line in raw.splitlines()) <= 998  # SMTP's line limit
    mail = message_from_bytes(raw)
    subject = str(make_header(decode_header(mail["Subject"])))
    assert len(subject) <= 200 and "\n" not in subject.replace("\n ", " ").strip()
    parts = [Part(subject, "text", 200)]
    for p in mail.walk():
        if p.get_content_maintype() == "text":
            kind = "html" if p.get_content_subtype() == "html" else "text"
            text = p.get_payload(decode=True).decode().replace("\r\n", "\n")  # SMTP's CRLF
            parts.append(Part(text, kind, 32768))
    assert {p.kind for p in parts} == ({"text"} if plain else {"text", "html"})
    check(parts, alerts)


# --- json://, through a real webhook -----------------------------------------------------

@pytest.mark.parametrize(("query", "fmt", "kind"), [("", "markdown", "markdown"),
                                                    ("?format=text", "text", "text")])
@pytest.mark.parametrize("case", CASES)
def test_webhook_gets_the_format_its_url_asks_for(webhook: Webhook, query: str, fmt: str,
                                                  kind: str, case: str) -> None:
    url = webhook.apprise_url + query
    alerts = CASES[case]
    m = compose(Target("hook", url), alerts)
    assert m.fmt == fmt and send(url, m)
    [got] = webhook.wait_for(1)
    check([Part(got["title"], "text", 250), Part(got["message"], kind, 32768)], alerts)
    if fmt == "text":
        assert "\\" not in got["message"] and "**" not in got["message"]


# --- formats, digests, plain text --------------------------------------------------------

@pytest.mark.parametrize(("url", "fmt", "service"), [
    ("discord://1234/abcd", "markdown", "discord"),
    ("https://discord.com/api/webhooks/1234/abcd", "markdown", "discord"),
    ("slack://T1/B1/C1/#chan", "markdown", "slack"),
    ("tgram://123:abc/456", "html", "telegram"),  # Telegram's own default: exact escaping
    ("tgram://123:abc/456?format=markdown", "markdown", "telegram"),
    ("matrixs://user:pass@matrix.example/!room:matrix.example", "markdown", "matrix"),
    ("mailtos://user:pass@mail.example?to=a@b.example", "html", "email"),
    ("mailto://mail.example?to=a@b.example&format=text", "text", "email"),
    ("json://127.0.0.1:9/x", "markdown", "json"),
    ("json://127.0.0.1:9/x?format=text", "text", "json"),
    ("jsons://127.0.0.1:9/x?FORMAT=HTML", "html", "json"),
    ("discord://1234/abcd?format=html", "markdown", "discord"),  # not one Discord takes
    ("nosuch://x", "text", "nosuch"),
])
def test_body_format_and_service_come_from_the_url(url: str, fmt: str, service: str) -> None:
    assert (body_format(url), service_of(url)) == (fmt, service)


@pytest.mark.parametrize(("url", "link"), [
    ("https://news.example/a?utm_source=x", "https://news.example/a?utm_source=x"),
    ("HTTP://News.Example:8080/a b", "http://news.example:8080/a%20b"),
    ("https://news.example/a b|c>d\"e'(f)[g]`h", LONG_LINK),
    ("https://news.example/<!channel>/@everyone", "https://news.example/%3C!channel%3E/%40everyone"),
    ("https://news.example/100%/%41", "https://news.example/100%25/%41"),
    ("https://bank.example@evil.example/login", "https://evil.example/login"),
    ("https://новини.example/статья", "https://xn--b1amarcd.example/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F"),
    ("  https://news.example/x\n", "https://news.example/x"),
    ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
    ("javascript:alert(1)", ""),
    ("JavaScript://news.example/%0aalert(1)", ""),
    ("data:text/html,<script>alert(1)</script>", ""),
    ("vbscript:msgbox(1)", ""),
    ("//news.example/x", ""),
    ("/relative", ""),
    ("https://evil.example\"onmouseover=\"x/", ""),
    ("https://[::1/x", ""),
    ("", ""),
])
def test_a_link_is_only_ever_an_encoded_http_address(url: str, link: str) -> None:
    assert safe_link(url) == link


def test_markdown_digest_links_each_title_to_its_own_article() -> None:
    """A title that is itself a Markdown link stays text; the real link stays live."""
    m = compose(Target("hook", "json://127.0.0.1:9/x"), CASES["digest"])
    assert markdown_links(m.body) == [LONG_LINK, safe_link(SLACKY.url)]
    assert "[Verify your account]" in "".join(
        t.content for b in MarkdownIt("commonmark").parse(m.body) for t in b.children or [])


def test_html_digest_is_well_formed_and_links_only_http() -> None:
    m = compose(Target("mail", "mailtos://u:p@mail.example?to=a@b.example"), CASES["digest"])
    parsed = Html(m.body)
    assert parsed.hrefs == [LONG_LINK, safe_link(SLACKY.url)]
    assert not parsed.unbalanced and not parsed.stack
    assert "[Verify your account]" in " ".join(parsed.shown)  # its title, not linked


@pytest.mark.parametrize("url", [u for u, _ in SERVICES] + ["json://127.0.0.1:9/x",
                                                           "mailto://m.example?to=a@b.example"])
def test_plain_digest_has_no_markup_and_carries_every_link(url: str) -> None:
    m = compose(Target("t", url), CASES["digest"], plain=True)
    if m.fmt == "markdown":  # apprise would read text as Markdown here: escaped, not marked up
        shown = MarkdownIt("commonmark").render(m.body)
        assert not re.search(r"<(a|strong|em|code|h\d)\b", shown), shown
    else:
        assert m.fmt == "text"
        assert not re.search(r"\\[\[\]()*_<>#|~`]|\*\*|<(b|p|li|br)>|\]\(", m.body), m.body
    lines = m.body.splitlines()
    for link in (LONG_LINK, safe_link(SLACKY.url)):
        assert f"  {link}" in lines  # its own line, under its title


@pytest.mark.parametrize(("url", "limit"), [
    ("discord://1234/abcd", 2000), ("tgram://123:abc/456", 4096),
    ("https://hooks.slack.com/services/T1/B1/C1?blocks=yes", 3000),
])
@pytest.mark.parametrize("plain", [False, True])
def test_a_long_digest_keeps_whole_entries_and_says_how_many_more(
        url: str, limit: int, plain: bool) -> None:
    alerts = [alert(i, f"Drone attack {i} & <more> *news* " + "y" * 300,
                    f"https://news.example/{i}") for i in range(60)]
    m = compose(Target("t", url), alerts, plain=plain)
    shown = len(re.findall(r"https://news\.example/\d+\b", m.body))
    assert 0 < shown < 60 and m.body.endswith(f"and {60 - shown} more" + (
        "</p>" if m.fmt == "html" else ""))
    assert len(m.title) + len(m.body) + 2 <= limit


HEAVY = {"markdown": "*_[`" * 800, "html": "&<>\"" * 800, "text": "@everyone " * 300}


@pytest.mark.parametrize(("url", "plain", "fmt"), [
    ("discord://1234/abcd", False, "markdown"),
    ("discord://1234/abcd?format=markdown", True, "markdown"),
    ("tgram://123:abc/456", False, "html"),
    ("discord://1234/abcd", True, "text"),
])
def test_a_cut_never_splits_an_escape(url: str, plain: bool, fmt: str) -> None:
    text = HEAVY[fmt]
    m = compose(Target("t", url), [alert(1, text, "https://news.example/1", snippet=text)],
                plain=plain)
    assert m.fmt == fmt
    for piece in (m.title, m.body):
        if fmt == "markdown":  # every backslash escapes the character after it
            assert re.fullmatch(r"(?:\\[*_\[`]|[^\\])*", piece), piece[-20:]
        elif fmt == "html":
            assert not re.search(r"&[#\w]*(?![#\w;])", piece.replace("&amp;", "")
                                 .replace("&lt;", "").replace("&gt;", "")
                                 .replace("&quot;", "")), piece[-20:]
    assert m.body.count("…") == 1  # the snippet, cut once


@pytest.mark.parametrize(("url", "kind"), [("discord://1234/abcd", "markdown"),
                                           ("tgram://123:abc/456", "html")])
def test_a_title_written_into_the_body_reads_as_text(url: str, kind: str) -> None:
    """Discord puts the title in its Markdown content, Telegram in its HTML."""
    title = "**Breaking** _news_ `now` <b>bold</b> <i>x</i> # heading"
    m = compose(Target("t", url), [alert(1, title, "https://news.example/1")])
    if kind == "markdown":
        assert MarkdownIt("commonmark").render(m.title).strip() == (
            "<p>**Breaking** _news_ `now` &lt;b&gt;bold&lt;/b&gt; &lt;i&gt;x&lt;/i&gt; "
            "# heading</p>")
    else:
        assert " ".join(Html(m.title).shown) == title and not Html(m.title).hrefs
        assert "<" not in m.title


@pytest.mark.parametrize(("article", "title_template", "body_template", "title", "body"), [
    ("Largest drone attack on Kyiv", "[$rules] $title", "$snippet | $link | $feed",
     "[drones] Largest drone attack on Kyiv",
     "Officials said the **largest drone attack** hit Kyiv | https://n.example/1 | wire"),
    # the operator's own words are theirs; the feed's are made inert
    ("@here [Kyiv](https://evil.example)\nnews", "@channel: $title", "$title\n$published",
     "@channel: @\u200bhere [Kyiv]\u200b(https:\u200b//evil.example) news",
     "@\u200bhere \\[Kyiv\\]\u200b\\(https:\u200b//evil.example\\) news\n"
     "2026-11-30 06:00 UTC"),
])
def test_target_templates_shape_title_and_body(article: str, title_template: str,
                                               body_template: str, title: str,
                                               body: str) -> None:
    target = Target("hook", "json://127.0.0.1:9/x", title_template=title_template,
                    body_template=body_template)
    a = alert(1, article, "https://n.example/1",
              snippet="Officials said the **largest drone attack** hit Kyiv")
    m = compose(target, [a])
    assert (m.title, m.body) == (title, body)


def test_a_template_body_too_long_for_discord_is_shortened_snippet_first() -> None:
    target = Target("d", "discord://1234/abcd", body_template="$title\n\n$snippet\n\n$link")
    m = compose(target, [alert(1, "Drone attack", "https://n.example/1",
                               snippet="word " * 1000)])
    assert len(m.title) + 2 + len(m.body) <= 2000
    assert m.body.startswith("Drone attack\n\nword") and m.body.endswith("…\n\nhttps://n.example/1")


@pytest.mark.parametrize(("a", "fields"), [
    (alert(7, "Drone\nattack", "https://news.example/a b", snippet="the **drone** @everyone",
           rules=("drones", "kyiv")),
     {"alert_id": 7, "title": "Drone attack", "link": "https://news.example/a%20b",
      "feed": "wire", "rules": ["drones", "kyiv"], "published": "2026-11-30T06:00:00Z",
      "snippet": "the drone @everyone", "score": None}),
    (alert(8, "Paraphrase", "javascript:alert(1)",
           snippet="(semantic match, similarity 0.87) Swarm of UAVs"),
     {"alert_id": 8, "title": "Paraphrase", "link": "", "feed": "wire", "rules": ["drones"],
      "published": "2026-11-30T06:00:00Z",
      "snippet": "(semantic match, similarity 0.87) Swarm of UAVs", "score": 0.87}),
])
def test_fields_carry_each_alert_as_plain_data(a: Outgoing, fields: dict[str, object]) -> None:
    assert compose(Target("hook", "json://127.0.0.1:9/x"), [a]).fields == (fields,)
    assert compose(Target("hook", "json://127.0.0.1:9/x"), [a, a]).fields == (fields, fields)


def test_default_message_keeps_its_shape() -> None:
    """What the rest of newswatch reads: the article title, its link, feed and rules."""
    a = alert(1, "Section 333 and the largest drone attack", "https://n.example/1?utm_source=x",
              snippet="**Section 333** and the **largest drone attack**",
              rules=("drones", "s333"))
    m = compose(Target("hook", "json://127.0.0.1:9/x"), [a])
    assert m.title == "Section 333 and the largest drone attack"
    assert m.body == ("**Section 333** and the **largest drone attack**\n\n"
                      "https://n.example/1?utm_source=x  \n"
                      "wire · 2026-11-30 06:00 UTC · matched: drones, s333")
    digest = compose(Target("hook", "json://127.0.0.1:9/x"), [a, a])
    assert digest.title == "newswatch: 2 alerts"
