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
# A fast split for ASCII text: every ASCII character that is not a letter or a
# digit becomes a space, and str.split() then finds exactly the words WORD
# finds, ~4x faster. The quotes, dashes and spaces English news is full of are
# blanked first (str.replace is C-fast), so most English text takes this path.
_BLANKS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_PUNCTUATION = "\u00a0\u00ab\u00bb\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026"
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
WORD_OF: dict[str, str] = {}
STEM_OF: dict[str, str] = {}
_CACHE_MAX = 200_000  # words; bounds the memory a long-running worker keeps


def _learn(raw: str) -> list[str]:
    """Fold and stem a new source word; return the source words it stands for."""
    if len(STEM_OF) >= _CACHE_MAX:
        WORD_OF.clear()
        STEM_OF.clear()
    parts = WORD.findall(fold(raw))
    stems = _STEMMER.stemWords(parts)
    if len(parts) == 1:
        WORD_OF[raw], STEM_OF[raw] = parts[0], stems[0]
        return [raw]
    # Folding split it ('½' is '1⁄2'): each part stands for itself.
    for part, s in zip(parts, stems, strict=True):
        WORD_OF[part], STEM_OF[part] = part, s
    return parts


def _fast_split(text: str) -> list[str] | None:
    if not text.isascii():
        for c in _PUNCTUATION:
            if c in text:
                text = text.replace(c, " ")
        if not text.isascii():
            return None
    return text.translate(_BLANKS).split()


def source_words(text: str) -> list[str]:
    """The source words of a text, in order, each one folded and stemmed once per process.

    The hot path of matching: after this, `WORD_OF[raw]` and `STEM_OF[raw]`
    hold every word's folded form and stem, to be looked up only when needed.
    """
    raws = _fast_split(text)
    if raws is None:
        raws = WORD.findall(text)
    if STEM_OF.keys() >= set(raws):
        return raws
    return [part for r in raws for part in ((r,) if r in STEM_OF else _learn(r))]


def analyse(text: str) -> tuple[list[str], list[str], list[str]]:
    """The source words, folded words and stems of a text, in order, as tokenize() splits them."""
    raws = source_words(text)
    return raws, [WORD_OF[r] for r in raws], [STEM_OF[r] for r in raws]


def word_and_stem(raw: str) -> tuple[str, str]:
    if raw not in STEM_OF:
        _learn(raw)
    return WORD_OF[raw], STEM_OF[raw]
