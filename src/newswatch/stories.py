"""One alert per story: the same wire story from ten outlets is one alert, not ten.

An alerted article starts a story. A later article from another feed whose
headline is a near-duplicate within `window` joins it: it is recorded against
the story ("also reported by ...") and alerts only for rules the story had not
matched yet. Stories live in memory for the window and are rebuilt from the
database on start.

Near-duplicate: an outlet's name and a wire or live-blog label around a
headline ("- BBC News", "UPDATE 2-", "LIVE:") are left out; then the Jaccard
similarity of the stemmed headline words, function words left out, is at least
`threshold`, unless the headlines tell different events apart: another number,
ordinal, number word or date ("17th" / "18th sanctions package"), another name
on each side ("strikes Kyiv" / "strikes Kharkiv"), who did what to whom
swapped, a negation on one side only, or one word swapped for another in an
otherwise equal headline ("talks collapse" / "talks resume"). When in doubt
two headlines stay apart: a lost alert costs more than a repeated one.
Measured on tests/data/story_pairs.jsonl: `python bench/stories.py`.
"""

from __future__ import annotations

import math
import re
import sys
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .headline_parts import as_word, numbers_of, plain_numbers, strip_affixes
from .rules.caches import HEADLINE_BYTES, Memo, entry_bytes
from .rules.text import detect_language, source_words, stems_of

# Function words and headline fillers, in the languages stemmed by default (en, uk, ru,
# pl, de, fr): they say nothing about which story.
STOPWORDS = frozenset("""
a an the of to in on at for from by with as and or but is are was were be been has have had
it its this that these those after before over into amid about against says say said
officials official report reports reported according new latest live update updates yet
again more than up out his her their our we they he she who what why how will would can
і й в у на що з із зі по як від після це про за для до та чи але під над через щодо
и с что от это о об из к же но при также
w we z ze do się że to jest jak po od za przez dla przy już ale oraz pod nad
der die das den dem des und ist mit von zu im am um auf für ein eine einen einem einer nach
bei aus an vor über gegen sich auch wird wurde sind
le la les et des du de un une est pour dans que qui sur au aux par avec ce se sa ses en
""".split())
# A headline with one of these and one without tell different events ("EU agrees new
# sanctions" / "EU fails to agree new sanctions").
NEGATIONS = frozenset("""
not no never without cannot fail fails failed refuse refuses refused reject rejects rejected
deny denies denied не ні ніколи без нет ни никогда nie bez nigdy nicht kein keine keinen
keinem keiner keines niemals ohne ne pas non jamais sans
""".split())
DEFAULT_THRESHOLD = 0.5
DEFAULT_WINDOW = 48 * 3600.0

# -- keys and similarity -------------------------------------------------------------


@dataclass(frozen=True)
class HeadlineKey:
    words: frozenset[str]  # stemmed, function words left out
    names: frozenset[str] | None  # capitalised words; None in Title Case
    numbers: frozenset[str]  # numbers, number words, ordinals, days, months (numbers_of)
    ordinals: frozenset[str] = frozenset()  # those of the numbers that were ordinals
    negated: bool = False
    # The names a headline opens with and the word after them: who did what ("Russia",
    # "accus"); None if it opens with neither.
    subject: tuple[frozenset[str], str] | None = None
    order: tuple[str, ...] = ()  # the words in the headline's order


def headline_key(title: str) -> HeadlineKey:
    """The words of a headline that tell one story from another."""
    return _KEYS(title)


def _headline_key(title: str) -> HeadlineKey:
    text = plain_numbers(strip_affixes(title))  # "2,000" is "2000"
    raws = source_words(text)
    stems = stems_of(raws, detect_language(text))
    kept = [(r, as_word(r, s)) for r, s in zip(raws, stems, strict=True)
            if r.lower() not in STOPWORDS and (len(r) > 1 or r.isdigit())]
    capitalised = [s for r, s in kept if r[:1].isupper()]
    title_case = len(kept) > 2 and len(capitalised) >= 0.7 * len(kept)
    numbers, ordinals = numbers_of(text)
    negated = any(r.lower() in NEGATIONS for r in raws) or bool(_NOT.search(text))
    return HeadlineKey(frozenset(s for _, s in kept),
                       None if title_case else frozenset(capitalised),
                       numbers, ordinals, negated, _subject(kept),
                       tuple(w for _, w in kept))


_NOT = re.compile(r"n['\u2019]t\b")


def _subject(kept: list[tuple[str, str]]) -> tuple[frozenset[str], str] | None:
    """The capitalised words a headline opens with, and the word after them."""
    for i, (raw, stem) in enumerate(kept):
        if not raw[:1].isupper():
            return (frozenset(s for _, s in kept[:i]), stem) if i else None
    return None


def _key_bytes(title: str, key: HeadlineKey) -> int:
    sets = [key.words, key.numbers, key.ordinals]
    sets += [key.names] if key.names is not None else []
    sets += [key.subject[0]] if key.subject is not None else []
    return entry_bytes(title, key) + sys.getsizeof(key.order) + sum(
        sys.getsizeof(s) + sum(map(sys.getsizeof, s)) for s in sets)


# An alerted headline is looked up, then starts its story: its key is made once.
# Bounded by bytes (see rules/caches.py), as a title can be long.
_KEYS = Memo(_headline_key, HEADLINE_BYTES, _key_bytes)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def similarity(a: HeadlineKey, b: HeadlineKey) -> float:
    """How alike two headlines are, 0 to 1: the Jaccard similarity of their words, and 0
    when they tell different events apart (never more than the Jaccard similarity, which
    Stories.find relies on)."""
    if (_numbers_differ(a, b) or a.negated != b.negated or _names_differ(a, b)
            or _roles_swapped(a, b) or _slot_swapped(a, b)):
        return 0.0
    return _jaccard(a.words, b.words)


def _numbers_differ(a: HeadlineKey, b: HeadlineKey) -> bool:
    """Each tells a number the other does not ("death toll rises to 12" / "to 7"), or an
    ordinal the other does not tell at all ("largest" / "second-largest attack")."""
    if a.numbers - b.numbers and b.numbers - a.numbers:
        return True
    return bool(a.ordinals - b.numbers or b.ordinals - a.numbers)


def _names_differ(a: HeadlineKey, b: HeadlineKey) -> bool:
    """Each names someone or somewhere the other does not: "Russia strikes Kyiv" /
    "Russia strikes Kharkiv". In Title Case any word may be a name: each is taken for one."""
    return bool(_unmatched_names(a, b) and _unmatched_names(b, a))


def _unmatched_names(a: HeadlineKey, b: HeadlineKey) -> frozenset[str]:
    return (a.words if a.names is None else a.names) - b.words


def _roles_swapped(a: HeadlineKey, b: HeadlineKey) -> bool:
    """Others did the same: "Russia accuses Ukraine" / "Ukraine accuses Russia". Not
    for a meeting, where either may be named first."""
    if a.subject is None or b.subject is None or a.subject[1] != b.subject[1]:
        return False
    return not a.subject[0] & b.subject[0] and not _bare(a.subject[1]).startswith(_TOGETHER)


# Stems of doing something together ("Zelensky meets Trump", "Trump meets Zelensky").
_TOGETHER = ("meet", "talk", "speak", "trifft", "treff", "rencontr", "spotka", "spotyka",
             "зустр", "встрет", "встреч", "розмов", "разговар", "переговор")


def _bare(stem: str) -> str:
    return stem.rpartition(":")[2]  # "ru:встреч": "встреч"


def _slot_swapped(a: HeadlineKey, b: HeadlineKey) -> bool:
    """A template with its slot filled twice: equal but for one word each ("ceasefire
    talks collapse" / "resume"), or for a run of words in the same place ("Hungary blocks
    EU aid" / "Hungary lifts veto on EU aid"). Outlets retelling one event change more.
    Two forms of one word the stemmer left apart ("minister" / "ministry") are no slot."""
    only_a, only_b = a.words - b.words, b.words - a.words
    if not only_a or not only_b:
        return False
    if len(only_a) == 1 == len(only_b):
        return not _forms_of_one_word(a, b, next(iter(only_a)), next(iter(only_b)))
    around = _around(a.order, only_a)
    return around is not None and around == _around(b.order, only_b)


def _forms_of_one_word(a: HeadlineKey, b: HeadlineKey, word_a: str, word_b: str) -> bool:
    """Not names (Niger is not Nigeria), and one begins with the other."""
    if a.names is None or b.names is None or word_a in a.names or word_b in b.names:
        return False
    short, long = sorted((_bare(word_a), _bare(word_b)), key=len)
    return len(short) >= 4 and long.startswith(short)


def _around(order: tuple[str, ...], slot: frozenset[str]) -> tuple[tuple[str, ...], int] | None:
    """The words around a slot and where it starts; None if its words are apart."""
    at = [i for i, word in enumerate(order) if word in slot]
    if at[-1] - at[0] + 1 != len(at):
        return None
    return tuple(word for word in order if word not in slot), at[0]


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
