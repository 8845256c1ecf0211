"""Messages for alerts, shaped for the service a target is: pure, no I/O.

Feed text is shown, never obeyed. Titles, snippets and feed names reach a
message as one line of text, escaped for the body format; a mention that would
ping a whole room (@everyone, @here, @room, <!channel>, Discord's <@id>) is
broken with a zero-width space, and so are an address written in feed text
(after "https:") and a Markdown "](": feed text never becomes a link. The only
link in a message is the article's own, and only when it is http(s),
percent-encoded so that no markup can close around it.

Every message fits its service. The limits are read from the apprise plugin
the target URL names (body_maxlen, title_maxlen), with the few apprise does not
know added in `limits()`. Text is shortened before it is escaped, and a digest
leaves out whole entries, so a cut never falls inside an escape, a tag or a
link: apprise's overflow=truncate|split, which cut markup anywhere, then have
nothing to do.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from string import Template
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import apprise
from apprise.plugins.base import NotifyBase

from .models import Target
from .store import Outgoing
from .timestamps import parse_iso

FORMATS = ("text", "html", "markdown")
# What a target's title_template and body_template may use ($name or ${name}).
TEMPLATE_FIELDS = ("title", "link", "feed", "published", "rules", "snippet")
ELLIPSIS = "…"
ZWSP = "\u200b"
DIGEST_TITLE = 200  # characters of an article title in a digest entry
FEED_NAME = 80  # characters of a feed name in a footer
RULE_NAMES = 200  # characters of the matched rules' names in a footer
LONGEST_LINK = 1000  # a longer link is left out of the body (it stays in `fields`)
# Starts the snippet of an alert on an article edited since it was first seen (a
# `realert` rule): its title reads "Updated: ...", its fields say "updated": true.
UPDATED = "(updated) "


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    fmt: str  # "markdown" | "html" | "text": what apprise is told the body is
    fields: tuple[dict[str, object], ...]  # one per alert, for structured webhooks
    # How many of the alerts, from the first, the message shows: a digest too long for
    # its service leaves out whole entries ("… and N more"), which are sent later.
    shows: int = 1


@dataclass(frozen=True)
class Limits:
    """How long a service lets a title and a body be, measured its way."""

    title: int
    body: int
    measure: Callable[[str], int]
    title_in_body: bool = False  # no title field: apprise writes it into the body
    shared: bool = False  # the title, a line break and the body fill one field


def compose(target: Target, alerts: Sequence[Outgoing], plain: bool = False) -> Message:
    """One alert: a single message (the target's title/body templates honoured); several: a digest.
    plain=True: the fallback after a service refused the richer form: text without any markup,
    shortened to the service's limits."""
    if not alerts:
        raise ValueError("a message needs at least one alert")
    service, lim = service_of(target.url), limits(target.url)
    fmt = _plain_format(target.url) if plain else body_format(target.url)
    title_fmt = fmt if _title_is_markup(service, lim) else "text"
    if len(alerts) > 1:
        title = _fit_title(f"newswatch: {len(alerts)} alerts", title_fmt, lim)
        body, shows = _digest_body(alerts, service, fmt, _fits(lim, title))
        return Message(title, body, fmt.removesuffix("-plain"),
                       tuple(_fields(a) for a in alerts[:shows]), shows)
    else:
        item = _prepare(alerts[0], service)
        title = _fit_title(_title_text(target, item), title_fmt, lim)
        template = "" if plain else target.body_template
        body = _alert_body(item, fmt, template, _fits(lim, title))
    return Message(title, body, fmt.removesuffix("-plain"), tuple(_fields(a) for a in alerts))


# --- which service, which format, which limits ------------------------------------------


@functools.lru_cache(maxsize=256)
def _plugin(url: str) -> Any:
    """The apprise plugin for a URL (None when apprise cannot use it); only read from."""
    return apprise.Apprise.instantiate(url, suppress_exceptions=True)


_SERVICE_NAMES = {"tgram": "telegram", "mailto": "email", "mailtos": "email",
                  "matrixs": "matrix", "jsons": "json", "xmls": "xml", "forms": "form"}


def service_of(url: str) -> str:
    """The service a target URL sends to ("discord", "slack", "telegram", "matrix", "email",
    "json", ...): apprise's name for its scheme, so https://discord.com/api/webhooks/... is
    "discord" too."""
    plugin = _plugin(url)
    scheme = url.split("://", 1)[0].lower()
    if plugin is not None:
        for protocol in (plugin.protocol, plugin.secure_protocol):
            names = [protocol] if isinstance(protocol, str) else list(protocol or ())
            if names:
                scheme = str(names[0]).lower()
                break
    return _SERVICE_NAMES.get(scheme, scheme)


def _formats(plugin: Any) -> list[str]:
    declared = plugin.notify_format if plugin is not None else "text"
    if not isinstance(declared, list | tuple):
        declared = (declared,)
    return [str(getattr(f, "value", f)) for f in declared]


def body_format(url: str) -> str:
    """The format a target's bodies are written in: a `format=` the service takes, from the
    URL; else the service's own default when that is rich (Telegram: HTML, whose escaping is
    exact where its Markdown dialects are not); else markdown, html, text, richest first."""
    plugin = _plugin(url)
    formats = _formats(plugin)
    query = {k.lower(): v.lower() for k, v in parse_qsl(urlsplit(url).query)}
    asked = query.get("format", "")
    # apprise ignores a format= a multi-format plugin does not declare
    if asked in FORMATS and (plugin is None or asked in formats or len(formats) == 1):
        return asked
    if formats[0] in ("html", "markdown"):
        return formats[0]
    return next((f for f in ("markdown", "html") if f in formats), "text")


def _plain_format(url: str) -> str:
    """"text"; but where apprise would turn text into Markdown (Discord with format=markdown
    in its URL), "markdown-plain": plain text escaped for Markdown, laid out as text, with no
    bold and no link markup. apprise's own conversion escapes every dot, links included."""
    plugin = _plugin(url)
    resolve = getattr(plugin, "resolve_format", None)
    resolved = resolve(apprise.NotifyFormat.TEXT) if resolve is not None else "text"
    return "markdown-plain" if str(getattr(resolved, "value", resolved)) == "markdown" else "text"


def _utf16(text: str) -> int:
    # Discord and Telegram count UTF-16 units (an emoji is two): never fewer than len().
    return len(text.encode("utf-16-le")) // 2


def _utf8(text: str) -> int:
    return len(text.encode())


def _slack_size(text: str) -> int:
    # apprise writes &, < and > as entities for Slack, after our lengths are measured.
    return _utf16(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def limits(url: str) -> Limits:
    """A target's limits. apprise's plugin for the URL knows most of them (body_maxlen,
    title_maxlen; a title_maxlen of 0 means the title goes into the body), and reading them
    from it keeps them in step with apprise; the rest are the services' own, noted below."""
    plugin = _plugin(url)
    base = plugin if plugin is not None else NotifyBase
    title, body = min(base.title_maxlen, 250) or 250, base.body_maxlen
    lim = Limits(title, body, _utf16, title_in_body=base.title_maxlen <= 0)
    service = service_of(url)
    if service == "email":
        # apprise writes the Subject unfolded; an SMTP server refused a 1,503-character one
        # ("500 Line too long"). 200 keeps it well inside any line limit.
        return Limits(200, body, _utf16)
    if service == "discord":
        # apprise sends the title, "\r\n" and the body as one `content` of at most 2,000
        # (an embed title, with format=markdown in the URL, may have 256).
        return Limits(min(title, 256), body, _utf16, shared=True)
    if service == "slack" and getattr(plugin, "use_blocks", False):
        # Block Kit: a header's plain_text holds 150 characters, a section's text 3,000.
        return Limits(150, min(body, 3000), _slack_size)
    if service == "slack":
        return Limits(title, body, _slack_size)
    if service == "matrix":
        # An event is at most 65,536 bytes of JSON and carries the body twice (plain and
        # formatted_body, which Markdown turns into longer HTML): 16,000 bytes leaves room.
        return Limits(title, min(body, 16000), _utf8)
    return lim


def _title_is_markup(service: str, lim: Limits) -> bool:
    """Is the title written into the body, so that it is read as the body's format?"""
    return lim.title_in_body or service == "discord"


def _fits(lim: Limits, title: str) -> Callable[[str], bool]:
    budget = lim.body
    if lim.title_in_body:
        budget -= lim.measure(title) + 24  # apprise adds "<b></b><br />\r\n", "# " or "\r\n"
    elif lim.shared:
        budget -= lim.measure(title) + 2  # "\r\n"
    return lambda body: lim.measure(body) <= budget


# --- feed text made inert ---------------------------------------------------------------

_SPACE = re.compile(r"\s+")
# Control characters, and the bidirectional overrides that make text read backwards.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ROOM_MENTION = re.compile(r"@(?=(?:everyone|here|room|channel)\b)", re.I)
# apprise's Discord plugin, with format=markdown, turns any @word in a body into a ping it
# allows (and a parse value Discord refuses): no @ in Discord text may touch a word.
_ANY_MENTION = re.compile(r"@(?=[\w&])")
_SLACK_CONTROL = re.compile(r"<(?=[!@#])")  # <!channel>, <@U123>, <#C123>
_ADDRESS = re.compile(r"(?<=[a-z0-9+.-]):(?=//)", re.I)  # clients link https://...
_MASKED_LINK = re.compile(r"\](?=\()")  # [text](url)


def _clean(text: str, service: str) -> str:
    """Feed text as one line that can ping no one and link nowhere, in any service."""
    text = _SPACE.sub(" ", _CONTROL.sub("", text)).strip()
    at = _ANY_MENTION if service == "discord" else _ROOM_MENTION
    for pattern in (at, _SLACK_CONTROL, _ADDRESS, _MASKED_LINK):
        text = pattern.sub(lambda m: m.group() + ZWSP, text)
    return text


# Characters that may stay as they are in a link written into any markup: the rest
# (spaces, quotes, <>, |, [], (), backticks, @, *, ...) are percent-encoded.
_LINK_SAFE = "!$&+,/:;=?~%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]+")


def safe_link(url: str) -> str:
    """An article's address as a link safe in every format, or "" when it is not http(s).
    The user:password part is dropped: `https://bank.example@evil.example/` misleads."""
    try:
        parts = urlsplit(url.strip())
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return ""
    if not _HOST.fullmatch(host):
        return ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port is not None else ""
    path, query, fragment = (_encode(p) for p in (parts.path, parts.query, parts.fragment))
    return (f"{parts.scheme.lower()}://{netloc}{path}" + (f"?{query}" if query else "")
            + (f"#{fragment}" if fragment else ""))


def _encode(part: str) -> str:
    return quote(_STRAY_PERCENT.sub("%25", part), safe=_LINK_SAFE)


# --- an alert, ready to write -----------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    title: str  # one clean line: the article's title, else its address
    snippet: tuple[tuple[str, bool], ...]  # (text, is_hit)
    link: str  # safe http(s) link, or ""
    footer: str  # feed, when, rules
    feed: str
    rules: str
    published: str


def highlighted(snippet: str) -> list[tuple[str, bool]]:
    """A stored snippet as (text, is_hit) segments: hits are between ** markers."""
    return [(part, i % 2 == 1) for i, part in enumerate(snippet.split("**")) if part]


def _prepare(alert: Outgoing, service: str, snippet: bool = True) -> _Item:
    link = safe_link(alert.url)
    title = _clean(alert.title, service) or link or _clean(alert.url, service)
    if alert.snippet.startswith(UPDATED):
        title = "Updated: " + title
        alert = replace(alert, snippet=alert.snippet.removeprefix(UPDATED))
    feed = _cut(_clean(alert.feed, service), FEED_NAME)
    rules = _cut(_clean(", ".join(alert.rules), service), RULE_NAMES)
    when = _when(alert.published)
    segments = tuple(highlighted(_clean(alert.snippet, service))) if snippet else ()
    return _Item(title, segments, link,
                 f"{feed}{when} · matched: {rules}", feed, rules, when.removeprefix(" · "))


def _when(published: str | None) -> str:
    try:
        stamp = parse_iso(published)
    except ValueError:
        return ""
    return f" · {stamp:%Y-%m-%d %H:%M} UTC" if stamp else ""


def _fields(alert: Outgoing) -> dict[str, object]:
    """An alert as data for structured webhooks: plain text, the link only when http(s)."""
    def line(text: str) -> str:
        return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()

    text = alert.snippet.removeprefix(UPDATED)
    return {"alert_id": alert.id, "title": line(alert.title), "link": safe_link(alert.url),
            "feed": line(alert.feed), "rules": list(alert.rules), "published": alert.published,
            "snippet": line(text.replace("**", "")), "score": _score(text),
            **({"updated": True} if text != alert.snippet else {})}


_SEMANTIC = re.compile(r"\(semantic match, similarity (\d+(?:\.\d+)?)\)")


def _score(snippet: str) -> float | None:
    found = _SEMANTIC.match(snippet)
    return float(found.group(1)) if found else None


# --- writing and shortening -------------------------------------------------------------

# CommonMark's punctuation that opens markup; `@` is defused by _clean instead.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()<>#|~])")


def render(text: str, fmt: str, bold: bool = False) -> str:
    """Clean text escaped for a body format (never cut after this: see `_cut`)."""
    if fmt == "html":
        text = html.escape(text)
        return f"<b>{text}</b>" if bold and text else text
    if fmt.startswith("markdown"):
        text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
        return f"**{text}**" if bold and text.strip() and fmt == "markdown" else text
    return text


def _cut(text: str, length: int) -> str:
    """Text of at most `length` characters, ending in an ellipsis when shortened."""
    if len(text) <= length:
        return text
    return text[:max(length - 1, 0)].rstrip() + ELLIPSIS if length > 0 else ""


def _cut_segments(segments: Sequence[tuple[str, bool]], length: int) -> list[tuple[str, bool]]:
    """Snippet segments of at most `length` characters in all, with an ellipsis when cut."""
    if sum(len(t) for t, _ in segments) <= length:
        return list(segments)
    out: list[tuple[str, bool]] = []
    room = length - 1
    for text, hit in segments:
        if room <= 0:
            break
        out.append((text[:room], hit))
        room -= len(text)
    if out:
        out[-1] = (out[-1][0].rstrip(), out[-1][1])
    return [(t, h) for t, h in out if t] + ([(ELLIPSIS, False)] if length > 0 else [])


def _largest(make: Callable[[int], str], full: int, fits: Callable[[str], bool]) -> str | None:
    """make(n) for the largest n <= full that fits; None when even make(0) does not."""
    if fits(best := make(full)):
        return best
    if not fits(make(0)):
        return None
    low, high = 0, full  # make(low) fits, make(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(make(middle)) else (low, middle)
    return make(low)


def _fit_title(title: str, fmt: str, lim: Limits) -> str:
    found = _largest(lambda n: render(_cut(title, n), fmt), len(title),
                     lambda t: lim.measure(t) <= lim.title)
    return found or ""


def _title_text(target: Target, item: _Item) -> str:
    if not target.title_template:
        return item.title
    fields = _template_fields(item, "text", len(item.title), True,
                              sum(len(t) for t, _ in item.snippet))
    return _SPACE.sub(" ", Template(target.title_template).safe_substitute(fields)).strip()


def _link(link: str, fmt: str) -> str:
    if fmt == "html" and link:
        return f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
    return link


def _snippet(item: _Item, fmt: str, length: int) -> str:
    return "".join(render(t, fmt, hit) for t, hit in _cut_segments(item.snippet, length))


def _template_fields(item: _Item, fmt: str, title_len: int, link: bool,
                     snippet_len: int) -> dict[str, str]:
    return {"title": render(_cut(item.title, title_len), fmt),
            "link": _link(item.link, fmt) if link and len(item.link) <= LONGEST_LINK else "",
            "feed": render(item.feed, fmt), "published": item.published,
            "rules": render(item.rules, fmt), "snippet": _snippet(item, fmt, snippet_len)}


def _single(item: _Item, fmt: str, snippet_len: int, link: bool, footer_len: int) -> str:
    snippet = _snippet(item, fmt, snippet_len)
    shown = _link(item.link, fmt) if link and len(item.link) <= LONGEST_LINK else ""
    tail = [x for x in (shown, render(_cut(item.footer, footer_len), fmt)) if x]
    if fmt == "html":
        return (f"<p>{snippet}</p>" if snippet else "") + f"<p>{'<br>'.join(tail)}</p>"
    # Markdown joins lines into one paragraph unless a line ends in two spaces.
    lines = ("  \n" if fmt.startswith("markdown") else "\n").join(tail)
    return "\n".join(([snippet, ""] if snippet else []) + [lines])


def _alert_body(item: _Item, fmt: str, template: str, fits: Callable[[str], bool]) -> str:
    """One alert's body, its snippet shortened first, then its title, link and footer."""
    whole = sum(len(t) for t, _ in item.snippet)
    tries: list[tuple[Callable[[int], str], int]] = []
    if template:
        def templated(title: int, link: bool, snippet: int) -> str:
            fields = _template_fields(item, fmt, title, link, snippet)
            return Template(template).safe_substitute(fields)

        tries += [(lambda n: templated(len(item.title), True, n), whole),
                  (lambda n: templated(n, True, 0), len(item.title)),
                  (lambda n: templated(n, False, 0), len(item.title))]
    tries += [(lambda n: _single(item, fmt, n, True, len(item.footer)), whole),
              (lambda n: _single(item, fmt, 0, False, n), len(item.footer))]
    for make, full in tries:
        if (body := _largest(make, full, fits)) is not None:
            return body
    return ELLIPSIS


def _entry(item: _Item, fmt: str, title_len: int = DIGEST_TITLE, link: bool = True) -> str:
    name = render(_cut(item.title, title_len), fmt)
    link = link and bool(item.link) and len(item.link) <= LONGEST_LINK
    footer = render(item.footer, fmt)
    if fmt == "html":
        if link:
            name = f'<a href="{html.escape(item.link)}">{name}</a>'
        return f"<li>{name}<br>{footer}</li>"
    if fmt == "markdown":
        return f"- [{name}]({item.link})  \n  {footer}" if link else f"- {name}  \n  {footer}"
    return "\n".join([f"- {name}"] + ([f"  {item.link}"] if link else []) + [f"  {footer}"])


def _digest(entries: Sequence[str], rest: int, fmt: str) -> str:
    more = f"{ELLIPSIS} and {rest} more" if rest else ""
    if fmt == "html":
        return f"<ul>{''.join(entries)}</ul>" + (f"<p>{more}</p>" if more else "")
    return "\n".join(entries) + (f"\n\n{more}" if more else "")


def _digest_body(alerts: Sequence[Outgoing], service: str, fmt: str,
                 fits: Callable[[str], bool]) -> tuple[str, int]:
    """As many whole entries as fit, and how many more there are; and how many it shows."""
    entries: list[str] = []
    best, shows = None, 1
    for a in alerts:  # written one by one: a digest may hold far more than fit
        entries.append(_entry(_prepare(a, service, snippet=False), fmt))
        body = _digest(entries, len(alerts) - len(entries), fmt)
        if not fits(body):
            break
        best, shows = body, len(entries)
    if best is None:  # not even one whole entry: the first, shortened
        first, rest = _prepare(alerts[0], service, snippet=False), len(alerts) - 1

        def shortened(link: bool) -> Callable[[int], str]:
            return lambda n: _digest([_entry(first, fmt, n, link)], rest, fmt)

        best = (_largest(shortened(True), len(first.title), fits)
                or _largest(shortened(False), len(first.title), fits))
    return best or ELLIPSIS, shows
