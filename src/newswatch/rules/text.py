"""How text becomes words, the same way for articles and queries.

Unicode NFKC, case-folded, accents removed, split at anything that is not a
letter or digit (Chinese, Japanese and Korean runs into character pairs),
then stemmed in the article's language (see _stem_all). Every token
remembers where it stands in the text it came from, for snippets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import Stemmer

from .caches import INTERNED_BYTES, WORDS_BYTES, Budget, Memo, entry_bytes
from .ukrainian import stem as stem_ukrainian

WORD = re.compile(r"[^\W_]+")
# A fast split for ASCII text: every ASCII character that is not a letter or a
# digit becomes a space, and str.split() then finds exactly the words WORD
# finds, ~4x faster. The quotes, dashes and spaces English news is full of are
# blanked first (str.replace is C-fast), so most English text takes this path.
_BLANKS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_PUNCTUATION = "\u00a0\u00ab\u00bb\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026"


@dataclass(frozen=True, slots=True)
class Token:
    word: str  # normalised, not stemmed
    stem: str
    start: int  # character span in the source text
    end: int


def fold(text: str) -> str:
    """NFKC, case-fold and strip accents: 'Orbán' and 'ORBAN' fold alike."""
    if text.isascii():  # none of the three changes an ASCII character but its case
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


# -- languages -------------------------------------------------------------------

# Language code -> Snowball stemmer (PyStemmer). Ukrainian has its own (ukrainian.py);
# Chinese, Japanese and Korean are split into character pairs and not stemmed.
SNOWBALL = {
    "en": "english", "ru": "russian", "de": "german", "fr": "french", "pl": "polish",
    "es": "spanish", "it": "italian", "pt": "portuguese", "nl": "dutch", "sv": "swedish",
    "da": "danish", "no": "norwegian", "nb": "norwegian", "nn": "norwegian", "fi": "finnish",
    "cs": "czech", "ro": "romanian", "hu": "hungarian", "tr": "turkish", "el": "greek",
    "sr": "serbian", "lt": "lithuanian", "ca": "catalan", "et": "estonian",
    "id": "indonesian", "ga": "irish", "eu": "basque", "hy": "armenian", "ar": "arabic",
    "fa": "persian", "hi": "hindi", "ne": "nepali", "ta": "tamil", "yi": "yiddish",
}
CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})
LANGUAGES = frozenset({*SNOWBALL, "uk", *CJK_LANGUAGES})
# What a rule's words are stemmed in when neither the config nor the rule says.
DEFAULT_LANGUAGES = ("en", "uk", "ru", "pl", "de", "fr")
_SCRIPT_OF_LANGUAGE = {"ru": "cyrillic", "uk": "cyrillic", "sr": "cyrillic", "el": "greek",
                       "ar": "arabic", "fa": "arabic", "hi": "devanagari", "ne": "devanagari",
                       "hy": "armenian", "ta": "tamil", "yi": "hebrew"}
_STEMMED = frozenset({*SNOWBALL, "uk"})
_UKRAINIAN_LETTERS = frozenset("іїєґ")
CJK = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
                  "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
                  "\U00020000-\U0002fa1f]+")


def language_code(value: str | None) -> str:
    """'en-US', 'uk_UA', 'EN' -> 'en', 'uk', 'en'; '' when not a language newswatch knows."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else ""


# Unicode blocks newswatch tells apart: which script a letter belongs to.
_BLOCKS = ((0x370, 0x400, "greek"), (0x400, 0x530, "cyrillic"), (0x530, 0x590, "armenian"),
           (0x590, 0x600, "hebrew"), (0x600, 0x700, "arabic"), (0x900, 0x980, "devanagari"),
           (0xB80, 0xC00, "tamil"), (0x3040, 0x3100, "kana"), (0x3400, 0x4DC0, "han"),
           (0x4E00, 0xA000, "han"), (0xAC00, 0xD7B0, "hangul"))


def _char_script(c: str) -> str | None:
    """The script of one character; None for digits, punctuation and unknown blocks."""
    o = ord(c)
    if o < 0x250:
        return "latin" if c.isalpha() else None
    return next((name for lo, hi, name in _BLOCKS if lo <= o < hi), None)


def _script(word: str) -> str:
    """The script of a word's first letter that has one ("other" if none)."""
    return next((s for s in map(_char_script, word) if s), "other")


def _route(word: str, language: str) -> str:
    """The stemmer for one word of an article in `language`: its own, unless the word
    is in another script (a Latin name in a Russian article, a Russian quote in an
    English one); then the usual language of that script."""
    script = _script(word)
    if script == _SCRIPT_OF_LANGUAGE.get(language, "latin") and language in _STEMMED:
        return language
    if script == "cyrillic":
        return "uk" if _UKRAINIAN_LETTERS.intersection(word) else "ru"
    if script == "latin":
        return "en"
    return {"greek": "el", "arabic": "ar", "devanagari": "hi", "armenian": "hy",
            "tamil": "ta", "hebrew": "yi"}.get(script, "")


@cache
def _snowball(name: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(name)


def _stem_all(raws: list[str], language: str) -> list[str]:
    """Stems of source words (already learned) for an article in `language`.

    Stems in languages other than English carry the language ('ru:дрон'), so a
    German stem can never meet an unrelated English one; CJK pairs and words of
    scripts without a stemmer stand as they are.
    """
    out: list[str] = []
    for raw in raws:
        word = WORD_OF[raw]
        if CJK.match(word):
            out.append(word)
            continue
        lang = _route(word, language)
        if lang == "en":
            out.append(_snowball("english").stemWord(word))
        elif lang == "uk":
            out.append("uk:" + fold(stem_ukrainian(_lower(raw))))
        elif lang:
            out.append(f"{lang}:" + fold(_snowball(SNOWBALL[lang]).stemWord(_lower(raw))))
        else:
            out.append(word)
    return out


def _lower(raw: str) -> str:
    """Case-folded, accents kept: what a non-English stemmer expects."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", raw).casefold())


def words(text: str) -> list[str]:
    """The normalised, unstemmed words of a text (CJK as character pairs)."""
    return [WORD_OF[r] for r in source_words(text)]


def tokenize(text: str, language: str = "en") -> list[Token]:
    """Split text into stemmed tokens that keep their source spans.

    A word that folding splits ('½' is '1⁄2') gives every part its span; a run
    of CJK characters gives each character pair the span of its first character
    (the last pair both), so the spans of a highlighted run join up.
    """
    spans: list[tuple[str, int, int]] = []
    for m in WORD.finditer(text):
        raw, start, end = m.group(), m.start(), m.end()
        if raw in WORD_OF:  # a word already learned folds to one word: itself, one span
            spans.append((raw, start, end))
            continue
        parts = source_words(raw)
        folded = _folded(raw)
        if len(parts) > 1 and len(folded) == len(raw) and CJK.search(folded):
            units = [u for p in WORD.finditer(folded) for u in _units(p.group(), p.start())]
            spans.extend((u, start + a, start + b) for u, a, b in units)
        else:
            spans.extend((part, start, end) for part in parts)
    stems = stems_of([r for r, _, _ in spans], language)
    return [Token(WORD_OF[r], s, a, b) for (r, a, b), s in zip(spans, stems, strict=True)]


# -- the word table ----------------------------------------------------------------

# Source word -> its folded word, for words that fold to exactly one word; and per
# language, source word -> stem. Filled as words are met; emptied together (a word
# with a stem always has its folded form) when past WORDS_BYTES (see caches.py), and
# only where a call begins to learn words, so that the words of the text in hand
# stay learned until the call returns.
WORD_OF: dict[str, str] = {}
STEMS: dict[str, dict[str, str]] = {}
# Source words that fold to several (a CJK run, '½') -> their folded text. Only their
# parts are in WORD_OF, so they are learned again whenever met: not folded again.
SPLIT: dict[str, str] = {}
WORDS = Budget(WORDS_BYTES)


def _make_room() -> None:
    if WORDS.over():
        WORD_OF.clear()
        STEMS.clear()
        SPLIT.clear()
        WORDS.used = 0


def _folded(raw: str) -> str:
    found = SPLIT.get(raw)
    return fold(raw) if found is None else found


def stems_of(raws: list[str], language: str) -> list[str]:
    """The stems of learned source words in an article in `language`, cached."""
    table = STEMS.get(language)
    if table is not None:
        try:
            return [table[r] for r in raws]
        except KeyError:
            pass
    _make_room()
    table = STEMS.setdefault(language, {})
    missing = list({r for r in raws if r not in table})
    for r in missing:
        if r not in WORD_OF:  # the table was emptied since: learn again
            _learn(r)
    stems = _stem_all(missing, language)
    table.update(zip(missing, stems, strict=True))
    WORDS.spend(sum(map(entry_bytes, missing, stems)))
    return [table[r] for r in raws]


def _units(folded: str, offset: int = 0) -> list[tuple[str, int, int]]:
    """A folded word's matching units with their spans: itself, or its CJK runs as
    overlapping character pairs (each spanning its first character; the last, both)."""
    if not CJK.search(folded):
        return [(folded, offset, offset + len(folded))]
    out: list[tuple[str, int, int]] = []
    at = 0
    for m in CJK.finditer(folded):
        if m.start() > at:
            out.append((folded[at : m.start()], offset + at, offset + m.start()))
        run, base = m.group(), offset + m.start()
        if len(run) == 1:
            out.append((run, base, base + 1))
        for i in range(len(run) - 1):
            out.append((run[i : i + 2], base + i, base + i + (2 if i == len(run) - 2 else 1)))
        at = m.end()
    if at < len(folded):
        out.append((folded[at:], offset + at, offset + len(folded)))
    return out


def _learn(raw: str) -> list[str]:
    """Fold a new source word; return the source words it stands for."""
    folded = _folded(raw)
    parts = [unit for part in WORD.findall(folded) for unit, _, _ in _units(part)]
    if len(parts) == 1:
        word = WORD_OF[raw] = raw if parts[0] == raw else parts[0]  # one string if alike
        WORDS.spend(entry_bytes(raw, word))
        return [raw]
    # Folding split it ('½' is '1⁄2'), or it is CJK: each part stands for itself.
    new = [part for part in parts if part not in WORD_OF]
    WORD_OF.update(zip(new, new, strict=True))
    nbytes = sum(map(entry_bytes, new))
    if raw not in SPLIT:
        SPLIT[raw] = folded
        nbytes += entry_bytes(raw, folded)
    WORDS.spend(nbytes)
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
    """The source words of a text, in order, each folded once while the word table
    holds it.

    The hot path of matching: after this, `WORD_OF[raw]` holds every word's
    folded form; stems_of() finds their stems in an article's language.
    """
    return source_word_set(text)[0]


def _split(text: str) -> list[str]:
    """The words of a text as written, in order, neither folded nor learned."""
    raws = _fast_split(text)
    return raws if raws is not None else WORD.findall(text)


def raw_words(text: str) -> set[str]:
    """The distinct words of a text as written: what the matcher's trigger lookup
    takes (it learns a word the first time it meets it)."""
    return set(_split(text))


def source_word_set(text: str) -> tuple[list[str], set[str]]:
    """source_words(), and the set of them (made anyway, to find the new ones)."""
    raws = _split(text)
    found = set(raws)
    if WORD_OF.keys() >= found:
        return raws, found
    _make_room()
    raws = [part for r in raws for part in ((r,) if r in WORD_OF else _learn(r))]
    return raws, set(raws)


def word_and_stem(raw: str, language: str = "en") -> tuple[str, str]:
    if raw not in WORD_OF:
        _make_room()
        _learn(raw)
    return WORD_OF[raw], stems_of([raw], language)[0]


# -- language detection ----------------------------------------------------------

_STOPWORDS = {
    "en": "the of and to in is for on that with as by at from was are has have will said it "
          "its an be this after over not but who new says into amid",
    "de": "der die das und ist nicht mit von den dem zu im auf für des ein eine sich auch "
          "nach bei wird wurde sind über aus einer an seit gegen",
    "fr": "le la les et des du un une est pour dans que qui sur au aux par pas avec ce "
          "sont ont été plus son sa contre après l d",
    "pl": "w na nie z do się że to jest jak po od za przez dla przy już jego ale są "
          "został była roku nad oraz",
    "es": "el los las y del en que un una por con para es se al su más como fue han sus "
          "contra sobre",
    "it": "il le di del della dell che per con non è sono dei nel alla gli ha anche più "
          "contro dopo",
    "pt": "os as do da que um uma para com não em no na se por mais foi são ao dos",
    "nl": "het een en van is op te dat voor met zijn niet aan bij ook door naar werd",
    "ru": "и в на не что с по как от после это о за для из к у же был была были также",
    "uk": "і й в у на не що з по як від після це про за для із до та був була були також",
}
_STOPSETS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
# Letters that only some languages use: one point each for them.
_LETTERS = {"pl": "ąćęłńśźż", "de": "äöüß", "fr": "çèêëîïôûœàù", "es": "ñ¿¡áíú",
            "pt": "ãõâ", "it": "ìòà", "uk": "іїєґ'’", "ru": "ыэъё"}


def detect_language(*texts: str) -> str:
    """A guess at the language of headlines, for feeds that declare none.

    By script first (kana is Japanese, hangul Korean, other Han Chinese); then,
    among the languages of that script, by common short words (two points each)
    and letters only some of them use (one point each); English or Russian when
    nothing stands out. Measured on the short headlines of tests/data/headlines.tsv
    (`python bench/languages.py`); a feed's `language` key settles any doubt.
    """
    text = " ".join(texts)[:600]
    lowered = text.lower()
    if text.isascii():  # most feeds: Latin letters or none, without a look at each
        if lowered == text.upper():
            return ""
        script = "latin"
    else:
        counts = {"latin": 0, "cyrillic": 0, "han": 0, "kana": 0, "hangul": 0}
        for c in text:
            kind = _char_script(c)
            if kind in counts:
                counts[kind] += 1
        script = max(counts, key=lambda k: counts[k])
        if not counts[script]:
            return ""
        if script in ("han", "kana"):
            return "ja" if counts["kana"] else "zh"
        if script == "hangul":
            return "ko"
    candidates = ("ru", "uk") if script == "cyrillic" else (
        "en", "de", "fr", "pl", "es", "it", "pt", "nl")
    tokens = WORD.findall(lowered)
    scores = {lang: 2 * sum(t in _STOPSETS[lang] for t in tokens)
              + sum(lowered.count(c) for c in _LETTERS.get(lang, "")) for lang in candidates}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > scores[candidates[0]] else candidates[0]


# -- query words ---------------------------------------------------------------

_query_languages: tuple[str, ...] = DEFAULT_LANGUAGES
# (languages, canonical stem) -> every stem the word has in those languages. Not a
# cache, so not bounded: what the words of rules mean (slot() reads an entry long
# after query_stem() wrote it, when synonyms expand), and it grows with the words of
# rules, never with those of articles.
_ALTERNATES: dict[tuple[tuple[str, ...], str], set[str]] = {}
# One shared copy of each set of stems; emptied when past INTERNED_BYTES, which only
# ends the sharing of what was in it (each set stays where it is used).
_INTERNED: Memo[frozenset[str], frozenset[str]] = Memo(lambda keys: keys, INTERNED_BYTES)


@contextmanager
def query_languages(languages: Sequence[str]) -> Iterator[None]:
    """Rule words parsed inside are stemmed in each of these languages."""
    global _query_languages
    saved, _query_languages = _query_languages, tuple(languages) or DEFAULT_LANGUAGES
    try:
        yield
    finally:
        _query_languages = saved


def query_stem(raw: str) -> str:
    """A rule word's canonical stem (English, or its script's language), remembering the
    stems it has in each of the rule languages, which slot() then matches."""
    canonical = stems_of([raw], "en")[0]
    found = _ALTERNATES.setdefault((_query_languages, canonical), {canonical})
    for language in _query_languages:
        found.add(stems_of([raw], language)[0])
    return canonical


def slot(canonical: str) -> frozenset[str]:
    """The stems a rule word matches: its stem in every rule language.

    Shared between rules (a small frozenset costs ~200 bytes; 10,000 rules
    repeat their words often).
    """
    return intern(frozenset(_ALTERNATES.get((_query_languages, canonical), (canonical,))))


def intern(keys: frozenset[str]) -> frozenset[str]:
    """One shared copy of a set of stems: 10,000 rules repeat their words, and the
    sets built from them (synonym slots, OR-group prechecks), often."""
    return _INTERNED(keys)

