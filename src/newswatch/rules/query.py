"""The watch-rule query language: text -> syntax tree.

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary+                          juxtaposition, or explicit AND
    unary    := ("NOT" | "-") unary | near
    near     := primary (("NEAR/" | "BEFORE/") n primary)*
                 NEAR: n words or fewer between, either order; BEFORE: the left
                 operand first (who did what: `Russia BEFORE/4 attack*`)
    primary  := [field ":"] ( "(" or_expr ")" | '"' phrase '"' | word | word "*" | "/" regex "/" )
    field    := title | summary | content | author | category

Words and phrases are normalised and stemmed like article text (text.py); a
bare word that normalises to several words ('drone-attack', "333's") is a
phrase of them. `word*` is a prefix of the normalised, unstemmed word.
`/regex/` is a case-insensitive Python regular expression searched in each
field's plain text. Without a field, a leaf looks in title, summary and
content. OR, AND, NOT, NEAR and BEFORE are operators only in upper case (a user
may mean the word "or"); `operator_notes` points out those written otherwise. A
NEAR or BEFORE operand is a word, phrase, prefix, OR-group of those, or another
NEAR or BEFORE.

A query is refused beyond the limits of limits.py: parentheses and NOTs
nested more than MAX_NESTING deep (also groups inside a regex), more than
MAX_NEARS NEARs, more than MAX_WORDS words.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import regex

from ..errors import QueryError
from .limits import MAX_NEARS, MAX_NESTING, MAX_WORDS
from .text import WORD_OF, query_stem, slot, source_words

FIELDS = ("title", "summary", "content", "author", "category")
DEFAULT_FIELDS = frozenset(("title", "summary", "content"))
_FIELD_PREFIX = re.compile(r"([A-Za-z]+):(?=\S)")
_NEAR = re.compile(r"(?:NEAR|BEFORE)/(\d+)$")


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive words; each slot holds the stems that may stand there (synonyms)."""

    slots: tuple[frozenset[str], ...]
    text: str
    fields: frozenset[str] = DEFAULT_FIELDS
    stems: tuple[str, ...] = field(default=(), compare=False)  # canonical, one per slot


@dataclass(frozen=True, slots=True)
class Prefix:
    prefix: str  # normalised, unstemmed
    text: str
    fields: frozenset[str] = DEFAULT_FIELDS


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: str
    compiled: regex.Pattern[str] = field(compare=False, repr=False)
    fields: frozenset[str] = DEFAULT_FIELDS
    # ASCII substrings every match contains (lower case), tested before searching: literals().
    needles: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int
    ordered: bool = False  # BEFORE: left, then right


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Phrase | Prefix | Regex | Near | And | Or | Not
Leaf = Phrase | Prefix | Regex


def term(word: str) -> Phrase:
    """A one-word phrase (a convenience for tests and synonyms)."""
    canonical = query_stem(source_words(word)[0])
    return Phrase((slot(canonical),), word, stems=(canonical,))


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # ( ) phrase word prefix regex OR AND NOT NEAR field
    text: str
    column: int  # 1-based


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
        elif c in "\"/":
            end = _closing(query, i)
            kind = "phrase" if c == '"' else "regex"
            out.append(_Lexeme(kind, query[i + 1 : end], i + 1))
            i = end + 1
        elif c == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")":
            out.append(_Lexeme("NOT", c, i + 1))
            i += 1
        elif m := _FIELD_PREFIX.match(query, i):
            out.append(_Lexeme("field", m.group(1), i + 1))
            i = m.end()
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            out.append(_word_lexeme(query[i:j], i + 1))
            i = j
    return out


def _closing(query: str, start: int) -> int:
    quote = query[start]
    i = start + 1
    while i < len(query):
        if query[i] == "\\" and quote == "/":
            i += 2
            continue
        if query[i] == quote:
            return i
        i += 1
    what = "quote" if quote == '"' else "regex (missing closing /)"
    raise QueryError(f"unterminated {what}", start + 1)


def _word_lexeme(text: str, column: int) -> _Lexeme:
    if text in ("OR", "AND", "NOT"):
        return _Lexeme(text, text, column)
    for op in ("NEAR", "BEFORE"):
        if text.startswith(op + "/") or text == op:
            if not _NEAR.match(text):
                raise QueryError(f"{op} needs a distance, as in {op}/3", column)
            return _Lexeme("NEAR", text, column)
    if text.endswith("*") and len(text) > 1:
        return _Lexeme("prefix", text[:-1], column)
    return _Lexeme("word", text, column)


class _Parser:
    def __init__(self, query: str, stem: bool = True) -> None:
        self.lexemes = _lex(query)
        self.stem = stem
        self.pos = 0
        self.end_column = len(query) + 1
        # Counted as the parser goes, so that an oversized query stops at the first
        # operator past a limit: it never recurses past one, nor builds a tree that
        # compiling or matching would.
        self.depth = self.nears = self.words = 0

    def enter(self, lexeme: _Lexeme) -> None:
        """One more level of parentheses or NOT, refused past MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise QueryError(f"nested more than {MAX_NESTING} deep (parentheses and NOT)",
                             lexeme.column)

    def peek(self, kinds: tuple[str, ...] | None = None) -> _Lexeme | None:
        if self.pos >= len(self.lexemes):
            return None
        lexeme = self.lexemes[self.pos]
        return lexeme if kinds is None or lexeme.kind in kinds else None

    def at_end_of_operand(self) -> bool:
        return self.peek() is None or self.peek((")", "OR", "AND", "NEAR")) is not None

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme

    def parse(self) -> Node:
        if not self.lexemes:
            raise QueryError("empty query", 1)
        node = self.or_expr()
        if (extra := self.peek()) is not None:  # only a stray ')' stops or_expr early
            raise QueryError("unbalanced parenthesis", extra.column)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (op := self.peek(("OR",))) is not None:
            self.take()
            if self.peek() is None or self.peek((")", "OR")):
                raise QueryError("OR without a right operand", op.column)
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children: list[Node] = []
        while (nxt := self.peek()) is not None and nxt.kind not in (")", "OR"):
            if nxt.kind == "AND":
                self.take()
                if not children or self.peek() is None or self.peek((")", "OR")):
                    raise QueryError("AND needs an operand on each side", nxt.column)
                continue
            if nxt.kind == "NEAR":
                raise QueryError(f"{_op(nxt)} without a left operand", nxt.column)
            children.append(self.unary())
        if not children:
            if (nxt := self.peek()) is not None and nxt.kind == "OR":
                raise QueryError("OR without a left operand", nxt.column)
            if nxt is not None:
                raise QueryError("empty group", nxt.column)
            raise QueryError("missing operand", self.end_column)
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        if (op := self.peek(("NOT",))) is not None:
            self.take()
            if self.at_end_of_operand():
                raise QueryError("NOT without an operand", op.column)
            self.enter(op)
            child = self.unary()
            self.depth -= 1
            return Not(child)
        return self.near()

    def near(self) -> Node:
        start = self.peek()
        node = self.primary()
        while (op := self.peek(("NEAR",))) is not None:
            self.take()
            self.nears += 1
            if self.nears > MAX_NEARS:
                raise QueryError(f"more than {MAX_NEARS} NEARs and BEFOREs in one query",
                                 op.column)
            if self.peek() is None or self.peek((")", "OR", "AND", "NEAR", "NOT")):
                raise QueryError(f"{_op(op)} without a right operand", op.column)
            right_start = self.peek()
            right = self.primary()
            _check_near_operand(node, start, op)
            _check_near_operand(right, right_start, op)
            node = Near(node, right, int(op.text.split("/")[1]),
                        ordered=op.text.startswith("BEFORE"))
        return node

    def primary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "field":
            return self.fielded(lexeme)
        if lexeme.kind == "(":
            if (close := self.peek((")",))) is not None:
                raise QueryError("empty group", lexeme.column)
            self.enter(lexeme)
            node = self.or_expr()
            if (close := self.peek()) is None or close.kind != ")":
                raise QueryError("unbalanced parenthesis", lexeme.column)
            self.take()
            self.depth -= 1
            return node
        if lexeme.kind in ("OR", "AND", "NEAR", ")"):
            raise QueryError(f"unexpected {lexeme.text!r}", lexeme.column)
        leaf = _leaf(lexeme, self.stem)
        self.words += len(leaf.slots) if isinstance(leaf, Phrase) else 1
        if self.words > MAX_WORDS:
            raise QueryError(f"more than {MAX_WORDS:,} words in one query", lexeme.column)
        return leaf

    def fielded(self, lexeme: _Lexeme) -> Node:
        name = lexeme.text.lower()
        if name not in FIELDS:
            raise QueryError(f"unknown field {lexeme.text!r} (fields: {', '.join(FIELDS)})",
                             lexeme.column)
        if self.peek() is None or self.peek((")", "OR", "AND", "NEAR", "NOT", "field")):
            raise QueryError(f"field {name}: needs a word, phrase or group", lexeme.column)
        return _restrict(self.primary(), frozenset([name]))


def _op(lexeme: _Lexeme) -> str:
    """NEAR or BEFORE, as the query wrote it."""
    return lexeme.text.split("/")[0]


def _check_near_operand(node: Node, lexeme: _Lexeme | None, op: _Lexeme) -> None:
    if not _spannable(node):
        column = lexeme.column if lexeme else 1
        raise QueryError(f"a {_op(op)} operand must be a word, phrase, prefix or OR-group "
                         "of those", column)


def _spannable(node: Node) -> bool:
    if isinstance(node, Phrase | Prefix | Near):
        return True
    if isinstance(node, Or):
        return all(_spannable(c) for c in node.children)
    return False


def _restrict(node: Node, fields: frozenset[str]) -> Node:
    """Apply a field qualifier to every leaf that does not name its own field."""
    if isinstance(node, Phrase | Prefix | Regex):
        return replace(node, fields=fields) if node.fields == DEFAULT_FIELDS else node
    if isinstance(node, Near):
        return Near(_restrict(node.left, fields), _restrict(node.right, fields), node.distance)
    if isinstance(node, Not):
        return Not(_restrict(node.child, fields))
    children = tuple(_restrict(c, fields) for c in node.children)
    return And(children) if isinstance(node, And) else Or(children)


def _leaf(lexeme: _Lexeme, stem: bool = True) -> Leaf:
    if lexeme.kind == "regex":
        if regex_depth(lexeme.text) > MAX_NESTING:
            raise QueryError(f"regex nests groups more than {MAX_NESTING} deep", lexeme.column)
        try:
            compiled = regex.compile(lexeme.text, regex.IGNORECASE | regex.V0)
        except (regex.error, RecursionError) as e:
            message = f"regex /{lexeme.text}/ does not compile: {e}"
            raise QueryError(message, lexeme.column) from None
        if compiled.search("") is not None:
            raise QueryError(f"regex /{lexeme.text}/ matches empty text", lexeme.column)
        return Regex(lexeme.text, compiled, needles=literals(lexeme.text))
    raws = source_words(lexeme.text)
    found = [WORD_OF[r] for r in raws]
    if not found:
        what = {"phrase": "phrase", "prefix": "prefix"}.get(lexeme.kind, "word")
        raise QueryError(f"{what} {lexeme.text!r} has no letters or digits", lexeme.column)
    if lexeme.kind == "prefix":
        if len(found) > 1:
            raise QueryError(f"prefix {lexeme.text + '*'!r} must be a single word", lexeme.column)
        return Prefix(found[0], lexeme.text + "*")
    if not stem:
        return Phrase(tuple(frozenset((w,)) for w in found), lexeme.text)
    stems = tuple(query_stem(r) for r in raws)
    return Phrase(tuple(slot(s) for s in stems), lexeme.text, stems=stems)


def regex_depth(pattern: str) -> int:
    """How deep a regex nests its groups: `regex` parses them recursively, and past
    ~350 levels it raises RecursionError instead of a message."""
    depth = deepest = i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1  # the escaped character is skipped below
        elif c == "[":
            i = _class_end(pattern, i)
        elif c == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif c == ")":
            depth -= 1
        i += 1
    return deepest


def _class_end(pattern: str, start: int) -> int:
    """Where the character class opened at `start` ends: its parentheses are literals."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):  # first in a class, ']' is a literal
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


# A brace that is not a counted repeat ({2}, {2,}, {,3}, {2,3}): in `regex` it may be
# fuzzy matching ({e<=1}), which Python's parser would read as literal text.
_OTHER_BRACE = re.compile(r"(?<!\\)\{(?!\d*,?\d*\})")


def literals(pattern: str) -> tuple[str, ...]:
    """ASCII substrings, lower-cased, that every match of a rule's regex contains.

    A regex is searched for only in text that contains them all (see
    matcher.fold_ascii): a substring test costs a fraction of a search, and a rule
    such as /\\bsec(tion)? ?333\\b/ OR ... is tried on every article (no word in it
    can be indexed). Read with Python's own regex parser, taking the literal runs
    outside alternatives and optional parts, cut at non-ASCII characters (whose
    case-insensitive matches are many); () when unsure (a pattern only `regex`
    reads, a brace that may be fuzzy matching), which only means no shortcut.
    """
    if _OTHER_BRACE.search(pattern):
        return ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from re import _constants as c  # type: ignore[attr-defined]
            from re import _parser  # type: ignore[attr-defined]

            tree = _parser.parse(pattern, re.IGNORECASE)
    except Exception:  # noqa: BLE001 (not Python syntax, or a private module changed)
        return ()
    found: list[str] = []

    def walk(items: Any) -> None:
        run: list[str] = []
        for op, arg in items:
            if op is c.LITERAL and arg < 128:
                run.append(chr(arg))
                continue
            if run:
                found.append("".join(run))
                run = []
            if op is c.SUBPATTERN:
                walk(arg[3])
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and arg[0] >= 1:
                walk(arg[2])
        if run:
            found.append("".join(run))

    try:
        walk(tree)
    except Exception:  # noqa: BLE001
        return ()
    # Needles without letters first: they are looked for without lower-casing the text.
    return tuple(sorted({s.lower() for s in found}, key=lambda s: (not caseless(s), -len(s))))


def caseless(needle: str) -> bool:
    """Whether a needle of literals() has no letters: it is found as it is, or not at all."""
    return needle.upper() == needle


def parse(query: str, stem: bool = True) -> Node:
    """Parse a query, or raise QueryError naming the problem and its column.

    stem=False only checks it: words stay unstemmed, and no stem is computed
    or remembered (the config check reads 10,000 rules in a process that
    never matches them).
    """
    node = _Parser(query, stem).parse()
    if not required(node):
        raise QueryError("the query only excludes words: add a word that must occur", 1)
    return node


_OPERATOR_LIKE = re.compile(r"(or|and|not|near/\d+|before/\d+)$", re.IGNORECASE)
_MEANT = {"OR": "to match either side", "AND": "to require both sides (as words side by "
          "side are anyway)", "NOT": "to leave out what follows"}


def operator_notes(query: str) -> list[str]:
    """What an operator written in lower or mixed case does, and the fix, for each:
    `drone or missile` requires the word "or". Matching is left as it is (the word
    may be meant); a query that does not parse has no notes (its error says more)."""
    try:
        lexemes = _lex(query)
    except QueryError:
        return []
    notes = []
    for lexeme in lexemes:
        word = lexeme.text
        if lexeme.kind != "word" or not _OPERATOR_LIKE.match(word):  # OR, "or": as meant
            continue
        operator = word.upper()
        distance = word.split("/")[-1]
        meant = _MEANT.get(operator, f"to match words at most {distance} apart" if
                           operator.startswith("NEAR") else
                           f"to match the left side, then the right at most {distance} "
                           "words after it")
        notes.append(f'"{word}" at column {lexeme.column} is matched as a word, not as an '
                     f'operator: write {operator} {meant}, or "{word}" in quotes if the '
                     "word is meant")
    return notes


def required(node: Node) -> bool:
    """Whether something must occur in an article for the node to match."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(required(c) for c in node.children)
    if isinstance(node, Or):
        return all(required(c) for c in node.children)
    return True


def leaves(node: Node, positive: bool = True) -> list[Leaf]:
    """The leaves under a node; with positive=True, not those under a NOT."""
    if isinstance(node, Phrase | Prefix | Regex):
        return [node]
    if isinstance(node, Not):
        return [] if positive else leaves(node.child, positive)
    if isinstance(node, Near):
        return leaves(node.left, positive) + leaves(node.right, positive)
    return [leaf for c in node.children for leaf in leaves(c, positive)]
