"""Synonym groups: words and phrases that stand for each other in queries.

A group such as `attack = ["assault", "strike", "raid"]` makes its members
interchangeable wherever a query matches a word or phrase. Members are
normalised and stemmed like text, so `record` also covers "recorded".
Multi-word members (`"air attack" = ["drone strike"]`) replace a run of
words inside a phrase. Expansion happens once, when rules compile.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from .query import And, Near, Node, Not, Or, Phrase, Prefix, Regex
from .text import intern, query_stem, slot, source_words

MAX_VARIANTS = 64

Expr = tuple[str, ...]  # stems


def expression(text: str) -> Expr:
    return tuple(query_stem(r) for r in source_words(text))


class Synonyms:
    def __init__(self, groups: Iterable[Sequence[str]] = ()) -> None:
        self.single: defaultdict[str, set[str]] = defaultdict(set)  # stem -> one-word members
        self.multi: defaultdict[Expr, set[Expr]] = defaultdict(set)  # expr -> multi-word swaps
        self.longest = 1
        for group in groups:
            self.add([e for e in (expression(t) for t in group) if e])

    @classmethod
    def from_table(cls, table: Mapping[str, Sequence[str]]) -> Synonyms:
        return cls([key, *values] for key, values in table.items())

    def __bool__(self) -> bool:
        return bool(self.single or self.multi)

    def add(self, members: list[Expr]) -> None:
        ones = {e[0] for e in members if len(e) == 1}
        for s in ones:
            self.single[s].update(ones)
        if any(len(e) > 1 for e in members):
            for e in members:
                self.multi[e].update(m for m in members if m != e and (len(m) > 1 or len(e) > 1))
                self.longest = max(self.longest, len(e))

    def variants(self, stems: Expr) -> list[tuple[frozenset[str], ...]]:
        """Every slot sequence a run of stems may appear as."""
        out: list[tuple[frozenset[str], ...]] = []

        def walk(i: int, slots: tuple[frozenset[str], ...]) -> None:
            if len(out) >= MAX_VARIANTS:
                return
            if i == len(stems):
                out.append(slots)
                return
            members = self.single.get(stems[i], {stems[i]})
            walk(i + 1, (*slots, intern(frozenset().union(*(slot(s) for s in members)))))
            for n in range(1, min(self.longest, len(stems) - i) + 1):
                for swap in sorted(self.multi.get(stems[i : i + n], ())):
                    walk(i + n, slots + tuple(slot(s) for s in swap))

        walk(0, ())
        return list(dict.fromkeys(out))

    def expand(self, node: Node) -> Node:
        """The node with every word and phrase widened to its synonyms."""
        if not self or isinstance(node, Prefix | Regex):
            return node
        if isinstance(node, Phrase):
            stems = node.stems or tuple(next(iter(s)) for s in node.slots)
            found = [replace(node, slots=v) for v in self.variants(stems)]
            return found[0] if len(found) == 1 else Or(tuple(found))
        if isinstance(node, Near):
            return Near(self.expand(node.left), self.expand(node.right), node.distance)
        if isinstance(node, Not):
            return Not(self.expand(node.child))
        children = tuple(self.expand(c) for c in node.children)
        return And(children) if isinstance(node, And) else Or(children)
