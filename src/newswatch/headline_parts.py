"""What a headline is made of, beside its words: the outlet's name and wire or
live-blog labels around it (`strip_affixes`), and the numbers it names, written
any way (`numbers_of`): digits, ordinals, number words, Roman numerals, days and
months, in the languages newswatch stems. stories.py compares headlines with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .rules.text import fold

# -- outlet affixes -----------------------------------------------------------------

# "Title - BBC News", "Title | AP News": an outlet's name is not part of its headline.
# Known names, and words that make a short segment an outlet's name.
_OUTLETS = frozenset(fold(name.strip()) for name in """
reuters|ap|afp|upi|dpa|pap|tass|bbc|cnn|cnbc|npr|pbs|dw|rfe/rl|al jazeera|politico|axios
|politico europe|bloomberg|euronews|france 24|franceinfo|le monde|le figaro|libération|rfi
|ouest-france|bfmtv|lci|zdfheute|tagesschau|zeit online|rzeczpospolita|tvn24|onet|interia
|meduza|медуза|рбк|тасс|риа новости|интерфакс|коммерсантъ|ведомости|уніан|укрінформ|главком
|тсн|hromadske|громадське|ukrinform|unian|economist|forbes|newsweek|the hill|semafor|vox
""".split("|"))
_OUTLET_WORDS = frozenset(fold(w) for w in """
news times post journal guardian independent telegraph herald tribune gazette gazeta zeitung
spiegel pravda правда новини новости газета радіо радио wiadomości radio tv daily press
monde insider express mail mirror standard observer chronicle
""".split())
# Labels around a headline: live blogs, wire services' flags, formats.
_LABELS = frozenset(fold(label.strip()) for label in """
live|live updates|live blog|liveblog|as it happened|video|watch|photos|in pictures|podcast
|opinion|analysis|explainer|exclusive|breaking|breaking news|update|updated|developing
|just in|urgent|factbox|fact check|eilmeldung|eil|exklusiv|live-ticker|liveticker|ticker
|analyse|kommentar|en direct|direct|vidéo|exclusif|décryptage|alerte|терміново|наживо|онлайн
|відео|фото|ексклюзив|блискавка|оновлено|срочно|молния|видео|эксклюзив|обновлено|pilne
|na żywo|relacja na żywo|relacja|wideo|zdjęcia|tylko u nas|z ostatniej chwili
""".split("|"))
# A topic label ending so is a live blog's: "Russia-Ukraine war live: ...".
_LIVE_ENDINGS = tuple(" " + fold(w) for w in """
live|live updates|briefing|liveblog|im liveblog|live-ticker|as it happened|en direct|наживо
|онлайн|na żywo""".replace("\n", "").split("|"))
_WIRE_FLAG = re.compile(r"^(?:UPDATE|WRAPUP|CORRECTED|CORRECTION|REFILE|RPT|EXCLUSIVE|FACTBOX"
                        r"|INSIGHT|ANALYSIS|FOCUS|BREAKINGVIEWS|GRAPHIC|EXPLAINER|POLL|TIMELINE"
                        r"|FEATURE|BREAKING|URGENT|FLASH|VIDEO|LIVE|PREVIEW)(?: \d+)?-(?=\S)")
_PREFIX = re.compile(r"^(.{1,60}?)(?:\s*[:|]|\.(?=\s)|\s[-–—](?=\s))\s*")
# Patterns that may meet long runs of spaces start only where a run starts (?<!\s):
# one that starts anywhere in the run scans the rest of it each time, in square time.
_SEPARATOR = re.compile(r"(?<!\s)\s+[-–—|·•]\s+")
_CREDIT = re.compile(r"[(\[](?:reuters|ap|afp|dpa|pap|upi|video|photos?|live|updated?|watch"
                     r"|wideo|відео|видео)[)\]]", re.IGNORECASE)
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}(?!\d)")  # n-tv: "+++ 08:15 ... +++"
_DOMAIN = re.compile(r"\.[a-z]{2,4}$")
_DATE_ONLY = re.compile(r"^[\d/.\-]+$")


def strip_affixes(title: str) -> str:
    """A headline without its outlet's name and labels: "UPDATE 2-Russia strikes Kyiv -
    Reuters" is "Russia strikes Kyiv". Never empty: a title that is all label stays."""
    text = _strip_ticker(_CREDIT.sub("", title).strip())
    for _ in range(4):  # "RPT-UPDATE 2-...", "... - DW - 09/23/2025"
        stripped = _strip_suffix(_strip_prefix(text))
        if stripped == text:
            break
        text = stripped
    return text or title


def _strip_ticker(text: str) -> str:
    if text.startswith("+++"):
        text = text[3:].lstrip()
        clock = _CLOCK.match(text)
        text = text[clock.end():] if clock else text
    return text.removesuffix("+++").strip()


def _strip_prefix(text: str) -> str:
    flag = _WIRE_FLAG.match(text)
    if flag:
        return text[flag.end():]
    label = _PREFIX.match(text)
    if label and text[label.end():]:
        name = fold(label.group(1)).strip()
        if name in _LABELS or name.endswith(_LIVE_ENDINGS):
            return text[label.end():]
    return text


def _strip_suffix(text: str) -> str:
    last = max(_SEPARATOR.finditer(text), key=lambda m: m.start(), default=None)
    if last is None or last.start() == 0:
        return text
    tail = fold(text[last.end():]).strip()
    if tail in _LABELS or _DATE_ONLY.match(tail) or _is_outlet(tail):
        return text[: last.start()]
    return text


def _is_outlet(name: str) -> bool:
    name = name.removeprefix("the ")
    if name in _OUTLETS:
        return True
    words = name.split()
    return len(words) <= 5 and (bool(_DOMAIN.search(name)) or any(
        w in _OUTLET_WORDS for w in re.findall(r"[^\W\d_]+", name)))

# -- numbers ------------------------------------------------------------------------

# Number words, ordinals, days and months, by value: groups separated by "|", the
# first group is 1 (for months and days: the first month or day). Folded as
# headlines are (accents off, 'й' is 'и'), apostrophes left out ("п'ять": "пять").
_CARDINALS = """
one jeden jedna jedno один одна одно одне | two zwei deux dwa dwie dwoch dwaj dwoje два две
двух двое дві двох двоє | three drei trois trzy trzech troje три трех трое трьох троє | four
vier quatre cztery czterech четыре четырех четверо чотири чотирьох | five funf cinq piec pieciu
пятеро | six sechs szesc шестеро шість | seven sieben siedem семь сім | eight acht huit osiem
восемь вісім | nine neun dziewiec | ten zehn dix dziesiec | eleven elf onze | twelve zwolf
douze | thirteen treize | fourteen quatorze | fifteen quinze | sixteen seize | seventeen |
eighteen | nineteen | twenty zwanzig vingt
"""
_ORDINALS = """
first premier premiere premiers premieres | second seconde deuxieme другии другоі другіи друге
| third troisieme | fourth quatrieme | fifth cinquieme | sixth sixieme | seventh septieme |
eighth huitieme | ninth neuvieme | tenth dixieme | eleventh onzieme | twelfth douzieme |
thirteenth | fourteenth | fifteenth | sixteenth | seventeenth | eighteenth | nineteenth |
twentieth vingtieme
"""
# Stems that take an ending (German, Polish, Russian and Ukrainian ordinals; Russian and
# Ukrainian cardinals from five on): "17-й" is written "семнадцатый" too.
_STEMS = """
erst pierwsz перв перш | zweit drug втор | dritt trzec трет | viert czwart четверт | funft
piat пят | sechst szost шест шост | siebt siebent siodm седьм сьом | acht osm восьм | neunt
dziewiat девят | zehnt dziesiat десят | elft одиннадцат одинадцят | zwolft двенадцат дванадцят
| тринадцат | четырнадцат чотирнадцят | пятнадцат | шестнадцат шістнадцят | семнадцат
сімнадцят | восемнадцат вісімнадцят | девятнадцат | zwanzigst двадцат
"""
_ENDING = re.compile(r"e|en|er|es|em|[aeiouyjmghc]{1,4}|[аеиоуыяюіьгмхє]{1,4}")
_CARDINAL_ENDINGS = frozenset({"ь", "и", "ью"})  # "пять", "пяти": five, not fifth
_TENS = "thirty forty fifty sixty seventy eighty ninety".split()
_MAGNITUDES = """
thousand thousands тисяча тисячі тисяч тысяча тысячи тысяч tysiac tysiace tysiecy tausend mille
| million millions mln mn мільйон мільйони мільйонів млн миллион миллиона миллионов milion
miliony milionow mio millionen | billion billions bn bln мільярд мільярди мільярдів млрд
миллиард миллиарда миллиардов miliard miliardy miliardow mld mrd milliarde milliarden milliard
milliards | trillion trillions tn трильйон триллион bilion
"""
_SUFFIX_MAGNITUDE = {"k": "e3", "m": "e6", "mn": "e6", "mln": "e6", "b": "e9", "bn": "e9",
                     "bln": "e9", "mld": "e9", "mrd": "e9", "tn": "e12", "trn": "e12"}
_ORDINAL_SUFFIXES = frozenset("st nd rd th e er re ere eme ieme".split())
_DAYS = """
monday montag lundi poniedziałek poniedziałku понеділок понеділка понеділку понедельник
понедельника | tuesday dienstag mardi wtorek wtorku вівторок вівторка вівторку вторник
вторника | wednesday mittwoch mercredi sroda srode srody середа середу середи среда среду
среды | thursday donnerstag jeudi czwartek czwartku четвер четверга четвергу четверг
четверга | friday freitag vendredi piatek piatku пятниця пятницю пятниці пятница пятницу
пятницы | saturday samstag samedi sobota sobote soboty субота суботу суботи суббота субботу
субботы | sunday sonntag dimanche niedziela niedziele niedzieli неділя неділю неділі
воскресенье воскресенья
"""
_MONTHS = """
january jan januar janvier styczen stycznia styczniu січень січня январь января январе |
february feb februar fevrier luty lutego lutym лютий лютого февраль февраля феврале | marz
marca marcu marzec березень березня март марта марте | april apr avril kwiecien kwietnia
kwietniu квітень квітня апрель апреля апреле | mai maj maja maju травень травня мая мае |
june jun juni juin czerwiec czerwca czerwcu червень червня июнь июня июне | july jul juli
juillet lipiec lipca lipcu липень липня июль июля июле | august aug aout sierpien sierpnia
sierpniu серпень серпня август августа августе | september sep sept septembre wrzesien
wrzesnia wrzesniu вересень вересня сентябрь сентября сентябре | october oct oktober octobre
pazdziernik pazdziernika pazdzierniku жовтень жовтня октябрь октября октябре | november nov
novembre listopad listopada listopadzie листопад листопада ноябрь ноября ноябре | december
dec dezember decembre grudzien grudnia grudniu грудень грудня декабрь декабря декабре
"""
# Month names that are also words ("Russia may strike", "thousands march"): months only
# beside a number.
_MONTHS_BESIDE_NUMBERS = {"may": "m5", "march": "m3", "mars": "m3"}
_MONTH_BESIDE_NUMBER = re.compile(r"\d\s*(may|march|mars)\b|\b(may|march|mars)\s*\d")


def _values(groups: str, prefix: str = "") -> dict[str, str]:
    return {fold(word): f"{prefix}{i}" for i, group in enumerate(groups.split("|"), 1)
            for word in group.split()}


_CARDINAL_WORDS = {**_values(_CARDINALS), **{w: str(30 + 10 * i) for i, w in enumerate(_TENS)},
                   **{word: f"e{3 * i}" for i, group in enumerate(_MAGNITUDES.split("|"), 1)
                      for word in group.split()}}
_ORDINAL_WORDS = _values(_ORDINALS)
_DATE_WORDS = {**_values(_DAYS, "d"), **_values(_MONTHS, "m")}
_STEM_VALUES = _values(_STEMS)
_STEM = re.compile("^(" + "|".join(sorted(_STEM_VALUES, key=len, reverse=True)) + ")(.+)$")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:[,.\u00a0\u202f\u2009 ]\d{3})+(?![\d])")
_DIGITS = re.compile(r"(\d+)(?:([^\W\d_]+)|(\.)(?=\s+[^\W\d_])|-([а-яіє]{1,3})(?![^\W\d_]))?")
_WORD = re.compile(r"[^\W\d_]+")
_SUFFIXED = re.compile(r"(\d+)([^\W\d_]+)")
_ROMAN = re.compile(r"(X{0,3}(?:IX|IV|V?I{0,3}))(st|nd|rd|th|e|er|re|ème|eme)?")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}


def numbers_of(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The numbers a headline tells, as values, and those of them that are ordinals:
    "EU adopts 17th package" and "EU adopts seventeenth package" both tell "17"; days
    and months are "d1".."d7" and "m1".."m12", thousands "e3", millions "e6"."""
    numbers: set[str] = set()
    ordinals: set[str] = set()
    folded = fold(text).replace("'", "").replace("\u2019", "").replace("\u02bc", "")
    folded = plain_numbers(folded)
    for value, ordinal in [*_digit_values(folded), *_word_values(folded), *_romans(text)]:
        numbers.add(value)
        if ordinal:
            ordinals.add(value)
    return frozenset(numbers), frozenset(ordinals)


def _digits_only(number: re.Match[str]) -> str:
    return re.sub(r"\D", "", number.group())


def _digit_values(folded: str) -> Iterator[tuple[str, bool]]:
    """'17th', '17e', '17.' (German, Polish), '17-й' are ordinals; '90bn' is 90 billion."""
    for m in _DIGITS.finditer(folded):
        digits, letters, dot, cyrillic = m.groups()
        yield str(int(digits)), bool(dot or cyrillic or letters in _ORDINAL_SUFFIXES)
        if letters in _SUFFIX_MAGNITUDE:
            yield _SUFFIX_MAGNITUDE[letters], False
    for m in _MONTH_BESIDE_NUMBER.finditer(folded):
        yield _MONTHS_BESIDE_NUMBERS[m.group(1) or m.group(2)], False


def _word_values(folded: str) -> Iterator[tuple[str, bool]]:
    for word in _WORD.findall(folded):
        value = _word_value(word)
        if value is not None:
            yield value


def _word_value(word: str) -> tuple[str, bool] | None:
    """A folded word's value, and whether it is an ordinal; None if it is no number."""
    if word in _CARDINAL_WORDS:
        return _CARDINAL_WORDS[word], False
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word], True
    if word in _DATE_WORDS:
        return _DATE_WORDS[word], False
    stem = _STEM.match(word)
    if stem and _ENDING.fullmatch(stem.group(2)):
        return _STEM_VALUES[stem.group(1)], stem.group(2) not in _CARDINAL_ENDINGS
    return None


def as_word(raw: str, stem: str) -> str:
    """A headline word as compared: numbers by value, so that "two" is "2", "second" and
    "2nd" are "2.", "90bn" is "90" (and "billion" "e9")."""
    word = fold(raw)
    value = _word_value(word) if word.isalpha() else None
    if value is not None and not value[0].startswith(("d", "m")):
        return value[0] + ("." if value[1] else "")
    suffixed = _SUFFIXED.fullmatch(word)
    if suffixed is None:
        return stem
    digits, suffix = suffixed.groups()
    if suffix in _ORDINAL_SUFFIXES:
        return f"{int(digits)}."
    return str(int(digits)) if suffix in _SUFFIX_MAGNITUDE else stem


def _romans(text: str) -> Iterator[tuple[str, bool]]:
    """'XVII', 'XVIIe', 'IInd': ordinals. Not 'I', 'V' or 'X' alone (a pronoun, a sign, a
    network), nor in a headline in capitals (where 'XI' is Xi)."""
    if text.upper() == text:
        return
    for i, m in enumerate(_WORD.finditer(text)):
        roman = _ROMAN.fullmatch(m.group())
        if not roman or not roman.group(1):
            continue
        numeral, suffix = roman.groups()
        if len(numeral) >= 2 or (numeral == "I" and suffix in ("st", "er", "re") and i > 0):
            yield str(_roman_value(numeral)), True


def _roman_value(numeral: str) -> int:
    values = [_ROMAN_VALUES[c] for c in numeral]
    return sum(-v if v < after else v for v, after in zip(values, [*values[1:], 0], strict=True))


def plain_numbers(text: str) -> str:
    """Thousands written with separators as plain digits: "2,000" is "2000"."""
    return _THOUSANDS.sub(_digits_only, text)
