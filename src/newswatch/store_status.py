"""What the status page and the alert feeds read: alerts by article, with each
target's state; feeds and rules as an operator watches them. And what matching
asks of the articles already stored: their story and alerts, their feed's first
poll, their text as first stored.

Plain SQL that SQLite and PostgreSQL both take (`?` placeholders, no JSON
functions): an alert's rules are a JSON list read here in Python, and times are
ISO-8601 UTC text, compared as strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

BATCH = 200  # articles looked at per query when one rule's are wanted


@dataclass(frozen=True)
class TargetAlert:
    """One target's alert of an article, as the outbox holds it."""

    id: int
    target: str
    status: str  # pending | sent | failed
    rules: tuple[str, ...]
    snippet: str
    created: str
    sent: str | None
    attempts: int
    next_attempt: str | None
    last_error: str | None
    sending: str | None  # when a message carrying it left, till the target answered


@dataclass(frozen=True)
class AlertedArticle:
    """An article that matched, with its alerts to every target (oldest first)."""

    id: int
    feed: str
    url: str
    title: str
    published: str | None
    found: str
    alerts: tuple[TargetAlert, ...]

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule it matched, for any target, in the order first seen."""
        return tuple(dict.fromkeys(r for a in self.alerts for r in a.rules))

    @property
    def snippet(self) -> str:
        # The first alert's: later ones may be notices about it (see failures_to).
        return self.alerts[0].snippet if self.alerts else ""


class StatusRows:
    conn: Any

    def alerted_articles(self, limit: int, rule: str | None = None) -> list[AlertedArticle]:
        """The newest articles that raised alerts (of one rule, if given), newest first."""
        found: list[AlertedArticle] = []
        before: int | None = None
        while len(found) < limit:
            ids = self._alerted_ids(before, limit if rule is None else BATCH)
            if not ids:
                break
            found += [a for a in self._with_alerts(ids) if rule is None or rule in a.rules]
            before = ids[-1]
        return found[:limit]

    def _alerted_ids(self, before: int | None, limit: int) -> list[int]:
        where = "WHERE article_id < ? " if before is not None else ""
        params = [before, limit] if before is not None else [limit]
        rows = self.conn.execute(f"SELECT DISTINCT article_id FROM alerts {where}"
                                 "ORDER BY article_id DESC LIMIT ?", params).fetchall()
        return [int(r[0]) for r in rows]

    def _with_alerts(self, ids: list[int]) -> list[AlertedArticle]:
        marks = ", ".join("?" * len(ids))
        rows = self.conn.execute(
            "SELECT articles.id, articles.feed, articles.url, articles.title, "
            "articles.published, articles.found, alerts.id, alerts.target, alerts.status, "
            "alerts.rules, alerts.snippet, alerts.created, alerts.sent, alerts.attempts, "
            "alerts.next_attempt, alerts.last_error, alerts.sending "
            "FROM alerts JOIN articles ON articles.id = alerts.article_id "
            f"WHERE alerts.article_id IN ({marks}) ORDER BY articles.id DESC, alerts.id",
            ids).fetchall()
        articles: dict[int, tuple[Any, list[TargetAlert]]] = {}
        for r in rows:
            articles.setdefault(r[0], (r, []))[1].append(TargetAlert(
                r[6], r[7], r[8], _rules(r[9]), r[10] or "", r[11], r[12], r[13] or 0,
                r[14], r[15], r[16]))
        return [AlertedArticle(r[0], r[1], r[2] or "", r[3] or "", r[4], r[5], tuple(alerts))
                for r, alerts in articles.values()]

    def rule_counts(self, day_ago: str, week_ago: str) -> dict[str, tuple[int, int]]:
        """Per rule, the articles it alerted on since each time: (last day, last week)."""
        day: dict[str, set[int]] = {}
        week: dict[str, set[int]] = {}
        rows = self.conn.execute("SELECT article_id, rules, created FROM alerts "
                                 "WHERE created >= ?", [week_ago]).fetchall()
        for article_id, rules, created in rows:
            for rule in _rules(rules):
                week.setdefault(rule, set()).add(article_id)
                if created >= day_ago:
                    day.setdefault(rule, set()).add(article_id)
        return {rule: (len(day.get(rule, ())), len(ids)) for rule, ids in week.items()}

    # -- what matching asks of stored articles ------------------------------------

    def alerts_of(self, article_id: int) -> tuple[int | None, dict[str, tuple[str, ...]]]:
        """An article's story (None: in none yet) and the rules of its alert to each target."""
        rows = self.conn.execute(
            "SELECT articles.story_id, alerts.target, alerts.rules FROM articles LEFT JOIN "
            "alerts ON alerts.article_id = articles.id WHERE articles.id = ?",
            [article_id]).fetchall()
        story = rows[0][0] if rows else None
        return story, {target: _rules(rules) for _, target, rules in rows if target}

    def story_rules(self, story_id: int) -> set[str]:
        """The rules a story's articles alerted, whichever instance queued them."""
        rows = self.conn.execute(
            "SELECT alerts.rules FROM alerts JOIN articles ON articles.id = alerts.article_id "
            "WHERE articles.story_id = ?", [story_id]).fetchall()
        return {rule for (rules,) in rows for rule in _rules(rules)}

    def add_alert_rules(self, article_id: int, target: str, rules: tuple[str, ...]) -> None:
        """Record more rules on an article's alert to a target (it is not sent again)."""
        self.conn.execute("UPDATE alerts SET rules = ? WHERE article_id = ? AND target = ?",
                          [json.dumps(list(rules)), article_id, target])

    def found_times(self, ids: list[int]) -> dict[int, tuple[str, str]]:
        """Each article's feed and when it was found, by row id."""
        marks = ", ".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id, feed, found FROM articles WHERE id IN ({marks})",
                                 ids).fetchall() if ids else []
        return {int(i): (feed, found) for i, feed, found in rows}

    def first_polls(self, feeds: set[str]) -> dict[str, str]:
        """When each feed's first poll that met an article was: its articles' `found`.
        (Read from `seen`, which is never pruned; a scan, so callers keep the answer.)"""
        names = sorted(feeds)
        marks = ", ".join("?" * len(names))
        rows = self.conn.execute(f"SELECT feed, min(first_seen) FROM seen WHERE feed IN "
                                 f"({marks}) GROUP BY feed", names).fetchall() if names else []
        return {feed: first for feed, first in rows}

    def stored_texts(self, feed: str, keys: list[str]) -> dict[str, tuple[int, str, str | None]]:
        """A feed's stored articles under these keys: row id, title and summary (None once
        pruned), by key."""
        found: dict[str, tuple[int, str, str | None]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            for key, row_id, title, summary in self.conn.execute(
                    f"SELECT key, id, title, summary FROM articles WHERE feed = ? AND key IN "
                    f"({marks})", [feed, *chunk]):
                found[key] = (int(row_id), title or "", summary)
        return found

    def update_text(self, row_id: int, title: str, summary: str, content: str) -> None:
        """An article's text as its feed has it now (its identity unchanged)."""
        self.conn.execute("UPDATE articles SET title = ?, summary = ?, content = ? "
                          "WHERE id = ?", [title, summary, content, row_id])


def _rules(text: str | None) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()
