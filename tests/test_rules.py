"""The matcher, by table: (query, article, expected)."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from newswatch.errors import QueryError
from newswatch.rules import CompiledRule, Document, Matcher, Synonyms, evaluate, parse, snippet
from newswatch.rules.limits import MAX_NEARS, MAX_NESTING

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
    ("nuclear", {T: ""}, False),
    # NEAR/n: same field, at most n words between, either order
    ("largest NEAR/3 attack", {T: "largest ever overnight drone attack"}, True),  # 3 between
    ("largest NEAR/3 attack", {T: "largest ever massive overnight drone attack"}, False),  # 4
    ("largest NEAR/3 attack", {T: "attack was the largest"}, True),  # either order
    ("largest NEAR/0 attack", {T: "largest attack"}, True),
    ("largest NEAR/0 attack", {T: "largest drone attack"}, False),
    ("largest NEAR/3 attack", {T: "the largest", S: "attack"}, False),  # not across fields
    ("largest NEAR/3 (attack OR assault OR strike)", {T: "largest aerial strike"}, True),
    ('"drone attack" NEAR/2 Kyiv', {T: "Kyiv hit by drone attack"}, True),
    ('"drone attack" NEAR/1 Kyiv', {T: "Kyiv was hit by drone attack"}, False),
    ("drone NEAR/2 drone", {T: "drone"}, False),  # two distinct occurrences needed
    ("drone NEAR/2 drone", {T: "drone and drone"}, True),
    ("largest NEAR/3 attack -exercise", {T: "largest attack", S: "an exercise"}, False),
    ("sanction* NEAR/2 bank", {T: "banks sanctioned"}, True),
    ("a NEAR/1 b NEAR/1 c", {T: "a b c"}, True),
    ("a NEAR/1 b NEAR/1 c", {T: "a b x x x c"}, False),
    # BEFORE/n: as NEAR/n, the left operand first (who did what)
    ("Russia BEFORE/4 attack", {T: "Russia launches its largest drone attack"}, True),
    ("Russia BEFORE/4 attack", {T: "Ukraine's largest drone attack on Russia"}, False),
    ("Russia BEFORE/2 attack", {T: "Russia launches its largest drone attack"}, False),
    ("(Russia OR Moscow) BEFORE/3 (attack* OR strike*)", {T: "Moscow strikes Kyiv"}, True),
    ("(Russia OR Moscow) BEFORE/3 (attack* OR strike*)", {T: "Kyiv strikes Moscow"}, False),
    ("a BEFORE/1 b BEFORE/1 c", {T: "a b c"}, True),
    ("a BEFORE/1 b BEFORE/1 c", {T: "c b a"}, False),
    # prefix: the normalised, unstemmed word
    ("sanction*", {T: "New sanctions"}, True),
    ("sanction*", {T: "Banks sanctioned"}, True),
    ("sanction*", {T: "The sanctity of life"}, False),
    ("sanction*", {T: "Sanction"}, True),
    ("orb*", {T: "Orbán"}, True),  # accents removed before the prefix test
    ("drone*", {T: "Drones"}, True),
    ("attacke*", {T: "attacks"}, False),  # prefix is not stemmed: "attacks" lacks "attacke"
    # fields
    ("title:Putin", {T: "Putin speaks"}, True),
    ("title:Putin", {S: "Putin speaks"}, False),
    ('summary:"Section 333"', {S: "under Section 333"}, True),
    ('summary:"Section 333"', {T: "Section 333"}, False),
    ("content:(drone OR UAV)", {C: "a UAV was seen"}, True),
    ("content:(drone OR UAV)", {T: "a UAV was seen"}, False),
    ("author:Doe", {"author": "Jane Doe"}, True),
    ("Doe", {"author": "Jane Doe"}, False),  # author and category only when named
    ("category:Ukraine", {"category": ["World", "Ukraine"]}, True),
    ("TITLE:putin", {T: "Putin"}, True),
    ("title:(drone -exercise)", {T: "drone", S: "exercise"}, True),
    ("title:drone NEAR/2 attack", {T: "drone attack"}, True),
    ("drone title:exercise", {S: "drone", T: "exercise"}, True),
    # regex: case-insensitive, on the plain text of each field
    ("/sec(tion)?\\.? ?333/", {S: "Under SEC. 333 authority"}, True),
    ("/sec(tion)?\\.? ?333/", {S: "Under SEC 334"}, False),
    ("/\\bAT&T\\b/", {S: "AT&T outage"}, True),  # entities were decoded by the parser
    ("title:/^breaking/", {T: "BREAKING: strike", S: "breaking"}, True),
    ("title:/^breaking/", {T: "Not breaking", S: "breaking news"}, False),
    ("drone /\\d{3,} drones/", {T: "810 drones launched"}, True),
]

SYNONYMS = {
    "attack": ["assault", "strike", "raid"],
    "largest": ["biggest", "record"],
    "air attack": ["drone strike"],
    "UAV": ["drone", "unmanned aerial vehicle"],
}

SYNONYM_CASES: list[tuple[str, dict[str, str], bool]] = [
    ("attack", {T: "Overnight raids on Kyiv"}, True),
    ("raid", {T: "Overnight attacks on Kyiv"}, True),  # groups work both ways
    ('"largest drone attack"', {T: "biggest drone assault yet"}, True),
    ('"largest drone attack"', {T: "record drone strike"}, True),
    ('"largest drone attack"', {T: "largest drone"}, False),
    ("largest", {T: "a recorded message"}, True),  # synonyms are stemmed: record = recorded
    ('"largest air attack"', {T: "the largest drone strike"}, True),  # multi-word synonym
    ('"air attack"', {T: "a drone strike"}, True),
    ('"drone strike"', {T: "an air raid"}, False),  # a swapped-in phrase is not widened again
    ("UAV", {T: "unmanned aerial vehicles spotted"}, True),
    ("largest NEAR/2 attack", {T: "biggest ever raid"}, True),
    ("attack*", {T: "raids"}, False),  # prefixes are not widened
    ("-assault drone", {T: "drone attack"}, False),  # exclusions are widened too
]


def check(query: str, fields: dict[str, Any], expected: bool,
          synonyms: Synonyms | None = None) -> None:
    doc = Document.of(**fields)
    node = (synonyms or Synonyms()).expand(parse(query))
    assert evaluate(node, doc) is expected
    # The compiled matcher agrees with direct evaluation.
    assert (Matcher([CompiledRule("r", node)]).match(doc) == ["r"]) is expected


@pytest.mark.parametrize(("query", "fields", "expected"), CASES)
def test_query_table(query: str, fields: dict[str, Any], expected: bool) -> None:
    check(query, fields, expected)


@pytest.mark.parametrize(("query", "fields", "expected"), SYNONYM_CASES)
def test_synonym_table(query: str, fields: dict[str, Any], expected: bool) -> None:
    check(query, fields, expected, Synonyms.from_table(SYNONYMS))


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
    ("drone NEAR/3", "NEAR without a right operand", 7),
    ("drone NEAR/3 )", "NEAR without a right operand", 7),
    ("NEAR/3 drone", "NEAR without a left operand", 1),
    ("drone NEAR attack", "NEAR needs a distance", 7),
    ("(a b) NEAR/2 c", "a NEAR operand must be", 1),
    ("Russia BEFORE attack", "BEFORE needs a distance", 8),
    ("BEFORE/3 attack", "BEFORE without a left operand", 1),
    ("Russia BEFORE/3", "BEFORE without a right operand", 8),
    ("(a b) BEFORE/2 c", "a BEFORE operand must be", 1),
    ("a NEAR/2 -b", "NEAR without a right operand", 3),
    ("headline:drone", "unknown field 'headline'", 1),
    ("title:)", "field title: needs", 1),
    ("/[unclosed/", "does not compile", 1),
    ("/a*/", "matches empty text", 1),
    ("/abc", "unterminated regex", 1),
    ("drone-att*", "must be a single word", 1),
]


@pytest.mark.parametrize(("query", "message", "column"), ERRORS)
def test_invalid_queries_name_the_problem_and_column(query: str, message: str,
                                                     column: int) -> None:
    with pytest.raises(QueryError) as e:
        parse(query)
    assert message in e.value.message
    assert e.value.column == column


def test_regex_that_runs_away_is_skipped_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    matcher = Matcher([CompiledRule("slow", parse("/(a|aa)+$/")),
                       CompiledRule("fine", parse("drone"))])
    doc = Document.of(title="drone", summary="a" * 5000 + "b")
    started = time.monotonic()
    assert matcher.match(doc) == ["fine"]
    assert time.monotonic() - started < 2
    assert "rule=slow regex" in caplog.text


def test_rules_scoped_to_feeds_and_tags() -> None:
    matcher = Matcher([
        CompiledRule("any", parse("drone")),
        CompiledRule("by-name", parse("drone"), feeds=frozenset(["kyiv"])),
        CompiledRule("by-tag", parse("drone"), tags=frozenset(["defense"])),
    ])
    doc = Document.of(title="drone")
    assert matcher.match(doc, "kyiv", ["ukraine"]) == ["any", "by-name"]
    assert matcher.match(doc, "dn", ["defense", "world"]) == ["any", "by-tag"]
    assert matcher.match(doc, "bbc", ["world"]) == ["any"]


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


@pytest.mark.parametrize(("query", "text", "expected"), [
    ("largest NEAR/3 attack", "the largest overnight attack",
     "the **largest** overnight **attack**"),
    ("sanction*", "new sanctions and sanctity", "new **sanctions** and sanctity"),
    ("/\\d+ drones/", "some 810 drones fell", "some **810 drones** fell"),
    ("drone -exercise", "drone but no exercise", "**drone** but no exercise"),
    ("Orban", "Viktor Orbán's visit", "Viktor **Orbán**'s visit"),
])
def test_snippet_highlights_what_matched(query: str, text: str, expected: str) -> None:
    assert snippet(Document.of(summary=text), [parse(query)]) == expected


def _nested(levels: int, inner: str = "drone") -> str:
    """`inner` inside `levels` groups, each an OR and an AND: two syntax-tree levels."""
    for _ in range(levels):
        inner = f"(uav OR strike {inner})"
    return inner


def _near_chain(nears: int) -> str:
    return "attack" + " NEAR/1 attack" * nears


LIMIT_ERRORS = [
    # (query, message, column): refused at the first operator past the limit
    (_nested(33), "nested more than 32 deep (parentheses and NOT)", 1 + 32 * 15),
    ("(" * 300 + "drone" + ")" * 300, "nested more than 32 deep", 33),
    ("-" * 33 + "drone attack", "nested more than 32 deep", 33),
    ("drone " + "NOT " * 33 + "exercise", "nested more than 32 deep", 7 + 32 * 4),
    (_near_chain(65), "more than 64 NEARs and BEFOREs in one query", 7 + 64 * 14 + 1),
    (_near_chain(1500), "more than 64 NEARs and BEFOREs in one query", 7 + 64 * 14 + 1),
    ("drone " * 1001, "more than 1,000 words in one query", 1 + 1000 * 6),
    ('"' + "drone " * 1001 + '"', "more than 1,000 words in one query", 1),
    ("/" + "(" * 33 + "a" + ")" * 33 + "/", "regex nests groups more than 32 deep", 1),
    ("/" + "(?:" * 500 + "a" + ")" * 500 + "/", "regex nests groups more than 32 deep", 1),
]


@pytest.mark.parametrize(("query", "message", "column"), LIMIT_ERRORS,
                         ids=[m.split(" in ")[0] + f" {len(q)}" for q, m, _ in LIMIT_ERRORS])
def test_queries_past_a_limit_are_refused_where_they_pass_it(
        query: str, message: str, column: int) -> None:
    for stem in (True, False):  # as the config check reads it, and as compiling does
        with pytest.raises(QueryError) as e:
            parse(query, stem=stem)
        assert message in e.value.message
        assert e.value.column == column


@pytest.mark.parametrize("pattern", [
    "(" * 32 + "a" + ")" * 32,
    r"\(" * 40 + "a",  # escaped: no group
    "[(]" * 40 + "a",  # in a class: no group
    "[](]" * 40 + "a",
    "(a[)]" * 32 + ")" * 32,
])
def test_regexes_nested_to_the_limit_compile(pattern: str) -> None:
    assert parse(f"/{pattern}/") is not None


def _deepest_query() -> str:
    """As deep as the limits allow: groups of OR and AND around a chain of NEARs."""
    return _nested(MAX_NESTING, _near_chain(MAX_NEARS))


def _frames() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


def test_the_deepest_query_compiles_and_matches_well_inside_the_recursion_limit() -> None:
    """A worker compiles and matches with Python's default limit of 1,000 frames; the
    deepest query needs under 400 (synonyms add a level to every word)."""
    synonyms = Synonyms([("attack", "raid"), ("drone", "uav"), ("strike", "blow")])
    doc = Document.of(title="strike attack raid " * 40, summary="a raid, an attack " * 70)
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(_frames() + 400)
    try:
        matcher = Matcher([CompiledRule("deep", synonyms.expand(parse(_deepest_query())))])
        assert matcher.match(doc) == ["deep"]
        assert "**" in snippet(doc, matcher.nodes(["deep"]))
    finally:
        sys.setrecursionlimit(before)


def test_a_long_phrase_with_synonyms_expands_without_recursing_per_word() -> None:
    phrase = '"' + "drone attack " * 500 + '"'  # 1,000 words
    synonyms = Synonyms([("attack", "raid")])
    node = synonyms.expand(parse(phrase))
    assert evaluate(node, Document.of(summary="drone raid " * 500))
    assert not evaluate(node, Document.of(summary="drone raid " * 499))


def test_a_large_synonym_group_costs_memory_in_proportion_to_its_size() -> None:
    """Each member once, in a set the members share (n * n before: 20,000 members took
    20 GB); a word in two groups has the union of both."""
    group = [f"member{i}" for i in range(200)]
    synonyms = Synonyms([group, ["member0", "other"]])
    sets = {id(s) for s in synonyms.single.values()}
    assert len(sets) == 3  # each group's, and member0's: the union of both
    assert synonyms.single["member1"] == frozenset(group)
    assert synonyms.single["member0"] == frozenset([*group, "other"])
    assert evaluate(synonyms.expand(parse("member7")), Document.of(title="member150"))


# Operators in lower or mixed case are words to the matcher: `drone or missile` needs
# the word "or". Matching stays so (the word may be meant); a note names the fix.
# (query, [(word, column, operator)] noted)
OPERATOR_NOTES: list[tuple[str, list[tuple[str, int, str]]]] = [
    ("drone or missile", [("or", 7, "OR")]),
    ("drone And missile", [("And", 7, "AND")]),
    ("drone not exercise", [("not", 7, "NOT")]),
    ("largest near/3 attack", [("near/3", 9, "NEAR/3")]),
    ("(drone Or missile) Near/2 Kyiv", [("Or", 8, "OR"), ("Near/2", 20, "NEAR/2")]),
    ("title:or drone", [("or", 7, "OR")]),
    ("drone OR missile NOT exercise", []),  # the operators
    ('drone "or" missile', []),  # the word, quoted: meant
    ("/drone or missile/", []),  # inside a regex
    ("near Kyiv", []),  # without a distance, only a word
    ("oregon order android", []),  # words that merely begin like one
    ('drone "or missile', []),  # refused: its error says more
]


@pytest.mark.parametrize(("query", "noted"), OPERATOR_NOTES)
def test_operators_in_lower_case_are_noted_with_column_and_fix(
        query: str, noted: list[tuple[str, int, str]]) -> None:
    from newswatch.rules.query import operator_notes

    notes = operator_notes(query)
    assert len(notes) == len(noted), notes
    for note, (word, column, operator) in zip(notes, noted, strict=True):
        assert note.startswith(f'"{word}" at column {column} is matched as a word')
        assert f"write {operator} " in note and f'or "{word}" in quotes' in note


@pytest.mark.parametrize(("query", "fields", "expected"), [
    ("drone or missile", {T: "Drone or missile? Debris is studied"}, True),
    ("drone or missile", {T: "Missile strike on Odesa"}, False),
    ("drone and missile", {T: "Drone and missile attack"}, True),
])
def test_a_lower_case_operator_still_matches_as_the_word(query: str, fields: dict[str, str],
                                                         expected: bool) -> None:
    assert evaluate(parse(query), Document.of(**fields)) is expected


def test_check_and_match_name_a_lower_case_operator_and_its_fix(write_config: Any) -> None:
    from click.testing import CliRunner

    from newswatch.cli import main

    path = write_config([], [("desk", "stdout://")],
                        [("either", "drone or missile"), ("fine", "drone OR missile")])
    check = CliRunner().invoke(main, ["-c", str(path), "check"])
    assert check.exit_code == 0, check.output
    notes = [line for line in check.stdout.splitlines() if "note:" in line]
    assert notes == ["  note: rule 'either': \"or\" at column 7 is matched as a word, not as an "
                     "operator: write OR to match either side, or \"or\" in quotes if the word "
                     "is meant"]
    found = CliRunner().invoke(main, ["-c", str(path), "match", "drone or missile", "--json"])
    assert found.exit_code == 0 and found.stdout == "[]\n"
    assert found.stderr.startswith('note: "or" at column 7 is matched as a word')
    quiet = CliRunner().invoke(main, ["-c", str(path), "match", "--rule", "fine", "--json"])
    assert quiet.stderr == ""
