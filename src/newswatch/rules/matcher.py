"""Every rule compiled into one matcher; articles analysed once.

An article becomes a Document: fields (title, summary, content, author,
category) of words and stems. The Matcher keeps an inverted index from each
rule's trigger (the stems, or word prefixes, of which at least one must occur
for the rule to match; the rarest across the rule set are chosen) to the
rule, so one pass over an article's distinct words finds the few candidate
rules, and only those are evaluated in full. Pure: no I/O.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .caches import TRIGGER_BYTES, Budget, entry_bytes
from .query import (
    DEFAULT_FIELDS,
    FIELDS,
    And,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Regex,
    caseless,
    leaves,
)
from .text import (
    WORD_OF,
    Token,
    intern,
    raw_words,
    source_word_set,
    source_words,
    stems_of,
    tokenize,
    word_and_stem,
)

log = logging.getLogger(__name__)
REGEX_TIMEOUT = 0.05  # seconds per field
_PREFIX_KEY = "\0"  # marks a prefix trigger among stems
Span = tuple[int, int]  # first and last token position, inclusive
_EMPTY: frozenset[str] = frozenset()


T = TypeVar("T")


class lazy(Generic[T]):  # noqa: N801 - used like functools.cached_property
    """functools.cached_property without its lock: computed once per object, on first use.

    Documents live in one thread, and in 3.11 the lock costs more than most of
    the values computed here.
    """

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function, self.name = function, function.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        value = obj.__dict__[self.name] = self.function(obj)
        return value


def _words(raws: Iterable[str]) -> list[str]:
    """The folded words of source words."""
    try:
        return [WORD_OF[r] for r in raws]
    except KeyError:  # the per-process cache was emptied since the words were split
        return [word_and_stem(r)[0] for r in raws]


def _has_prefix(sorted_words: list[str], prefix: str) -> bool:
    i = bisect_left(sorted_words, prefix)
    return i < len(sorted_words) and sorted_words[i].startswith(prefix)


class Field:
    """One field of an article. Its source words are split on creation; their folded
    forms and stems are looked up only when a candidate rule needs them."""

    __slots__ = ("name", "text", "language", "raws", "rawset", "__dict__")

    def __init__(self, name: str, text: str, language: str = "en") -> None:
        self.name = name
        self.text = text
        self.language = language
        self.raws, self.rawset = source_word_set(text) if text else ([], set())

    @lazy
    def words(self) -> list[str]:
        return _words(self.raws)

    @lazy
    def stems(self) -> list[str]:
        return stems_of(self.raws, self.language)

    @lazy
    def stemset(self) -> frozenset[str]:
        return frozenset(stems_of(list(self.rawset), self.language)) if self.raws else _EMPTY

    @lazy
    def positions(self) -> dict[str, list[int]]:
        found: defaultdict[str, list[int]] = defaultdict(list)
        for i, s in enumerate(self.stems):
            found[s].append(i)
        return dict(found)

    @lazy
    def wordset(self) -> frozenset[str]:
        return frozenset(self.words)

    @lazy
    def bigrams(self) -> frozenset[str]:
        stems = self.stems
        return frozenset([a + " " + b for a, b in zip(stems, stems[1:])])  # noqa: B905

    @lazy
    def sorted_words(self) -> list[str]:
        return sorted(set(self.words))

    def has_prefix(self, prefix: str) -> bool:
        return _has_prefix(self.sorted_words, prefix)

    @lazy
    def tokens(self) -> list[Token]:
        return tokenize(self.text, self.language)


class Document:
    def __init__(self, texts: dict[str, str], language: str = "en") -> None:
        self.texts = texts  # field name -> its text ('' when empty)
        self.language = language
        # Every distinct source word, for the matcher's trigger lookup: one split of
        # the whole text. Most articles trigger no rule, and their fields are never
        # split one by one.
        self.text = " \n ".join([t for t in texts.values() if t])
        self.raws = raw_words(self.text) if self.text else set()

    @lazy
    def fields(self) -> dict[str, Field]:
        return {name: Field(name, self.texts[name], self.language) for name in FIELDS}

    @lazy
    def stemset(self) -> frozenset[str]:
        return frozenset().union(*[f.stemset for f in self.fields.values() if f.raws])

    @lazy
    def default_stems(self) -> frozenset[str]:
        """The stems of title, summary and content: what a leaf without a field sees."""
        if not (self.fields["author"].raws or self.fields["category"].raws):
            return self.stemset
        return frozenset().union(*[self.fields[n].stemset for n in DEFAULT_FIELDS])

    @classmethod
    def of(cls, title: str = "", summary: str = "", content: str = "", author: str = "",
           category: str | Iterable[str] = "", language: str = "en") -> Document:
        """A document in a language (a code of text.LANGUAGES; '' when unknown)."""
        if not isinstance(category, str):
            category = " \n ".join(category)
        return cls({"title": title or "", "summary": summary or "", "content": content or "",
                    "author": author or "", "category": category or ""}, language)

    @lazy
    def wordset(self) -> frozenset[str]:
        return frozenset().union(*(f.wordset for f in self.fields.values()))

    @lazy
    def default_words(self) -> list[str]:
        """The distinct words of title, summary and content, sorted (for prefixes)."""
        return sorted({w for n in DEFAULT_FIELDS for w in self.fields[n].words})

    def has_prefix(self, prefix: str) -> bool:
        return _has_prefix(self.default_words, prefix)


class RegexTimeout(Exception):
    "A rule's regex ran past its time limit"


def phrase_starts(f: Field, slots: Sequence[frozenset[str]]) -> list[int]:
    """Token positions in `f` where the slots match consecutively."""
    if slots[0].isdisjoint(f.stemset):
        return []
    if len(slots) == 2 and len(slots[0]) == 1 and len(slots[1]) == 1:
        a, b = next(iter(slots[0])), next(iter(slots[1]))
        if a + " " + b not in f.bigrams:
            return []
    positions = f.positions
    first = sorted(p for s in slots[0] for p in positions.get(s, ()))
    stems, n = f.stems, len(f.stems)
    return [p for p in first if p + len(slots) <= n
            and all(stems[p + i] in slot for i, slot in enumerate(slots[1:], 1))]


def spans(node: Node, f: Field) -> list[Span]:
    """Where a word, phrase, prefix, OR-group or NEAR occurs in one field."""
    if isinstance(node, Phrase):
        if f.name not in node.fields:
            return []
        return [(p, p + len(node.slots) - 1) for p in phrase_starts(f, node.slots)]
    if isinstance(node, Prefix):
        if f.name not in node.fields:
            return []
        return [(i, i) for i, w in enumerate(f.words) if w.startswith(node.prefix)]
    if isinstance(node, Or):
        return sorted({s for c in node.children for s in spans(c, f)})
    if isinstance(node, Near):
        left, right = spans(node.left, f), spans(node.right, f)
        found = _joined(left, right, node.distance)
        return sorted(found if node.ordered else found | _joined(right, left, node.distance))
    return []


# NEAR: a span of one operand and a span of the other, apart (neither overlaps the
# other) with at most `distance` positions between them, in either order (BEFORE:
# the left operand's first); the pair
# spans from the first one's start to the second one's end. Both helpers take spans
# as spans() returns them, sorted, and find the spans of `then` that start within
# `distance` after a span of `first` by position: comparing every span of one with
# every span of the other cost 21 s on a 32,000-word article.


def _joined(first: list[Span], then: list[Span], distance: int) -> set[Span]:
    """The spans of the pairs where a span of `then` follows one of `first`: the cost
    is in what is found, not in every pair of spans."""
    starts = [b[0] for b in then]
    found: set[Span] = set()
    for a0, a1 in first:
        lo = bisect_right(starts, a1)
        hi = bisect_right(starts, a1 + distance + 1, lo)
        found.update([(a0, b1) for _, b1 in then[lo:hi]])
    return found


def _follows(first: list[Span], then: list[Span], distance: int) -> bool:
    """Whether a span of `then` follows one of `first` (as _joined() finds them): one
    sweep over the ends of one and the starts of the other, both ascending."""
    starts, n, i = [b[0] for b in then], len(then), 0
    for end in sorted({a1 for _, a1 in first}):
        while i < n and starts[i] <= end:
            i += 1
        if i == n:
            return False
        if starts[i] <= end + distance + 1:
            return True
    return False


def near_found(node: Near, f: Field) -> bool:
    """Whether a NEAR occurs in one field: spans(node, f) is not empty."""
    left = spans(node.left, f)
    if not left:
        return False
    right = spans(node.right, f)
    return _follows(left, right, node.distance) or (
        not node.ordered and _follows(right, left, node.distance))


def fold_ascii(text: str) -> str:
    """Text lower-cased so that it contains an ASCII needle wherever a case-insensitive
    regex finds it: `regex` also matches 's' with 'ſ' (the only character outside
    ASCII it equates with an ASCII letter that lower() does not map to it; tested)."""
    return text.lower().replace("ſ", "s")


class _Haystack:
    """A text to look for regex needles (query.literals) in, as a case-insensitive
    regex would find them; folded (fold_ascii) once, when a needle with letters is
    not found as it is."""

    __slots__ = ("text", "folded")

    def __init__(self, text: str) -> None:
        self.text, self.folded = text, ""

    def has(self, needle: str) -> bool:
        if needle in self.text:
            return True
        if caseless(needle):
            return False
        if not self.folded:
            self.folded = fold_ascii(self.text)
        return needle in self.folded


def _regex_search(node: Regex, text: str) -> list[tuple[int, int]]:
    if node.needles:  # substrings every match contains
        haystack = _Haystack(text)
        if not all(haystack.has(needle) for needle in node.needles):
            return []
    try:
        return [m.span() for m in node.compiled.finditer(text, timeout=REGEX_TIMEOUT)]
    except TimeoutError:
        raise RegexTimeout(node.pattern) from None


def evaluate(node: Node, doc: Document) -> bool:
    """Whether a node matches a document (the definition of the language)."""
    if isinstance(node, Phrase):
        if len(node.slots) == 1:
            if node.fields is DEFAULT_FIELDS:
                return not node.slots[0].isdisjoint(doc.default_stems)
            return any(not node.slots[0].isdisjoint(doc.fields[n].stemset) for n in node.fields)
        return any(phrase_starts(doc.fields[n], node.slots) for n in node.fields)
    if isinstance(node, Prefix):
        return any(doc.fields[n].has_prefix(node.prefix) for n in node.fields)
    if isinstance(node, Regex):
        return any(_regex_search(node, doc.fields[n].text) for n in node.fields
                   if doc.fields[n].text)
    if isinstance(node, Near):
        return any(near_found(node, f) for f in doc.fields.values())
    if isinstance(node, Not):
        return not evaluate(node.child, doc)
    if isinstance(node, And):
        return all(evaluate(c, doc) for c in node.children)
    return any(evaluate(c, doc) for c in node.children)


Test = Callable[[Document], bool]


def compile_node(node: Node) -> Test:
    """A node as a function of a document, equal to evaluate() but faster."""
    if isinstance(node, Phrase) and len(node.slots) == 1:
        disjoint = node.slots[0].isdisjoint
        if node.fields is DEFAULT_FIELDS:
            return lambda d: not disjoint(d.default_stems)
        names = tuple(node.fields)
        return lambda d: any(not disjoint(d.fields[n].stemset) for n in names)
    if isinstance(node, Prefix) and node.fields is DEFAULT_FIELDS:
        prefix = node.prefix
        return lambda d: d.has_prefix(prefix)
    if isinstance(node, Not):
        inner = compile_node(node.child)
        return lambda d: not inner(d)
    if isinstance(node, And | Or):
        # Cheap, selective tests first; exclusions and regexes last.
        children = sorted(node.children, key=_test_cost)
        tests = tuple(compile_node(c) for c in children)
        if isinstance(node, And):
            if len(tests) == 2:
                a, b = tests
                return lambda d: a(d) and b(d)
            if len(tests) == 3:
                a, b, c = tests
                return lambda d: a(d) and b(d) and c(d)
            return lambda d: all(t(d) for t in tests)
        if len(tests) == 2:
            a, b = tests
            return lambda d: a(d) or b(d)
        if len(tests) == 3:
            a, b, c = tests
            return lambda d: a(d) or b(d) or c(d)
        return lambda d: any(t(d) for t in tests)
    return lambda d: evaluate(node, d)


def _test_cost(node: Node) -> int:
    if isinstance(node, Phrase):
        return len(node.slots)
    if isinstance(node, Prefix):
        return 3
    if isinstance(node, Regex):
        return 100
    if isinstance(node, Not):
        return 10 + _test_cost(node.child)
    if isinstance(node, Near):
        return 20
    return 5 + sum(_test_cost(c) for c in node.children)


@dataclass(frozen=True)
class CompiledRule:
    name: str
    node: Node
    feeds: frozenset[str] = frozenset()  # scope by feed name ...
    tags: frozenset[str] = frozenset()  # ... or by feed tag; both empty: every feed

    def applies_to(self, feed: str | None, tags: Iterable[str] = ()) -> bool:
        return in_scope(self.feeds, self.tags, feed, tags)


def in_scope(feeds: frozenset[str], tags: frozenset[str], feed: str | None,
             feed_tags: Iterable[str] = ()) -> bool:
    """Is a feed (with its tags) within a rule's scope of feed names and tags?"""
    if not (feeds or tags) or feed is None:
        return True
    return feed in feeds or not tags.isdisjoint(feed_tags)


def _keys(leaf: Phrase | Prefix) -> list[frozenset[str]]:
    if isinstance(leaf, Prefix):
        return [frozenset([_PREFIX_KEY + leaf.prefix])]
    return list(leaf.slots)


def pair_requirements(node: Node, key: Callable[[frozenset[str], frozenset[str]], int],
                      ) -> list[frozenset[int]]:
    """Pairs of adjacent phrase slots a document must contain for `node` to match,
    each pair as key(left slot, right slot); a set means one of them."""
    if isinstance(node, Phrase):
        return [frozenset((key(left, right),))
                for left, right in zip(node.slots, node.slots[1:])]  # noqa: B905
    if isinstance(node, And):
        return [r for c in node.children for r in pair_requirements(c, key)]
    if isinstance(node, Near):
        return pair_requirements(node.left, key) + pair_requirements(node.right, key)
    if isinstance(node, Or):
        # One of the children must match: the union of one requirement of each.
        found = [pair_requirements(c, key) for c in node.children]
        if all(found):
            return [frozenset().union(*[min(f, key=len) for f in found])]
    return []


def requirements(node: Node) -> list[frozenset[str]]:
    """Stem sets each of which must meet an article's stems for `node` to match.

    A cheap test run before full evaluation; prefixes and regexes add none.
    """
    if isinstance(node, Phrase):
        return list(node.slots)
    if isinstance(node, And):
        return [r for c in node.children for r in requirements(c)]
    if isinstance(node, Near):
        return requirements(node.left) + requirements(node.right)
    if isinstance(node, Or):
        found = [triggers(c) for c in node.children]
        if any(t is None or any(k.startswith(_PREFIX_KEY) for k in t) for t in found):
            return []
        return [intern(frozenset().union(*[t for t in found if t is not None]))]
    return []


def _operands(node: And | Or | Near) -> list[Node]:
    """The nodes a compound node combines."""
    return [node.left, node.right] if isinstance(node, Near) else list(node.children)


def triggers(node: Node, cost: Counter[str] | None = None) -> frozenset[str] | None:
    """Keys of which at least one must occur for `node` to match; None: not indexable.

    Keys are stems, or a prefix marked with a NUL. Where a node needs several
    things (AND, NEAR, phrase), the cheapest by `cost` is chosen.
    """
    cost = cost if cost is not None else Counter()

    def price(keys: frozenset[str]) -> int:
        return sum(cost[k] + 1 for k in keys)

    if isinstance(node, Phrase | Prefix):
        return min(_keys(node), key=price)
    if isinstance(node, Regex | Not):
        return None
    children = _operands(node)
    found = [triggers(c, cost) for c in children]
    if isinstance(node, Or):
        if any(t is None for t in found):
            return None
        return intern(frozenset().union(*[t for t in found if t is not None]))
    options = [t for t in found if t is not None]
    return min(options, key=price) if options else None


def text_triggers(node: Node, cost: Counter[str] | None = None,
                  ) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """triggers(), where a regex with literal parts is indexable too: (keys, needles),
    one of which must occur for `node` to match; a needle as a substring of the text
    (see query.literals). None: the node must be tried on every article."""
    if isinstance(node, Regex):
        return (_EMPTY, node.needles[:1]) if node.needles else None
    keys = triggers(node, cost)
    if keys is not None:
        return keys, ()
    if isinstance(node, Phrase | Prefix | Not):
        return None
    children = _operands(node)
    found = [text_triggers(c, cost) for c in children]
    if isinstance(node, Or):
        if any(f is None for f in found):
            return None
        return (frozenset().union(*[f[0] for f in found if f]),
                tuple(n for f in found if f for n in f[1]))
    # AND, NEAR: one child's triggers are enough (a child with keys was taken above).
    return next((f for f in found if f is not None), None)


class Matcher:
    """All rules, compiled once; `match` returns the names of the matching rules."""

    def __init__(self, rules: Sequence[CompiledRule], learn_after: int = 300) -> None:
        self.rules = list(rules)
        self.usage: Counter[str] = Counter()  # how many rules use each key
        for rule in self.rules:
            for leaf in leaves(rule.node):
                if not isinstance(leaf, Regex):
                    self.usage.update(k for slot in _keys(leaf) for k in slot)
        self.by_name = {rule.name: rule for rule in self.rules}
        self.tests = [compile_node(r.node) for r in self.rules]
        self.needs = [set(requirements(r.node)) for r in self.rules]
        # Phrase slots by number, and the slots each stem fills, for the pair precheck.
        self._slot_ids: dict[frozenset[str], int] = {}
        self._slots_of: dict[str, tuple[int, ...]] = {}
        self.requires_pairs = [tuple(set(pair_requirements(r.node, self._pair_key)))
                               for r in self.rules]
        # Triggers are first chosen by how few rules share them; after
        # `learn_after` articles, again by how rarely they occur in articles.
        self.learn_after = learn_after
        self.learned = 0
        self.stem_df: Counter[str] = Counter()
        self.word_df: Counter[str] = Counter()
        # Only what _text_cost() reads is counted: the stems rules use, and the words
        # that begin as a rule's prefix does (a feed's whole vocabulary would not fit).
        self._counted = frozenset(k for k in self.usage if not k.startswith(_PREFIX_KEY))
        self._heads = frozenset(k[1:4] for k in self.usage if k.startswith(_PREFIX_KEY))
        self._head_lengths = sorted({len(h) for h in self._heads})
        self._index(self.usage)

    def _pair_key(self, left: frozenset[str], right: frozenset[str]) -> int:
        """Two adjacent phrase slots as one number (each slot numbered once)."""
        ids = []
        for slot in (left, right):
            found = self._slot_ids.get(slot)
            if found is None:
                found = self._slot_ids[slot] = len(self._slot_ids)
                for stem in slot:
                    self._slots_of[stem] = (*self._slots_of.get(stem, ()), found)
            ids.append(found)
        return ids[0] << 32 | ids[1]

    def slot_pairs(self, doc: Document) -> set[int]:
        """Every pair of adjacent stems in any field, as the pairs of phrase slots
        they fill (see _pair_key); stems in no phrase are skipped."""
        slots_of = self._slots_of
        found: set[int] = set()
        for f in doc.fields.values():
            if not f.raws:
                continue
            before: tuple[int, ...] = ()
            for stem in f.stems:
                here = slots_of.get(stem, ())
                if here and before:
                    found.update(a << 32 | b for a in before for b in here)
                before = here
        return found

    def _index(self, cost: Counter[str]) -> None:
        self.index: defaultdict[str, list[int]] = defaultdict(list)
        self.prefixes: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
        self.always: list[int] = []  # rules nothing indexes: evaluated for every article
        self.needles: list[tuple[str, int]] = []  # rules a regex's literal text triggers
        self.requires: list[tuple[frozenset[str], ...]] = []
        for i, rule in enumerate(self.rules):
            keys = triggers(rule.node, cost)
            # The trigger is known to be present in a candidate; test the rest,
            # the rarest first.
            needs = self.needs[i] - {keys}
            self.requires.append(tuple(sorted(needs, key=lambda n: sum(cost[k] for k in n))))
            needles: tuple[str, ...] = ()
            if keys is None:
                found = text_triggers(rule.node, cost)
                if found is None:
                    self.always.append(i)
                    continue
                keys, needles = found
            self.needles.extend((needle, i) for needle in needles)
            for k in keys:
                if k.startswith(_PREFIX_KEY):
                    prefix = k[1:]
                    self.prefixes[prefix[:3]].append((prefix, i))
                else:
                    self.index[k].append(i)
        self.prefix_lengths = sorted({len(k) for k in self.prefixes})
        # Per article language: source word -> rules it triggers; words that trigger none.
        self._by_word: defaultdict[str, dict[str, tuple[int, ...]]] = defaultdict(dict)
        self._idle: defaultdict[str, set[str]] = defaultdict(set)
        self._triggers = Budget(TRIGGER_BYTES)

    def _learn(self, doc: Document) -> None:
        self.stem_df.update(doc.stemset & self._counted)
        if self._heads:
            heads, lengths = self._heads, self._head_lengths
            self.word_df.update(w for w in doc.wordset if any(w[:n] in heads for n in lengths))
        self.learned += 1
        if self.learned == self.learn_after:
            self._index(self._text_cost())
            self.stem_df.clear()  # learned once; the memory goes back
            self.word_df.clear()

    def _text_cost(self) -> Counter[str]:
        words = sorted(self.word_df)
        cost: Counter[str] = Counter()
        for key, rules in self.usage.items():
            if key.startswith(_PREFIX_KEY):
                prefix = key[1:]
                i = bisect_left(words, prefix)
                df = 0
                while i < len(words) and words[i].startswith(prefix):
                    df += self.word_df[words[i]]
                    i += 1
            else:
                df = self.stem_df[key]
            cost[key] = df * 8 + rules
        return cost

    def __len__(self) -> int:
        return len(self.rules)

    def _rules_of_word(self, raw: str, language: str) -> tuple[int, ...]:
        # A word met for the first time is learned here; folding may split it ('½' is
        # '1⁄2', a CJK run is character pairs), and then each part triggers rules.
        hits: list[int] = []
        for part in [raw] if raw in WORD_OF else source_words(raw):
            word, stem = word_and_stem(part, language)
            hits.extend(self.index.get(stem, ()))
            for n in self.prefix_lengths:
                hits.extend(i for prefix, i in self.prefixes.get(word[:n], ())
                            if word.startswith(prefix))
        if self._triggers.over():
            self._forget_words()
        if not hits:
            self._idle[language].add(raw)
            self._triggers.spend(entry_bytes(raw))
            return ()
        found = self._by_word[language][raw] = tuple(hits)
        self._triggers.spend(entry_bytes(raw, found))
        return found

    def _forget_words(self) -> None:
        """Empty the word -> rules tables in place (candidates() holds one of them)."""
        for table in self._by_word.values():
            table.clear()
        for idle in self._idle.values():
            idle.clear()
        self._triggers.used = 0

    def candidates(self, doc: Document) -> set[int]:
        """Rules one of whose triggers occurs in the document."""
        found = set(self.always)
        if self.needles:
            haystack = _Haystack(doc.text)
            found.update(i for needle, i in self.needles if haystack.has(needle))
        language = doc.language
        by_word = self._by_word[language]  # a word's stem depends on the article's language
        for raw in doc.raws - self._idle[language]:  # most trigger nothing: skip them in C
            hits = by_word.get(raw)
            if hits is None:
                hits = self._rules_of_word(raw, language)
            if hits:
                found.update(hits)
        return found

    def match(self, doc: Document, feed: str | None = None,
              tags: Iterable[str] = ()) -> list[str]:
        """Names of the rules that match, in rule order; a feed limits scoped rules."""
        if self.learned < self.learn_after:
            self._learn(doc)
        tags = tuple(tags)
        candidates = self.candidates(doc)
        if not candidates:
            return []
        requires, requires_pairs, tests = self.requires, self.requires_pairs, self.tests
        found = []
        pairs: set[int] | None = None
        for i in candidates:
            # Cheap tests first: every required stem, and every required pair of
            # adjacent stems (of a phrase), occurs somewhere in the document.
            for need in requires[i]:
                if need.isdisjoint(doc.stemset):
                    break
            else:
                if requires_pairs[i]:
                    if pairs is None:
                        pairs = self.slot_pairs(doc)
                    if any(need.isdisjoint(pairs) for need in requires_pairs[i]):
                        continue
                rule = self.rules[i]
                if not rule.applies_to(feed, tags):
                    continue
                try:
                    if tests[i](doc):
                        found.append(i)
                except RegexTimeout as e:
                    log.warning("rule=%s regex /%s/ ran past %gs on an article; skipped",
                                rule.name, e, REGEX_TIMEOUT)
        return [self.rules[i].name for i in sorted(found)]

    def nodes(self, names: Iterable[str]) -> list[Node]:
        return [self.by_name[n].node for n in names if n in self.by_name]
