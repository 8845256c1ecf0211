"""What users said of alerts: `newswatch feedback ALERT_ID --wrong|--right`.

One row per rule an alert was sent for: the verdict and the article's text
(title and summary, as the model reads it), kept here because articles are
pruned and judgements are not. An `about` rule reads its rows as more examples
(right) and counter-examples (wrong): see semantic.Meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .semantic import article_text
from .timestamps import iso

VERDICTS = ("right", "wrong")


@dataclass(frozen=True)
class Judged:
    """An alert a user judged, for each of its rules."""

    alert_id: int
    title: str
    text: str
    rules: tuple[str, ...]


class FeedbackRows:
    conn: Any

    def judge(self, alert_id: int, verdict: str, when: datetime) -> Judged | None:
        """Record a verdict on an alert for every rule its article was alerted for, to any
        target (a second verdict replaces the first); None when there is no such alert."""
        assert verdict in VERDICTS
        row = self.conn.execute(
            "SELECT articles.id, articles.title, articles.summary FROM alerts "
            "JOIN articles ON articles.id = alerts.article_id WHERE alerts.id = ?",
            [alert_id]).fetchone()
        if row is None:
            return None
        rules = tuple(dict.fromkeys(  # the article's alerts to every target: their rules
            rule for (names,) in self.conn.execute(
                "SELECT rules FROM alerts WHERE article_id = ? ORDER BY id", [row[0]])
            for rule in json.loads(names or "[]")))
        text = article_text(row[1] or "", row[2] or "")
        for rule in rules:
            self.conn.execute(
                "INSERT INTO feedback (rule, alert_id, verdict, text, at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (rule, alert_id) DO UPDATE SET verdict = excluded.verdict, "
                "text = excluded.text, at = excluded.at",
                [rule, alert_id, verdict, text, iso(when)])
        return Judged(alert_id, row[1] or "", text, rules)

    def verdicts(self, alert_ids: list[int]) -> dict[int, str]:
        """alert id -> the verdict given on it, for those judged."""
        out: dict[int, str] = {}
        for start in range(0, len(alert_ids), 500):
            chunk = alert_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.conn.execute(
                f"SELECT alert_id, verdict FROM feedback WHERE alert_id IN ({marks})",
                chunk).fetchall())
        return out

    def feedback(self) -> dict[str, tuple[list[str], list[str]]]:
        """rule -> (texts judged right, texts judged wrong), oldest first."""
        out: dict[str, tuple[list[str], list[str]]] = {}
        for rule, verdict, text in self.conn.execute(
                "SELECT rule, verdict, text FROM feedback ORDER BY at, alert_id"):
            right, wrong = out.setdefault(rule, ([], []))
            (right if verdict == "right" else wrong).append(text)
        return out
