"""Every rule compiled into one matcher; articles analysed once.

An article is analysed into fields (title, summary, content) of stemmed
tokens with a position index. The matcher keeps an inverted index from each
rule's trigger stems (see query.triggers) to the rule, so one pass over an
article's distinct stems finds the few candidate rules; only those are
evaluated in full. Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .query import And, Node, Not, Or, Phrase, Term, triggers
from .text import Token, tokenize

FIELDS = ("title", "summary", "content")


@dataclass
class Field:
    text: str
    tokens: list[Token]
    positions: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, text: str) -> Field:
        tokens = tokenize(text)
        positions: dict[str, list[int]] = defaultdict(list)
        for i, token in enumerate(tokens):
            positions[token.stem].append(i)
        return cls(text, tokens, dict(positions))


@dataclass
class Document:
    fields: dict[str, Field]

    @classmethod
    def of(cls, **texts: str) -> Document:
        return cls({name: Field.of(texts.get(name, "") or "") for name in FIELDS})

    def stems(self) -> set[str]:
        return {s for f in self.fields.values() for s in f.positions}


def phrase_starts(f: Field, stems: Sequence[str]) -> list[int]:
    """Token positions in `f` where the stems occur consecutively."""
    first = f.positions.get(stems[0], [])
    rest = [set(f.positions.get(s, ())) for s in stems[1:]]
    return [p for p in first if all(p + i + 1 in r for i, r in enumerate(rest))]


def evaluate(node: Node, doc: Document) -> bool:
    if isinstance(node, Term):
        return any(node.stem in f.positions for f in doc.fields.values())
    if isinstance(node, Phrase):
        return any(phrase_starts(f, node.stems) for f in doc.fields.values())
    if isinstance(node, Not):
        return not evaluate(node.child, doc)
    if isinstance(node, And):
        return all(evaluate(child, doc) for child in node.children)
    return any(evaluate(child, doc) for child in node.children)


def positive_leaves(node: Node) -> Iterable[Term | Phrase]:
    """The words and phrases whose presence helps a node match."""
    if isinstance(node, Term | Phrase):
        yield node
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from positive_leaves(child)


def hits(nodes: Iterable[Node], f: Field) -> set[int]:
    """Token positions in a field matched by the positive parts of nodes."""
    found: set[int] = set()
    for node in nodes:
        for leaf in positive_leaves(node):
            if isinstance(leaf, Term):
                found.update(f.positions.get(leaf.stem, ()))
            else:
                for p in phrase_starts(f, leaf.stems):
                    found.update(range(p, p + len(leaf.stems)))
    return found


class Matcher:
    """All rules, compiled once; `match` returns the names of matching rules."""

    def __init__(self, rules: Sequence[tuple[str, Node]]) -> None:
        self.rules = list(rules)
        self.index: dict[str, list[int]] = defaultdict(list)
        self.always: list[int] = []  # rules the index cannot find (none after parse())
        for i, (_, node) in enumerate(self.rules):
            stems = triggers(node)
            if stems is None:
                self.always.append(i)
            for s in stems or ():
                self.index[s].append(i)

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, doc: Document) -> list[int]:
        found = set(self.always)
        for s in doc.stems():
            found.update(self.index.get(s, ()))
        return sorted(found)

    def match(self, doc: Document) -> list[str]:
        return [self.rules[i][0] for i in self.candidates(doc) if evaluate(self.rules[i][1], doc)]

    def nodes(self, names: Iterable[str]) -> list[Node]:
        wanted = set(names)
        return [node for name, node in self.rules if name in wanted]


def snippet(doc: Document, nodes: Sequence[Node], width: int = 12) -> str:
    """The words around the first hit, hits in **bold** (Markdown).

    Summary and content are preferred to the title, which a message shows
    anyway; with no hit there, the start of the summary or content.
    """
    for name in ("summary", "content", "title"):
        f = doc.fields[name]
        found = hits(nodes, f)
        if found:
            return _window(f, found, min(found), width)
    for name in ("summary", "content"):
        f = doc.fields[name]
        if f.tokens:
            return _window(f, set(), 0, width)
    return ""


def _window(f: Field, found: set[int], first: int, width: int) -> str:
    lo = max(0, first - width)
    hi = min(len(f.tokens) - 1, first + 2 * width)
    out: list[str] = ["…" if lo > 0 else ""]
    cursor = f.tokens[lo].start
    for i in range(lo, hi + 1):
        token = f.tokens[i]
        if i in found and not (i - 1 in found and i > lo):
            out.append(f.text[cursor : token.start] + "**")
            cursor = token.start
        if i in found and not (i + 1 in found and i < hi):
            out.append(f.text[cursor : token.end] + "**")
            cursor = token.end
    out.append(f.text[cursor : f.tokens[hi].end])
    if hi < len(f.tokens) - 1:
        out.append("…")
    return " ".join("".join(out).split())
