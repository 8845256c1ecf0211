"""Names for the fast reader: an element's and its attributes' names as feedparser's
strict parser hands them to its handlers (namespaces mapped to feedparser's prefixes),
and Unsupported, raised anywhere in the reader to leave a document to feedparser.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .imports import without

with without("chardet", "cchardet"):
    from feedparser.mixin import _FeedParserMixin
    from feedparser.util import FeedParserDict


class Unsupported(Exception):
    """Leave this document to feedparser."""


# feedparser's namespace table, looked up lower-cased.
_MATCH = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_KEYMAP = {k: v[0] if isinstance(v, list) else v for k, v in FeedParserDict.keymap.items()}
_XML = "http://www.w3.org/XML/1998/namespace"
# Elements feedparser gives an extra xmlns attribute (it changes how they are stored).
_EMBEDDED = {("math", "http://www.w3.org/1998/Math/MathML"), ("svg", "http://www.w3.org/2000/svg")}


def _element_name(tag: str, given: str | None) -> str:
    """The name feedparser's strict parser gives an element: the standard prefix of
    its namespace (in a namespace feedparser does not know, the prefix the document
    wrote), a colon and the local name, lower-cased; no prefix for RSS and Atom."""
    namespace, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
    if (local, namespace) in _EMBEDDED:
        raise Unsupported
    lowered = namespace.lower()
    if "backend.userland.com/rss" in lowered:
        lowered = "http://backend.userland.com/rss"
    prefix = _MATCH.get(lowered, given)
    return f"{prefix.lower()}:{local.lower()}" if prefix else local.lower()


def _remapped(root: Any) -> set[str]:
    """Prefixes the document binds to a namespace feedparser knows by another prefix:
    feedparser then reads that other prefix's elements under this one's name."""
    remapped = set()
    for _, (prefix, uri) in etree.iterwalk(root, events=("start-ns",)):
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            lowered = "http://backend.userland.com/rss"
        if prefix and lowered in _MATCH and _MATCH[lowered] != prefix:
            remapped.add(prefix)
    return remapped


def _attributes(element: Any, items: list[tuple[str, str]]) -> dict[str, str]:
    """An element's attributes as feedparser's strict parser hands them to its handlers:
    by standard-prefixed name, then by the name as written, keys lower-cased, and the
    values of rel and type lower-cased too."""
    found: dict[str, str] = {}
    written = []
    for key, value in items:
        if key[0] == "{":
            namespace, _, local = key[1:].partition("}")
            prefix = _MATCH.get(namespace.lower(), "")
            found[(f"{prefix}:{local}" if prefix else local).lower()] = value
            written.append((f"{_written_prefix(element, namespace)}:{local}", value))
        else:
            found[key.lower()] = value
            written.append((key, value))
    for key, value in written:
        found[key.lower()] = value
    return {k: v.lower() if k in ("rel", "type") else v for k, v in found.items()}


def _written_prefix(element: Any, namespace: str) -> str:
    if namespace == _XML:
        return "xml"
    prefixes = [p for p, uri in element.nsmap.items() if uri == namespace and p]
    if len(prefixes) != 1:
        raise Unsupported  # which of two prefixes the document wrote is lost
    return str(prefixes[0])
