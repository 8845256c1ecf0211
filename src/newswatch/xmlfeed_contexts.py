"""The fast reader's handlers for where text goes and whose it is: the feed, its
entries, image, textinput and source (which context is open, as feedparser tracks
it), and the people in them (authors, contributors, the publisher), with feedparser's
way of splitting an author's text into name and email.
"""

from __future__ import annotations

import re
from typing import Any

from .xmlfeed_names import Unsupported
from .xmlfeed_stack import _Stack

_EMAIL = re.compile(r'''(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?''')  # noqa: E501 - feedparser's


class _Contexts(_Stack):
    """feedparser's _start_rss to _end_source, and its handlers of people."""

    # -- structure

    def start_rss(self, attrs: dict[str, str]) -> None:
        if self.depth != 1:
            raise Unsupported  # a feed inside a feed
        language = attrs.get("xml:lang", attrs.get("lang"))
        language = None if language == "" else language or self.language
        if language:
            self.feed["language"] = language.replace("_", "-")

    def start_feed(self, attrs: dict[str, str]) -> None:
        self.start_rss(attrs)
        self.infeed = 1

    def start_channel(self, attrs: dict[str, str]) -> None:
        self.infeed = 1
        self.refuse_cdf(attrs)

    def end_channel(self) -> None:
        self.infeed = 0

    def refuse_cdf(self, attrs: dict[str, str]) -> None:
        if "lastmod" in attrs or "href" in attrs:
            raise Unsupported  # CDF: feedparser reads these attributes as fields

    def start_item(self, attrs: dict[str, str]) -> None:
        self.entries.append({})
        self.depths.append({})
        self.push("item", 0)
        self.inentry = 1
        self.guidislink = 0
        self.title_depth = -1
        if attrs.get("rdf:about"):
            self.context()["id"] = attrs["rdf:about"]
        self.refuse_cdf(attrs)

    def end_item(self) -> None:
        self.pop("item")
        self.inentry = 0
        self.has_content = 0

    def start_image(self, attrs: dict[str, str]) -> None:
        context = self.context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self.push("image", 0)

    def end_image(self) -> None:
        self.pop("image")
        self.inimage = 0

    def start_textinput(self, attrs: dict[str, str]) -> None:
        self.context().setdefault("textinput", {})
        self.intextinput = 1
        self.title_depth = -1
        self.push("textinput", 0)

    def end_textinput(self) -> None:
        self.pop("textinput")
        self.intextinput = 0

    def start_source(self, attrs: dict[str, str]) -> None:
        if "url" in attrs:
            self.source["href"] = attrs["url"]
        self.push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def end_source(self) -> None:
        self.insource = 0
        value = self.pop("source")
        if value:
            self.source["title"] = value
        self.context()["source"] = self.source
        self.source = {}

    # -- people

    def start_author(self, attrs: dict[str, str]) -> None:
        self.inauthor = 1
        self.push("author", 1)
        self.context().setdefault("authors", []).append({})

    def end_author(self) -> None:
        self.pop("author")
        self.inauthor = 0
        self.sync_author()

    def start_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self.context().setdefault("contributors", []).append({})
        self.push("contributor", 0)

    def end_contributor(self) -> None:
        self.pop("contributor")
        self.incontributor = 0

    def start_dc_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self.context().setdefault("contributors", []).append({})
        self.push("name", 0)

    def end_dc_contributor(self) -> None:
        self.end_name()
        self.incontributor = 0

    def end_name(self) -> None:
        value = self.pop("name")
        if self.inpublisher:
            self.save_author("name", value, "publisher")
        elif self.inauthor:
            self.save_author("name", value)
        elif self.incontributor:
            self.save_contributor("name", value)
        elif self.intextinput:
            self.context()["name"] = value

    def end_email(self) -> None:
        value = self.pop("email")
        if self.inpublisher:
            self.save_author("email", value, "publisher")
        elif self.inauthor:
            self.save_author("email", value)
        elif self.incontributor:
            self.save_contributor("email", value)

    def end_url(self) -> None:
        value = self.pop("href")
        if self.inauthor:
            self.save_author("href", value)
        elif self.incontributor:
            self.save_contributor("href", value)

    def end_webmaster(self) -> None:
        self.pop("publisher")
        self.sync_author("publisher")

    def start_itunes_owner(self, attrs: dict[str, str]) -> None:
        self.inpublisher = 1
        self.push("publisher", 0)

    def end_itunes_owner(self) -> None:
        self.pop("publisher")
        self.inpublisher = 0
        self.sync_author("publisher")

    def save_author(self, key: str, value: Any, prefix: str = "author") -> None:
        context = self.context()
        context.setdefault(prefix + "_detail", {})
        context[prefix + "_detail"][key] = value
        self.sync_author()  # feedparser's: the author, whoever the prefix names
        context.setdefault("authors", [{}])
        context["authors"][-1][key] = value

    def save_contributor(self, key: str, value: Any) -> None:
        context = self.context()
        context.setdefault("contributors", [{}])
        context["contributors"][-1][key] = value

    def sync_author(self, key: str = "author") -> None:
        """feedparser's _sync_author_detail: the author from the last author's name and
        email (unrepaired, as feedparser collects them), or those taken from its text."""
        context = self.context()
        detail = context.get(key + "s", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context[key] = f"{name} ({email})"
            elif name or email:
                context[key] = name or email
            return
        author, email = context.get(key), None
        if not author:
            return
        found = _EMAIL.search(author)
        if found:
            email = found.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault(key + "_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email
