"""How text becomes words, the same way for articles and queries.

Unicode NFKC, case-folded, accents removed, split at anything that is not a
letter or digit, then stemmed with the English Snowball stemmer. Every token
remembers where it stands in the text it came from, for snippets.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

WORD = re.compile(r"[^\W_]+")
_STEMMER = Stemmer.Stemmer("english")


@dataclass(frozen=True, slots=True)
class Token:
    word: str  # normalised, not stemmed
    stem: str
    start: int  # character span in the source text
    end: int


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """NFKC, case-fold and strip accents: 'Orbán' and 'ORBAN' fold alike."""
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def words(text: str) -> list[str]:
    """The normalised, unstemmed words of a text."""
    return [w for m in WORD.finditer(text) for w in WORD.findall(fold(m.group()))]


def tokenize(text: str) -> list[Token]:
    """Split text into stemmed tokens that keep their source spans."""
    spans: list[tuple[str, int, int]] = []
    for m in WORD.finditer(text):
        # Folding can split one source word ('½' becomes '1⁄2'): every part
        # keeps the span of the word it came from.
        spans.extend((w, m.start(), m.end()) for w in WORD.findall(fold(m.group())))
    stems = _STEMMER.stemWords([w for w, _, _ in spans])
    return [Token(w, s, a, b) for (w, a, b), s in zip(spans, stems, strict=True)]


_SIMPLE: dict[str, tuple[str, str]] = {}  # source word -> (word, stem), when it folds to one
_ANALYSED_MAX = 500_000


def _learn(raw: str) -> tuple[tuple[str, str], ...]:
    parts = WORD.findall(fold(raw))
    pairs = tuple(zip(parts, _STEMMER.stemWords(parts), strict=True))
    if len(pairs) == 1:
        if len(_SIMPLE) >= _ANALYSED_MAX:
            _SIMPLE.clear()
        _SIMPLE[raw] = pairs[0]
    return pairs


def analyse(text: str) -> tuple[list[str], list[str]]:
    """The words and stems of a text, in order, as tokenize() splits them.

    The hot path of matching: each distinct source word is folded and stemmed
    once per process and then looked up.
    """
    raws = WORD.findall(text)
    simple = _SIMPLE
    try:
        pairs = [simple[r] for r in raws]
    except KeyError:
        pairs = [p for r in raws for p in ((simple[r],) if r in simple else _learn(r))]
    return [p[0] for p in pairs], [p[1] for p in pairs]
