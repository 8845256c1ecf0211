"""Watch rules: parse queries, compile them into one matcher, match articles."""

from .matcher import Document, Matcher, evaluate, snippet
from .query import Node, parse

__all__ = ["Document", "Matcher", "Node", "evaluate", "parse", "snippet"]
