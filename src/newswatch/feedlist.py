"""Feeds in and out of config.toml: OPML import and export, and adding a page's feed.

config.toml is edited with tomlkit, so its comments, order and layout stay as
the user wrote them; the edited text is validated as a whole config before it
replaces the file (atomically), so a failed import leaves the file untouched.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from xml.sax.saxutils import quoteattr

import tomlkit
from lxml import etree

from . import config as config_module
from .bodies import decode
from .errors import ConfigError, FetchError, NewswatchError, ParseError
from .fetch import Fetcher, Response, public_url
from .models import Config, Settings
from .parse import parse_feed

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, recover=True)
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json",
               "application/json", "application/rdf+xml", "application/xml", "text/xml"}


# A page announcing more feeds than this is not asked about the rest.
MAX_CANDIDATES = 10


class FeedListError(NewswatchError):
    """An OPML file or a page that cannot be read, or a config that cannot be edited."""


@dataclass(frozen=True)
class Outline:
    url: str
    title: str
    tags: tuple[str, ...]


def read_opml(data: bytes) -> list[Outline]:
    """Every feed of an OPML file, with its folders (as feed readers export them) as tags."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise FeedListError(f"not an OPML file: {e}") from None
    if root is None or root.tag.lower() != "opml":
        raise FeedListError("not an OPML file: no <opml> root element")
    found: list[Outline] = []

    def walk(element: etree._Element, folders: tuple[str, ...]) -> None:
        for child in element:
            if not isinstance(child.tag, str) or child.tag.lower() != "outline":
                continue
            attrs = {k.lower(): v for k, v in child.attrib.items()}
            url = attrs.get("xmlurl", "").strip()
            title = (attrs.get("title") or attrs.get("text") or "").strip()
            if url:
                tags = [*folders]
                tags += [c.strip() for c in attrs.get("category", "").split(",") if c.strip()]
                found.append(Outline(url, title, tuple(dict.fromkeys(_tag(t) for t in tags))))
            else:
                walk(child, (*folders, title) if title else folders)

    body = next((c for c in root if isinstance(c.tag, str) and c.tag.lower() == "body"), None)
    if body is None:
        raise FeedListError("not an OPML file: no <body>")
    walk(body, ())
    return found


def write_opml(config: Config) -> str:
    """The config's feeds as OPML 2.0 (tags as the category attribute), each URL as the
    config file says it: a `${VAR}` is printed as written, never its value."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">',
             "  <head><title>newswatch feeds</title></head>", "  <body>"]
    for feed in config.feeds:
        category = f" category={quoteattr(','.join(feed.tags))}" if feed.tags else ""
        url = quoteattr(feed.written or feed.url)
        lines.append(f'    <outline type="rss" text={quoteattr(feed.name)} '
                     f"title={quoteattr(feed.name)} xmlUrl={url}{category}/>")
    lines += ["  </body>", "</opml>"]
    return "\n".join(lines) + "\n"


def _tag(text: str) -> str:
    return re.sub(r"[^a-z0-9_.:-]+", "-", text.lower()).strip("-") or "feeds"


def _name(title: str, url: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.:-]+", "-", title.lower()).strip("-")[:40].strip("-")
    if not base:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", urlsplit(url).hostname or "feed").strip("-")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _same_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{(parts.hostname or '').lower()}{parts.path.rstrip('/')}?{parts.query}"


def add_feeds(path: Path, outlines: Iterable[Outline], extra_tags: tuple[str, ...] = ()
              ) -> tuple[list[str], list[str]]:
    """Append feeds to a config file; return (names added, URLs skipped as present)."""
    text = path.read_text(encoding="utf-8")
    doc = tomlkit.parse(text)
    existing = doc.get("feeds")
    if existing is None:
        existing = tomlkit.aot()
        doc["feeds"] = existing
    taken = {str(t.get("name")) for t in existing}
    present = {_same_url(str(t.get("url", ""))) for t in existing}
    added, skipped = [], []
    for outline in outlines:
        # Written so that it expands to itself: `${VAR}` in a stranger's URL stays text.
        url = config_module.escape_env(outline.url)
        if _same_url(url) in present:
            skipped.append(outline.url)
            continue
        present.add(_same_url(url))
        table = tomlkit.table()
        name = _name(outline.title, outline.url, taken)
        table.add("name", name)
        table.add("url", url)
        tags = list(dict.fromkeys([*outline.tags, *extra_tags]))
        if tags:
            table.add("tags", tags)
        existing.append(table)
        added.append(name)
    if added:
        _replace_checked(path, tomlkit.dumps(doc))
    return added, skipped


def _replace_checked(path: Path, text: str) -> None:
    """Write text over a config file only if it is a valid config, atomically."""
    fd, name = tempfile.mkstemp(prefix=".newswatch-", suffix=".toml", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            config_module.load(temp, secrets=False)
        except ConfigError as e:
            problems = "; ".join(p.replace(temp.name, path.name) for p in e.problems)
            raise FeedListError(f"{path} left unchanged: the result would not be valid: "
                                f"{problems}") from None
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


class _Alternates(HTMLParser):
    """<link rel="alternate" type="application/rss+xml" href="..."> of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (href, title)
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        rels = a.get("rel", "").lower().split()
        kind = a.get("type", "").lower().split(";")[0].strip()
        if tag == "link" and "alternate" in rels and kind in _FEED_TYPES and a.get("href"):
            self.found.append((a["href"], a.get("title", "")))


def discover(page_url: str, html_text: str) -> list[tuple[str, str]]:
    """The feeds an HTML page announces, as absolute URLs with their titles."""
    parser = _Alternates()
    parser.feed(html_text)
    base = urljoin(page_url, parser.base) if parser.base else page_url
    return [(urljoin(base, href), title) for href, title in parser.found]


async def find_feed(settings: Settings, url: str) -> tuple[str, str]:
    """(feed URL, title) of the feed at `url`, or of the first readable feed the page
    at `url` announces. Fetched as feeds are polled: size cap, decompression bound,
    deadline, redirect limit and rule (fetch.py). Raises FeedListError."""
    fetcher = Fetcher(settings)
    try:
        try:
            response = await fetcher.fetch(url)
        except FetchError as e:
            raise FeedListError(f"{public_url(url)}: {e}") from None
        found = _as_feed(response, settings.max_body)
        if found:
            return found
        page = _page_text(response, settings.max_body)
        for candidate, _ in discover(response.url, page)[:MAX_CANDIDATES]:
            try:
                found = _as_feed(await fetcher.fetch(candidate), settings.max_body)
            except FetchError:
                continue
            if found:
                return found
        raise FeedListError(f"no feed at {public_url(url)}" + (
            " (the page links to none that reads)" if page else ""))
    finally:
        await fetcher.aclose()


def _as_feed(response: Response, cap: int) -> tuple[str, str] | None:
    try:
        body = decode(response.body, response.encoding, cap)
        parsed = parse_feed("new", body, response.headers)
    except (FetchError, ParseError):
        return None
    return (response.url, parsed.title) if parsed.articles or parsed.title else None


def _page_text(response: Response, cap: int) -> str:
    """An HTML page's text, in its declared charset (else UTF-8); '' when unreadable."""
    try:
        body = decode(response.body, response.encoding, cap)
    except FetchError:
        return ""
    kind = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    charset = re.search(r"charset=[\"']?([\w.:-]+)", kind)
    try:
        return body.decode(charset.group(1) if charset else "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")
