"""Synthetic but realistic news text and watch rules, reproducible from a seed.

Words follow a Zipf distribution over a vocabulary of real news words plus a
long tail of invented ones, as real text does; a share of articles carries a
phrase some rule is looking for.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

STOP = ("the of to and a in is for on that with as by at from it was are be has have "
        "its after said will not but an this were over more than their who they new been "
        "up about into two also out one year says last").split()
NEWS = ("russia ukraine kyiv moscow drone drones attack attacks strike strikes missile "
        "missiles largest biggest record air defence defense minister ministry president "
        "government election vote parliament sanctions sanctioned bank banks oil gas energy "
        "power plant nuclear iaea zaporizhzhia ceasefire talks summit coalition force troops "
        "army navy military soldiers killed wounded civilians city region border front line "
        "offensive counteroffensive artillery shelling war peace deal agreement treaty nato eu "
        "united states china india iran israel gaza lebanon syria turkey poland germany france "
        "britain london paris berlin washington beijing tehran congress senate pentagon budget "
        "funding aid security cooperation partner capacity section weapons tanks jets f16 "
        "reassurance postwar reconstruction refugees migration economy inflation market prices "
        "trade tariffs court judge law police protest arrested investigation report officials "
        "spokesman statement announced warned reported according sources intelligence spy "
        "cyber hackers satellite launch space rocket ship port grain exports imports").split()
SYLLABLES = "ka ro mi nus tel var do pen sil fra gor lin ta be qui mos ver dal zen hu".split()


def _invented(rng: random.Random, n: int) -> list[str]:
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


@dataclass
class Corpus:
    vocab: list[str]
    weights: list[float]
    rng: random.Random

    def __post_init__(self) -> None:
        self.cumulative = list(itertools.accumulate(self.weights))

    @classmethod
    def make(cls, seed: int = 1, tail: int = 20_000, exclude: frozenset[str] = frozenset()
             ) -> Corpus:
        """A vocabulary; `exclude` leaves out words (so that only planted phrases match)."""
        rng = random.Random(seed)
        vocab = [w for w in STOP + NEWS + _invented(rng, tail) if w not in exclude]
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(vocab))]
        return cls(vocab, weights, rng)

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self.cumulative, k=n)

    def content_word(self) -> str:
        # Rules name content words: news words and the tail, not stop words.
        return self.rng.choice(self.vocab[len(STOP): len(STOP) + len(NEWS) + 3000])

    def sentence(self, n: int) -> str:
        words = self.words(n)
        words[0] = words[0].capitalize()
        return " ".join(words) + "."

    def article(self, inject: str | None = None) -> dict[str, str]:
        title = " ".join(self.words(self.rng.randint(7, 12))).capitalize()
        summary = " ".join(self.sentence(self.rng.randint(12, 22)) for _ in range(2))
        if inject:
            cut = self.rng.randint(0, 10)
            parts = summary.split(" ")
            summary = " ".join(parts[:cut] + [inject] + parts[cut:])
        return {"title": title, "summary": summary}

    def rule(self) -> str:
        kind = self.rng.random()
        w = self.content_word
        if kind < 0.30:
            return f"{w()} {w()}"
        if kind < 0.55:
            return f'"{w()} {w()}"' + (f" OR \"{w()} {w()} {w()}\"" if self.rng.random() < .5
                                       else "")
        if kind < 0.75:
            return f"{w()} NEAR/3 ({w()} OR {w()} OR {w()})"
        if kind < 0.90:
            return f"{w()[:5]}* {w()} -{w()}"
        return f'({w()} OR {w()}) ({w()} OR "{w()} {w()}") -{w()}'


def rules(corpus: Corpus, n: int) -> list[str]:
    return [corpus.rule() for _ in range(n)]


def articles(corpus: Corpus, n: int, phrases: list[str],
             share: float = 0.02) -> list[dict[str, str]]:
    """n articles; `share` of them carry one of `phrases` (words a rule looks for)."""
    out = []
    for _ in range(n):
        inject = corpus.rng.choice(phrases) if phrases and corpus.rng.random() < share else None
        out.append(corpus.article(inject))
    return out
