"""Watch rules: parse queries, compile them into one matcher, match articles."""

from .matcher import CompiledRule, Document, Matcher, evaluate, snippet
from .query import Node, parse
from .synonyms import Synonyms

__all__ = ["CompiledRule", "Document", "Matcher", "Node", "Synonyms", "evaluate", "parse",
           "snippet"]
