"""One alert per story: the same wire story from ten outlets is one alert, not ten.

An alerted article starts a story. A later article from another feed whose
headline is a near-duplicate (token-set similarity of the stemmed headline
words, function words left out, at least `threshold`) within `window` joins
it: it is recorded against the story ("also reported by ...") and alerts only
for rules the story had not matched yet. The threshold was chosen on the
headline pairs in tests/data/headline-pairs.tsv, which a test scores.
Stories live in memory for the window and are rebuilt from the database on
start.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .rules.caches import HEADLINE_BYTES, Memo, entry_bytes
from .rules.text import source_words, stems_of

# English function words and headline fillers: they say nothing about which story.
STOPWORDS = frozenset("""
a an the of to in on at for from by with as and or but is are was were be been has have had
it its this that these those after before over into amid about against says say said
officials official report reports reported according new latest live update updates yet
again more than up out his her their our we they he she who what why how will would can
""".split())
DEFAULT_THRESHOLD = 0.5
DEFAULT_WINDOW = 48 * 3600.0


@dataclass(frozen=True)
class HeadlineKey:
    words: frozenset[str]  # stemmed, function words left out
    names: frozenset[str] | None  # capitalised words; None in Title Case
    numbers: frozenset[str]


def headline_key(title: str) -> HeadlineKey:
    """The words of a headline that tell one story from another."""
    return _KEYS(title)


def _headline_key(title: str) -> HeadlineKey:
    raws = source_words(title)
    stems = stems_of(raws, "")
    kept = [(r, s) for r, s in zip(raws, stems, strict=True)
            if r.lower() not in STOPWORDS and (len(s) > 1 or s.isdigit())]
    capitalised = [s for r, s in kept if r[:1].isupper()]
    title_case = len(kept) > 2 and len(capitalised) >= 0.7 * len(kept)
    return HeadlineKey(frozenset(s for _, s in kept),
                       None if title_case else frozenset(capitalised),
                       frozenset(s for _, s in kept if s.isdigit()))


def _key_bytes(title: str, key: HeadlineKey) -> int:
    sets = [key.words, key.numbers] + ([key.names] if key.names is not None else [])
    return entry_bytes(title, key) + sum(
        sys.getsizeof(s) + sum(map(sys.getsizeof, s)) for s in sets)


# An alerted headline is looked up, then starts its story: its key is made once.
# Bounded by bytes (see rules/caches.py), as a title can be long.
_KEYS = Memo(_headline_key, HEADLINE_BYTES, _key_bytes)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def similarity(a: HeadlineKey, b: HeadlineKey) -> float:
    """How alike two headlines are, 0 to 1: the Jaccard similarity of their words, and 0
    when their numbers differ ("death toll rises to 12" / "to 7") or their names mostly
    do ("Russia attacks Ukraine" / "Ukraine attacks Moscow": who did what to whom)."""
    if a.numbers and b.numbers and not a.numbers & b.numbers:
        return 0.0
    if a.names and b.names and _jaccard(a.names, b.names) < 0.5:
        return 0.0
    return _jaccard(a.words, b.words)


@dataclass
class Story:
    id: int  # the row id of its first article
    key: HeadlineKey
    started: datetime
    feeds: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)


class Stories:
    """The stories of the last `window` seconds, indexed by headline word."""

    def __init__(self, window: float = DEFAULT_WINDOW,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.window, self.threshold = window, threshold
        self.stories: dict[int, Story] = {}
        self.by_word: defaultdict[str, set[int]] = defaultdict(set)
        self.order: deque[int] = deque()  # story ids as started, for expire()

    def __len__(self) -> int:
        return len(self.stories)

    def find(self, feed: str, title: str, when: datetime) -> Story | None:
        """The story a headline from `feed` belongs to, if another feed told it already."""
        if self.window <= 0:
            return None
        key = headline_key(title)
        oldest = when - timedelta(seconds=self.window)
        best, best_score = None, self.threshold
        # Jaccard similarity t needs common / (n + m - common) >= t, that is common >=
        # t / (1 + t) * (n + m), so at least k of the headline's n words in common; a
        # story with k in common has one of any n - k + 1 of them. Only the stories
        # under the n - k + 1 rarest words are looked at: common words make long
        # lists ("attack", "Ukraine").
        n, floor = len(key.words), self.threshold / (1 + self.threshold)
        k = math.ceil(floor * (n + 1) - 1e-9)
        words = sorted(key.words, key=lambda w: len(self.by_word.get(w, ())))
        candidates = set().union(*(self.by_word.get(w, ()) for w in words[: max(0, n - k + 1)]))
        for story_id in candidates:
            story = self.stories[story_id]
            common = len(key.words & story.key.words)
            if common < floor * (n + len(story.key.words)) - 1e-9:
                continue
            if story.started < oldest or feed in story.feeds:
                continue
            score = similarity(key, story.key)
            if score >= best_score:
                best, best_score = story, score
        return best

    def start(self, story_id: int, feed: str, title: str, rules: set[str],
              when: datetime) -> Story:
        story = Story(story_id, headline_key(title), when, {feed}, set(rules))
        self.stories[story_id] = story
        self.order.append(story_id)
        for word in story.key.words:
            self.by_word[word].add(story_id)
        return story

    def join(self, story: Story, feed: str, rules: set[str]) -> None:
        story.feeds.add(feed)
        story.rules.update(rules)

    def expire(self, now: datetime) -> None:
        """Forget stories older than the window, from the oldest on: a poll's cost does not
        grow with the stories kept. (One started a moment before a later-stored one
        goes with it; find() skips it meanwhile.)"""
        oldest = now - timedelta(seconds=self.window)
        while self.order:
            story = self.stories.get(self.order[0])
            if story is not None and story.started >= oldest:
                break
            self.order.popleft()
            if story is None:
                continue
            del self.stories[story.id]
            for word in story.key.words:
                self.by_word[word].discard(story.id)
                if not self.by_word[word]:
                    del self.by_word[word]
