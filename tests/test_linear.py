"""Long articles and long-lived workers: time in proportion to the text, memory bounded.

A 32,000-word article (a long read, a transcript) and a 200,000-word one (a
book a feed serves by mistake) are matched and made into snippets within a
generous limit; comparing every pair of positions took 21 s for one NEAR at
32,000 words. A worker fed new words on every poll keeps its caches within
their budget in bytes (rules/caches.py).
"""

from __future__ import annotations

import random
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import FrameType

import pytest

from newswatch.rules import CompiledRule, Document, Matcher, evaluate, parse, snippet
from newswatch.rules import text as t
from newswatch.rules.caches import CACHE_BYTES, TRIGGER_BYTES, WORDS_BYTES

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))

import worker_memory  # noqa: E402

LIMIT = 3.0  # seconds; each case takes a tenth of that or less
SIZES = [32_000, 200_000]
GAP = 30  # words between the two halves of an article with neither alpha nor omega


@cache
def article(words: int) -> str:
    """Two halves, each a fifth 'drone', a fifth 'attack' and a fifth 'alpha' (the
    first) or 'omega' (the second), the rest filler; the last alpha and the first
    omega GAP filler words apart."""
    rng = random.Random(words)
    filler = ["the", "of", "city", "night", "report", "Kyiv", "said"]

    def half(marker: str) -> list[str]:
        kinds = ["drone", "attack", marker, "filler", "filler"]
        return [w if w != "filler" else rng.choice(filler)
                for w in rng.choices(kinds, k=(words - GAP) // 2)]

    return " ".join(half("alpha") + ["alpha"] + ["night"] * GAP + ["omega"] + half("omega"))


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail if the block takes longer, and stop it then (the quadratic code this guards
    against would run for hours on 200,000 words)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.perf_counter()
    stopped = False
    try:
        yield
    except TimeoutError:
        stopped = True  # reported below, without the frames the signal broke into
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if stopped:
        pytest.fail(f"stopped after {seconds} s", pytrace=False)
    assert time.perf_counter() - started < seconds


NEAR_CASES = [
    ("drone NEAR/5 attack", True),
    ("alpha NEAR/5 omega", False),  # each in its own half
    (f"alpha NEAR/{GAP - 1} omega", False),
    (f"alpha NEAR/{GAP} omega", True),  # across the gap, where the halves meet
    ('"drone attack" NEAR/3 (alpha OR omega)', True),
    ("(drone NEAR/1 attack) NEAR/2 omega", True),
    ("(alpha NEAR/1 drone) NEAR/2 omega", False),
    ("dron* NEAR/0 attack", True),
    ("drone NEAR/4 zebra", False),
    ('"attack alpha drone" NEAR/1 "omega attack"', False),
]


@pytest.mark.parametrize("words", SIZES)
@pytest.mark.parametrize(("query", "expected"), NEAR_CASES)
def test_near_in_a_long_article_takes_time_in_proportion(words: int, query: str,
                                                         expected: bool) -> None:
    node = parse(query)
    doc = Document.of(title="Overnight", content=article(words))
    with within(LIMIT):
        assert evaluate(node, doc) is expected


@pytest.mark.parametrize("words", SIZES)
@pytest.mark.parametrize(("query", "bold"), [
    ("/\\bdrones?\\b/ attack", "**drone**"),
    ("/ttack alp/", "**attack alpha**"),
    ('"drone attack" NEAR/2 omega', "**drone attack**"),
    ("(alpha NEAR/1 drone) NEAR/3 attack", "**alpha**"),
])
def test_snippet_of_a_long_article_takes_time_in_proportion(words: int, query: str,
                                                            bold: str) -> None:
    doc = Document.of(title="Overnight", content=article(words))
    with within(LIMIT):
        assert bold in snippet(doc, [parse(query)])


@pytest.mark.parametrize("words", SIZES)
def test_matching_a_long_article_with_many_rules(words: int) -> None:
    queries = [q for q, _ in NEAR_CASES] + ['"omega omega"', "zebra", "/\\bomega\\b/ drone"]
    matcher = Matcher([CompiledRule(q, parse(q)) for q in queries])
    doc = Document.of(title="Overnight", content=article(words))
    with within(LIMIT):
        names = matcher.match(doc)
        text = snippet(doc, matcher.nodes(names))
    assert names == [q for q, expected in NEAR_CASES if expected] + [
        '"omega omega"', "/\\bomega\\b/ drone"]
    assert "**" in text


def test_word_table_stays_within_its_bytes() -> None:
    """Never-seen words, enough to fill the word table several times: it is emptied
    when past its share, never holding more than that and the text in hand."""
    rng = random.Random(5)
    biggest = 0
    for _ in range(60):
        text = " ".join("".join(rng.choices("abcdefghijklmnoprstuvwyzабвгдежзиклмнопрст",
                                            k=rng.randint(4, 12))) for _ in range(5000))
        words = t.source_words(text)
        t.stems_of(words, "en")
        assert [t.WORD_OF[w] for w in words]  # the words in hand stay learned
        biggest = max(biggest, t.WORDS.used)
    # ~75 MB of words learned in all; emptied at the start of a call past its share
    assert WORDS_BYTES // 2 < biggest < WORDS_BYTES + 5000 * 400


def test_matcher_word_table_stays_within_its_bytes() -> None:
    matcher = Matcher([CompiledRule("r", parse("drone NEAR/3 attack"))])
    rng = random.Random(6)
    biggest = 0
    for _ in range(40):
        text = " ".join("".join(rng.choices("abcdefghijklmnoprstuvwyz", k=rng.randint(4, 12)))
                        for _ in range(5000))
        assert matcher.match(Document.of(title="drone attack", summary=text)) == ["r"]
        biggest = max(biggest, matcher._triggers.used)
    # ~20 MB of words met in all; emptied once past its share, before the next entry
    assert TRIGGER_BYTES // 2 < biggest < TRIGGER_BYTES + 400


def test_a_worker_fed_new_words_on_every_poll_keeps_its_memory_flat() -> None:
    """bench/worker_memory.py, short: 10 polls of 50 articles of ~500 never-seen words
    in a fresh process grow its memory by less than the budget of all its caches
    (caches bounded by counts grew it by ~50 MB)."""
    result = worker_memory.run(polls=10, articles=50, words=500, extra_rules=300)
    assert result["matches"] > 0
    assert result["growth"] < CACHE_BYTES, f"{result['growth'] / 2**20:.0f} MB"
