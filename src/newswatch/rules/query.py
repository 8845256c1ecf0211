"""The watch-rule query language: text -> syntax tree.

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary+                       (juxtaposition, or explicit AND)
    unary    := ("NOT" | "-") unary | primary
    primary  := "(" or_expr ")" | '"' phrase '"' | word

Words and phrases are normalised and stemmed like article text (see text.py).
A bare word that normalises to several words ('drone-attack', "333's") is a
phrase of them. OR, AND and NOT are operators only in upper case.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import QueryError
from .text import stem, words


@dataclass(frozen=True)
class Term:
    stem: str
    word: str


@dataclass(frozen=True)
class Phrase:
    stems: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Term | Phrase | And | Or | Not


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # "(", ")", "phrase", "word", "OR", "AND", "NOT"
    text: str
    column: int  # 1-based


_SPECIAL = set('()"')


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Lexeme(c, c, i + 1))
            i += 1
        elif c == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError("unterminated quote", i + 1)
            out.append(_Lexeme("phrase", query[i + 1 : end], i + 1))
            i = end + 1
        elif c == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            out.append(_Lexeme("NOT", c, i + 1))
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in _SPECIAL:
                j += 1
            text = query[i:j]
            kind = text if text in ("OR", "AND", "NOT") else "word"
            out.append(_Lexeme(kind, text, i + 1))
            i = j
    return out


class _Parser:
    def __init__(self, query: str) -> None:
        self.lexemes = _lex(query)
        self.pos = 0
        self.end_column = len(query) + 1

    def peek(self) -> _Lexeme | None:
        return self.lexemes[self.pos] if self.pos < len(self.lexemes) else None

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme

    def column(self) -> int:
        nxt = self.peek()
        return nxt.column if nxt else self.end_column

    def parse(self) -> Node:
        if not self.lexemes:
            raise QueryError("empty query", 1)
        node = self.or_expr()
        extra = self.peek()
        if extra is not None:  # only a stray ')' can stop or_expr early
            raise QueryError("unbalanced parenthesis", extra.column)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (nxt := self.peek()) is not None and nxt.kind == "OR":
            self.take()
            if self.peek() is None or self.peek().kind in (")", "OR"):  # type: ignore[union-attr]
                raise QueryError("OR without a right operand", nxt.column)
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children: list[Node] = []
        while (nxt := self.peek()) is not None and nxt.kind not in (")", "OR"):
            if nxt.kind == "AND":
                self.take()
                if not children or self.peek() is None or self.peek().kind in (")", "OR"):  # type: ignore[union-attr]
                    raise QueryError("AND needs an operand on each side", nxt.column)
                continue
            children.append(self.unary())
        if not children:
            nxt = self.peek()
            if nxt is not None and nxt.kind == "OR":
                raise QueryError("OR without a left operand", nxt.column)
            if nxt is not None and nxt.kind == ")":
                raise QueryError("empty group", nxt.column)
            raise QueryError("missing operand", self.column())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "NOT":
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise QueryError("NOT without an operand", lexeme.column)
            return Not(self.unary())
        if lexeme.kind == "(":
            if (nxt := self.peek()) is not None and nxt.kind == ")":
                raise QueryError("empty group", lexeme.column)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError("unbalanced parenthesis", lexeme.column)
            self.take()
            return node
        return _leaf(lexeme)


def _leaf(lexeme: _Lexeme) -> Node:
    found = words(lexeme.text)
    if not found:
        what = "phrase" if lexeme.kind == "phrase" else "word"
        raise QueryError(f"{what} {lexeme.text!r} has no letters or digits", lexeme.column)
    if len(found) == 1:
        return Term(stem(found[0]), found[0])
    return Phrase(tuple(stem(w) for w in found), lexeme.text)


def parse(query: str) -> Node:
    """Parse a query, or raise QueryError naming the problem and its column."""
    node = _Parser(query).parse()
    if triggers(node) is None:
        raise QueryError("the query only excludes words: add a word that must occur", 1)
    return node


def triggers(node: Node) -> frozenset[str] | None:
    """Stems of which at least one must occur for `node` to match.

    None means the node can match without any word occurring (a pure NOT),
    so it cannot be found through the word index.
    """
    if isinstance(node, Term):
        return frozenset([node.stem])
    if isinstance(node, Phrase):
        # Any stem of a phrase will do; the longest is usually the rarest.
        return frozenset([max(node.stems, key=len)])
    if isinstance(node, Not):
        return None
    found = [triggers(child) for child in node.children]
    if isinstance(node, Or):
        if any(t is None for t in found):
            return None
        return frozenset().union(*[t for t in found if t is not None])
    sets = [t for t in found if t is not None]
    return min(sets, key=len) if sets else None
