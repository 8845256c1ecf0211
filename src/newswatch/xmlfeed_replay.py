"""The fast reader's walk: each element of the lxml tree as feedparser's
unknown_starttag and unknown_endtag take it, dispatched to feedparser's handlers as
replayed here (_STARTS and _ENDS, by element), and the elements it leaves to
feedparser (_REFUSED, _FORBIDDEN). The handlers are methods of _Replay, which joins
the mixins of xmlfeed_contexts.py and xmlfeed_fields.py; the tables name them, and the
walk looks them up, so class and tables live together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .imports import without
from .xmlfeed_contexts import _Contexts
from .xmlfeed_fields import _Fields
from .xmlfeed_names import _KEYMAP, _MATCH, Unsupported, _attributes, _element_name, _remapped

with without("chardet", "cchardet"):
    from feedparser.datetimes import _parse_date
    from feedparser.mixin import _FeedParserMixin
    from feedparser.namespaces import georss

Read = tuple[str, str, str, list[dict[str, Any]]]  # title, ttl, language, entries

_KEEP_TEXTINPUT = {"title", "link", "description", "name"}
_KEEP_IMAGE = {"title", "link", "description", "url", "href", "width", "height"}
# An element's handler name, whether it has no prefix, its start and end handlers.
Handling = tuple[str, bool, "Start | None", "End | None"]


class _Replay(_Contexts, _Fields):
    """feedparser's _FeedParserMixin reduced to what reaches the fields newswatch reads;
    start_title is its _start_title, and so on. Dictionaries are plain: the keys
    FeedParserDict renames (description, date, ...) are renamed here where they are
    read, and an element that would be stored under a key read here is refused."""

    def __init__(self, root: Any, base: str, language: str | None) -> None:
        self.remapped = _remapped(root)
        if "rdf" in self.remapped:
            raise Unsupported  # feedparser looks rdf:about up by the document's prefix
        self.keys: dict[str, Handling] = {}
        super().__init__(base, language, atom=self.format(root))

    def format(self, root: Any) -> bool:
        """Whether feedparser takes the document for Atom (it then guesses no HTML in text)."""
        key = self.key(root, root.tag)[0]
        declared = {uri.lower() for uri in root.nsmap.values()}
        rss = ("http://purl.org/rss/1.0/" in declared or
               (root.nsmap.get(None) or "").lower() == "http://my.netscape.com/rdf/simple/0.9/")
        if key == "rss":
            return False
        if key == "feed" and not rss:
            return True
        if key == "rdf_rdf" and rss and "http://www.w3.org/2005/atom" not in declared:
            return False
        raise Unsupported  # another root, or a format feedparser picks by declaration order

    def result(self) -> Read | None:
        if not self.entries:
            return None  # feedparser's reader tells an empty feed from a broken one
        ttl = self.feed.get("ttl", "")
        return (self.feed.get("title", ""), ttl if isinstance(ttl, str) else "",
                self.feed.get("language") or "", self.entries)

    def key(self, element: Any, tag: str) -> Handling:
        """The element's handler name (dc_creator for dc:creator), whether it has no
        prefix, and its handlers; kept per tag unless the prefix written counts."""
        name = _element_name(tag, element.prefix)
        prefix, _, local = name.rpartition(":")
        if prefix in self.remapped:
            raise Unsupported
        key = f"{prefix}_{local}" if prefix else local
        found = (key, not prefix, _STARTS.get(key), _ENDS.get(key))
        if tag[0] != "{" or tag[1:].partition("}")[0].lower() in _MATCH:
            self.keys[tag] = found
        return found

    def walk(self, element: Any) -> None:
        """One element as feedparser's unknown_starttag and unknown_endtag take it, its
        text and its children's in between, collected on the innermost open element."""
        tag = element.tag
        key, bare, start, end = self.keys.get(tag) or self.key(element, tag)
        items = element.items()
        attrs = _attributes(element, items) if items else {}
        self.depth += 1
        self.base = self.joined_base(
            self.base, attrs.get("xml:base", attrs.get("base")) if items else None)
        self.bases.append(self.base)
        if self.incontent:
            raise Unsupported  # markup inside a text field: feedparser serialises it
        if bare:  # feedparser's guard against an image or textinput left open
            if key not in _KEEP_TEXTINPUT:
                self.intextinput = 0
            if key not in _KEEP_IMAGE:
                self.inimage = 0
        if start is not None:
            start(self, attrs)
        elif key in _REFUSED or _KEYMAP.get(key, key) in _FORBIDDEN:
            raise Unsupported
        elif attrs:
            self.context()[key] = attrs  # kept as a dictionary: its text goes elsewhere
        else:
            self.stack.append([key, 1, []])
        stack = self.stack
        if element.text and stack:
            stack[-1][2].append(element.text)
        for child in element:
            if isinstance(child.tag, str):  # not a comment or a processing instruction
                self.walk(child)
            if child.tail and stack:
                stack[-1][2].append(child.tail)
        if end is not None:
            end(self)
        else:
            self.pop(key)
        self.leave_base()
        self.depth -= 1


Start = Callable[[_Replay, dict[str, str]], None]
End = Callable[[_Replay], None]


def _pushes(name: str, expecting_text: int) -> Start:
    return lambda replay, attrs: replay.stack.append([name, expecting_text, []])


def _pops(name: str, strip: bool = True) -> End:
    return lambda replay: replay.pop(name, strip)


def _pops_in_context(name: str, strip: bool = True) -> End:
    """Popped, then stored in the current context, whose KeyError feedparser may meet."""
    def end(replay: _Replay) -> None:
        replay.pop(name, strip)
        replay.context()
    return end


def _text_field(name: str) -> Start:
    return lambda replay, attrs: replay.push_content(name, attrs, "text/plain", 1)


def _text_field_end(name: str) -> End:
    return lambda replay: replay.pop_content(name)


def _date(name: str, key: str) -> End:
    return lambda replay: replay.save(key, _parse_date(replay.pop(name)), overwrite=True)


def _keeps(key: str, name: str) -> Start:
    """media:rating and the like: the attributes kept once, the text pushed."""
    def start(replay: _Replay, attrs: dict[str, str]) -> None:
        replay.context().setdefault(key, attrs)
        replay.push(name, 1)
    return start


def _kept(name: str, key: str) -> End:
    def end(replay: _Replay) -> None:
        value = replay.pop(name)
        if value is not None and value.strip():
            replay.context()[key]["content"] = value
    return end


def _terms(name: str, scheme: str | None, keep_empty: bool = False) -> End:
    """Comma-separated tags: <tags>, media:keywords, itunes:keywords."""
    return lambda replay: replay.add_terms(replay.pop(name), scheme, keep_empty)


def _geometry(parse: Callable[[str], Any]) -> End:
    def end(replay: _Replay) -> None:
        value = replay.pop("geometry")
        if value is not None and parse(value):
            replay.context()["where"]  # noqa: B018 - a KeyError where feedparser has one
    return end


def _aliases(names: str, handler: Any) -> dict[str, Any]:
    return dict.fromkeys(names.split(), handler)


_AUTHOR = "author managingeditor dc_author dc_creator itunes_author"
_PUBLISHED = "published issued pubdate dcterms_issued"
_UPDATED = "updated modified lastbuilddate dc_date dcterms_modified"
_R = _Replay
# feedparser's handlers by element (its _start_x and _end_x), as replayed here.
_STARTS: dict[str, Start] = {
    "rss": _R.start_rss, "feed": _R.start_feed, "channel": _R.start_channel,
    **_aliases("item entry", _R.start_item), "image": _R.start_image,
    "textinput": _R.start_textinput, "source": _R.start_source,
    **_aliases(_AUTHOR, _R.start_author), "contributor": _R.start_contributor,
    "dc_contributor": _R.start_dc_contributor, **_aliases("name itunes_name", _pushes("name", 0)),
    **_aliases("email itunes_email", _pushes("email", 0)),
    **_aliases("url homepage uri", _pushes("href", 1)), "width": _pushes("width", 0),
    "height": _pushes("height", 0), **_aliases("webmaster dc_publisher", _pushes("publisher", 1)),
    "itunes_owner": _R.start_itunes_owner,
    **_aliases("title dc_title media_title", _R.start_title),
    **_aliases("description dc_description media_description", _R.start_description),
    "abstract": _R.start_abstract, **_aliases("summary itunes_summary", _R.start_summary),
    "content": _R.start_content, **_aliases("content_encoded fullitem", _R.start_content_encoded),
    **_aliases("subtitle tagline itunes_subtitle", _text_field("subtitle")),
    **_aliases("rights copyright dc_rights", _text_field("rights")),
    **_aliases("info feedburner_browserfriendly", _text_field("info")),
    "link": _R.start_link, "enclosure": _R.start_enclosure, **_aliases("guid id", _R.start_guid),
    **_aliases(_PUBLISHED, _pushes("published", 1)), **_aliases(_UPDATED, _pushes("updated", 1)),
    **_aliases("created dcterms_created", _pushes("created", 1)),
    "expirationdate": _pushes("expired", 1), "dcterms_valid": _pushes("validity", 1),
    **_aliases("language dc_language", _pushes("language", 1)),
    **_aliases("category keywords dc_subject", _R.start_category),
    "media_category": _R.start_media_category, "itunes_category": _R.start_itunes_category,
    "tags": _pushes("tags", 1), "generator": _R.start_generator,
    "newlocation": _pushes("newlocation", 1), "cloud": _R.start_cloud,
    "cc_license": _R.start_cc_license, "creativecommons_license": _pushes("license", 1),
    "media_group": lambda replay, attrs: None, "media_content": _R.start_media_content,
    "media_thumbnail": _R.start_media_thumbnail, "media_credit": _R.start_media_credit,
    "media_rating": _keeps("media_rating", "rating"),
    "media_restriction": _keeps("media_restriction", "restriction"),
    "media_license": _keeps("media_license", "license"), "media_player": _R.start_media_player,
    **_aliases("itunes_image itunes_link", _R.start_itunes_image),
    **_aliases("georss_point georss_line georss_polygon georss_box georssgeom",
               _R.start_geometry),
}
_ENDS: dict[str, End] = {
    **_aliases("channel feed", _R.end_channel), **_aliases("item entry", _R.end_item),
    "image": _R.end_image, "textinput": _R.end_textinput, "source": _R.end_source,
    **_aliases(_AUTHOR, _R.end_author), "contributor": _R.end_contributor,
    "dc_contributor": _R.end_dc_contributor, **_aliases("name itunes_name", _R.end_name),
    **_aliases("email itunes_email", _R.end_email), **_aliases("url homepage uri", _R.end_url),
    "width": lambda replay: replay.end_size("width"),
    "height": lambda replay: replay.end_size("height"),
    **_aliases("webmaster dc_publisher", _R.end_webmaster), "itunes_owner": _R.end_itunes_owner,
    **_aliases("title dc_title", _R.end_title), "media_title": _R.end_media_title,
    **_aliases("description dc_description media_description abstract", _R.end_description),
    **_aliases("summary itunes_summary", _R.end_summary),
    **_aliases("content content_encoded fullitem", _R.end_content),
    **_aliases("subtitle tagline itunes_subtitle", _text_field_end("subtitle")),
    **_aliases("rights copyright dc_rights", _text_field_end("rights")),
    **_aliases("info feedburner_browserfriendly", _text_field_end("info")),
    "link": _pops("link"), **_aliases("guid id", _R.end_guid),
    **_aliases(_PUBLISHED, _date("published", "published_parsed")),
    **_aliases(_UPDATED, _date("updated", "updated_parsed")),
    **_aliases("created dcterms_created", _date("created", "created_parsed")),
    "expirationdate": _date("expired", "expired_parsed"), "dcterms_valid": _R.end_dcterms_valid,
    **_aliases("language dc_language", _pops("language")),
    **_aliases("category keywords dc_subject itunes_category media_category", _R.end_category),
    "tags": _terms("tags", None, keep_empty=True), "media_keywords": _terms("media_keywords", None),
    "itunes_keywords": _terms("itunes_keywords", "http://www.itunes.com/"),
    "generator": _pops_in_context("generator"),
    "newlocation": _pops_in_context("newlocation"),
    "creativecommons_license": _R.end_creativecommons_license,
    "media_thumbnail": _R.end_media_thumbnail, "media_credit": _R.end_media_credit,
    "media_rating": _kept("rating", "media_rating"),
    "media_restriction": _kept("restriction", "media_restriction"),
    "media_license": _kept("license", "media_license"), "media_player": _R.end_media_player,
    "itunes_block": _pops_in_context("itunes_block", strip=False),
    "itunes_explicit": _pops_in_context("itunes_explicit", strip=False),
    "georss_point": _geometry(georss._parse_georss_point),
    "georss_line": _geometry(georss._parse_georss_line),
    "georss_polygon": _geometry(georss._parse_georss_polygon),
    "georss_box": _geometry(georss._parse_georss_box),
}
# feedparser's handlers not replayed here (GML, GeoRSS where, podcast chapters, XHTML
# bodies, and any a later feedparser adds): an element with one is left to feedparser.
_REFUSED = {name.split("_", 2)[2] for name in dir(_FeedParserMixin)
            if name.startswith(("_start_", "_end_"))} - set(_STARTS) - set(_ENDS)
# Keys that an element without a handler would be stored under (as feedparser renames
# them) where feedparser or this module reads: such an element is left to feedparser.
_FORBIDDEN = frozenset(
    "title title_detail summary summary_detail content link links id author authors "
    "author_detail publisher_detail contributors tags published_parsed updated_parsed "
    "language image textinput source guidislink media_content media_thumbnail "
    "media_credit media_rating media_restriction media_license media_player where cloud "
    "generator_detail license".split())
