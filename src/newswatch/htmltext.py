"""Plain text out of HTML, as a browser shows it, and text any store can hold.

html_to_text() reads markup with libxml2's HTML parser, whose tokenizer follows
HTML5 from libxml2 2.14 on (lxml 6 bundles it): a stray quote after an attribute
(`<a x='1''>`), a tag or comment left open, `--!>`, `<!-->` and bogus comments
end where a browser ends them, so no visible text is lost at them. It reads in
one pass, in time linear in the input, and builds no tree (so no depth limit).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from html import unescape

import regex
from lxml import etree

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
          "h6", "blockquote", "pre", "section", "article", "header", "footer", "figcaption",
          "table", "hr", "dd", "dt"}
# Never shown: a browser runs or hides what these hold (a <title> inside a fragment too).
_SKIP = {"script", "style", "template", "noscript", "iframe", "noembed", "noframes", "title"}


class _Text:
    """An lxml parser target that keeps the text of an HTML fragment as it streams
    by. Block elements and comments separate words; inline elements do not."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.hidden = 0  # how deep inside <script>, <style>, ... the reader is

    def start(self, tag: str, attrib: object) -> None:
        if tag in _SKIP:
            self.hidden += 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def end(self, tag: str) -> None:
        if tag in _SKIP:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def comment(self, text: str) -> None:
        self.parts.append(" ")

    def close(self) -> str:
        text, self.parts, self.hidden = "".join(self.parts), [], 0
        return text


_readers = threading.local()


def _markup_text(html: str) -> str:
    reader = getattr(_readers, "html", None)
    if reader is None:  # one per thread: a parser holds its target's state while reading
        target = _Text()
        # huge_tree: else a text over 10 MB is dropped whole; an HTML parser expands
        # no entities, so that limit guards nothing here. encoding: the bytes are
        # UTF-8 whatever a <meta charset> or <?xml encoding?> inside them says.
        parser = etree.HTMLParser(target=target, no_network=True, huge_tree=True,
                                  encoding="utf-8")
        reader = _readers.html = (target, parser)
    target, parser = reader
    target.parts, target.hidden = [], 0  # nothing left over from a read that failed
    # Bytes: lxml refuses a str that starts with an XML declaration naming an encoding.
    return str(etree.fromstring(html.encode("utf-8"), parser))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags gone, entities decoded, spaces folded.

    Block-level tags separate words; inline ones (<b>, <a>, ...) do not.
    """
    if "<" not in html:
        return clean(unescape(html))
    # UTF-8 cannot carry a lone surrogate: storable_text() makes each U+FFFD first.
    return clean(_markup_text(storable_text(html)))


def clean(text: str) -> str:
    """NFC, with every run of white space (a no-break space too) made one space."""
    text = _nfc(text).strip()
    # Every white space character but the ASCII space is unprintable: most text
    # is clean already and is not split into words and joined again.
    if text.isprintable() and "  " not in text:
        return text
    return " ".join(text.split())


# NFC sorts each run of combining marks by insertion, in time quadratic in the
# run's length (80,000 marks: 6 s). No script puts more than 30 on one letter
# (UAX #15's stream-safe limit), so longer runs are cut to 30 before NFC.
_MARK_RUN = regex.compile(r"(\P{ccc=0}{30})\P{ccc=0}+")


def _nfc(text: str) -> str:
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", _MARK_RUN.sub(r"\1", text))


# A lone surrogate (from a JSON "\ud800") cannot be encoded as UTF-8, which
# SQLite and every target need; a NUL ends a string in C. Each becomes U+FFFD.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """The text with every character UTF-8 and C strings can hold (itself if it has)."""
    if text.isascii() and "\x00" not in text:  # most text: two scans in C, no regex call
        return text
    return _UNSTORABLE.sub("\ufffd", text)
