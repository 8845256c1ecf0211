"""Formatting alerts and sending them through apprise.

A target is only ever named by its `name`: its URL holds tokens and
passwords. apprise's own log lines are scrubbed of every piece of every
target URL before they reach the log.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import threading
from collections.abc import Sequence
from string import Template
from typing import Protocol

import apprise

from . import plugins  # noqa: F401  (registers stdout://)
from .errors import NotifyError
from .models import Target
from .store import Outgoing, parse_iso

log = logging.getLogger(__name__)
SEND_TIMEOUT = 60.0
_PIECES = re.compile(r"[/?&=@:#,]+")


def secret_pieces(url: str) -> set[str]:
    """Every part of a target URL long enough to be a token, password or address."""
    rest = url.split("://", 1)[-1]
    return {p for p in _PIECES.split(rest) if len(p) >= 4}


class _Scrub(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        record.msg, record.args = text, None
        return True


_scrub = _Scrub()
logging.getLogger("apprise").addFilter(_scrub)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def highlighted(snippet: str) -> list[tuple[str, bool]]:
    """A stored snippet as (text, is_hit) segments: hits are between ** markers."""
    return [(part, i % 2 == 1) for i, part in enumerate(snippet.split("**")) if part]


def render(text: str, fmt: str, bold: bool = False) -> str:
    """Article text made safe for a body format; feed text is never passed through raw."""
    if fmt == "html":
        text = html.escape(text)
        return f"<b>{text}</b>" if bold else text
    if fmt == "markdown":
        text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
        return f"**{text}**" if bold else text
    return text


# What a target's title_template and body_template may use ($name or ${name}).
TEMPLATE_FIELDS = ("title", "link", "feed", "published", "rules", "snippet")


def template_fields(alert: Outgoing, fmt: str) -> dict[str, str]:
    """An alert's fields for a template, each made safe for the body format."""
    stamp = _when(alert.published).removeprefix(" · ")
    snippet = "".join(render(t, fmt, hit) for t, hit in highlighted(alert.snippet))
    link = alert.url
    if fmt == "html":
        link = f'<a href="{html.escape(alert.url, quote=True)}">{html.escape(alert.url)}</a>'
    return {"title": render(alert.title, fmt), "link": link, "feed": render(alert.feed, fmt),
            "published": stamp, "rules": render(", ".join(alert.rules), fmt),
            "snippet": snippet}


def format_alert(alert: Outgoing, fmt: str = "markdown", title_template: str = "",
                 body_template: str = "") -> tuple[str, str]:
    """Title and body of the message for one article, in a body format.

    A target's templates, when set, replace the default title or body; the
    title is plain text, the body is in the target's format.
    """
    fields = template_fields(alert, fmt)
    if title_template:
        title = Template(title_template).safe_substitute(template_fields(alert, "text"))
    else:
        title = alert.title or alert.url
    if body_template:
        return title, Template(body_template).safe_substitute(fields)
    footer = _footer(alert, fmt)
    snippet = fields["snippet"]
    if fmt == "html":
        parts = [f"<p>{snippet}</p>" if snippet else "", f"<p>{fields['link']}<br>{footer}</p>"]
        return title, "".join(parts)
    lines = [snippet, "", alert.url, footer] if snippet else [alert.url, footer]
    return title, "\n".join(lines)


def _footer(alert: Outgoing, fmt: str) -> str:
    """The line under an alert: its feed, when it was published, the rules it matched."""
    return render(f"{alert.feed}{_when(alert.published)} · matched: {', '.join(alert.rules)}",
                  fmt)


def format_digest(alerts: Sequence[Outgoing], fmt: str = "markdown") -> tuple[str, str]:
    """Title and body of one message listing several alerts."""
    title = f"newswatch: {len(alerts)} alerts"
    entries = []
    for a in alerts:
        footer = _footer(a, fmt)
        if fmt == "html":
            link = f'<a href="{html.escape(a.url, quote=True)}">{html.escape(a.title or a.url)}</a>'
            entries.append(f"<li>{link}<br>{footer}</li>")
        elif fmt == "markdown":
            name = render(a.title or a.url, fmt).replace("]", "\\]")
            entries.append(f"- [{name}]({a.url})  \n  {footer}")
        else:
            entries.append(f"- {a.title or a.url}\n  {a.url}\n  {footer}")
    if fmt == "html":
        return title, "<ul>" + "".join(entries) + "</ul>"
    return title, "\n".join(entries)


def _when(published: str | None) -> str:
    try:
        stamp = parse_iso(published)
    except ValueError:
        return ""
    return f" · {stamp:%Y-%m-%d %H:%M} UTC" if stamp else ""


def body_format(url: str) -> str:
    """The richest body format a target renders: markdown, else html, else text."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    formats = getattr(plugin, "notify_format", None) or "text"
    if not isinstance(formats, list | tuple):
        formats = (formats,)
    names = {str(getattr(f, "value", f)) for f in formats}
    return next((f for f in ("markdown", "html") if f in names), "text")


class Receipt(Protocol):
    """Where a message's fate is written down, in the thread that sends it."""

    def leaving(self) -> None:
        """The message is about to go out: called just before the request."""

    def accepted(self) -> None:
        """The target accepted it: called the moment it answers."""


class Notifier:
    """Sends messages to named targets."""

    def __init__(self, targets: Sequence[Target]) -> None:
        self.targets = {t.name: t for t in targets}
        self.formats: dict[str, str] = {}
        # One apprise object per target, reused (building one costs ~1 ms a message);
        # the lock keeps one message at a time per target, as delivery does anyway.
        self._apprise: dict[str, tuple[threading.Lock, apprise.Apprise]] = {}
        self._apprise_lock = threading.Lock()
        for t in targets:
            _scrub.secrets.update(secret_pieces(t.url))

    def names(self) -> list[str]:
        return list(self.targets)

    def format_of(self, name: str) -> str:
        if name not in self.formats:
            self.formats[name] = body_format(self.targets[name].url)
        return self.formats[name]

    def _send_blocking(self, name: str, title: str, body: str, fmt: str,
                       receipt: Receipt | None) -> bool:
        with self._apprise_lock:
            if name not in self._apprise:
                # Sent in this thread (apprise would hand each message to a pool thread of
                # its own): the acceptance is recorded with one thread switch fewer.
                ap = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
                if not ap.add(self.targets[name].url):
                    return False
                self._apprise[name] = (threading.Lock(), ap)
            lock, ap = self._apprise[name]
        with lock:
            if receipt is not None:
                receipt.leaving()
            ok = bool(ap.notify(body=body, title=title, body_format=apprise.NotifyFormat(fmt)))
            if ok and receipt is not None:
                receipt.accepted()  # at once, in this thread: the window for a repeat stays tiny
        return ok

    async def send_alert(self, alert: Outgoing, receipt: Receipt | None = None) -> None:
        """Format an alert for its target and send it, telling `receipt` as it goes."""
        if alert.target not in self.targets:
            raise NotifyError(f"no target named {alert.target!r} in the config")
        fmt = self.format_of(alert.target)
        t = self.targets[alert.target]
        title, body = format_alert(alert, fmt, t.title_template, t.body_template)
        await self.send(alert.target, title, body, fmt, receipt)

    async def send_digest(self, alerts: Sequence[Outgoing],
                          receipt: Receipt | None = None) -> None:
        """Several alerts to one target as one message."""
        target = alerts[0].target
        if target not in self.targets:
            raise NotifyError(f"no target named {target!r} in the config")
        fmt = self.format_of(target)
        title, body = format_digest(alerts, fmt)
        await self.send(target, title, body, fmt, receipt)

    async def send(self, name: str, title: str, body: str, fmt: str = "markdown",
                   receipt: Receipt | None = None) -> None:
        """Send one message; raise NotifyError unless the target accepted it."""
        if name not in self.targets:
            raise NotifyError(f"no target named {name!r} in the config")
        try:
            ok = await asyncio.wait_for(asyncio.to_thread(
                self._send_blocking, name, title, body, fmt, receipt), SEND_TIMEOUT)
        except TimeoutError:
            raise NotifyError(f"target {name!r} did not answer within {SEND_TIMEOUT:g}s") from None
        if not ok:
            raise NotifyError(f"target {name!r} did not accept the message")
