"""A fast reader for well-formed UTF-8 feeds: feedparser's reading, replayed on an lxml tree.

feedparser reads a feed of 50 items in ~8 ms, most of it in its Python SAX
handlers; libxml2 (lxml) parses the same document in well under that. This
reader walks the lxml tree and replays, element by element, what feedparser's
handlers do to the fields newswatch reads (the feed's title, ttl and language;
each entry's title, summary, content, link, id, author, tags and dates): the
same element names (namespaces mapped to feedparser's prefixes), the same stack
of open elements that text is collected on, the same rules for which of two
titles or summaries wins, links resolved against xml:base, Content-Location and
the final URL, Content-Language as the language of a feed that declares none.

It returns None - read it with feedparser - whenever the document is anything
else: a body feedparser would decode as other than UTF-8 or would flag (a
non-XML Content-Type), a parse error or warning, a DOCTYPE, markup inside a
text field, base64 or XHTML content, an element whose feedparser handler is not
replayed here (GML, podcast chapters, ...), a namespace prefix feedparser would
map to another one, or a feed without entries. `tests/test_xmlfeed.py` and
`tests/test_corpus.py` hold it to feedparser's output field for field.

The reader's parts, each importing only those below it:

    xmlfeed.py           read() and split_items(); the bytes: which documents
                         feedparser decodes as UTF-8, and lxml's parse of them
    xmlfeed_replay.py    the walk over the tree; feedparser's handlers by element
    xmlfeed_contexts.py  feed, entries, image, textinput, source; the people in them
    xmlfeed_fields.py    text fields, links, ids, categories, the elements kept aside
    xmlfeed_stack.py     the stack of open elements: text collected and stored
    xmlfeed_names.py     element and attribute names; Unsupported
"""

from __future__ import annotations

import codecs
import re
import threading
from typing import Any

from lxml import etree

from .imports import lazy_chardet, without
from .xmlfeed_names import Unsupported as Unsupported  # the signal, public as it was
from .xmlfeed_replay import Read, _Replay

with without("chardet", "cchardet"):
    import feedparser
    from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
lazy_chardet(feedparser)

_local = threading.local()  # an lxml parser is not to be shared between threads


def read(body: bytes, headers: dict[str, str]) -> Read | None:
    """(feed title, ttl, language, entries as feedparser would give them), or None."""
    headers = {k.lower(): v for k, v in headers.items()}
    if not _decoded_as_utf8(body, headers) or _XLINK in body:
        return None
    root = _parse(body)
    if root is None:
        return None
    try:
        replay = _Replay(root, headers.get("content-location") or "",
                         headers.get("content-language"))
        replay.walk(root)
    except Exception:  # noqa: BLE001 - Unsupported, or where feedparser would fail too
        return None
    return replay.result()


# ---------------------------------------------------------------- the bytes

# '<?xm' (or a byte order mark) in an encoding other than UTF-8, as feedparser sniffs it.
_OTHER_MARKERS = (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x4c\x6f\xa7\x94",
                  b"\x00\x3c\x00\x3f", b"\x3c\x00\x3f\x00", b"\x00\x00\x00\x3c",
                  b"\x3c\x00\x00\x00")
_APPLICATION_XML = ("application/xml", "application/xml-dtd",
                    "application/xml-external-parsed-entity")
_TEXT_XML = ("text/xml", "text/xml-external-parsed-entity")
# feedparser hands the element declaring an xlink prefix that declaration as an attribute.
_XLINK = b"http://www.w3.org/1999/xlink"


def _decoded_as_utf8(body: bytes, headers: dict[str, str]) -> bool:
    """True when feedparser decodes the body as UTF-8 (or ASCII as ASCII) and flags
    nothing: RFC 3023's choice between the Content-Type charset and the XML
    declaration, as feedparser's convert_to_utf8 makes it."""
    data = body[3:] if body.startswith(codecs.BOM_UTF8) else body
    if body[:4] in _OTHER_MARKERS or body[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return False
    declared = RE_XML_PI_ENCODING.match(data)
    try:
        xml_encoding = declared.group(1).decode("utf-8").lower() if declared else ""
    except UnicodeDecodeError:
        return False
    mime, charset = parse_content_type(headers.get("content-type") or "")
    if mime in _APPLICATION_XML or (mime.startswith("application/") and mime.endswith("+xml")):
        encoding = charset or xml_encoding or "utf-8"
    elif mime in _TEXT_XML or (mime.startswith("text/") and mime.endswith("+xml")):
        encoding = charset or "us-ascii"
    elif headers:
        return False  # flagged: no Content-Type among the headers, or not an XML type
    else:
        encoding = xml_encoding or "utf-8"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name == "utf-8" or (name == "ascii" and data.isascii())


def _parse(body: bytes) -> Any:
    """The root of a well-formed document read as UTF-8 whatever it declares (feedparser
    rewrites the declaration so), or None: an error, a warning, or a DOCTYPE."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            encoding="utf-8", resolve_entities=False, no_network=True, huge_tree=False,
            remove_comments=False, strip_cdata=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    docinfo = root.getroottree().docinfo
    if len(parser.error_log) or docinfo.doctype or docinfo.internalDTD is not None:
        return None  # e.g. an XML 1.1 declaration, which feedparser rewrites to 1.0
    return root


# ---------------------------------------------------------------- names


# An item's start or end tag, with or without a namespace prefix.
_ITEM_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")


def split_items(body: bytes) -> tuple[bytes, list[bytes], bytes] | None:
    """A document as (what precedes its first item, each item's markup, what follows
    its last), found by tags alone so that a broken document splits too; None if it
    has no item, or if reading each item inside the rest of the document would
    cost several times reading the document (a long head and many items)."""
    items: list[bytes] = []
    first = end = start = -1
    for m in _ITEM_TAG.finditer(body):
        if not m[1]:
            if start < 0 and not m[0].endswith(b"/"):  # <entry/> is no item
                start = m.start()
        elif start >= 0:
            end = body.find(b">", m.end() - 1) + 1 or len(body)
            items.append(body[start:end])
            first = start if first < 0 else first
            start = -1
    if not items:
        return None
    head, tail = body[:first], body[end:]
    if len(items) * (len(head) + len(tail)) > 4 * len(body):
        return None
    return head, items, tail
