"""Formatting alerts and sending them through apprise.

A target is only ever named by its `name`: its URL holds tokens and
passwords. apprise's own log lines are scrubbed of every piece of every
target URL before they reach the log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import apprise
from apprise.plugins.custom_json import NotifyJSON

from . import plugins  # noqa: F401  (registers stdout://)
from .errors import NoAnswer, NotifyError
from .messages import Message, compose
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
    """On apprise's logger: scrubs every secret from its records, and keeps what it says
    while a message is sent in this thread (what became of the message: apprise's
    notify() answers only True or False). Debug records are made for that, and go on
    to the log only when the log wants them."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        record.msg, record.args = text, None
        said: list[tuple[int, str]] | None = getattr(self.local, "said", None)
        if said is not None:
            said.append((record.levelno, text))
        # To the log: apprise's warnings and errors (its "Sent ..." lines are noise).
        return record.levelno >= max(logging.WARNING, logging.getLogger().getEffectiveLevel())


_scrub = _Scrub()
_apprise_log = logging.getLogger("apprise")
_apprise_log.addFilter(_scrub)


@contextmanager
def _listening() -> Iterator[list[tuple[int, str]]]:
    """What apprise says in this thread meanwhile: (level, text)."""
    said: list[tuple[int, str]] = []
    if _apprise_log.level != logging.DEBUG:  # what a send came to is in its debug lines
        _apprise_log.setLevel(logging.DEBUG)
    _scrub.local.said = said
    try:
        yield said
    finally:
        _scrub.local.said = None


# How apprise words a failure before anything was sent: no connection was made.
_DOWN = re.compile(r"NewConnectionError|Failed to establish a new connection|connect timeout|"
                   r"ConnectTimeout|NameResolutionError|Name or service not known|"
                   r"Temporary failure in name resolution|Connection refused|"
                   r"Network is unreachable|No route to host", re.I)
# ... and one after the message went out: it may have been taken.
_DOUBT = re.compile(r"timed out|Read timeout|RemoteDisconnected|Connection aborted|"
                    r"Connection reset|unexpectedly closed", re.I)
_STATUS = re.compile(r"error=(\d{3})")


@dataclass(frozen=True)
class Outcome:
    """What became of one message."""

    sent: bool = False
    plain: bool = False  # taken only in its plain form, after the rich one was refused
    error: str | None = None  # why it was not
    down: bool = False  # no connection at all: the target is down, the message never left
    doubt: bool = False  # it left and no answer came in time: it may have arrived

    @property
    def refused(self) -> bool:
        """The service answered, and said no to this message."""
        return not (self.sent or self.down or self.doubt)


def classify(said: Sequence[tuple[int, str]], target: str) -> Outcome:
    """A failed send, from what apprise said about it: its warnings and the exception it
    caught, never its other debug lines (they quote the message, whose words are the
    feed's)."""
    lines = [line for level, line in said
             if level >= logging.WARNING or line.startswith("Socket Exception")]
    text = " | ".join(lines)
    if _DOWN.search(text):
        return Outcome(error=f"target {target!r} could not be reached", down=True)
    if _DOUBT.search(text):
        return Outcome(error=f"target {target!r} did not answer in time", doubt=True)
    status = _STATUS.search(text)
    code = int(status.group(1)) if status else 0
    if code in (502, 504):  # a gateway gave up waiting: the service may have taken it
        return Outcome(error=f"target {target!r} answered HTTP {code}", doubt=True)
    if code >= 500 or code == 429:  # the service cannot take anything now, this or another
        return Outcome(error=f"target {target!r} is failing (HTTP {code})", down=True)
    warnings = [line for level, line in said if level >= logging.WARNING][-1:]
    reason = f" ({warnings[0][:300]})" if warnings else ""
    return Outcome(error=f"target {target!r} did not accept the message{reason}")


def _asset() -> apprise.AppriseAsset:
    """apprise settings for sending in the calling thread. apprise would hand each
    message to a pool thread of its own (async_mode), and apprise 2 another to time
    it out (service_timeout): _run() watches for a target that hangs instead, and
    the answer is recorded two thread switches sooner."""
    if hasattr(apprise.AppriseAsset, "_service_timeout"):
        return apprise.AppriseAsset(async_mode=False, service_timeout=0)
    return apprise.AppriseAsset(async_mode=False)


class Receipt(Protocol):
    """Where a message's fate is written down, in the thread that sends it."""

    def leaving(self) -> bool:
        """The message is about to go out: called just before the request. False: it
        needs no sending any more (an earlier, abandoned send got it accepted)."""

    def accepted(self) -> None:
        """The target accepted it: called the moment it answers, to record it."""

    def only(self, count: int) -> None:
        """The message shows only its first `count` alerts: the others stay pending."""


@dataclass(frozen=True)
class _Out:
    rich: Message
    plain: Message | None  # tried when the rich form is refused
    receipt: Receipt | None
    fresh: bool = True  # never tried before: its refusal says something of the target


@dataclass
class _Batch:
    """Messages for one target, sent in order by one thread; the loop watches progress."""

    messages: Sequence[_Out]
    outcomes: list[Outcome] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


# Different messages refused in a row before the target itself is taken to be failing.
REFUSALS_IN_A_ROW = 3


class Notifier:
    """Sends messages to named targets."""

    def __init__(self, targets: Sequence[Target], previous: Notifier | None = None) -> None:
        """`previous`: the notifier this one replaces (a reload). Its messages on their
        way stay in view, and an unchanged target keeps its lock, so a target never
        has two messages out at once."""
        self.targets = {t.name: t for t in targets}
        # One apprise object per target, reused (building one costs ~1 ms a message);
        # the lock keeps one message at a time per target, as delivery does anyway.
        self._apprise: dict[str, tuple[threading.Lock, apprise.Apprise]] = {}
        self._apprise_lock = threading.Lock()
        self._sending: set[asyncio.Future[None]] = set()  # batches in their threads
        if previous is not None:
            self._sending = previous._sending
            with previous._apprise_lock:
                self._apprise = {name: entry for name, entry in previous._apprise.items()
                                 if name in self.targets
                                 and self.targets[name].url == previous.targets[name].url}
        for t in targets:
            _scrub.secrets.update(secret_pieces(t.url))

    def names(self) -> list[str]:
        return list(self.targets)

    def _apprise_for(self, name: str) -> tuple[threading.Lock, apprise.Apprise] | None:
        with self._apprise_lock:
            if name not in self._apprise:
                ap = apprise.Apprise(asset=_asset())
                if not ap.add(with_timeout(self.targets[name])):
                    return None
                self._apprise[name] = (threading.Lock(), ap)
            return self._apprise[name]

    def _send_batch(self, name: str, batch: _Batch) -> None:
        """In a thread: send each message in order; a refused one is tried once more in
        its plain form and never stops the others, unless REFUSALS_IN_A_ROW different
        messages were refused; a target that is down or silent stops the batch."""
        found = self._apprise_for(name)
        if found is None:
            batch.outcomes.append(Outcome(error=f"target {name!r} has a URL apprise cannot use",
                                          down=True))
            return
        lock, ap = found
        refused = 0
        with lock:
            for out in batch.messages:
                if batch.stop.is_set():
                    return
                if out.receipt is not None:
                    out.receipt.only(min(out.rich.shows,
                                         out.plain.shows if out.plain else out.rich.shows))
                    if not out.receipt.leaving():
                        batch.outcomes.append(Outcome(sent=True))  # an earlier send took it
                        continue
                try:
                    outcome = self._send_one(ap, name, out)
                except Exception as e:  # noqa: BLE001 - a plugin's bug: it may have left
                    outcome = Outcome(error=f"target {name!r}: {type(e).__name__}: {e}",
                                      doubt=True)
                if outcome.sent and out.receipt is not None:
                    try:  # at once, in this thread: the repeat window is tiny
                        out.receipt.accepted()
                    except Exception:  # noqa: BLE001 - the loop records it again
                        log.warning("target=%s: a sent message could not be recorded in "
                                    "this thread; it is recorded after the batch", name)
                batch.outcomes.append(outcome)
                # A message refused before, refused again, says nothing new of the target:
                # three such at the head of the queue must not stop the ones behind them.
                if not outcome.refused:
                    refused = 0
                elif out.fresh:
                    refused += 1
                if outcome.down or outcome.doubt or refused >= REFUSALS_IN_A_ROW:
                    return

    def _send_one(self, ap: apprise.Apprise, name: str, out: _Out) -> Outcome:
        outcome = self._notify(ap, name, out.rich)
        if not outcome.refused or out.plain is None:
            return outcome
        plain = self._notify(ap, name, out.plain)
        if plain.sent:
            return Outcome(sent=True, plain=True, error=outcome.error)
        return plain if not plain.refused else outcome

    def _notify(self, ap: apprise.Apprise, name: str, message: Message) -> Outcome:
        with _listening() as said:
            _structured(ap, message)
            accepted = ap.notify(body=message.body, title=message.title,
                                 body_format=apprise.NotifyFormat(message.fmt))
        return Outcome(sent=True) if accepted else classify(said, name)

    async def _run(self, name: str, batch: _Batch) -> list[Outcome]:
        """Send a batch in a thread; give up on it when one message takes too long."""
        task = asyncio.ensure_future(asyncio.to_thread(self._send_batch, name, batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        seen = -1
        try:
            while not task.done():
                if len(batch.outcomes) == seen:  # no answer to one message for SEND_TIMEOUT
                    batch.stop.set()  # the thread sends nothing after the hung message
                    return [*batch.outcomes, Outcome(
                        error=f"target {name!r} did not answer within {SEND_TIMEOUT:g}s",
                        doubt=True)]
                seen = len(batch.outcomes)
                await asyncio.wait({task}, timeout=SEND_TIMEOUT)
        except asyncio.CancelledError:
            batch.stop.set()  # stopping: the message out now is the last
            raise
        task.result()
        return list(batch.outcomes)

    async def settle(self, timeout: float) -> None:
        """Wait, a bounded time, for the messages on their way: their answers get
        recorded before the database closes (a stopped batch sends no further one)."""
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=timeout)

    async def deliver(self, name: str, messages: Sequence[Sequence[Outgoing]],
                      receipts: Sequence[Receipt], fresh: Sequence[bool]) -> list[Outcome]:
        """Send a target its messages (one alert each, or several: a digest) in order, in
        one trip to a thread. Return what became of each message sent, in order: fewer
        than given when the target was down or silent, or refused REFUSALS_IN_A_ROW
        `fresh` ones (never tried before) in a row; the rest were not tried."""
        if name not in self.targets:
            return [Outcome(error=f"no target named {name!r} in the config", down=True)]
        t = self.targets[name]
        formatted = [_Out(compose(t, message), compose(t, message, plain=True), receipt, new)
                     for message, receipt, new in zip(messages, receipts, fresh, strict=True)]
        return await self._run(name, _Batch(formatted))

    async def send(self, name: str, title: str, body: str, fmt: str = "markdown") -> None:
        """Send one message; raise NotifyError unless the target accepted it."""
        if name not in self.targets:
            raise NotifyError(f"no target named {name!r} in the config")
        [outcome] = await self._run(name, _Batch([_Out(Message(title, body, fmt, ()), None,
                                                       None)]))
        if not outcome.sent:
            raise (NoAnswer if outcome.doubt else NotifyError)(outcome.error)


def _structured(ap: apprise.Apprise, message: Message) -> None:
    """A json:// webhook gets each alert's fields too, beside apprise's title and
    message: tools downstream should not have to parse Markdown. (apprise adds a
    json plugin's `payload_extras` to what it posts.)"""
    for plugin in ap:
        extras = getattr(plugin, "payload_extras", None)
        if isinstance(plugin, NotifyJSON) and isinstance(extras, dict):
            extras["alerts"] = list(message.fields)


def with_timeout(target: Target) -> str:
    """The target's apprise URL with its `timeout` as apprise's read and connect timeouts
    (unless the URL sets them itself)."""
    if not target.timeout or "rto=" in target.url:
        return target.url
    glue = "&" if "?" in target.url else "?"
    return f"{target.url}{glue}rto={target.timeout:g}&cto={min(target.timeout, 10.0):g}"
