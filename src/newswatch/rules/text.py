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


# Source word -> its folded word and its stem, for words that fold to exactly one word.
_WORD_OF: dict[str, str] = {}
_STEM_OF: dict[str, str] = {}
_CACHE_MAX = 500_000


def _learn(raw: str) -> list[str]:
    """Fold and stem a new source word; return the source words it stands for."""
    if len(_STEM_OF) >= _CACHE_MAX:
        _WORD_OF.clear()
        _STEM_OF.clear()
    parts = WORD.findall(fold(raw))
    stems = _STEMMER.stemWords(parts)
    if len(parts) == 1:
        _WORD_OF[raw], _STEM_OF[raw] = parts[0], stems[0]
        return [raw]
    # Folding split it ('½' is '1⁄2'): each part stands for itself.
    for part, s in zip(parts, stems, strict=True):
        _WORD_OF[part], _STEM_OF[part] = part, s
    return parts


def analyse(text: str) -> tuple[list[str], list[str], list[str]]:
    """The source words, folded words and stems of a text, in order, as tokenize() splits them.

    The hot path of matching: each distinct source word is folded and stemmed
    once per process and then looked up.
    """
    raws = WORD.findall(text)
    stem_of, word_of = _STEM_OF, _WORD_OF
    try:
        return raws, [word_of[r] for r in raws], [stem_of[r] for r in raws]
    except KeyError:
        raws = [part for r in raws for part in ((r,) if r in stem_of else _learn(r))]
        return raws, [word_of[r] for r in raws], [stem_of[r] for r in raws]


def word_and_stem(raw: str) -> tuple[str, str]:
    if raw not in _STEM_OF:
        _learn(raw)
    return _WORD_OF[raw], _STEM_OF[raw]
