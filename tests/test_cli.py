"""The command line on real config and database files."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
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
    assert result.exit_code == 2
    assert f"no config file: found neither {tmp_path / 'nope.toml'}" in result.output
    assert "newswatch init" in result.output


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


TARGET = '[[targets]]\nname = "t"\nurl = "json://127.0.0.1:9/x"\n'


def _rule(query: str, name: str = "x") -> str:
    return f"[[rules]]\nname = \"{name}\"\nquery = '{query}'\n"


def _group(key: str, size: int) -> str:
    """A synonym group of `size` members, its key included."""
    members = ", ".join(f'"{key}{i}x"' for i in range(1, size))
    return f"{key} = [{members}]\n"


def _groups(count: int, size: int) -> str:
    return "[synonyms]\n" + "".join(_group(f"g{n}k", size) for n in range(count))


def _nested_query(levels: int, inner: str = "drone") -> str:
    for _ in range(levels):
        inner = f"(uav OR strike {inner})"
    return inner


def _rules(count: int) -> str:
    return "".join(_rule(f'"word{i} attack" OR drone{i}', f"r{i}") for i in range(count))


PAST_LIMITS = [
    (_rule("(" * 300 + "drone" + ")" * 300),
     'config.toml: rules[0] (name "x").query: nested more than 32 deep (parentheses and NOT) '
     "at column 33"),
    (_rule(_nested_query(33)), "nested more than 32 deep (parentheses and NOT) at column 481"),
    (_rule("drone" + " NEAR/2 attack" * 1500),
     'config.toml: rules[0] (name "x").query: more than 64 NEARs and BEFOREs in one query '
     'at column 903'),
    (_rule("drone " * 1001), 'rules[0] (name "x").query: more than 1,000 words in one query'),
    (_rule("/" + "(" * 400 + "a" + ")" * 400 + "/"), "regex nests groups more than 32 deep"),
    (_groups(1, 201), "config.toml: synonyms.g0k: 201 members (the key included): a group "
                      "holds at most 200"),
    (_groups(1, 20_000), "synonyms.g0k: 20,000 members (the key included): a group holds "
                         "at most 200"),
    (_groups(51, 200), "config.toml: synonyms: 10,200 members in all: at most 10,000"),
    (_rules(10_001), "config.toml: rules: 10,001 rules: a config holds at most 10,000"),
]


@pytest.mark.parametrize(("text", "message"), PAST_LIMITS,
                         ids=[m.split(": ", 1)[-1][:40] for _, m in PAST_LIMITS])
def test_check_refuses_a_config_past_a_limit_naming_the_key(tmp_path: Path, text: str,
                                                            message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TARGET + text)
    result = invoke(path, "check")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output


def test_a_config_past_a_limit_never_reaches_the_workers(tmp_path: Path) -> None:
    """The daemon reads its config as `check` does: a chain of 1,500 NEARs, which once
    killed every parse worker as it compiled, stops `run` before anything starts."""
    path = tmp_path / "config.toml"
    path.write_text('[newswatch]\ndatabase = "nw.db"\n' + TARGET
                    + _rule("drone" + " NEAR/2 attack" * 1500))
    result = invoke(path, "run")
    assert result.exit_code == 2
    assert "more than 64 NEARs and BEFOREs in one query" in result.output
    assert not (tmp_path / "nw.db").exists()


def test_a_config_at_every_limit_is_accepted_and_compiled(tmp_path: Path) -> None:
    from newswatch.config import load
    from newswatch.matching import Rules
    from newswatch.models import Article

    deep = _nested_query(32, "attack" + " NEAR/1 attack" * 64)
    text = (TARGET + _rule(deep, "deep") + _rule("drone " * 999 + "attack", "wordy")
            + _rule("/" + "(" * 32 + "drones?" + ")" * 32 + "/", "regex")
            + "[synonyms]\n" + _group("attack", 200)
            + "".join(_group(f"g{n}k", 200) for n in range(49)))
    path = tmp_path / "config.toml"
    path.write_text(text)
    result = invoke(path, "check")
    assert result.exit_code == 0, result.output[-2000:]
    rules = Rules.compile(load(path))
    found = rules.match(Article(feed="f", key="k", url="https://x.example/",
                                title="strike attack attack3x " * 40 + "drone"))
    assert found is not None and set(found.rules) == {"deep", "wordy", "regex"}


def test_ten_thousand_rules_are_accepted_and_compiled(tmp_path: Path) -> None:
    from newswatch.config import load
    from newswatch.matching import Rules
    from newswatch.models import Article

    path = tmp_path / "config.toml"
    path.write_text(TARGET + _rules(10_000))
    result = invoke(path, "check")
    assert result.exit_code == 0 and "rules:    10000" in result.output
    found = Rules.compile(load(path)).match(
        Article(feed="f", key="k", url="https://x.example/", title="word9999 attack"))
    assert found is not None and found.rules == ("r9999",)


def test_check_shows_a_long_query_around_the_caret(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TARGET + _rule("drone" + " NEAR/2 attack" * 1500))
    _, shown, caret = invoke(path, "check").output.splitlines()[:3]
    assert len(shown) < 110 and shown.startswith("    …") and shown.endswith("…")
    assert shown[caret.index("^"):].startswith("NEAR/2")


# Text a stranger controls, as feeds and servers send it: rich markup (a closing tag
# first crashed `alerts`), a link that shows one address and opens another, terminal
# controls (OSC 52 writes the clipboard; CSI clears the screen), a bidi override.
HOSTILE_TITLES = [
    "Drone news [/bold] closing tag first",
    "Drone news [link=https://evil.example/]https://news.example/safe[/link]",
    "Drone clipboard \x1b]52;c;ZWNobyBvd25lZA==\x07 written",
    "Drone screen \x1b[2J\x1b[31m cleared",
    "Drone invoice \u202egnp.exe",
]
UNSAFE = ["\x1b", "\x07", "\x9b", "\u202e"]


def _shown(text: str) -> str:
    """What a terminal should show of a stranger's text: its control characters gone."""
    return "".join(c for c in text if c not in UNSAFE)


def _assert_terminal_safe(output: str) -> None:
    for byte in ["\x1b", "\x07", "\x7f", *map(chr, range(0x80, 0xA0)), "\u202e"]:
        assert byte not in output, f"{byte!r} reached the terminal"


@contextlib.contextmanager
def _reason_server(status_line: bytes) -> Iterator[str]:
    """A server on 127.0.0.1 answering every request with this status line (the reason
    phrase is the server's to choose, and newswatch stores it as the feed's error)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(status_line + b"\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    finally:
        listener.close()


@pytest.fixture
def hostile(feed_server: FeedServer, webhook: Webhook, write_config: Any) -> Iterator[Path]:
    """A polled config: a feed of hostile titles (stored, alerted to a webhook and to
    stdout://), and a feed whose server's reason phrase holds markup."""
    feed_server.publish("/w.xml", rss([
        Item(t, f"https://n.example/{i}", f"A drone report: {t} and more text")
        for i, t in enumerate(HOSTILE_TITLES)]))
    with _reason_server(b"HTTP/1.1 500 [/x] [link=https://evil.example/]fine[/link]") as down:
        path = write_config([("w", feed_server.url("/w.xml")), ("down", down)],
                            [("hook", webhook.apprise_url), ("console", "stdout://")],
                            [("drones", "drone")])
        polled = invoke(path, "once")
        assert polled.exit_code == 0, polled.output
        # stdout:// printed each alert as it was sent
        _assert_terminal_safe(polled.output)
        for shown in ("=== Drone news [/bold] closing tag first",
                      "=== Drone clipboard ]52;c;ZWNobyBvd25lZA== written",
                      "=== Drone screen [2J[31m cleared", "=== Drone invoice gnp.exe"):
            assert shown in polled.output
        assert "feed down: HTTP 500 [/x] [link=https://evil.example/]fine[/link]" in polled.output
        yield path


def test_alerts_show_hostile_titles_as_text(hostile: Path) -> None:
    out = invoke(hostile, "alerts").output  # raised MarkupError on "[/bold]"
    _assert_terminal_safe(out)
    for title in HOSTILE_TITLES:
        assert _shown(title) in out
    # A C1 control (CSI in one byte) and a line break, as another source may store them.
    with sqlite3.connect(hostile.parent / "nw.db") as conn:
        conn.execute("UPDATE articles SET title = 'Drone \x9b2J\nfake row' "
                     "WHERE url = 'https://n.example/0'")
    out = invoke(hostile, "alerts").output
    _assert_terminal_safe(out)
    assert "Drone 2J fake row" in out


def test_feeds_show_a_servers_reason_phrase_and_stored_errors_as_text(hostile: Path) -> None:
    out = invoke(hostile, "feeds").output  # raised MarkupError on "[/x]"
    assert "HTTP 500 [/x] [link=https://evil.example/]fine[/link]" in out
    error = "bad \x1b]52;c;ZWNobyBvd25lZA==\x07 \x9b2J \u202etxt.exe\nHTTP 200 OK [link=x]"
    with sqlite3.connect(hostile.parent / "nw.db") as conn:
        conn.execute("UPDATE feeds SET last_error = ? WHERE name = 'down'", (error,))
    out = invoke(hostile, "feeds").output
    _assert_terminal_safe(out)
    # one line: a newline in an error cannot forge a row of the table
    assert "bad ]52;c;ZWNobyBvd25lZA== 2J txt.exe HTTP 200 OK [link=x]" in out
    feeds = {f["name"]: f for f in json.loads(invoke(hostile, "feeds", "--json").output)}
    assert feeds["down"]["last_error"] == error


def test_match_shows_hostile_titles_and_snippets_as_text(hostile: Path) -> None:
    out = invoke(hostile, "match", "drone").output
    _assert_terminal_safe(out)
    for title in HOSTILE_TITLES:
        assert f"w: {_shown(title)}" in out
    assert "5 of 5 stored articles" in out


@pytest.mark.parametrize("command", [["alerts", "--json"], ["match", "drone", "--json"]])
def test_json_output_is_the_exact_text_and_safe_on_a_terminal(hostile: Path,
                                                              command: list[str]) -> None:
    out = invoke(hostile, *command).output
    _assert_terminal_safe(out)
    assert {item["title"] for item in json.loads(out)} == set(HOSTILE_TITLES)


def test_stdout_target_prints_any_text_it_is_given_without_terminal_controls(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Alerts reach stdout:// already cleaned (messages.py); a test message or a failure
    notice may carry a server's text as it came."""
    import apprise

    import newswatch.plugins  # noqa: F401  (registers stdout://)

    sender = apprise.Apprise()
    assert sender.add("stdout://")
    assert sender.notify(title="Notice \x1b]0;owned\x07\nforged line",
                         body="error: \x1b]52;c;ZWNobyBvd25lZA==\x07 \x9b2J \u202etxt.exe\nnext")
    out = capsys.readouterr().out
    _assert_terminal_safe(out)
    assert out == ("=== Notice ]0;owned forged line\n"
                   "error: ]52;c;ZWNobyBvd25lZA== 2J txt.exe\nnext\n\n")
