"""`about` rules measured on intents nobody tuned for: each candidate design side by side.

    python bench/about_eval.py [--quick] [--swap]

tests/data/about-eval/*.json hold analyst intents, each with an expert keyword
query, a who/where gate, three example and three counter-example texts (what a
user writes in `examples` and `not_about`), and labelled headlines: paraphrased
positives in several languages and hard negatives (another actor, roles
reversed, another event with the same actors and words, the same words in
another sense). An item may name other intents it is relevant to as well (a
fifth field). background.json holds unrelated news of the same feeds.

All headlines are one feed: every rule scores every one of them. The intents are
split in two (alternate intents of each file): every threshold and weight is
chosen on the first half (the best precision at recall >= 0.85, else the best
F1) and reported on the second, which nothing was fitted to. Reported for each
candidate: precision and recall of the held-out intents, and false alerts per
1,000 unrelated articles (other intents' headlines and the background).
--swap fits on the second half and reports on the first: how far the figures move
with the half they are measured on.

One candidate adds counter-examples shared by every rule (COMMON_NOT_ABOUT:
everyday senses of news words, events that did not happen); the last lines say
what they cost rules about exactly those things.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402

from newswatch import semantic  # noqa: E402
from newswatch.models import Article  # noqa: E402
from newswatch.rules import CompiledRule, Matcher, parse  # noqa: E402
from newswatch.rules.compile import document  # noqa: E402

DATA = HERE.parent / "tests" / "data" / "about-eval"
RECALL_FLOOR = 0.85


@dataclass
class Intent:
    id: str
    text: str
    query: str
    gate: str
    examples: list[str]
    not_about: list[str]
    dev: bool  # thresholds and weights are chosen on these; the others are held out
    vectors: dict[str, Any] = field(default_factory=dict)


@dataclass
class Corpus:
    intents: list[Intent]
    texts: list[str]  # every headline, labelled or background
    owner: list[int]  # index of the intent a labelled headline belongs to; -1: background
    label: list[int]  # 1: relevant to its owner
    kind: list[str]
    also: list[set[str]]  # other intents a headline is relevant to, as well as its owner's
    vectors: Any = None
    common: Any = None  # COMMON_NOT_ABOUT's vectors
    per_second: float = 0.0

    def gold(self, i: int) -> np.ndarray:
        me = self.intents[i].id
        return np.array([(o == i and lab == 1) or me in also for o, lab, also
                         in zip(self.owner, self.label, self.also, strict=True)])

    def unrelated(self, i: int) -> np.ndarray:
        me = self.intents[i].id
        return np.array([o != i and me not in also for o, also
                         in zip(self.owner, self.also, strict=True)])


def load(quick: bool = False) -> Corpus:
    intents: list[Intent] = []
    texts, owner, label, kind, also = [], [], [], [], []
    for path in sorted(DATA.glob("*.json")):
        if path.name == "background.json":
            continue
        for n, raw in enumerate(json.loads(path.read_text())):
            if quick and n >= 2:
                break
            intents.append(Intent(raw["id"], raw["intent"], raw["query"], raw["gate"],
                                  raw["examples"], raw["not_about"], dev=n % 2 == 0))
            for text, lab, _lang, k, *others in raw["items"]:
                texts.append(text)
                owner.append(len(intents) - 1)
                label.append(int(lab))
                kind.append(k)
                also.append(set(others[0]) if others else set())
    for text, _lang in json.loads((DATA / "background.json").read_text())[:40 if quick else None]:
        texts.append(text)
        owner.append(-1)
        label.append(0)
        kind.append("background")
        also.append(set())
    return Corpus(intents, texts, owner, label, kind, also)


def embed(corpus: Corpus, model: semantic.Embedder) -> None:
    started = time.process_time()
    corpus.vectors = np.asarray(model.passages(corpus.texts))
    corpus.per_second = len(corpus.texts) / max(time.process_time() - started, 1e-9)
    for intent in corpus.intents:  # as the daemon builds a rule's meaning
        m = semantic.meaning(model, intent.text, intent.examples, intent.not_about)
        intent.vectors.update(intent=m.intent, examples=m.like, intent_p=m.like[:1],
                              not_about=m.unlike, meaning=m)
    corpus.common = np.asarray(model.passages(list(COMMON_NOT_ABOUT)))


def lexical(query: str, texts: list[str]) -> np.ndarray:
    matcher = Matcher([CompiledRule("q", parse(query))], learn_after=0)
    return np.array([bool(matcher.match(document(Article("f", str(i), "", title=t))))
                     for i, t in enumerate(texts)])


# -- candidates: each scores every headline for one intent, given its parameters -------

Scorer = Callable[[Corpus, int, dict[str, float]], np.ndarray]  # scores; >= 0 alerts


def cosine(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
    return c.vectors @ c.intents[i].vectors["intent"] - p["t"]


def meaning(c: Corpus, i: int, p: dict[str, float], like: bool = True,
            unlike: bool = True) -> np.ndarray:
    v = c.intents[i].vectors
    liked = v["examples"] if like else v["intent_p"]
    m = semantic.Meaning(v["intent"], liked, v["not_about"] if unlike else None)
    score = m.scores(c.vectors, p.get("margin", semantic.UNLIKE_MARGIN))
    if p.get("common"):
        score = np.where(common_veto(c.vectors, c.common, liked, p), -1.0, score)
    return score - p["t"]


# Everyday senses of news words and events that did not happen, as counter-examples
# shared by every rule (written while reading the fitting half's false alerts).
COMMON_NOT_ABOUT = (
    "Football match report: a striker scores a late goal and the team wins",
    "Sports news: a team, a player, a coach and a match result",
    "Health news: a person suffers a heart attack or cardiac arrest and is taken to hospital",
    "Film, television series or book review; a drama tops the streaming charts",
    "Business news: a startup raises money in a funding round led by investors",
    "Stock market and company earnings report",
    "A video game or an entertainment release",
    "Celebrity gossip",
    "Weather forecast",
    "A cooking recipe",
    "Officials warn that an attack may happen soon",
    "Analysts expect that it could happen next week",
    "The minister denies rumours that it happened",
    "Plans are announced to do it in the future",
    "A drill simulates the scenario as an exercise",
    "They announce a pause and halt it",
    "Anniversary: people remember what happened years ago",
    "Opinion: what it would mean if it happened",
)


def common_veto(vectors: Any, common: Any, liked: Any, p: dict[str, float]) -> np.ndarray:
    """For each headline: nearer one of `common` (COMMON_NOT_ABOUT's vectors) than to
    anything the rule is meant to catch (less `nearer`), and nearer it than any of the
    rule's own texts is (by more than `beyond`), so that a rule about football keeps
    football."""
    near = vectors @ common.T
    nearest_like = (vectors @ liked.T).max(axis=1)
    own = (liked @ common.T).max(axis=0)
    return ((near > nearest_like[:, None] + p["nearer"])
            & (near > own[None, :] + p["beyond"])).any(axis=1)


def centred(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
    """Cosine after taking away what every article shares (the background's mean
    vector): scores that bunch spread out."""
    mean = c.vectors[np.array(c.owner) == -1].mean(axis=0)
    vectors = c.vectors - mean
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    intent = c.intents[i].vectors["intent"] - mean
    return vectors @ (intent / np.linalg.norm(intent)) - p["t"]


def contrast(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
    """Similarity to the intent less the weighted similarity to the nearest
    counter-example."""
    v = c.intents[i].vectors
    return (c.vectors @ v["intent"] - p["w"] * (c.vectors @ v["not_about"].T).max(axis=1)
            - p["t"])


def learning(base: Scorer, margin: float = semantic.UNLIKE_MARGIN) -> Scorer:
    """The base rule, with a user who marks every alert: one marked wrong becomes a
    counter-example of the rule, one marked right an example, for the articles after
    it (a fixed shuffled order of all the headlines)."""
    def score(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
        base_scores = base(c, i, p)
        order = np.random.default_rng(i).permutation(len(c.texts))
        gold = c.gold(i)
        v = c.intents[i].vectors
        like: list[Any] = list(v["examples"] if p.get("with_examples") else v["intent_p"])
        unlike: list[Any] = list(v["not_about"]) if p.get("with_examples") else []
        out = np.full(len(c.texts), -1.0)
        for n in order:
            if base_scores[n] < 0:
                continue
            m = semantic.Meaning(v["intent"], np.array(like),
                                 np.array(unlike) if unlike else None)
            if unlike and m.scores(c.vectors[n], p.get("margin", margin))[0] < 0:
                continue  # nearer something marked wrong: left out
            out[n] = 1.0
            (like if gold[n] else unlike).append(c.vectors[n])
        return out
    return score


def by_examples(base: Scorer) -> Scorer:
    """The base score, with the rule's threshold set by its own examples: `d` below
    the lowest similarity of an example to the intent."""
    def score(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
        m = c.intents[i].vectors["meaning"]
        floor = semantic.examples_threshold(m, len(c.intents[i].examples))
        return base(c, i, {**p, "t": floor + semantic.EXAMPLES_BELOW - p["d"]})
    return score


def calibrated(base: Scorer) -> Scorer:
    """The base score in standard deviations above the rule's mean on background news
    (what the daemon sees of the last week's articles)."""
    def score(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
        raw = base(c, i, {**p, "t": 0.0})
        bg = raw[np.array(c.owner) == -1]
        return (raw - bg.mean()) / (bg.std() + 1e-9) - p["z"]
    return score


def gated(base: Scorer, which: str = "gate") -> Scorer:
    def score(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
        gate = _lexical_cache(c, i, which)
        return np.where(gate, base(c, i, p), -1.0)
    return score


def either(base: Scorer) -> Scorer:
    """mode = "any": the expert query alerts on its own, meaning adds what it missed."""
    def score(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
        return np.where(_lexical_cache(c, i, "query"), 1.0, base(c, i, p))
    return score


def keywords(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
    return np.where(_lexical_cache(c, i, "query"), 1.0, -1.0)


_LEXICAL: dict[tuple[int, int, str], np.ndarray] = {}


def _lexical_cache(c: Corpus, i: int, which: str) -> np.ndarray:
    key = (id(c), i, which)
    if key not in _LEXICAL:
        _LEXICAL[key] = lexical(getattr(c.intents[i], which), c.texts)
    return _LEXICAL[key]


# -- fitting on the dev intents, reporting on the held-out ones -----------------------


@dataclass
class Figures:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    unrelated_fp: int = 0
    unrelated: int = 0

    def add(self, pred: np.ndarray, gold: np.ndarray, unrelated: np.ndarray) -> None:
        self.tp += int((pred & gold).sum())
        self.fp += int((pred & ~gold).sum())
        self.fn += int((~pred & gold).sum())
        self.unrelated_fp += int((pred & unrelated).sum())
        self.unrelated += int(unrelated.sum())

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def per_1000(self) -> float:
        return 1000 * self.unrelated_fp / self.unrelated if self.unrelated else 0.0


def figures(c: Corpus, scorer: Scorer, params: dict[str, float], dev: bool) -> Figures:
    out = Figures()
    for i, intent in enumerate(c.intents):
        if intent.dev is dev:
            out.add(scorer(c, i, params) >= 0, c.gold(i), c.unrelated(i))
    return out


def fit(c: Corpus, scorer: Scorer, grid: dict[str, Iterable[float]]) -> dict[str, float]:
    """The parameters with the best dev precision at recall >= RECALL_FLOOR (else the
    best F1); ties: the stricter setting, which is listed later in each grid."""
    best: tuple[tuple[float, float], dict[str, float]] = ((-1.0, -1.0), {})
    names = list(grid)
    for values in product(*(list(grid[n]) for n in names)):
        params = dict(zip(names, values, strict=True))
        f = figures(c, scorer, params, dev=True)
        key = (f.precision, f.f1) if f.recall >= RECALL_FLOOR else (-1.0 + f.f1, f.f1)
        if key >= best[0]:
            best = (key, params)
    return best[1]


THRESHOLDS = [round(x, 3) for x in np.arange(0.78, 0.93, 0.005)]
CENTRED = [round(x, 3) for x in np.arange(0.0, 0.8, 0.02)]
ZS = [round(x, 2) for x in np.arange(0.0, 6.01, 0.25)]
# a larger margin vetoes less: listed from the loosest to the strictest, as below
MARGINS = [0.05, 0.03, 0.02, 0.01, 0.0, -0.01, -0.02, -0.03]
# below the examples' floor: from the loosest to the strictest, so that a tie goes to the
# stricter setting, as in every grid here
EXAMPLES_D = [round(x, 3) for x in np.arange(0.12, -0.02, -0.005)]
# the common counter-examples: how much nearer than the rule's texts, how far beyond them
COMMON = {"common": [1], "nearer": [0.0, -0.02, -0.03, -0.04, -0.05, -0.06, -0.08],
          "beyond": [0.08, 0.06, 0.04, 0.02, 0.0, -0.02]}


def candidates() -> list[tuple[str, Scorer, dict[str, Iterable[float]]]]:
    def plain(c: Corpus, i: int, p: dict[str, float]) -> np.ndarray:
        return meaning(c, i, p, like=False, unlike=False)

    both = meaning
    return [
        ("keywords: the expert query alone", keywords, {}),
        ("about, one threshold", cosine, {"t": THRESHOLDS}),
        ("about OR query (mode any)", either(cosine), {"t": THRESHOLDS}),
        ("about + examples + not_about", both, {"t": THRESHOLDS, "margin": MARGINS}),
        ("about, calibrated per rule", calibrated(plain), {"z": ZS}),
        ("about + examples + not_about, calibrated", calibrated(both),
         {"z": ZS, "margin": MARGINS}),
        ("about, centred", centred, {"t": CENTRED}),
        ("about - w * nearest not_about", contrast,
         {"t": [round(x, 2) for x in np.arange(0.0, 0.9, 0.02)], "w": [0.25, 0.5, 0.75, 1]}),
        ("gate AND about (mode all)", gated(cosine), {"t": THRESHOLDS}),
        ("gate AND about, centred", gated(centred), {"t": CENTRED}),
        ("query AND about", gated(cosine, "query"), {"t": THRESHOLDS}),
        ("query AND about, centred", gated(centred, "query"), {"t": CENTRED}),
        ("query AND about + examples + not_about", gated(both, "query"),
         {"t": [-0.5] + THRESHOLDS, "margin": MARGINS}),
        ("query AND gate", gated(keywords), {}),
        ("query AND gate AND about", gated(gated(cosine, "query")), {"t": [-0.5] + THRESHOLDS}),
        ("query AND gate AND about + examples + not_about", gated(gated(both, "query")),
         {"t": [-0.5] + THRESHOLDS, "margin": MARGINS}),
        ("query AND gate AND about + ex + not_about, feedback",
         learning(gated(gated(both, "query"))),
         {"t": [-0.5] + THRESHOLDS, "margin": MARGINS, "with_examples": [1]}),
        ("query AND gate AND about, threshold from examples",
         gated(gated(by_examples(both), "query")),
         {"d": EXAMPLES_D, "margin": MARGINS}),
        ("query AND gate AND about, threshold from examples, feedback",
         learning(gated(gated(by_examples(both), "query"))),
         {"d": EXAMPLES_D, "margin": MARGINS, "with_examples": [1]}),
        ("about + examples + not_about + common", both,
         {"t": THRESHOLDS, "margin": [semantic.UNLIKE_MARGIN], **COMMON}),
        ("query AND gate AND about, from examples + common",
         gated(gated(by_examples(both), "query")),
         {"d": EXAMPLES_D[::2], "margin": MARGINS, **COMMON}),
        ("query AND gate AND calibrated about + ex + not_about",
         gated(gated(calibrated(both), "query")), {"z": [-9.0] + ZS, "margin": MARGINS}),
        ("keywords, with feedback", learning(keywords), {"margin": MARGINS}),
        ("keywords + not_about, with feedback", learning(keywords),
         {"margin": MARGINS, "with_examples": [1]}),
        ("query AND about, with feedback", learning(gated(cosine, "query")),
         {"t": THRESHOLDS, "margin": MARGINS}),
        ("query AND about + examples + not_about, with feedback",
         learning(gated(both, "query")),
         {"t": [-0.5] + THRESHOLDS, "margin": MARGINS, "with_examples": [1]}),
        ("gate AND about, with feedback", learning(gated(cosine)),
         {"t": THRESHOLDS, "margin": MARGINS}),
        ("gate AND about + examples + not_about", gated(both),
         {"t": THRESHOLDS, "margin": MARGINS}),
        ("gate AND calibrated about", gated(calibrated(plain)), {"z": ZS}),
        ("gate AND calibrated about + examples + not_about", gated(calibrated(both)),
         {"z": ZS, "margin": MARGINS}),
    ]


RECOMMENDED = "recommended: query AND gate AND about, threshold \"examples\", not_about"


def recommended() -> tuple[str, Scorer, dict[str, Iterable[float]]]:
    """The README's setting, with the package's defaults (nothing fitted here)."""
    return (RECOMMENDED, gated(gated(by_examples(meaning), "query")),
            {"d": [semantic.EXAMPLES_BELOW], "margin": [semantic.UNLIKE_MARGIN]})


def report(c: Corpus, rows: list[tuple[str, Scorer, dict[str, Iterable[float]]]],
           ) -> dict[str, dict[str, float]]:
    """Print each candidate's figures; return the parameters chosen for each."""
    chosen_params = {}
    print(f"{'candidate':<50} {'dev P':>6} {'dev R':>6} {'held P':>7} {'held R':>7} "
          f"{'FP/1k':>6}  chosen on dev")
    for name, scorer, grid in rows:
        params = fit(c, scorer, grid)
        d, h = figures(c, scorer, params, True), figures(c, scorer, params, False)
        chosen_params[name] = params
        chosen = " ".join(f"{k}={v:g}" for k, v in params.items())
        print(f"{name:<50} {d.precision:>6.3f} {d.recall:>6.3f} {h.precision:>7.3f} "
              f"{h.recall:>7.3f} {h.per_1000:>6.1f}  {chosen}", flush=True)
    return chosen_params


# Rules outside the set, about what COMMON_NOT_ABOUT names, with headlines they must catch.
OUTSIDE = [
    ("A striker scores a late winner in a football match",
     ["Late goal from Haaland sinks Arsenal", "Taremi scores a late winner as Porto beat Benfica",
      "Lewandowski trifft in der Nachspielzeit zum Sieg",
      "Mbappé marque le but de la victoire à la 90e minute"]),
    ("Officials warn of an imminent attack",
     ["US embassy warns of imminent attack in Kyiv, urges citizens to shelter",
      "Police warn of heightened terror threat ahead of Christmas markets",
      "Ukraine's intelligence warns Russia is preparing a massive strike",
      "Britische Behörden warnen vor unmittelbar bevorstehendem Anschlag"]),
    ("A company's quarterly results beat forecasts and its shares jump",
     ["Nvidia shares jump after quarterly results beat forecasts",
      "Siemens raises outlook as quarterly profit beats estimates",
      "Les résultats trimestriels de LVMH dépassent les attentes, l'action bondit",
      "Netflix stock soars as subscriber growth beats expectations"]),
]


def outside_cost(c: Corpus, model: semantic.Embedder, params: dict[str, float]) -> str:
    """How many of their own headlines rules outside the set lose to the common
    counter-examples at `params`."""
    lost = total = 0
    for about, headlines in OUTSIDE:
        vetoed = common_veto(np.asarray(model.passages(headlines)), c.common,
                             np.asarray(model.passages([about])), params)
        lost += int(vetoed.sum())
        total += len(headlines)
    return f"{lost} of {total}"


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--quick", action="store_true", help="two intents a file")
    args.add_argument("--swap", action="store_true",
                      help="fit on the second half of the intents, report on the first")
    opts = args.parse_args(argv)
    corpus = load(opts.quick)
    for intent in corpus.intents if opts.swap else ():
        intent.dev = not intent.dev
    model = semantic.embedder()
    embed(corpus, model)
    labelled = [k for k in corpus.kind if k != "background"]
    print(f"{len(corpus.intents)} intents ({sum(i.dev for i in corpus.intents)} to fit, "
          f"{sum(not i.dev for i in corpus.intents)} held out), "
          f"{sum(corpus.label)} positives, {len(labelled) - sum(corpus.label)} hard "
          f"negatives, {len(corpus.kind) - len(labelled)} background; model {model.name}")
    chosen = report(corpus, [*candidates(), recommended()])
    common = chosen["query AND gate AND about, from examples + common"]
    print("common counter-examples, as fitted: rules about sport, warnings and earnings "
          f"lose {outside_cost(corpus, model, common)} of their own headlines")
    _, scorer, grid = recommended()
    params = {k: next(iter(v)) for k, v in grid.items()}
    wrong: dict[str, int] = {}
    for i, intent in enumerate(corpus.intents):
        if not intent.dev:
            hits = np.where((scorer(corpus, i, params) >= 0) & ~corpus.gold(i))[0]
            for n in hits:
                kind = corpus.kind[n] if corpus.owner[n] == i else "another intent's"
                wrong[kind] = wrong.get(kind, 0) + 1
    print("recommended, held-out false alerts by kind: "
          + ", ".join(f"{k} {n}" for k, n in sorted(wrong.items())))
    started = time.process_time()
    for intent in corpus.intents:
        intent.vectors["meaning"].scores(corpus.vectors)
    cost = (time.process_time() - started) / len(corpus.texts) / len(corpus.intents)
    print(f"deciding: {cost * 1e6:.1f} µs per article and rule (beside embedding it)")
    print(f"embedding: {corpus.per_second:.0f} headlines/s on one core; peak memory "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"target: held-out precision >= 0.9 at recall >= {RECALL_FLOOR}")


if __name__ == "__main__":
    main()
