"""The fast reader's stack of open elements, as feedparser keeps it: the text each
element collects, resolved against the base, repaired as feedparser repairs it, and
stored where feedparser stores it (feed, entry, image, textinput or source), with the
content parameters of the text field open and the stack of xml:base values.

The handlers that push and pop on it are mixins of _Stack: xmlfeed_contexts.py and
xmlfeed_fields.py; xmlfeed_replay.py joins them and walks the tree.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from .imports import without
from .xmlfeed_names import Unsupported

with without("chardet", "cchardet"):
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.urls import _urljoin, make_safe_absolute_uri

_AMPERSAND_ENTITY = re.compile("&([A-Za-z0-9_]+);")
# An absolute http(s) URL that urljoin returns as it is, whatever the base: most links.
_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~!$&'()*+,=:@%/-]*)?"
                       r"(?:\?[A-Za-z0-9._~!$&'()*+,=:@%/?-]+)?")
_RELATIVE = _FeedParserMixin.can_be_relative_uri
_looks_like_html = _FeedParserMixin.looks_like_html


def _resolve(base: str, uri: str) -> str:
    """feedparser's resolve_uri: a relative URI joined to the base (a base urljoin cannot
    take apart, a broken IPv6 host, makes every URI '')."""
    if _ABSOLUTE.fullmatch(uri) and (not base or _ABSOLUTE.fullmatch(base)):
        return uri
    return str(_urljoin(base or "", uri))


def _map_type(kind: str) -> str:
    kind = kind.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html",
            "xhtml": "application/xhtml+xml"}.get(kind, kind)


class _Stack:
    """feedparser's push, pop and storing, with the state its handlers share: which
    context is open (infeed, inentry, ...), the content parameters, the bases."""

    def __init__(self, base: str, language: str | None, atom: bool) -> None:
        self.atom = atom  # Atom: feedparser guesses no HTML in its text
        self.base, self.bases, self.joined = base, list[str](), dict[tuple[str, Any], str]()
        self.language = language
        self.feed: dict[str, Any] = {}
        self.source: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.depths: list[dict[str, int]] = []  # per entry: the depth each field came from
        self.stack: list[list[Any]] = []  # open elements: [name, expecting text, pieces]
        self.params: dict[str, Any] = {}  # feedparser's contentparams
        self.depth = self.infeed = self.inentry = self.incontent = self.inimage = 0
        self.intextinput = self.insource = self.inauthor = self.incontributor = 0
        self.inpublisher = self.has_content = self.guidislink = 0
        self.title_depth = -1
        self.summary_key: str | None = None
        if language:
            self.feed["language"] = language.replace("_", "-")

    def joined_base(self, base: str, given: str | None) -> str:
        """feedparser's base for an element: its xml:base (or base=) joined to its
        parent's, if the result is absolute with an acceptable scheme."""
        known = self.joined.get((base, given))
        if known is None:
            uri = given or base
            known = (make_safe_absolute_uri(base, uri) or base) if base else _urljoin(base, uri)
            self.joined[base, given] = known
        return known

    def leave_base(self) -> None:
        bases = self.bases
        bases.pop()
        if bases and bases[-1]:  # an empty base is not restored: the inner one stays
            self.base = bases[-1]

    # -- feedparser's collecting and storing

    def push(self, name: str, expecting_text: Any) -> None:
        self.stack.append([name, expecting_text, []])

    def pop(self, name: str, strip: bool = True) -> Any:
        stack = self.stack
        if not stack or stack[-1][0] != name:
            return None
        _, expecting_text, pieces = stack.pop()
        output = "".join(pieces)
        if strip:
            output = output.strip()
        if not expecting_text:
            return output
        if output and name in _RELATIVE and (name != "id" or self.guidislink):
            output = _resolve(self.base, output)
        if not self.atom and self.params.get("type") == "text/plain" and _looks_like_html(output):
            self.params["type"] = "text/html"
        if not output.isascii():  # both steps leave ASCII as it is
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                output = output.encode("iso-8859-1").decode("utf-8")  # UTF-8 read as Latin-1
            output = output.translate(_cp1252)
        if name in ("category", "tags", "itunes_keywords"):
            return output
        if name == "title" and -1 < self.title_depth <= self.depth:
            return output  # the entry (or feed) has its title already
        if self.inentry and not self.insource:
            self.store_in_entry(name, output)
        elif self.infeed or self.insource:
            self.store_in_feed(name, output)
        return output

    def store_in_entry(self, name: str, output: str) -> None:
        entry = self.entries[-1]
        if name == "content":
            entry.setdefault("content", []).append({**self.params, "value": output})
        elif name == "link":
            if not self.inimage:
                output = _AMPERSAND_ENTITY.sub(r"&\g<1>", output.replace("&amp;", "&"))
                entry["link"] = output
                if output:
                    entry["links"][-1]["href"] = output
        else:
            if name == "description":
                name = "summary"
            depths = self.depths[-1]
            old = depths.get(name)
            if old is None or self.depth <= old:  # a deeper one does not replace it
                depths[name] = self.depth
                entry[name] = output
            if self.incontent:
                entry[name + "_detail"] = {**self.params, "value": output}

    def store_in_feed(self, name: str, output: str) -> None:
        context = self.context()
        if name == "description":
            name = "subtitle"
        context[name] = output
        if name == "link":
            output = _AMPERSAND_ENTITY.sub(r"&\g<1>", output)
            context[name] = output
            context["links"][-1]["href"] = output
        elif self.incontent:
            context[name + "_detail"] = {**self.params, "value": output}

    def push_content(self, name: str, attrs: dict[str, str], default_type: str,
                     expecting_text: Any) -> None:
        self.incontent += 1
        kind = _map_type(attrs.get("type", default_type))
        if attrs.get("mode", "") == "base64" or not (
                kind.startswith("text/") or kind.endswith(("+xml", "/xml"))):
            raise Unsupported  # base64: feedparser decodes it
        if kind == "application/xhtml+xml":
            raise Unsupported  # feedparser escapes its text and unwraps its div
        self.params = {"type": kind}
        self.push(name, expecting_text)

    def pop_content(self, name: str) -> Any:
        value = self.pop(name)
        self.incontent -= 1
        self.params = {}
        return value

    def context(self) -> dict[str, Any]:
        if self.insource:
            return self.source
        if self.inimage and "image" in self.feed:
            return self.feed["image"]  # type: ignore[no-any-return]
        if self.intextinput:
            return self.feed["textinput"]  # type: ignore[no-any-return]
        if self.inentry:
            return self.entries[-1]
        return self.feed

    def save(self, key: str, value: Any, overwrite: bool = False) -> None:
        if overwrite:
            self.context()[key] = value
        else:
            self.context().setdefault(key, value)

    def texts(self) -> bool:
        return bool(self.infeed or self.inentry or self.insource)
