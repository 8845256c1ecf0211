"""`newswatch feedback ALERT_ID --wrong|--right`, and the same from the status page.

A verdict is kept for each rule the alert was sent for (store_feedback.py). An
`about` rule reads the alerts judged wrong as counter-examples and those judged
right as examples from its next pass on: an article nearer something judged
wrong than to the rule's intent and examples no longer alerts. A rule that
matches on words alone cannot learn from it: the answer says how to tighten it.
"""

from __future__ import annotations

from .errors import NewswatchError
from .models import Config
from .store import Store
from .timestamps import now


def judge(config: Config, store: Store, alert_id: int, verdict: str) -> list[str]:
    """Record a verdict; return what it changes, a line each. Raises NewswatchError
    when there is no such alert."""
    with store.transaction():
        judged = store.judge(alert_id, verdict, now())
    if judged is None:
        raise NewswatchError(f"no alert {alert_id} (`newswatch alerts` lists them)")
    lines = [f"alert {alert_id} ({judged.title[:80]!r}) marked {verdict}"]
    rules = {r.name: r for r in config.rules}
    for name in judged.rules:
        rule = rules.get(name)
        if rule is None:
            lines.append(f"  rule {name!r}: no longer in the config; the verdict is kept")
        elif rule.about and not rule.lexical:
            lines.append(f"  rule {name!r}: " + (
                "articles nearer this one than to its intent and examples no longer alert"
                if verdict == "wrong" else "articles like this one alert from now on"))
        elif rule.about:  # mode "any": its query alerts on its own
            lines.append(f"  rule {name!r}: its `about` side learns from it; its query "
                         "alerts on its own (mode = \"any\"): with mode = \"all\" the "
                         "query's matches are judged too")
        else:
            lines.append(f"  rule {name!r}: matches on words only, so it cannot learn from "
                         "this; " + ("tighten its query (NOT, BEFORE/n), or add an `about` "
                                     "sentence so that it can" if verdict == "wrong" else
                                     "nothing to change"))
    return lines
