"""How large a rule set may be: refused when the config is read, never met in a worker.

Each limit is far above what real rules use (the bundled rules nest three
deep, use one NEAR and at most a dozen words; a synonym group holds a few
words, a large multilingual one a few dozen), and low enough that parsing,
compiling and matching stay well inside Python's recursion limit (1,000
frames) and a worker's memory. The syntax tree is at most about
2 x MAX_NESTING + MAX_NEARS levels deep, and every walk over it recurses
once or twice per level.
"""

from __future__ import annotations

MAX_NESTING = 32  # parentheses and NOTs inside each other; groups inside a /regex/
MAX_NEARS = 64  # NEAR operators in one query: a chain of them nests one level each
MAX_WORDS = 1_000  # words (each word of a phrase), prefixes and regexes in one query
MAX_GROUP = 200  # members of one synonym group, its key included
MAX_SYNONYMS = 10_000  # members of all synonym groups together
MAX_RULES = 10_000  # [[rules]] in one config: the most that has been measured (README)
