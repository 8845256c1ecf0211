"""A relative link arrives absolute, from the feed server to the stored article and
the alert: against the URL the feed was fetched from after its redirects, or
against the Content-Location the server sent."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from newswatch import config as config_module
from newswatch.daemon import poll_all
from servers import FeedServer, Item, Route, Webhook, rss


def stored_links(path: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(path.parent / "nw.db") as conn:
        return {title: (url, key) for title, url, key
                in conn.execute("SELECT title, url, key FROM articles")}


def test_relative_links_are_stored_and_alerted_absolute(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    # Moved: the configured URL redirects to /news/feed.xml, whose links are relative.
    feed_server.routes["/old/feed.xml"] = Route(status=302,
                                                headers={"Location": "/news/feed.xml"})
    feed_server.publish("/news/feed.xml", rss([
        Item("Largest drone attack on Kharkiv", "2024/kharkiv"),
        Item("Largest drone attack on Sumy", "/story/sumy")]))
    # Served from one place, saying it lives at another.
    feed_server.publish("/cl.xml", rss([Item("Largest drone attack on Odesa", "odesa")]),
                        headers={"Content-Location": "/mirror/index.xml"})
    path = write_config([("moved", feed_server.url("/old/feed.xml")),
                         ("located", feed_server.url("/cl.xml"))],
                        [("hook", webhook.apprise_url)],
                        [("drones", '"largest drone attack"')], extra="parse_workers = 1")
    results = asyncio.run(poll_all(config_module.load(path)))
    assert sorted((r.feed, r.error, r.alerts) for r in results) == [
        ("located", None, 1), ("moved", None, 2)]

    root = feed_server.url("")
    expected = {"Largest drone attack on Kharkiv": f"{root}/news/2024/kharkiv",
                "Largest drone attack on Sumy": f"{root}/story/sumy",
                "Largest drone attack on Odesa": f"{root}/mirror/odesa"}
    assert stored_links(path) == {title: (url, url) for title, url in expected.items()}
    messages = {m["title"]: m["message"] for m in webhook.wait_for(3)}
    assert messages.keys() == expected.keys()
    for title, url in expected.items():
        assert url in messages[title]
