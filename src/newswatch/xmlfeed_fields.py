"""The fast reader's handlers of fields: the text fields (title, description, summary,
content, and which of two wins), links, ids and categories, and the elements kept where
newswatch does not look, replayed for what they push and where they fail.
"""

from __future__ import annotations

import contextlib

from .imports import without
from .xmlfeed_stack import _map_type, _resolve, _Stack

with without("chardet", "cchardet"):
    from feedparser.datetimes import _parse_date
    from feedparser.mixin import _FeedParserMixin

_HTML_TYPES = {"application/xhtml+xml", "text/html"}
_enforce_href = _FeedParserMixin._enforce_href


class _Fields(_Stack):
    """feedparser's handlers of text fields, links, ids, categories and the rest."""

    # -- text fields

    def start_title(self, attrs: dict[str, str]) -> None:
        self.push_content("title", attrs, "text/plain", self.texts())

    def end_title(self) -> None:
        if self.pop_content("title"):
            self.title_depth = self.depth  # later titles, no shallower, are not kept

    def end_media_title(self) -> None:
        depth = self.title_depth
        self.end_title()
        self.title_depth = depth

    def start_description(self, attrs: dict[str, str]) -> None:
        if "summary" in self.context() and not self.has_content:
            self.summary_key = "content"  # a second summary is read as content
            self.start_content(attrs)
        else:
            self.push_content("description", attrs, "text/html", self.texts())

    def start_abstract(self, attrs: dict[str, str]) -> None:
        self.push_content("description", attrs, "text/plain", self.texts())

    def end_description(self) -> None:
        if self.summary_key == "content":
            self.end_content()
        else:
            self.pop_content("description")
        self.summary_key = None

    def start_summary(self, attrs: dict[str, str]) -> None:
        if "summary" in self.context() and not self.has_content:
            self.summary_key = "content"
            self.start_content(attrs)
        else:
            self.summary_key = "summary"
            self.push_content("summary", attrs, "text/plain", 1)

    def end_summary(self) -> None:
        if self.summary_key == "content":
            self.end_content()
        else:
            self.pop_content(self.summary_key or "summary")
        self.summary_key = None

    def start_content(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self.push_content("content", attrs, "text/plain", 1)
        if attrs.get("src"):
            self.params["src"] = attrs["src"]
        self.push("content", 1)  # feedparser's second push: one stays open after it

    def start_content_encoded(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self.push_content("content", attrs, "text/html", 1)

    def end_content(self) -> None:
        copy = _map_type(self.params["type"]) in {"text/plain"} | _HTML_TYPES
        value = self.pop_content("content")
        if copy:
            self.save("summary", value)

    # -- links, ids, categories

    def start_link(self, attrs: dict[str, str]) -> None:
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        context = self.context()
        attrs = _enforce_href(attrs)  # url=, else uri=, else href=
        if "href" in attrs:
            attrs["href"] = _resolve(self.base, attrs["href"])
        context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            context["links"].append(attrs)
        if "href" not in attrs:
            self.push("link", self.texts())
        elif attrs.get("rel") == "alternate" and _map_type(attrs["type"]) in _HTML_TYPES:
            context["link"] = attrs["href"]

    def start_enclosure(self, attrs: dict[str, str]) -> None:
        self.context().setdefault("links", []).append({**attrs, "rel": "enclosure"})

    def start_guid(self, attrs: dict[str, str]) -> None:
        self.guidislink = attrs.get("ispermalink", "true") == "true"
        self.push("id", 1)

    def end_guid(self) -> None:
        value = self.pop("id")
        self.save("guidislink", self.guidislink and "link" not in self.context())
        if self.guidislink:
            self.save("link", value)  # a permalink is the link, unless there is one

    def start_category(self, attrs: dict[str, str]) -> None:
        self.add_tag(attrs.get("term"), attrs.get("scheme", attrs.get("domain")),
                     attrs.get("label"))
        self.push("category", 1)

    def start_media_category(self, attrs: dict[str, str]) -> None:
        attrs.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
        self.start_category(attrs)

    def start_itunes_category(self, attrs: dict[str, str]) -> None:
        self.add_tag(attrs.get("text"), "http://www.itunes.com/", None)
        self.push("category", 1)

    def end_category(self) -> None:
        value = self.pop("category")
        if not value:
            return
        tags = self.context()["tags"]
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self.add_tag(value, None, None)

    def add_terms(self, value: str | None, scheme: str | None, keep_empty: bool = False) -> None:
        for term in (value.split(",") if value is not None else []):
            if keep_empty or term.strip():
                self.add_tag(term.strip(), scheme, None)

    def add_tag(self, term: str | None, scheme: str | None, label: str | None) -> None:
        tags = self.context().setdefault("tags", [])
        if not term and not scheme and not label:
            return
        tag = {"term": term, "scheme": scheme, "label": label}
        if tag not in tags:
            tags.append(tag)

    # -- elements kept where newswatch does not look, replayed for their side effects:
    # what they push, and the KeyError feedparser meets where they are out of place

    def end_dcterms_valid(self) -> None:
        for part in (self.pop("validity") or "").split(";"):
            key, _, date = part.partition("=")
            if key in ("start", "end") and "=" in part:
                self.save(f"validity_{key}_parsed", _parse_date(date), overwrite=True)

    def end_size(self, name: str) -> None:
        """<width> and <height>: a TypeError where feedparser meets one."""
        value = self.pop(name)
        with contextlib.suppress(ValueError):
            int(value)
        if self.inimage:
            self.context()

    def start_generator(self, attrs: dict[str, str]) -> None:
        self.context()["generator_detail"] = attrs
        self.push("generator", 1)

    def start_cloud(self, attrs: dict[str, str]) -> None:
        self.context()["cloud"] = attrs

    def start_cc_license(self, attrs: dict[str, str]) -> None:
        self.context().setdefault("links", []).append({"rel": "license"})

    def end_creativecommons_license(self) -> None:
        self.pop("license")
        context = self.context()
        context.setdefault("links", []).append({"rel": "license"})
        del context["license"]

    def start_media_content(self, attrs: dict[str, str]) -> None:
        self.context().setdefault("media_content", []).append(attrs)

    def start_media_thumbnail(self, attrs: dict[str, str]) -> None:
        context = self.context()
        context.setdefault("media_thumbnail", [])
        self.push("url", 1)
        context["media_thumbnail"].append(attrs)

    def end_media_thumbnail(self) -> None:
        url = self.pop("url")
        context = self.context()
        if url is not None and url.strip() and "url" not in context["media_thumbnail"][-1]:
            context["media_thumbnail"][-1]["url"] = url

    def start_media_credit(self, attrs: dict[str, str]) -> None:
        self.context().setdefault("media_credit", []).append(attrs)
        self.push("credit", 1)

    def end_media_credit(self) -> None:
        credit = self.pop("credit")
        if credit is not None and credit.strip():
            self.context()["media_credit"][-1]["content"] = credit

    def start_media_player(self, attrs: dict[str, str]) -> None:
        self.push("media_player", 0)
        self.context()["media_player"] = attrs

    def end_media_player(self) -> None:
        self.context()["media_player"]["content"] = self.pop("media_player")

    def start_itunes_image(self, attrs: dict[str, str]) -> None:
        self.push("itunes_image", 0)
        href = attrs.get("href") or attrs.get("url")
        if href:
            self.context()["image"] = {"href": href}  # the feed's image, to feedparser

    def start_geometry(self, attrs: dict[str, str]) -> None:
        self.push("geometry", 0)
        self.context()["where"] = {}
