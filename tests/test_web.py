"""The status page: what it shows of alerts, and what it must never show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from newswatch import config as config_module
from newswatch.models import Article
from newswatch.store import Store
from newswatch.web import StatusServer

SECRET_URL = "json://bot:hunter2secret@127.0.0.1:9/hook?token=tok3nvalue"
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


class Links(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


@pytest.fixture
def page_of(tmp_path: Path, write_config: Any) -> Iterator[Any]:
    """Store articles with alerts, some failed for good; return the status page."""
    config = config_module.load(write_config([], [("hook", SECRET_URL)], [("drones", "x")]))
    store = Store(config.settings.database)

    def page(articles: list[tuple[str, str, str | None]]) -> str:
        """(title, url, error): error set means the alert failed for good."""
        with store.transaction():
            ids = store.add_articles([Article(feed="wire", key=f"k{i}", url=url, title=title)
                                      for i, (title, url, _) in enumerate(articles)], NOW)
            for i in range(len(articles)):
                store.add_alert(ids[f"k{i}"], "hook", ["drones"], "", NOW)
        errors = {ids[f"k{i}"]: error for i, (_, _, error) in enumerate(articles)}
        for row in store.alerts(limit=100):
            if (error := errors[row["article_id"]]) is not None:
                store.mark_failed_attempt(row["id"], error, NOW + timedelta(hours=1),
                                          give_up=True)
        return StatusServer(store, lambda: config, dict, lambda: None).page()

    yield page
    store.close()


@pytest.mark.parametrize(("url", "href"), [
    ("https://news.example/a b", "https://news.example/a%20b"),
    ("javascript:alert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None),
    ('https://evil.example/"onmouseover="alert(1)', "https://evil.example/%22onmouseover=%22alert%281%29"),
])
def test_only_an_http_article_link_is_an_href(page_of: Any, url: str, href: str | None) -> None:
    page = page_of([("Drone attack <b>now</b>", url, None)])
    hrefs = Links(page).hrefs
    assert hrefs == ([href] if href else [])
    assert "Drone attack &lt;b&gt;now&lt;/b&gt;" in page


def test_failed_alerts_are_listed_without_target_secrets(page_of: Any) -> None:
    page = page_of([("Sent fine", "https://news.example/1", None),
                    ("Refused for good", "javascript:alert(1)",
                     f"target 'hook' did not accept the message ({SECRET_URL})"),
                    ("Also refused", "https://news.example/3", "answered 500 <html>")])
    failed = page.split("<h2>Failed alerts</h2>", 1)[1]
    rows = re.findall(r"<tr class=\"bad\">(.*?)</tr>", failed)
    assert len(rows) == 2
    assert "Also refused" in rows[0] and "answered 500 &lt;html&gt;" in rows[0]
    assert "Refused for good" in rows[1] and "target &#x27;hook&#x27; did not accept" in rows[1]
    assert "Sent fine" not in failed
    for secret in ("hunter2secret", "tok3nvalue", SECRET_URL):
        assert secret not in page
    assert Links(failed).hrefs == ["https://news.example/3"]


def test_no_failed_alerts_says_so(page_of: Any) -> None:
    page = page_of([("Sent fine", "https://news.example/1", None)])
    assert "<h2>Failed alerts</h2>" in page and '<td colspan="5">none</td>' in page
