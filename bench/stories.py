"""Story grouping measured: which headline pairs fold into one story, before and after.

    python bench/stories.py [--pairs tests/data/story_pairs.jsonl] [--all]

tests/data/story_pairs.jsonl holds labelled headline pairs in several languages
({"a", "b", "same", "kind", "lang"}): one event told by two outlets (reworded,
with outlet suffixes and prefixes, wire and live-blog prefixes, numbers written
differently) and different events (another ordinal, number, date, place,
person, who did what to whom, the same topic, unrelated). The pairs are split
in two halves, alternately within each kind; a threshold is chosen on the
tuning half (fewest different events folded, then most same events folded,
then the highest) and the figures are those of the held-out half.

Folded wrongly (two events made one story: the second never alerts) is the
costly error, target 0; a missed fold costs a repeated alert.

"Before" is the grouping as it was before ordinals, number words and outlet
affixes were told apart (a frozen copy below), at its default threshold 0.5.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

from newswatch import stories  # noqa: E402
from newswatch.rules.text import source_words, stems_of  # noqa: E402

PAIRS = HERE.parent / "tests" / "data" / "story_pairs.jsonl"
Pair = dict[str, object]
Similarity = Callable[[str, str], float]
THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(14)]  # 0.30 .. 0.95


@dataclass(frozen=True)
class Score:
    folded: int  # one event, folded: right
    wrong: int  # two events folded into one: an alert lost
    missed: int  # one event left as two: an alert repeated
    apart: int  # two events kept apart: right


def load(path: Path = PAIRS) -> list[Pair]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def halves(pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(tuning, held-out): alternate pairs of each kind, in file order."""
    seen: dict[object, int] = {}
    tune: list[Pair] = []
    held: list[Pair] = []
    for pair in pairs:
        n = seen[pair["kind"]] = seen.get(pair["kind"], -1) + 1
        (tune if n % 2 == 0 else held).append(pair)
    return tune, held


def score(pairs: list[Pair], similar: Similarity, threshold: float) -> Score:
    folded = wrong = missed = apart = 0
    for pair in pairs:
        fold = similar(str(pair["a"]), str(pair["b"])) >= threshold
        if pair["same"]:
            folded, missed = folded + fold, missed + (not fold)
        else:
            wrong, apart = wrong + fold, apart + (not fold)
    return Score(folded, wrong, missed, apart)


def best_threshold(pairs: list[Pair], similar: Similarity) -> float:
    """Fewest wrong folds, then most right ones, then the highest threshold: in doubt,
    keep two stories apart."""
    def rank(t: float) -> tuple[int, int, float]:
        s = score(pairs, similar, t)
        return (-s.wrong, s.folded, t)
    return max(THRESHOLDS, key=rank)


def after(a: str, b: str) -> float:
    return stories.similarity(stories.headline_key(a), stories.headline_key(b))


# -- before: stories.py's key and similarity as they were, frozen for comparison ------------

_BEFORE_STOPWORDS = frozenset("""
a an the of to in on at for from by with as and or but is are was were be been has have had
it its this that these those after before over into amid about against says say said
officials official report reports reported according new latest live update updates yet
again more than up out his her their our we they he she who what why how will would can
""".split())


def _before_key(title: str) -> tuple[frozenset[str], frozenset[str] | None, frozenset[str]]:
    raws = source_words(title)
    stems = stems_of(raws, "")
    kept = [(r, s) for r, s in zip(raws, stems, strict=True)
            if r.lower() not in _BEFORE_STOPWORDS and (len(s) > 1 or s.isdigit())]
    capitalised = [s for r, s in kept if r[:1].isupper()]
    title_case = len(kept) > 2 and len(capitalised) >= 0.7 * len(kept)
    return (frozenset(s for _, s in kept), None if title_case else frozenset(capitalised),
            frozenset(s for _, s in kept if s.isdigit()))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def before(a: str, b: str) -> float:
    (words_a, names_a, numbers_a), (words_b, names_b, numbers_b) = _before_key(a), _before_key(b)
    if numbers_a and numbers_b and not numbers_a & numbers_b:
        return 0.0
    if names_a and names_b and _jaccard(names_a, names_b) < 0.5:
        return 0.0
    return _jaccard(words_a, words_b)


BEFORE_THRESHOLD = 0.5

# -- report ---------------------------------------------------------------------------------


def measure(pairs: list[Pair]) -> dict[str, tuple[float, Score, Score]]:
    """For before and after: (threshold, tuning-half score, held-out score)."""
    tune, held = halves(pairs)
    threshold = best_threshold(tune, after)
    return {"before": (BEFORE_THRESHOLD, score(tune, before, BEFORE_THRESHOLD),
                       score(held, before, BEFORE_THRESHOLD)),
            "after": (threshold, score(tune, after, threshold), score(held, after, threshold))}


def errors(pairs: list[Pair], similar: Similarity, threshold: float) -> list[str]:
    out = []
    for pair in pairs:
        s = similar(str(pair["a"]), str(pair["b"]))
        if (s >= threshold) != pair["same"]:
            what = "missed" if pair["same"] else "WRONG "
            out.append(f"  {what} {pair['kind']:<13} {pair['lang']} {s:.2f}  "
                       f"{pair['a']}  //  {pair['b']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--all", action="store_true", help="list the errors of both halves")
    args = parser.parse_args()
    pairs = load(args.pairs)
    tune, held = halves(pairs)
    same = sum(1 for p in held if p["same"])
    print(f"{len(pairs)} pairs; held-out half: {len(held)} ({same} same event, "
          f"{len(held) - same} different events)")
    print(f"{'':8} {'threshold':>9} {'folded':>7} {'wrongly folded':>15} {'missed':>7}"
          f"   (tuning half: folded / wrong / missed)")
    results = measure(pairs)
    for name, (chosen, tuned, held_out) in results.items():
        print(f"{name:8} {chosen:>9.2f} {held_out.folded:>7} {held_out.wrong:>15}"
              f" {held_out.missed:>7}   ({tuned.folded} / {tuned.wrong} / {tuned.missed})")
    threshold = results["after"][0]
    print("\nAfter, by threshold (held-out: folded / wrong / missed):")
    for t in THRESHOLDS:
        s = score(held, after, t)
        print(f"  {t:.2f}  {s.folded:>3} / {s.wrong} / {s.missed}")
    print(f"\nAfter, errors on the held-out half at {threshold:.2f}:")
    print("\n".join(errors(held, after, threshold)) or "  none")
    if args.all:
        print(f"\nAfter, errors on the tuning half at {threshold:.2f}:")
        print("\n".join(errors(tune, after, threshold)) or "  none")
        print(f"\nBefore, errors on the held-out half at {BEFORE_THRESHOLD:.2f}:")
        print("\n".join(errors(held, before, BEFORE_THRESHOLD)) or "  none")


if __name__ == "__main__":
    main()
