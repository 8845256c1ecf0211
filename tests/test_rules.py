"""The matcher, by table: (query, article, expected)."""

from __future__ import annotations

import pytest

from newswatch.errors import QueryError
from newswatch.rules import CompiledRule, Document, Matcher, evaluate, parse, snippet

T = "title"
S = "summary"
C = "content"

CASES: list[tuple[str, dict[str, str], bool]] = [
    # words are ANDed, anywhere in the article
    ("Putin summit", {T: "Putin arrives", S: "for the summit in Alaska"}, True),
    ("Putin summit", {T: "Putin arrives in Alaska"}, False),
    # phrases: consecutive, in order
    ('"drone attack"', {T: "Largest drone attack on Kyiv"}, True),
    ('"drone attack"', {T: "Attack drone shot down"}, False),
    ('"drone attack"', {T: "drone and attack"}, False),
    # OR, NOT, -word, parentheses
    ("drone OR missile", {T: "Missile strike"}, True),
    ("drone OR missile", {T: "Artillery strike"}, False),
    ("drone -exercise", {T: "Drone spotted during exercise"}, False),
    ("drone -exercise", {T: "Drone spotted over base"}, True),
    ("drone NOT exercise", {T: "Drone exercise"}, False),
    ('drone -"light show"', {T: "Drone light show in Paris"}, False),
    ('drone -"light show"', {T: "Drone show; light rain"}, True),
    ('(coalition OR "reassurance force") (Ukraine OR postwar)',
     {T: "Reassurance force for postwar Ukraine"}, True),
    ('(coalition OR "reassurance force") (Ukraine OR postwar)',
     {T: "Coalition talks collapse in Berlin"}, False),
    ("a OR b c", {T: "a"}, True),  # AND binds tighter than OR: a OR (b c)
    ("a OR b c", {T: "b"}, False),
    ("drone AND attack", {T: "attack by drone"}, True),
    # words, not substrings
    ("war", {T: "A warning from Warsaw about postwar plans"}, False),
    ("war", {T: "The war in Sudan"}, True),
    ("war", {T: "Wars rage on"}, True),
    # normalisation: case, accents, NFKC, punctuation splits words
    ("ORBAN", {T: "Viktor Orbán speaks"}, True),
    ("orbán", {T: "VIKTOR ORBAN SPEAKS"}, True),
    ('"drone attack"', {T: "A Drone-Attack on the port"}, True),
    ('"Section 333"', {S: "under Section 333's authority"}, True),
    ("333", {S: "Section 333's authority"}, True),
    ("fi", {T: "ﬁ"}, True),  # NFKC ligature
    ("kyiv", {T: "ＫＹＩＶ"}, True),  # fullwidth
    ("strasse", {T: "Straße"}, True),  # case folding
    ("drone-attack", {T: "drone attack reported"}, True),  # a hyphenated word is a phrase
    ("drone-attack", {T: "attack drone reported"}, False),
    # stemming
    ("attack", {T: "Overnight attacks on Odesa"}, True),
    ("drones", {T: "A drone fell"}, True),
    ('"largest drone attack"', {T: "the largest drone attacks yet"}, True),
    ("sanction", {T: "New sanctions announced"}, True),
    # fields: words may be in different fields, a phrase never spans two
    ('"drone attack"', {T: "Kyiv hit by drone", S: "attack overnight"}, False),
    ("drone attack", {T: "Kyiv hit by drone", S: "attack overnight"}, True),
    ('"drone attack"', {C: "after the drone attack"}, True),
    # HTML is removed and entities decoded before matching (see test_parse)
    ("nuclear", {T: ""}, False),
]


@pytest.mark.parametrize(("query", "fields", "expected"), CASES)
def test_query_table(query: str, fields: dict[str, str], expected: bool) -> None:
    doc = Document.of(**fields)
    assert evaluate(parse(query), doc) is expected
    # The compiled matcher agrees with direct evaluation.
    assert (Matcher([CompiledRule("r", parse(query))]).match(doc) == ["r"]) is expected


ERRORS = [
    ("(drone attack", "unbalanced parenthesis", 1),
    ("drone attack)", "unbalanced parenthesis", 13),
    ("(coalition OR force) (Ukraine OR", "OR without a right operand", 31),
    ("OR drone", "OR without a left operand", 1),
    ("drone ()", "empty group", 7),
    ('"drone attack', "unterminated quote", 1),
    ("-exercise", "only excludes", 1),
    ("drone OR -exercise", "only excludes", 1),
    ("drone NOT", "NOT without an operand", 7),
    ("", "empty query", 1),
    ("drone AND", "AND needs an operand", 7),
    ('"!!"', "has no letters or digits", 1),
]


@pytest.mark.parametrize(("query", "message", "column"), ERRORS)
def test_invalid_queries_name_the_problem_and_column(query: str, message: str,
                                                     column: int) -> None:
    with pytest.raises(QueryError) as e:
        parse(query)
    assert message in e.value.message
    assert e.value.column == column


def test_matcher_finds_only_matching_rules_among_many() -> None:
    rules = [CompiledRule(f"r{i}", parse(f'"word{i} drone" OR topic{i}')) for i in range(500)]
    rules.append(CompiledRule("drone", parse("drone -exercise")))
    matcher = Matcher(rules)
    doc = Document.of(title="word7 drones over topic42", summary="no exercise here")
    assert matcher.match(doc) == ["r7", "r42"]


def test_snippet_shows_words_around_the_match_with_hits_marked() -> None:
    text = ("In a long report about the energy grid, officials said that the largest "
            "drone attack of the war struck substations across the west of the country "
            "late on Tuesday, leaving many without power for hours.")
    doc = Document.of(title="Overnight strikes", summary=text)
    out = snippet(doc, [parse('"largest drone attack"')], width=5)
    assert "**largest drone attack**" in out
    assert out.startswith("…") and out.endswith("…")
    assert "energy grid" not in out  # only the words around the hit
