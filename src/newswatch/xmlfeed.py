"""A fast reader for the common case: well-formed UTF-8 RSS 2.0, RSS 1.0 and Atom 1.0.

feedparser reads anything that calls itself a feed, at ~8 ms for a feed of
50 items; libxml2 (lxml) reads a well-formed one in ~1 ms. This module reads
the fields newswatch uses (titles, summaries, content, links, ids, authors,
categories, dates) from the lxml tree the way feedparser does, and returns
None - read it with feedparser - whenever the document is anything else:
not UTF-8, a DOCTYPE (entities), xml:base, a relative-link base in the
headers, a field with markup inside, a field feedparser fills from an
element this reader does not know (dc:title, media:title, itunes:summary,
...), a second summary, base64 content, an empty feed, or a parse error.
`tests/test_xmlfeed.py` holds it to feedparser's output field for field.
"""

from __future__ import annotations

import contextlib
import html.entities
import re
import urllib.parse
from typing import Any

from lxml import etree

from .imports import lazy_chardet, without

with without("chardet", "cchardet"):
    import feedparser
    from feedparser.datetimes import _parse_date
    from feedparser.html import _cp1252
    from feedparser.sanitizer import _HTMLSanitizer
lazy_chardet(feedparser)

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"

# Local names feedparser turns into one of the fields newswatch reads, in any
# namespace; an element with one of these names that this reader does not
# handle itself sends the document to feedparser.
_FIELD_NAMES = frozenset(
    "title description summary content subtitle creator author date published pubdate "
    "updated issued modified created subject keywords category link id guid encoded name "
    "email fullitem body abstract source info tags".split())
_HARMLESS = frozenset({"{http://search.yahoo.com/mrss/}content"})
_XML_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_TEXT_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html",
               "text/plain": "text/plain", "text/html": "text/html"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          remove_comments=False, strip_cdata=True, load_dtd=False)


class Unsupported(Exception):
    """Leave this document to feedparser."""


Read = tuple[str, str, str, list[dict[str, Any]]]  # title, ttl, language, entries
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def read(body: bytes, headers: dict[str, str]) -> Read | None:
    """(feed title, ttl, language, entries as feedparser would give them), or None."""
    if not _plain_utf8(body, headers) or b"xml:base" in body:
        return None
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return None
    try:
        return _read(root)
    except Unsupported:
        return None


def _plain_utf8(body: bytes, headers: dict[str, str]) -> bool:
    """True when feedparser would read the body as UTF-8 without complaint."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "content-location" in lowered:
        return False  # relative links would be resolved against it
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    elif body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:1] in (b"\x00",) or b"\x00" in body[:4]:
        return False
    declared = _XML_DECL.match(body[:200])
    if declared and declared.group(1).lower() != b"utf-8":
        return False
    content_type = lowered.get("content-type", "")
    if lowered and not content_type:
        return False  # feedparser flags response headers without a Content-Type
    if content_type:
        mime, _, params = content_type.partition(";")
        mime = mime.strip().lower()
        if "xml" not in mime:
            return False  # feedparser flags a non-XML media type as malformed
        charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", params, re.I)
        if charset:
            if charset.group(1).lower() != "utf-8":
                return False
        elif mime.startswith("text/") and not body.isascii():
            return False  # RFC 3023: text/* without a charset is US-ASCII
    return True


def _read(root: Any) -> Read | None:
    tag = root.tag
    if tag == "rss":
        channel = root.find("channel")
        if channel is None:
            return None
        head, items, ns, atom = channel, channel.findall("item"), "", False
    elif tag == f"{RDF}RDF":
        channel = root.find(f"{RSS1}channel")
        if channel is None:
            return None
        head, items, ns, atom = channel, root.findall(f"{RSS1}item"), RSS1, False
    elif tag == f"{ATOM}feed":
        head, items, ns, atom = root, root.findall(f"{ATOM}entry"), ATOM, True
    else:
        return None
    if not items:
        return None
    titles = [c for c in head if isinstance(c.tag, str) and _local(c.tag) == "title"]
    if len(titles) > 1 or (titles and titles[0].tag != f"{ns}title"):
        return None
    title = _value(titles[0], atom)[0] if titles else ""
    ttl_element = head.find(f"{ns}ttl")
    ttl = _value(ttl_element, atom)[0] if ttl_element is not None else ""
    # feedparser: the root's xml:lang, overridden by a <language> or <dc:language>.
    language = root.get(XML_LANG) or ""
    for element in head:
        if element.tag in (f"{ns}language", f"{DC}language"):
            language = _value(element, atom)[0]
    return title, ttl, language.replace("_", "-"), [_entry(item, ns, atom) for item in items]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].lower()


def _fields(ns: str, atom: bool) -> dict[str, str]:
    """Element tag -> the field feedparser reads it into, per format."""
    if atom:
        own = {"title": "title", "summary": "summary", "content": "content", "link": "alink",
               "id": "id", "author": "aauthor", "published": "published",
               "issued": "published", "updated": "updated", "modified": "updated",
               "category": "category"}
    else:
        own = {"title": "title", "description": "summary", "link": "link", "guid": "id",
               "author": "author", "pubDate": "published", "category": "category"}
    fields = {f"{ns}{name}": field for name, field in own.items()}
    fields.update({f"{DC}creator": "author", f"{DC}date": "updated", f"{DC}subject": "category"})
    if not atom:
        fields[f"{CONTENT}encoded"] = "content"
    return fields


_FIELDS = {(ns, atom): _fields(ns, atom) for ns, atom in (("", False), (RSS1, False),
                                                          (ATOM, True))}


def _entry(item: Any, ns: str, atom: bool) -> dict[str, Any]:
    e: dict[str, Any] = {}
    tags: list[list[str | None]] = []  # [term, scheme, label], feedparser's dedup rules
    fields = _FIELDS[ns, atom]
    summaries = 0
    if not atom and (about := item.get(f"{RDF}about")):
        e["id"] = about
    for child in item:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction between fields
        field = fields.get(child.tag)
        if field is None:
            if child.tag not in _HARMLESS:
                _refuse_fields(child)
        elif field == "title":
            e["title"], e["title_detail"] = _value(child, atom)
        elif field == "summary":
            summaries += 1
            if summaries > 1:
                raise Unsupported  # feedparser turns a second one into content
            e["summary"], e["summary_detail"] = _value(
                child, atom, "text/plain" if atom else "text/html")
        elif field == "content":
            if child.get("src") is not None:
                raise Unsupported
            value, detail = _value(child, atom, "text/plain" if atom else "text/html")
            e.setdefault("content", []).append({**detail, "value": value})
            e.setdefault("summary", value)  # feedparser copies text content into summary
        elif field == "link":
            e["link"] = _link_text(_value(child, atom)[0])
        elif field == "alink":
            _atom_link(e, child)
        elif field == "id":
            permalink = _attribute(child, "ispermalink", "true") == "true"
            value = _value(child, atom)[0]
            if permalink:
                value = _urljoin(value)
            e["id"] = value
            if permalink:
                e.setdefault("link", value)
        elif field == "author":
            e["author"] = _value(child, atom)[0]
        elif field == "aauthor":
            _atom_author(e, child)
        elif field == "published":
            e["published_parsed"] = _parse_date(_value(child, atom)[0])
        elif field == "updated":
            e["updated_parsed"] = _parse_date(_value(child, atom)[0])
        else:
            _category(tags, child, atom)
    e["tags"] = [{"term": t} for t, _, _ in tags]
    return e


def _refuse_fields(element: Any) -> None:
    """An element feedparser might read into a field this reader fills: leave it to feedparser."""
    for node in element.iter():
        if isinstance(node.tag, str) and _local(node.tag) in _FIELD_NAMES \
                and node.tag not in _HARMLESS:
            raise Unsupported


def _attribute(element: Any, name: str, default: str) -> str:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return str(value)
    return default


def _value(element: Any, atom: bool,
           default_type: str = "text/plain") -> tuple[str, dict[str, str]]:
    """An element's text as feedparser's pop() leaves it, with its content type."""
    if len(element):
        raise Unsupported  # markup inside: feedparser serialises it its own way
    if element.get("mode") is not None:
        raise Unsupported  # base64 or escaped content modes
    kind = _TEXT_TYPES.get((element.get("type") or default_type).lower())
    if kind is None:
        raise Unsupported
    output = (element.text or "").strip()
    if not atom and kind == "text/plain" and _looks_like_html(output):
        kind = "text/html"
    if output.isascii():  # both steps below leave ASCII as it is
        return output, {"type": kind}
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        output = output.encode("iso-8859-1").decode("utf-8")  # feedparser's mojibake repair
    return output.translate(_cp1252), {"type": kind}


def _looks_like_html(s: str) -> bool:
    """feedparser's guess whether nominally plain RSS text is HTML."""
    if not (re.search(r"</(\w+)>", s) or re.search(r"&#?\w+;", s)):
        return False
    if any(t.lower() not in _HTMLSanitizer.acceptable_elements
           for t in re.findall(r"</?(\w+)", s)):
        return False
    return not any(e not in html.entities.entitydefs for e in re.findall(r"&(\w+);", s))


def _urljoin(uri: str) -> str:
    uri = _URI_FIXER.sub(r"\1\3", uri)
    try:
        return urllib.parse.urljoin("", uri)
    except ValueError:
        return ""


def _link_text(output: str) -> str:
    output = _urljoin(output).replace("&amp;", "&")
    return re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", output)


def _atom_link(e: dict[str, Any], element: Any) -> None:
    if len(element) or (element.text or "").strip():
        raise Unsupported
    href = element.get("href")
    if href is None:
        raise Unsupported  # feedparser reads the element's text or a url= attribute
    rel = element.get("rel", "alternate")
    kind = element.get("type", "application/atom+xml" if rel == "self" else "text/html")
    if rel == "alternate" and _TEXT_TYPES.get(kind.lower(), kind.lower()) in (
            "text/html", "application/xhtml+xml", "xhtml"):
        e["link"] = _urljoin(href)


def _atom_author(e: dict[str, Any], element: Any) -> None:
    name = email = ""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == f"{ATOM}name":
            name = _value(child, True)[0]
        elif child.tag == f"{ATOM}email":
            email = _value(child, True)[0]
        elif child.tag != f"{ATOM}uri":
            raise Unsupported
    if (element.text or "").strip():
        raise Unsupported
    if name and email:
        e["author"] = f"{name} ({email})"
    elif name or email:
        e["author"] = name or email
    else:
        e["author"] = ""


def _category(tags: list[list[str | None]], element: Any, atom: bool) -> None:
    term, label = element.get("term"), element.get("label")
    scheme = element.get("scheme", element.get("domain"))
    if (term or scheme or label) and [term, scheme, label] not in tags:
        tags.append([term, scheme, label])
    value = _value(element, atom)[0]
    if not value:
        return
    if tags and not tags[-1][0]:
        tags[-1][0] = value
    elif [value, None, None] not in tags:
        tags.append([value, None, None])


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
