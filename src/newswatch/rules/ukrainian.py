"""A light Ukrainian stemmer (Snowball has none): suffixes stripped after the first vowel.

Modelled on the Russian Snowball algorithm and on published Ukrainian ports of
it: a perfective gerund, else a reflexive ending, then an adjectival, verbal or
noun ending; then a final и/і, a derivational -ость/-ост, a superlative, a
soft sign and a doubled н. Good enough that the forms a news headline uses
(дрон, дрони, дронів, дронами; атака, атаки, атакою) meet, and cheap: each word
is stemmed once per process and cached.
"""

from __future__ import annotations

import re

_VOWEL = re.compile("[аеиоуюяіїє]")
_PERFECTIVE_GERUND = re.compile("(?:ивши|ившись|вши|вшись|ши|шись)$")
_REFLEXIVE = re.compile("(?:ся|сь|си)$")
_ADJECTIVE = re.compile(
    "(?:ими|іми|ого|ому|ої|ій|ий|ім|им|их|іх|ою|ею|ая|яя|ое|ее|а|е|є|я|у|ю|і)$")
_VERB = re.compile(
    "(?:ати|яти|ити|іти|ать|ять|ить|уть|ють|ємо|имо|ете|ите|ала|ало|али|ила|ило|или|ав|ив|"
    "ує|ували|ував|увала)$")
_NOUN = re.compile(
    "(?:ями|ами|ові|еві|єві|ях|ах|ям|ам|ом|ем|єм|ів|їв|ей|ой|ою|ею|єю|ія|ії|ію|ью|ья|"
    "а|е|є|и|і|ї|й|о|у|ю|я|ь)$")
_DERIVATIONAL = re.compile("ост[ь]?$")
_SUPERLATIVE = re.compile("(?:ейш|ейше|іш|іше)$")


def stem(word: str) -> str:
    """The stem of a lower-case Ukrainian word."""
    m = _VOWEL.search(word)
    if not m:
        return word
    head, rv = word[: m.end()], word[m.end() :]
    step = _PERFECTIVE_GERUND.sub("", rv, count=1)
    if step == rv:
        rv = _REFLEXIVE.sub("", rv, count=1)
        for pattern in (_ADJECTIVE, _VERB, _NOUN):
            shorter = pattern.sub("", rv, count=1)
            if shorter != rv and shorter:  # never the whole region: Київ stays Київ
                rv = shorter
                break
    else:
        rv = step
    rv = re.sub("[иі]$", "", rv)
    if _DERIVATIONAL.search(rv) and _VOWEL.search(rv[:-4] or ""):
        rv = _DERIVATIONAL.sub("", rv)
    rv = _SUPERLATIVE.sub("", rv)
    if rv.endswith("нн"):
        rv = rv[:-1]
    rv = rv.removesuffix("ь")
    return head + rv
