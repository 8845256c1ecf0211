"""`realert = true`: an article whose headline or summary is edited so that a rule now
matches alerts once, marked as updated; end to end, a feed server editing one item
between polls."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newswatch import config as config_module
from newswatch.cli import main
from newswatch.daemon import poll_all
from servers import FeedServer, Item, Webhook, rss

TALKS = ("Talks resume in Geneva", "")
AGREED = ("Ceasefire agreed in Geneva", "")
AGREED_AGAIN = ("Ceasefire agreed in Geneva, both sides say", "")
SUMMARY = ("Talks resume in Geneva", "Both sides say a ceasefire is agreed")
CEASEFIRE = ("ceasefire", "ceasefire")
PUBLISHED = time.time() - 3600  # the item's date, the same in every version

# (what happens, the rules (name, query, realert), the item's (title, summary) at each
# poll, the messages received (title, rules))
EDITS: list[tuple[str, list[tuple[str, str, bool]], list[tuple[str, str]],
                  list[tuple[str, list[str]]]]] = [
    ("an edit that now matches alerts once, marked updated", [(*CEASEFIRE, True)],
     [TALKS, AGREED], [("Updated: Ceasefire agreed in Geneva", ["ceasefire"])]),
    ("edited again, and flipping back and forth, it alerts no more", [(*CEASEFIRE, True)],
     [TALKS, AGREED, AGREED_AGAIN, TALKS, AGREED, TALKS, AGREED_AGAIN],
     [("Updated: Ceasefire agreed in Geneva", ["ceasefire"])]),
    ("a summary edited to match alerts too", [(*CEASEFIRE, True)],
     [TALKS, SUMMARY], [("Updated: Talks resume in Geneva", ["ceasefire"])]),
    ("without realert an edited article is not new", [(*CEASEFIRE, False)],
     [TALKS, AGREED], []),
    ("matched when first seen, an edit is not another alert", [(*CEASEFIRE, True)],
     [AGREED, AGREED_AGAIN], [("Ceasefire agreed in Geneva", ["ceasefire"])]),
    ("only the rules with realert read an edit",
     [(*CEASEFIRE, False), ("geneva", "Geneva", True)],
     [("Talks resume", ""), AGREED], [("Updated: Ceasefire agreed in Geneva", ["geneva"])]),
]


def configure(path: Path, rules: list[tuple[str, str, bool]]) -> None:
    text = path.read_text()
    for name, query, realert in rules:
        text += (f'\n[[rules]]\nname = "{name}"\nquery = "{query}"\n'
                 f"realert = {str(realert).lower()}\n")
    path.write_text(text)


@pytest.mark.parametrize(("rules", "versions", "received"), [e[1:] for e in EDITS],
                         ids=[e[0] for e in EDITS])
def test_an_edited_article_alerts_once_for_a_realert_rule_it_now_matches(
        rules: list[tuple[str, str, bool]], versions: list[tuple[str, str]],
        received: list[tuple[str, list[str]]], feed_server: FeedServer, webhook: Webhook,
        write_config: Any) -> None:
    path = write_config([("wire", feed_server.url("/wire.xml"))],
                        [("desk", webhook.apprise_url)], [])
    configure(path, rules)
    for title, summary in versions:  # one item, its identity (link, guid) kept throughout
        feed_server.publish("/wire.xml", rss([Item(title, "https://n.example/1", summary,
                                                   guid="n-1", published=PUBLISHED)]))
        asyncio.run(poll_all(config_module.load(path)))
    got = [(m["title"], m["alerts"][0]["rules"]) for m in webhook.messages]
    assert got == received
    for m in webhook.messages:  # a webhook's fields say it too
        assert m["alerts"][0].get("updated", False) is m["title"].startswith("Updated: ")


def test_once_counts_an_updated_alert_and_the_store_holds_the_new_text(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    path = write_config([("wire", feed_server.url("/wire.xml"))],
                        [("desk", webhook.apprise_url)], [])
    configure(path, [(*CEASEFIRE, True)])
    counts = []
    for title, _ in (TALKS, AGREED, AGREED, TALKS, AGREED):
        feed_server.publish("/wire.xml", rss([Item(title, "https://n.example/1",
                                                   published=PUBLISHED)]))
        out = CliRunner().invoke(main, ["-c", str(path), "once"]).stdout
        counts.append(out.split(": ")[-1].strip())
    assert counts == ["1 new articles, 0 alerts queued", "0 new articles, 1 alerts queued",
                      *["0 new articles, 0 alerts queued"] * 3]
    hits = CliRunner().invoke(main, ["-c", str(path), "match", "ceasefire", "--json"]).stdout
    assert [h["title"] for h in json.loads(hits)] == [AGREED[0]]


@pytest.mark.parametrize(("rule", "problem"), [
    ('about = "Russia launches its largest drone attack on Ukraine"\nthreshold = 0.84\n'
     "realert = true\n", "realert: needs a query that alerts on its own"),
    ('query = "drone"\nrealert = "yes"\n', "realert: expected true or false"),
])
def test_realert_needs_a_query_of_its_own_and_a_boolean(
        rule: str, problem: str, write_config: Any) -> None:
    path = write_config([], [("desk", "stdout://")], [])
    path.write_text(path.read_text() + f'\n[[rules]]\nname = "r"\n{rule}')
    with pytest.raises(config_module.ConfigError) as e:
        config_module.load(path)
    assert problem in str(e.value)
