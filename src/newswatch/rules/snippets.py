"""Snippets: the words around an article's first hit, with the hits in bold.

Hits are the token positions the positive leaves of the matched rules cover
(matcher.spans), and for a regex the tokens its matches overlap; each step
is linear in the length of the field (or n log n), however long the article.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from .matcher import Document, Field, RegexTimeout, _regex_search, spans
from .query import Node, Regex, leaves
from .text import CJK, Token


def highlights(nodes: Iterable[Node], f: Field) -> set[int]:
    """Token positions in a field matched by the positive parts of nodes."""
    found: set[int] = set()
    for node in nodes:
        for leaf in leaves(node):
            if isinstance(leaf, Regex):
                if f.name in leaf.fields and f.text:
                    try:
                        chars = _regex_search(leaf, f.text)
                    except RegexTimeout:
                        continue
                    found.update(_overlapping(f.tokens, chars))
                continue
            for a, b in spans(leaf, f):
                found.update(range(a, b + 1))
    return found


def _overlapping(tokens: list[Token], chars: list[tuple[int, int]]) -> list[int]:
    """Positions of the tokens that overlap a regex match (character spans, as finditer
    gives them: each starts where the one before ended, or later, so their ends
    ascend too). For each token, the one match that can overlap it is found by
    bisection: the first that ends after the token starts."""
    ends = [b for _, b in chars]
    found = []
    for i, t in enumerate(tokens):
        k = bisect_right(ends, t.start)
        if k < len(chars) and chars[k][0] < t.end:
            found.append(i)
    return found


def snippet(doc: Document, nodes: Sequence[Node], width: int = 12) -> str:
    """The words around the first hit, hits in **bold** (Markdown).

    Summary and content are preferred to the title, which a message shows
    anyway: with no hit there, the start of the summary or content; the
    title only when the article has nothing else.
    """
    for name in ("summary", "content"):
        f = doc.fields[name]
        found = highlights(nodes, f)
        if found:
            return _window(f, found, min(found), width)
    for name in ("summary", "content"):
        f = doc.fields[name]
        if f.tokens:
            return _window(f, set(), 0, width)
    f = doc.fields["title"]
    found = highlights(nodes, f)
    return _window(f, found, min(found), width) if found else ""


def _window(f: Field, found: set[int], first: int, width: int) -> str:
    tokens = f.tokens
    lo = max(0, first - width)
    hi = min(len(tokens) - 1, first + 2 * width)
    # One segment per source word (folding can split one word into several tokens).
    segments: list[tuple[int, int, bool]] = []
    for i in range(lo, hi + 1):
        t, hit = tokens[i], i in found
        end = t.end
        if hit and end - t.start == 1 and len(t.word) == 2 and CJK.match(t.word):
            end = t.start + 2  # a CJK pair's span is its first character: bold both
        if segments and segments[-1][0] == t.start:
            segments[-1] = (t.start, max(end, segments[-1][1]), segments[-1][2] or hit)
        else:
            segments.append((t.start, end, hit))
    out = ["…" if lo > 0 else ""]
    cursor = prev_end = segments[0][0]
    bold = False
    for start, end, hit in segments:
        if hit != bold:
            at = start if hit else prev_end
            out.append(f.text[cursor:at] + "**")
            cursor, bold = at, hit
        prev_end = end
    out.append(f.text[cursor:prev_end] + ("**" if bold else ""))
    if hi < len(tokens) - 1:
        out.append("…")
    return " ".join("".join(out).split())
