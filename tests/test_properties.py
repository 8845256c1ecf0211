"""Property tests: each shortcut agrees with the plain computation it stands for
(the compiled matcher, regex needles, ASCII folding, text cleaning, language detection,
NEAR by sorted positions, regex highlights by bisection, caches emptied)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswatch.errors import QueryError
from newswatch.parse import clean
from newswatch.rules import CompiledRule, Document, Matcher, Synonyms, evaluate, parse
from newswatch.rules.matcher import Field, RegexTimeout, _regex_search, fold_ascii, spans
from newswatch.rules.query import Near, Node, Or, Phrase, Prefix, Regex
from newswatch.rules.snippets import _overlapping
from newswatch.rules.text import detect_language

VOCAB = ["drone", "drones", "attack", "attacked", "largest", "kyiv", "strike", "raid",
         "sanction", "sanctions", "sanctity", "war", "warning", "orbán", "333", "s"]

word = st.sampled_from(VOCAB)
leaf = st.one_of(
    word,
    st.lists(word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.sampled_from(["sanct*", "dron*", "att*", "war*"]),
    st.tuples(st.sampled_from(["title", "summary", "content"]), word).map(":".join),
    st.sampled_from(["/dron(e|es)/", "/\\b333\\b/"]),
)


def query(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(" ".join),
        st.lists(children, min_size=2, max_size=3).map(" OR ".join).map(lambda q: f"({q})"),
        children.map(lambda q: f"-{q}"),
        st.tuples(word, st.integers(0, 3), word).map(lambda t: f"{t[0]} NEAR/{t[1]} {t[2]}"),
    )


queries = st.recursive(leaf, query, max_leaves=6)
texts = st.lists(st.sampled_from([*VOCAB, "the", "a", "of", "Drone-Attack", "ORBAN"]),
                 max_size=12).map(" ".join)
SYNONYMS = Synonyms.from_table({"attack": ["raid", "strike"], "largest drone": ["kyiv"]})


def compile_all(qs: list[str], synonyms: Synonyms) -> list[CompiledRule]:
    rules = []
    for i, q in enumerate(qs):
        try:
            rules.append(CompiledRule(f"r{i}", synonyms.expand(parse(q))))
        except QueryError:
            continue  # e.g. a query that only excludes
    return rules


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries, min_size=1, max_size=8), texts, texts, texts, st.booleans())
def test_matcher_agrees_with_direct_evaluation(qs: list[str], title: str, summary: str,
                                               content: str, use_synonyms: bool) -> None:
    rules = compile_all(qs, SYNONYMS if use_synonyms else Synonyms())
    doc = Document.of(title=title, summary=summary, content=content)
    expected = [r.name for r in rules if evaluate(r.node, doc)]
    assert Matcher(rules).match(doc) == expected


@settings(max_examples=200, deadline=None)
@given(queries)
def test_every_generated_query_parses_or_names_a_column(q: str) -> None:
    try:
        parse(q)
    except QueryError as e:
        assert 1 <= e.column <= len(q) + 1


@settings(max_examples=500, deadline=None)
@given(st.text(st.one_of(st.characters(max_codepoint=0x7f),
                         st.sampled_from(list("\u00a0\u2019\u201c\u2014\u2026éЖ无½_"))),
               max_size=60))
def test_fast_word_split_finds_what_the_word_pattern_finds(text: str) -> None:
    from newswatch.rules.text import WORD, _fast_split

    fast = _fast_split(text)
    assert fast is None or fast == WORD.findall(text)
    if text.isascii():
        assert fast is not None


@settings(max_examples=300, deadline=None)
@given(st.text(st.one_of(st.characters(max_codepoint=0x7f),
                         st.sampled_from(list("\u00a0\u2019éЖії无東京都ｶﾀ½ﬁ²_"))),
               max_size=60), st.sampled_from(["en", "uk", "ja"]))
def test_tokens_are_the_same_for_learned_and_new_words(text: str, language: str) -> None:
    """tokenize() takes a shortcut for words already learned; the tokens must be
    those of the full path that learns them."""
    from newswatch.rules import text as t

    t.WORD_OF.clear()
    t.STEMS.clear()
    first = t.tokenize(text, language)  # every word new
    assert t.tokenize(text, language) == first  # every word learned


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["http", "https", "HTTP"]),
       st.text(st.sampled_from(list("abcXYZ09.-")), min_size=1, max_size=12),
       st.text(st.sampled_from(list("abc/._~%-:@!$&'()*+,;=X")), max_size=20))
def test_canonical_url_shortcut_agrees_with_the_full_path(scheme: str, host: str,
                                                          path: str) -> None:
    from newswatch.parse import _canonical, canonical_url

    url = f"{scheme}://{host}{'/' + path if path else ''}"
    assert canonical_url(url) == _canonical(url)


# Regex pieces: literals (with letters whose case folding is unusual), groups,
# optional and repeated parts, alternatives, classes, anchors, inline flags.
_TRICKY = ["s", "S", "ſ", "k", "K", "\u212a", "ß", "ẞ", "ss", "i", "İ", "ı", "é", "É", "3", " ",
           "-"]
_atoms = st.one_of(
    st.sampled_from(["sec", "333", "Kyiv", "ß", "strasse", "İs", "ſt", "x", r"\.", " ", r"\d",
                     "[a-z]", "[ſk]", r"\b", "."]),
    st.sampled_from(_TRICKY))


@st.composite
def _patterns(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["atom", "atom", "group", "alt"] if depth < 2 else ["atom"]))
        if kind == "atom":
            piece = draw(_atoms)
        elif kind == "group":
            piece = "(?:" + draw(_patterns(depth + 1)) + ")"
        else:
            piece = "(" + draw(_patterns(depth + 1)) + "|" + draw(_patterns(depth + 1)) + ")"
        piece += draw(st.sampled_from(["", "", "?", "+", "*", "{2}", "{1,2}", "+?"]))
        parts.append(piece)
    return draw(st.sampled_from(["", "", "(?x)"])) + "".join(parts)


# No deadline: this checks what the shortcut finds, not how fast; a pattern with nested
# repeats may take a few hundred ms on a loaded machine (regexes run with a timeout).
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_patterns(), st.lists(st.one_of(st.sampled_from(_TRICKY),
                                       st.sampled_from(["sec", "333", "kyiv", "strasse"])),
                             max_size=12).map("".join))
def test_regex_shortcut_never_hides_a_match(pattern: str, text: str) -> None:
    """A regex is searched only where its literal parts occur; that test, with its
    case folding, must never turn away text the regex itself matches."""
    try:
        node = parse(f"/{pattern}/")
    except QueryError:
        return
    assert isinstance(node, Regex)
    found = bool(node.compiled.search(text))
    try:
        searched = bool(_regex_search(node, text))
    except RegexTimeout:
        return  # the regex ran past its time limit: it was searched, not turned away
    assert searched == found, (node.needles, text)


def test_ascii_fold_covers_every_letter_regex_equates_with_ascii() -> None:
    """fold_ascii() must map every character that a case-insensitive `regex` matches
    with an ASCII letter to text containing that letter."""
    import regex

    for cp in range(0x80, 0x110000):
        ch = chr(cp)
        if ch.lower() == ch and ch.upper() == ch and ch.casefold() == ch:
            continue  # uncased: no case-insensitive partner
        for letter in "abcdefghijklmnopqrstuvwxyz":
            if regex.fullmatch(letter, ch, regex.IGNORECASE | regex.V0):
                assert letter in fold_ascii(ch), (hex(cp), letter)


@settings(max_examples=2000)
@given(st.lists(st.one_of(st.characters(), st.sampled_from(
    [" ", "  ", "\n", "\t", "\xa0", "\u2003", "\u3000", "\x1c", "\x85", "\u2028", "e\u0301"]))
    ).map("".join))
def test_clean_is_nfc_with_each_run_of_white_space_one_space(text: str) -> None:
    """clean() returns text it finds clean as it is; that shortcut must give what
    normalising and joining the words with single spaces gives."""
    assert clean(text) == " ".join(unicodedata.normalize("NFC", text).split())



@settings(max_examples=500)
@given(st.lists(st.one_of(st.sampled_from(["the ", "der ", "und ", "le ", "i ", "w ", "na "]),
                          st.characters(max_codepoint=0x7F))).map("".join))
def test_language_of_ascii_headlines_is_what_counting_letters_gives(text: str) -> None:
    """ASCII text has Latin letters or none: detect_language() does not count them."""
    text = text[:590]
    found = detect_language(text)
    if not any(c.isalpha() for c in text):
        assert found == ""
    else:  # not ASCII any more: counted one by one; " é" is no stop word or telling letter
        assert found == detect_language(text + " é")


# -- NEAR and BEFORE, against their definition -------------------------------------

NEAR_VOCAB = ["drone", "drones", "attack", "kyiv", "war", "warning", "the"]
near_word = st.sampled_from(NEAR_VOCAB)
near_operand = st.one_of(
    near_word,
    st.lists(near_word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    st.sampled_from(["dron*", "war*", "title:kyiv", "content:attack"]),
    st.lists(near_word, min_size=2, max_size=3).map(" OR ".join).map(lambda q: f"({q})"),
)
near_queries = st.recursive(
    near_operand,
    lambda inner: st.tuples(inner, st.sampled_from(["NEAR", "BEFORE"]), st.integers(0, 4),
                            inner).map(lambda t: f"({t[0]} {t[1]}/{t[2]} {t[3]})"),
    max_leaves=4)
near_texts = st.lists(near_word, max_size=30).map(" ".join)


def reference_spans(node: Node, f: Field) -> list[tuple[int, int]]:
    """spans() as the language defines it, every pair of spans compared (quadratic)."""
    if isinstance(node, Phrase):
        if f.name not in node.fields:
            return []
        k = len(node.slots)
        return [(p, p + k - 1) for p in range(len(f.stems) - k + 1)
                if all(f.stems[p + i] in s for i, s in enumerate(node.slots))]
    if isinstance(node, Prefix):
        if f.name not in node.fields:
            return []
        return [(i, i) for i, w in enumerate(f.words) if w.startswith(node.prefix)]
    if isinstance(node, Or):
        return sorted({s for c in node.children for s in reference_spans(c, f)})
    assert isinstance(node, Near)
    found = set()
    for a in reference_spans(node.left, f):
        for b in reference_spans(node.right, f):
            gap = b[0] - a[1] - 1 if a[1] < b[0] else a[0] - b[1] - 1
            if node.ordered and not a[1] < b[0]:
                continue  # BEFORE: the left operand first
            if 0 <= gap <= node.distance:
                found.add((min(a[0], b[0]), max(a[1], b[1])))
    return sorted(found)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_queries, near_texts, near_texts, st.booleans())
def test_near_agrees_with_comparing_every_pair(query: str, title: str, content: str,
                                               use_synonyms: bool) -> None:
    try:
        node = (SYNONYMS if use_synonyms else Synonyms()).expand(parse(query))
    except QueryError:
        return
    doc = Document.of(title=title, content=content)
    found = []
    for f in doc.fields.values():
        expected = reference_spans(node, f)
        assert spans(node, f) == expected, f.name
        found.append(bool(expected))
    assert evaluate(node, doc) is any(found)
    assert (Matcher([CompiledRule("r", node)]).match(doc) == ["r"]) is any(found)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["drone", "Drones", "kyiv", "½", "無人機攻撃", "ﬁre", "a-b", " "]),
                max_size=20).map(" ".join),
       st.sampled_from(["/dron(e|es)/", "/\\bkyiv\\b/", "/(?=k)/", "/n|e k/", "/2/", "/機攻/",
                        "/s? /"]))
def test_regex_highlights_agree_with_testing_every_match(text: str, pattern: str) -> None:
    """A token is highlighted when a regex match overlaps it: found by bisection, as
    testing each token against every match finds it."""
    node = parse(pattern)
    assert isinstance(node, Regex)
    f = Document.of(summary=text).fields["summary"]
    chars = [m.span() for m in node.compiled.finditer(text)]
    expected = [i for i, t in enumerate(f.tokens)
                if any(a < t.end and t.start < b for a, b in chars)]
    assert _overlapping(f.tokens, chars) == expected


@contextmanager
def caches_emptied_at_every_turn() -> Iterator[None]:
    """The word table emptied wherever it may be: at the start of every call that
    learns a word."""
    from newswatch.rules import text as t

    saved, t.WORDS.limit = t.WORDS.limit, -1
    try:
        yield
    finally:
        t.WORDS.limit = saved


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries, min_size=1, max_size=6), texts, texts,
       st.text(st.sampled_from(list("drone kyiv éЖії無人機½ﬁ")), max_size=30))
def test_matching_is_the_same_with_the_word_table_emptied_at_every_turn(
        qs: list[str], title: str, summary: str, content: str) -> None:
    rules = compile_all(qs, SYNONYMS)
    doc = Document.of(title=title, summary=summary, content=content)
    expected = Matcher(rules).match(doc)
    tokens = doc.fields["content"].tokens
    with caches_emptied_at_every_turn():
        again = Document.of(title=title, summary=summary, content=content)
        matcher = Matcher(rules)
        matcher._triggers.limit = -1
        assert matcher.match(again) == expected
        assert again.fields["content"].tokens == tokens
