"""`about` rules measured: lexical, semantic and combined forms on labelled intents.

    python bench/semantic_eval.py

tests/data/semantic-intents.json holds intents, each with an expert lexical
query, a broad gate query (who and where), and headlines labelled relevant
or not: paraphrases in several languages; hard negatives with other actors,
reversed roles, the same words in another sense, sports and product news.
Items are split in two halves (alternate items of each intent); for each
form a threshold is chosen per intent on one half (best F1) and scored on the
other, and the other way round; the figures are the pooled held-out counts.
Forms: lexical (the query alone), semantic (similarity >= t), gate AND
semantic (mode "all"), lexical OR semantic (mode "any"); then the same with
one threshold shared by every intent. Also: articles/s embedded on one core
and the process's memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402

from newswatch import semantic  # noqa: E402
from newswatch.models import Article  # noqa: E402
from newswatch.rules import CompiledRule, Matcher, parse  # noqa: E402
from newswatch.rules.compile import document  # noqa: E402

DATA = HERE.parent / "tests" / "data" / "semantic-intents.json"


def lexical(query: str, texts: list[str]) -> list[bool]:
    matcher = Matcher([CompiledRule("q", parse(query))], learn_after=0)
    return [bool(matcher.match(document(Article("f", str(i), "", title=t))))
            for i, t in enumerate(texts)]


def prf(pred: list[bool], gold: list[bool]) -> tuple[int, int, int]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    return tp, fp, fn


def best_threshold(scores: np.ndarray, gold: list[bool], base: list[bool] | None,
                   combine: str) -> float:
    """The threshold with the best F1 on these items (ties: the higher threshold)."""
    best, best_f1 = 1.0, -1.0
    for t in sorted(set(np.round(scores, 4))):
        pred = _predict(scores, t, base, combine)
        tp, fp, fn = prf(pred, gold)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 >= best_f1:
            best, best_f1 = float(t), f1
    return best


def _predict(scores: np.ndarray, t: float, base: list[bool] | None, combine: str) -> list[bool]:
    sem = [bool(s >= t) for s in scores]
    if base is None:
        return sem
    if combine == "and":
        return [a and b for a, b in zip(base, sem, strict=True)]
    return [a or b for a, b in zip(base, sem, strict=True)]


def _shared_predict(part: list[tuple[int, float, bool, bool, bool]], t: float,
                    combine: str) -> list[bool]:
    base = None if not combine else [r[4] if combine == "and" else r[3] for r in part]
    return _predict(np.array([r[1] for r in part]), t, base, combine)


def shared(intents: list[dict[str, object]], model: semantic.Embedder) -> None:
    """The same forms with one threshold for every intent, chosen on all first halves."""
    rows = []  # (half, score, relevant, lexical, gate)
    for intent in intents:
        items = intent["items"]
        assert isinstance(items, list)
        texts = [t for t, _ in items]
        scores = model.passages(texts) @ model.query(str(intent["intent"]))
        lex, gate = lexical(str(intent["query"]), texts), lexical(str(intent["gate"]), texts)
        rows += [(i % 2, float(s), bool(g), lx, gt)
                 for i, (s, (_, g), lx, gt) in enumerate(zip(scores, items, lex, gate,
                                                             strict=True))]
    print("\none threshold for every intent, chosen on one half, scored on the other")
    print(f"{'form':<22} {'precision':>9} {'recall':>7} {'F1':>6} {'thresholds':>12}")
    for form, combine in (("semantic", ""), ("gate AND semantic", "and"),
                          ("lexical OR semantic", "or")):
        total, chosen = [0, 0, 0], []
        for train in (0, 1):
            fit = [r for r in rows if r[0] == train]
            held = [r for r in rows if r[0] != train]
            best, best_f1 = 1.0, -1.0
            for t in sorted({r[1] for r in fit}):
                tp, fp, fn = prf(_shared_predict(fit, t, combine), [r[2] for r in fit])
                f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
                if f1 >= best_f1:
                    best, best_f1 = t, f1
            chosen.append(best)
            got = prf(_shared_predict(held, best, combine), [r[2] for r in held])
            total = [a + b for a, b in zip(total, got, strict=True)]
        tp, fp, fn = total
        p, r = tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{form:<22} {p:>9.2f} {r:>7.2f} {f1:>6.2f} {min(chosen):>6.3f}-{max(chosen):.3f}")


def main() -> None:
    intents = json.loads(DATA.read_text())
    model = semantic.embedder()
    all_texts = [t for i in intents for t, _ in i["items"]]
    started = time.process_time()
    vectors = model.passages(all_texts)
    per_second = len(all_texts) / (time.process_time() - started)
    totals = {form: [0, 0, 0] for form in ("lexical", "semantic", "gate AND semantic",
                                           "lexical OR semantic")}
    at = 0
    thresholds: list[float] = []
    for intent in intents:
        texts = [t for t, _ in intent["items"]]
        gold = [bool(g) for _, g in intent["items"]]
        scores = vectors[at: at + len(texts)] @ model.query(intent["intent"])
        at += len(texts)
        lex = lexical(intent["query"], texts)
        gate = lexical(intent["gate"], texts)
        halves = [list(range(0, len(texts), 2)), list(range(1, len(texts), 2))]
        for train, test in (halves, halves[::-1]):
            def part(xs: list[bool], idx: list[int]) -> list[bool]:
                return [xs[i] for i in idx]
            got = prf(part(lex, test), part(gold, test))
            totals["lexical"] = [a + b for a, b in zip(totals["lexical"], got, strict=True)]
            for form, base, combine in (("semantic", None, ""),
                                        ("gate AND semantic", gate, "and"),
                                        ("lexical OR semantic", lex, "or")):
                t = best_threshold(scores[train], part(gold, train),
                                   part(base, train) if base else None, combine)
                thresholds.append(t)
                pred = _predict(scores[test], t, part(base, test) if base else None, combine)
                got = prf(pred, part(gold, test))
                totals[form] = [a + b for a, b in zip(totals[form], got, strict=True)]
    print(f"{len(intents)} intents, {len(all_texts)} labelled headlines, model {model.name}")
    print("thresholds chosen on one half, scored on the other (pooled held-out counts)\n")
    print(f"{'form':<22} {'precision':>9} {'recall':>7} {'F1':>6}")
    for form, (tp, fp, fn) in totals.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{form:<22} {p:>9.2f} {r:>7.2f} {f1:>6.2f}")
    print(f"\nthresholds chosen: {min(thresholds):.3f}-{max(thresholds):.3f}")
    shared(intents, model)
    print(f"embedding: {per_second:.0f} headlines/s on this process; peak memory "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("target for the best combined form: precision >= 0.9 and recall >= 0.85")


if __name__ == "__main__":
    main()
