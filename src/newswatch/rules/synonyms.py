"""Synonym groups: words and phrases that stand for each other in queries.

A group such as `attack = ["assault", "strike", "raid"]` makes its members
interchangeable wherever a query matches a word or phrase. Members are
normalised and stemmed like text, so `record` also covers "recorded".
Multi-word members (`"air attack" = ["drone strike"]`) replace a run of
words inside a phrase. Expansion happens once, when rules compile.
"""

from __future__ import annotations

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
        # A group's members are kept once, in a set its stems share: n members cost n,
        # not n * n (a set of every member for each member: 20,000 took 20 GB).
        self.single: dict[str, frozenset[str]] = {}  # stem -> one-word members
        self.multi: dict[Expr, frozenset[Expr]] = {}  # expr -> members to swap in (and itself)
        self.longest = 1
        for group in groups:
            self.add([e for e in (expression(t) for t in group) if e])

    @classmethod
    def from_table(cls, table: Mapping[str, Sequence[str]]) -> Synonyms:
        return cls([key, *values] for key, values in table.items())

    def __bool__(self) -> bool:
        return bool(self.single or self.multi)

    def add(self, members: list[Expr]) -> None:
        ones = frozenset(e[0] for e in members if len(e) == 1)
        for s in ones:
            self.single[s] = self.single[s] | ones if s in self.single else ones
        if any(len(e) > 1 for e in members):
            every = frozenset(members)
            phrases = frozenset(e for e in members if len(e) > 1)
            for e in members:
                # A word swaps only with phrases (the word's own set covers words).
                swaps = every if len(e) > 1 else phrases
                self.multi[e] = self.multi[e] | swaps if e in self.multi else swaps
                self.longest = max(self.longest, len(e))

    def variants(self, stems: Expr) -> list[tuple[frozenset[str], ...]]:
        """Every slot sequence a run of stems may appear as (at most MAX_VARIANTS).

        Depth first with a stack of its own: a phrase may have a thousand words.
        """
        out: list[tuple[frozenset[str], ...]] = []
        stack: list[tuple[int, tuple[frozenset[str], ...]]] = [(0, ())]
        while stack and len(out) < MAX_VARIANTS:
            i, slots = stack.pop()
            if i == len(stems):
                out.append(slots)
                continue
            stack.extend(reversed(self._steps(stems, i, slots)))
        return list(dict.fromkeys(out))

    def _steps(self, stems: Expr, i: int, slots: tuple[frozenset[str], ...]
               ) -> list[tuple[int, tuple[frozenset[str], ...]]]:
        """The ways to go on from stem i: its word's synonyms, then each phrase swap."""
        members = self.single.get(stems[i], {stems[i]})
        steps = [(i + 1, (*slots, intern(frozenset().union(*(slot(s) for s in members)))))]
        for n in range(1, min(self.longest, len(stems) - i) + 1):
            run = stems[i : i + n]
            for swap in sorted(self.multi.get(run, ())):
                if swap != run:
                    steps.append((i + n, slots + tuple(slot(s) for s in swap)))
        return steps

    def expand(self, node: Node) -> Node:
        """The node with every word and phrase widened to its synonyms."""
        if not self or isinstance(node, Prefix | Regex):
            return node
        if isinstance(node, Phrase):
            stems = node.stems or tuple(next(iter(s)) for s in node.slots)
            found = [replace(node, slots=v) for v in self.variants(stems)]
            return found[0] if len(found) == 1 else Or(tuple(found))
        if isinstance(node, Near):
            return replace(node, left=self.expand(node.left), right=self.expand(node.right))
        if isinstance(node, Not):
            return Not(self.expand(node.child))
        children = tuple(self.expand(c) for c in node.children)
        return And(children) if isinstance(node, And) else Or(children)
