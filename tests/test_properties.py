"""Property tests: the compiled matcher agrees with evaluating each rule directly."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswatch.errors import QueryError
from newswatch.rules import CompiledRule, Document, Matcher, Synonyms, evaluate, parse

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
@given(st.sampled_from(["http", "https", "HTTP"]),
       st.text(st.sampled_from(list("abcXYZ09.-")), min_size=1, max_size=12),
       st.text(st.sampled_from(list("abc/._~%-:@!$&'()*+,;=X")), max_size=20))
def test_canonical_url_shortcut_agrees_with_the_full_path(scheme: str, host: str,
                                                          path: str) -> None:
    from newswatch.parse import _canonical, canonical_url

    url = f"{scheme}://{host}{'/' + path if path else ''}"
    assert canonical_url(url) == _canonical(url)
