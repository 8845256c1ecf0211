"""Watch rules: parse queries, compile them into one matcher, match articles."""

from .matcher import CompiledRule, Document, Matcher, evaluate
from .query import Node, parse
from .snippets import snippet
from .synonyms import Synonyms

__all__ = ["CompiledRule", "Document", "Matcher", "Node", "Synonyms", "evaluate", "parse",
           "snippet"]
