"""The command line on real config and database files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newswatch.cli import main
from servers import FeedServer, Item, Webhook, rss


def invoke(path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["--config", str(path), *args], env=env,
                              catch_exceptions=False)


def test_check_summarises_a_valid_config(write_config: Any, webhook: Webhook) -> None:
    path = write_config([("w", "https://example.com/rss")], [("hook", webhook.apprise_url)],
                        [("r", "drone")])
    result = invoke(path, "check")
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "feeds:    1" in result.output


BAD_CONFIGS = [
    ('[[rules]]\nname = "x"\nquery = "(drone attack"\n',
     'config.toml: rules[0] (name "x").query: unbalanced parenthesis at column 1'),
    ('[[rules]]\nname = "x"\nquery = "drone OR"\n',
     'rules[0] (name "x").query: OR without a right operand at column 7'),
    ('[[feeds]]\nname = "f"\nurl = "ftp://example.com/rss"\n',
     'feeds[0] (name "f").url: expected an http:// or https:// URL'),
    ('[[feeds]]\nurl = "https://example.com/rss"\n', "feeds[0].name: is required"),
    ('[[feeds]]\nname = "f"\nurl = "https://example.com/rss"\ninterval = "soon"\n',
     "feeds[0] (name \"f\").interval: 'soon' is not a duration"),
    ('[[targets]]\nname = "t"\nurl = "nosuchservice://abc"\n',
     "targets[0] (name \"t\").url: not a notification URL apprise can send to"),
    ('[[targets]]\nname = "t"\nurl = "slack://${NW_TEST_UNSET}/#a"\n',
     "targets[0] (name \"t\").url: environment variable NW_TEST_UNSET is not set"),
    ('[newswatch]\nintervall = "5m"\n', "newswatch.intervall: unknown key"),
    ('[[rules]]\nname = "x"\nquery = "drone"\nnotify = ["nobody"]\n',
     "rules[0] (name \"x\").notify: no target named 'nobody'"),
    ('[[feeds]]\nname = "f"\nurl = "https://a.example/"\n[[feeds]]\nname = "f"\n'
     'url = "https://b.example/"\n', "feeds[1] (name \"f\"): duplicate feed name 'f'"),
    ("[newswatch\n", "config.toml: not valid TOML"),
    ('[[rules]]\nname = "x"\nquery = "headline:drone"\n',
     "rules[0] (name \"x\").query: unknown field 'headline'"),
    ('[[rules]]\nname = "x"\nquery = "drone NEAR/3"\n', "NEAR without a right operand at column 7"),
    ('[[rules]]\nname = "x"\nquery = "/[a-/"\n', "regex /[a-/ does not compile"),
    ('[[rules]]\nname = "x"\nquery = "drone ()"\n', "empty group at column 7"),
    ('[[rules]]\nname = "x"\nquery = "drone"\nfeeds = ["nowhere"]\n',
     "rules[0] (name \"x\").feeds: no feed named 'nowhere'"),
    ('[[rules]]\nname = "x"\nquery = "drone"\nfeeds = ["tag:nope"]\n',
     "no feed has the tag 'nope'"),
    ('[synonyms]\nattack = 3\n', "synonyms.attack: expected a list of strings"),
    ('[synonyms]\nattack = ["!!"]\n', "synonyms.attack: '!!' has no letters or digits"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_check_refuses_a_bad_config_naming_file_key_and_problem(
        tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[targets]]\nname = "ok"\nurl = "json://127.0.0.1:9/x"\n' + text
                    if "[[targets]]" not in text and "[newswatch" not in text else text)
    result = invoke(path, "check")
    assert result.exit_code == 2
    assert message in result.output


def test_check_marks_the_column_with_a_caret(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[targets]]\nname = "t"\nurl = "json://127.0.0.1:9/x"\n'
                    '[[rules]]\nname = "x"\nquery = "drone (attack OR"\n')
    out = invoke(path, "check").output
    assert "    drone (attack OR\n    " + " " * 14 + "^" in out


def test_secrets_never_appear_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[targets]]\nname = "t"\nurl = "${NW_SECRET}"\n')
    result = invoke(path, "check", env={"NW_SECRET": "badscheme://sup3rs3cr3t-token"})
    assert result.exit_code == 2
    assert "sup3rs3cr3t" not in result.output


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    result = invoke(tmp_path / "nope.toml", "check")
    assert result.exit_code == 2 and "cannot read" in result.output


def test_config_is_found_through_the_environment(tmp_path: Path, write_config: Any,
                                                 webhook: Webhook) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "drone")])
    result = CliRunner().invoke(main, ["check"], env={"NEWSWATCH_CONFIG": str(path)})
    assert result.exit_code == 0 and str(path) in result.output


def test_once_then_alerts_and_feeds_report_what_happened(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    feed_server.publish("/w.xml", rss([Item("Largest drone attack", "https://n.example/1")]))
    feed_server.publish("/down.xml", "no", status=500)
    path = write_config([("w", feed_server.url("/w.xml")), ("down", feed_server.url("/down.xml"))],
                        [("hook", webhook.apprise_url)], [("drones", '"largest drone attack"')])
    result = invoke(path, "once")
    assert result.exit_code == 0
    assert "polled 2 feeds (1 failed)" in result.output
    assert "feed down: HTTP 500" in result.output

    alerts = json.loads(invoke(path, "alerts", "--json").output)
    assert len(alerts) == 1
    a = alerts[0]
    assert (a["rule"], a["url"], a["title"], a["feed"], a["status"]) == (
        "drones", "https://n.example/1", "Largest drone attack", "w", "sent")
    assert a["created"].endswith("Z") and a["created"][:2] == "20"

    feeds = {f["name"]: f for f in json.loads(invoke(path, "feeds", "--json").output)}
    assert feeds["w"]["last_status"] == 200 and feeds["w"]["articles_seen"] == 1
    assert feeds["down"]["last_error"] == "HTTP 500 Internal Server Error"
    assert feeds["down"]["next_poll"] > feeds["down"]["last_poll"]
    assert "HTTP 500" in invoke(path, "feeds").output
    assert "Largest drone attack" in invoke(path, "alerts").output
    assert json.loads(invoke(path, "alerts", "--json", "--status", "pending").output) == []
    assert not any(f["overdue"] for f in feeds.values())

    # No daemon has polled "w" for an hour though it was due 15 minutes after: overdue.
    with sqlite3.connect(path.parent / "nw.db") as conn:
        conn.execute("UPDATE feeds SET next_poll = '2000-01-01T00:00:00Z' WHERE name = 'w'")
    feeds = {f["name"]: f for f in json.loads(invoke(path, "feeds", "--json").output)}
    assert feeds["w"]["overdue"] and not feeds["down"]["overdue"]
    assert "overdue" in invoke(path, "feeds").output


def test_test_notify_says_whether_each_target_accepted(write_config: Any,
                                                      webhook: Webhook) -> None:
    path = write_config([], [("hook", webhook.apprise_url),
                             ("dead", "json://127.0.0.1:9/nothing-listens")], [])
    result = invoke(path, "test-notify")
    assert result.exit_code == 1
    assert "hook: accepted" in result.output and "dead: FAILED" in result.output
    assert webhook.messages[0]["title"] == "newswatch test message"
    assert invoke(path, "test-notify", "hook").exit_code == 0
    assert invoke(path, "test-notify", "nope").exit_code == 1


def test_match_backtests_a_query_and_a_rule_over_stored_articles(
        feed_server: FeedServer, webhook: Webhook, tmp_path: Path) -> None:
    items = [Item("Biggest drone assault on Kyiv", "https://n.example/1",
                  "The record raid hit power plants."),
             Item("Sanctions on banks", "https://n.example/2", "New sanctions announced."),
             Item("Football results", "https://n.example/3", "A striker scored.")]
    feed_server.publish("/w.xml", rss(items))
    path = tmp_path / "config.toml"
    path.write_text(f"""
[newswatch]
database = "nw.db"
[synonyms]
largest = ["biggest", "record"]
attack = ["assault", "raid", "strike"]
[[feeds]]
name = "w"
url = "{feed_server.url('/w.xml')}"
tags = ["world"]
[[targets]]
name = "hook"
url = "{webhook.apprise_url}"
[[rules]]
name = "drones"
query = 'largest NEAR/2 attack'
feeds = ["tag:world"]
""")
    assert invoke(path, "once").exit_code == 0
    assert len(webhook.messages) == 1

    hits = json.loads(invoke(path, "match", "--rule", "drones", "--json").output)
    assert [h["title"] for h in hits] == ["Biggest drone assault on Kyiv"]
    assert "**record raid**" in hits[0]["snippet"] or "**Biggest" in hits[0]["snippet"]

    hits = json.loads(invoke(path, "match", "sanction*", "--json").output)
    assert [h["url"] for h in hits] == ["https://n.example/2"]
    out = invoke(path, "match", "strike").output  # synonyms apply: strike ~ assault, raid
    assert "Biggest drone assault" in out and "Football" not in out
    assert "1 of 3 stored articles from the last 7d matched" in out
    assert invoke(path, "match", "drone", "--feed", "other").output.startswith("0 of 0")

    bad = invoke(path, "match", "drone (attack")
    assert bad.exit_code == 2 and "unbalanced parenthesis at column 7" in bad.output
    assert invoke(path, "match").exit_code == 2  # neither a query nor --rule


BUNDLED = Path(__file__).parent.parent / "config.toml"


@pytest.mark.parametrize(("feed", "title", "rules"), [
    ("kyiv-independent", "Russia launches its largest-ever drone attack on Ukraine",
     {"largest-drone-attack"}),
    # synonyms: heaviest ~ largest, Shahed ~ drone, barrage ~ attack
    ("ukrinform", "Heaviest Shahed barrage of the war hits Lviv", {"largest-drone-attack"}),
    ("ukrinform", "The largest city saw a drone; an attack followed", set()),
    ("bbc-world", "Record drone assault: Russia's biggest UAV strike", {"largest-drone-attack"}),
    ("defense-news", "Pentagon notifies Congress of Sec. 333 package", {"section-333"}),
    ("meduza-en", "Pentagon notifies Congress of Section 333 package", set()),  # out of scope
    ("guardian-world", "Coalition of the willing plans postwar force", {"reassurance-force"}),
    ("aljazeera", "IAEA: Zaporizhzhia nuclear plant lost power again", {"zaporizhzhia-nuclear"}),
    ("npr-world", "War games: a nuclear plant exercise near Zaporizhzhia", set()),
])
def test_bundled_config_is_valid_and_its_rules_catch_their_stories(
        feed: str, title: str, rules: set[str]) -> None:
    from newswatch.config import load
    from newswatch.matching import Rules
    from newswatch.models import Article

    assert invoke(BUNDLED, "check").exit_code == 0
    compiled = Rules.compile(load(BUNDLED))
    match = compiled.match(Article(feed=feed, key="k", url="https://x.example/", title=title))
    assert set(match.rules if match else ()) == rules
