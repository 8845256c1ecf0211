"""Formatting alerts and sending them through apprise.

A target is only ever named by its `name`: its URL holds tokens and
passwords. apprise's own log lines are scrubbed of every piece of every
target URL before they reach the log.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import datetime

import apprise

from . import plugins  # noqa: F401  (registers stdout://)
from .errors import NotifyError
from .models import Target
from .store import Outgoing

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


def format_alert(alert: Outgoing) -> tuple[str, str]:
    """Title and Markdown body of the message for one article."""
    when = _when(alert.published)
    rules = ", ".join(alert.rules)
    lines = [alert.snippet, "", alert.url, f"{alert.feed}{when} · matched: {rules}"]
    if not alert.snippet:
        lines = lines[2:]
    return alert.title or alert.url, "\n".join(lines)


def _when(published: str | None) -> str:
    if not published:
        return ""
    try:
        stamp = datetime.strptime(published, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return ""
    return f" · {stamp:%Y-%m-%d %H:%M} UTC"


class Notifier:
    """Sends messages to named targets."""

    def __init__(self, targets: Sequence[Target]) -> None:
        self.targets = {t.name: t for t in targets}
        for t in targets:
            _scrub.secrets.update(secret_pieces(t.url))

    def names(self) -> list[str]:
        return list(self.targets)

    def _send_blocking(self, name: str, title: str, body: str) -> bool:
        ap = apprise.Apprise()
        if not ap.add(self.targets[name].url):
            return False
        return bool(ap.notify(body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN))

    async def send(self, name: str, title: str, body: str) -> None:
        """Send one message; raise NotifyError unless the target accepted it."""
        if name not in self.targets:
            raise NotifyError(f"no target named {name!r} in the config")
        try:
            ok = await asyncio.wait_for(
                asyncio.to_thread(self._send_blocking, name, title, body), SEND_TIMEOUT)
        except TimeoutError:
            raise NotifyError(f"target {name!r} did not answer within {SEND_TIMEOUT:g}s") from None
        if not ok:
            raise NotifyError(f"target {name!r} did not accept the message")
