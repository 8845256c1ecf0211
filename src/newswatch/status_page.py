"""The status page: the operator's view of alerts, feeds and rules, as plain HTML.

One row per article that matched, with where each target's alert stands (sent,
pending and why, failed and why); the feeds, failing and overdue ones first;
the rules with their alert counts. Times in one timezone, named on the page:
`?tz=NAME`, else the configured one, else the first target's, else UTC.

No JavaScript: it refreshes itself every minute (a link turns that off, as
WCAG 2.2.1 asks of a time limit: `?refresh=off`), and the timezone is a GET
form. Everything from a feed or an error is escaped text; an article's link is
an href only when it is http(s) (messages.safe_link); target URLs never appear,
nor the parts of them that may be secrets.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .alert_states import Outbox, TargetState
from .fetch import public_url
from .messages import safe_link
from .models import Config, Feed, Rule
from .outbox import policy
from .store import Store
from .store_status import AlertedArticle
from .timestamps import iso, parse_iso

if TYPE_CHECKING:
    from .delivery import Breaker

ARTICLES = 30  # articles on the page
FAILED = 20  # alerts given up on, listed apart
e = html.escape


@dataclass(frozen=True)
class Times:
    """Times written in one timezone, each also machine-readable in UTC."""

    zone: ZoneInfo
    name: str

    def __call__(self, when: datetime | str | None, empty: str = "") -> str:
        try:
            moment = parse_iso(when) if isinstance(when, str) else when
        except ValueError:
            return e(str(when))
        if moment is None:
            return e(empty)
        local = moment.astimezone(self.zone)
        return f'<time datetime="{iso(moment)}">{local:%Y-%m-%d %H:%M}</time>'


def zone_of(requested: str, config: Config) -> tuple[Times, str]:
    """The timezone to show times in, and a note when the one asked for is unknown."""
    first_target = config.targets[0].timezone if config.targets else ""
    configured = config.settings.http_timezone
    for name in (requested, configured, first_target, "UTC"):
        if zone := _zone(name):
            note = (f"There is no timezone named “{requested[:64]}”."
                    if requested and name != requested else "")
            return Times(zone, name), note
    raise AssertionError("UTC is always known")


def _zone(name: str) -> ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # unknown, malformed, or a folder of zones
        return None


def render(store: Store, config: Config, now: datetime, requested_zone: str,
           breakers: Mapping[str, Breaker], refresh: bool = True) -> str:
    times, note = zone_of(requested_zone, config)
    articles = store.alerted_articles(ARTICLES)
    outbox = _outbox(store, config, now, breakers)
    verdicts = store.verdicts([a.id for article in articles for a in article.alerts])
    secrets = _target_secrets(config)
    feeds, problems = _feed_rows(store, config, now, times)
    counts = store.counts()
    summary = (f"Feeds: {len(config.feeds)} polled, {problems} of them failing or overdue, "
               f"{len(config.paused_feeds)} paused. Rules: {len(config.rules)} active, "
               f"{len(config.paused_rules)} paused. Alerts: {counts.get('pending', 0)} "
               f"pending, {counts.get('failed', 0)} failed.")
    return _PAGE.format(
        summary=e(summary), zone=e(times.name), now=times(now), note=e(note),
        refresh=_refresh(times.name, refresh),
        alerts="\n".join(_article_row(a, outbox, times, secrets, verdicts) for a in articles)
        or '<tr><td colspan="6">No alerts yet.</td></tr>',
        feeds=feeds, rules=_rule_rows(store, config, now),
        failed=_failed_rows(store, times, secrets), articles=ARTICLES)


def _refresh(zone: str, on: bool) -> tuple[str, str, str]:
    """The refresh tag, the sentence that says whether it refreshes with the link that
    switches that, and what the timezone form carries of it."""
    tz = quote(zone, safe="/")
    if on:
        return ('<meta http-equiv="refresh" content="60">\n',
                f'This page refreshes itself every minute: <a href="/?tz={e(tz)}&amp;'
                'refresh=off">stop refreshing</a>.', "")
    return ("", f'This page does not refresh itself: <a href="/?tz={e(tz)}">refresh it '
            "every minute</a>.", '<input type="hidden" name="refresh" value="off">')


# -- alerts ------------------------------------------------------------------------


def _outbox(store: Store, config: Config, now: datetime,
            breakers: Mapping[str, Breaker]) -> Outbox:
    policies = {t.name: policy(t, config.rules) for t in config.targets}
    hour_ago = now - timedelta(hours=1)
    recent = {t.name: store.message_times(t.name, hour_ago)
              for t in config.targets if t.max_per_hour}
    return Outbox(now, policies, store.pending(), recent, breakers)


def _article_row(article: AlertedArticle, outbox: Outbox, times: Times,
                 secrets: list[str], verdicts: Mapping[int, str]) -> str:
    states = [outbox.state(a, article) for a in article.alerts]
    items = "".join(f"<li>{_target_state(s, times, secrets)}</li>" for s in states)
    title = _article(article.title, article.url)
    return (f"<tr><td>{times(article.found)}</td><th scope=\"row\">{title}</th>"
            f"<td>{e(article.feed)}</td><td>{e(', '.join(article.rules))}</td>"
            f'<td><ul class="targets">{items}</ul></td>'
            f"<td>{_verdict(article, verdicts)}</td></tr>")


def _verdict(article: AlertedArticle, verdicts: Mapping[int, str]) -> str:
    """The user's verdict on an article's alerts, and buttons to give or change it
    (`newswatch feedback`): its `about` rules learn from it."""
    if not article.alerts:
        return ""
    alert = article.alerts[0].id
    said = next((verdicts[a.id] for a in article.alerts if a.id in verdicts), "")
    name = e(article.title or article.url or "this article")
    buttons = "".join(
        f'<form method="post" action="/feedback?alert={alert}&amp;verdict={v}">'
        f'<button type="submit">{label}<span class="vh"> alert: {name}</span></button>'
        "</form>" for v, label in (("right", "Right"), ("wrong", "Wrong")) if v != said)
    return (f"<strong>marked {said}</strong> " if said else "") + buttons


def _target_state(s: TargetState, times: Times, secrets: list[str]) -> str:
    """A target's name, its state as a word (never colour alone), and why."""
    head = f'<strong>{e(s.target)}</strong> <span class="state {s.status}">{s.status}</span>'
    if s.status == "sent":
        return f"{head} {times(s.when)}"
    error = e(_hide(s.error, secrets))
    if s.status == "failed":
        return f"{head} after {s.attempts} attempts: {error or 'no error recorded'}"
    why = "sending: due now" if s.why == "sending" else s.why
    parts = [e(why) + (f" until {times(s.until)}" if s.until else "")]
    if s.leaving:
        parts.append(f"a message carrying it left at {times(s.leaving)}, no answer yet")
    if s.down_until:
        parts.append(f"target looks down until {times(s.down_until)} ({e(s.down_why)})")
    if error:
        parts.append(f"last error: {error}")
    return f"{head} {'; '.join(parts)}"


def _article(title: str | None, url: str | None) -> str:
    """An article's title, a link only to an http(s) address."""
    text = e(title or url or "(untitled)")
    link = safe_link(url or "")
    return f'<a href="{e(link)}">{text}</a>' if link else text


def _failed_rows(store: Store, times: Times, secrets: list[str]) -> str:
    """Alerts given up on: visible here, not only in the log, until retried."""
    rows = []
    for a in store.alerts(limit=FAILED, status="failed"):
        error = _hide(a["last_error"] or "", secrets)
        rows.append(
            f"<tr class=\"problem\"><td>{times(a['created'])}</td><td>{e(a['target'])}</td>"
            f"<td>{a['attempts'] or 0}</td><td>{e(error)}</td>"
            f"<th scope=\"row\">{_article(a['title'], a['url'])}</th></tr>")
    return "\n".join(rows) or '<tr><td colspan="5">None.</td></tr>'


# -- feeds and rules --------------------------------------------------------------


def _feed_rows(store: Store, config: Config, now: datetime, times: Times) -> tuple[str, int]:
    """The feeds' rows, those in trouble first and paused ones last; and how many are
    in trouble."""
    states = {r["name"]: r for r in store.feeds()}
    late = dict(store.overdue(config.feeds, now))
    rows = []
    for feed in config.feeds:
        s = states.get(feed.name, {})
        word, detail = _feed_state(s, late.get(feed.name), times)
        trouble = word in ("stopped", "overdue", "failing")
        rows.append((0 if trouble else 1, feed.name, _feed_row(feed, s, word, detail, times)))
    for feed in config.paused_feeds:
        detail = "<code>enabled = false</code> in the configuration: not polled"
        rows.append((2, feed.name,
                     _feed_row(feed, states.get(feed.name, {}), "paused", detail, times)))
    rows.sort(key=lambda r: (r[0], r[1]))
    problems = sum(1 for r in rows if r[0] == 0)
    return "\n".join(r[2] for r in rows) or '<tr><td colspan="7">No feeds.</td></tr>', problems


def _feed_state(s: Mapping[str, Any], overdue: datetime | None,
                times: Times) -> tuple[str, str]:
    """A polled feed's state as a word, and what it means (HTML)."""
    errors = s.get("error_count") or 0
    failing = f"{errors} failed polls in a row" if errors else ""
    if s.get("disabled"):
        return "stopped", f"{e(s['disabled'])}: not polled until its URL changes"
    if overdue is not None:
        return "overdue", "; ".join(filter(None, [f"due since {times(overdue)}", failing]))
    if errors:
        return "failing", failing
    if not s.get("last_poll"):
        return "new", "not polled yet"
    return "ok", ""


def _feed_row(feed: Feed, s: Mapping[str, Any], word: str, detail: str,
              times: Times) -> str:
    trouble = word in ("stopped", "overdue", "failing")
    style = "problem" if trouble else "paused" if word == "paused" else "ok"
    polled = public_url(s.get("fetch_url") or feed.url)
    marked = ' class="problem"' if trouble else ""
    return (f'<tr{marked}><th scope="row">{e(feed.name)}</th>'
            f'<td><span class="state {style}">{word}</span> {detail}</td>'
            f"<td><code>{e(polled)}</code></td><td>{times(s.get('last_success'), 'never')}"
            f"</td><td>{e(s.get('last_error') or '')}</td><td>{s.get('articles_seen') or 0}"
            f"</td><td>{times(s.get('next_poll'))}</td></tr>")


def _rule_rows(store: Store, config: Config, now: datetime) -> str:
    counts = store.rule_counts(iso(now - timedelta(days=1)) or "",
                               iso(now - timedelta(days=7)) or "")
    rows = [_rule_row(r, config, counts.get(r.name, (0, 0)), False) for r in config.rules]
    rows += [_rule_row(r, config, counts.get(r.name, (0, 0)), True)
             for r in config.paused_rules]
    return "\n".join(rows) or '<tr><td colspan="7">No rules.</td></tr>'


def _rule_row(rule: Rule, config: Config, counts: tuple[int, int], paused: bool) -> str:
    state = ('<span class="state paused">paused</span>' if paused
             else '<span class="state ok">active</span>')
    priority = ('<span class="state high">high</span> (through quiet hours and digests)'
                if rule.priority == "high" else "normal")
    what = rule.query + (f" about: {rule.about}" if rule.about else "")
    link = quote(rule.name, safe="")
    feeds = (f'<a href="/alerts.atom?rule={e(link)}">Atom</a>, '
             f'<a href="/alerts.json?rule={e(link)}">JSON</a>')
    return (f"<tr><th scope=\"row\">{e(rule.name)}</th><td>{state}</td><td>{priority}</td>"
            f"<td>{counts[0]}</td><td>{counts[1]}</td>"
            f"<td>{e(', '.join(config.targets_for(rule)))}</td>"
            f"<td><code>{e(what.strip())}</code></td><td>{feeds}</td></tr>")


# -- secrets ---------------------------------------------------------------------------


def _target_secrets(config: Config) -> list[str]:
    """Target URLs, and the parts of them that may be tokens or passwords, longest first."""
    pieces = {t.url for t in config.targets}
    for t in config.targets:
        pieces.update(p for p in re.split(r"[/?&=@:#,]+", t.url.split("://", 1)[-1])
                      if len(p) >= 4)
    names = {t.name for t in config.targets}  # shown anyway: never taken for a secret
    return sorted(pieces - names, key=len, reverse=True)


def _hide(text: str, secrets: list[str]) -> str:
    # An error message may quote what the sender was given; a target URL holds secrets.
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


# Every text/background pair below has a contrast ratio of at least 4.5:1 (WCAG AA);
# tests/test_status_page.py measures them in a browser.
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh[0]}<title>newswatch status</title>
<link rel="alternate" type="application/atom+xml" title="newswatch alerts (Atom)"
 href="/alerts.atom">
<link rel="alternate" type="application/feed+json" title="newswatch alerts (JSON Feed)"
 href="/alerts.json">
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 0 1.5em 2em; color: #1a1a1a;
  background: #ffffff; }}
a {{ color: #0645ad; }}
.skip {{ position: absolute; left: -9999px; top: .5em; background: #ffffff; padding: .3em; }}
.skip:focus {{ left: 1em; }}
.vh {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }}
td form {{ display: inline; }}
nav ul, ul.targets {{ margin: 0; padding-left: 1.2em; }}
nav li {{ display: inline; margin-right: 1em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
caption {{ text-align: left; padding: .3em 0; color: #1a1a1a; }}
th, td {{ text-align: left; vertical-align: top; padding: .3em .7em;
  border-bottom: 1px solid #8c8c8c; }}
thead th {{ background: #ececec; }}
tbody th {{ font-weight: normal; }}
tr.problem th, tr.problem td {{ background: #fdecea; }}
code {{ font-size: 90%; overflow-wrap: anywhere; }}
.state {{ font-weight: 600; padding: 0 .35em; border: 1px solid; border-radius: 3px; }}
.state.ok, .state.sent {{ color: #0a5a1f; background: #e7f5ea; }}
.state.pending {{ color: #6a4a00; background: #fff4d6; }}
.state.failed, .state.problem {{ color: #8b1a1a; background: #ffffff; }}
.state.paused {{ color: #3b3b3b; background: #ececec; }}
.state.high {{ color: #5b1a8b; background: #f3e9fb; }}
</style></head><body>
<a class="skip" href="#main">Skip to the alerts</a>
<header><h1>newswatch</h1><p>{refresh[1]}</p><p>{summary}</p>
<nav aria-label="Sections"><ul><li><a href="#alerts">Alerts</a></li>
<li><a href="#feeds">Feeds</a></li><li><a href="#rules">Rules</a></li>
<li><a href="#failed">Failed alerts</a></li>
<li>Subscribe: <a href="/alerts.atom">Atom</a>, <a href="/alerts.json">JSON Feed</a></li>
</ul></nav></header>
<main id="main">
<p>Times are in <strong>{zone}</strong>; it is now {now}. {note}</p>
<form method="get" action="/"><label for="tz">Show times in timezone</label>
<input id="tz" name="tz" value="{zone}" size="24">{refresh[2]}
<button type="submit">Show</button></form>
<h2 id="alerts">Alerts</h2>
<table><caption>The {articles} most recent articles that matched a rule, newest first,
and where each target's alert stands.</caption>
<thead><tr><th scope="col">Found</th><th scope="col">Article</th><th scope="col">Feed</th>
<th scope="col">Rules</th><th scope="col">Targets</th>
<th scope="col">Verdict</th></tr></thead>
<tbody>
{alerts}
</tbody></table>
<h2 id="feeds">Feeds</h2>
<table><caption>Feeds failing, stopped or overdue first; paused ones last.</caption>
<thead><tr><th scope="col">Feed</th><th scope="col">State</th><th scope="col">URL polled</th>
<th scope="col">Last success</th><th scope="col">Last error</th><th scope="col">Articles</th>
<th scope="col">Next poll</th></tr></thead>
<tbody>
{feeds}
</tbody></table>
<h2 id="rules">Rules</h2>
<table><caption>Rules with the articles they alerted on in the last 24 hours and 7 days.
</caption>
<thead><tr><th scope="col">Rule</th><th scope="col">State</th><th scope="col">Priority</th>
<th scope="col">Alerts, 24 h</th><th scope="col">Alerts, 7 days</th>
<th scope="col">Targets</th><th scope="col">Query</th><th scope="col">Its alerts as a feed</th>
</tr></thead>
<tbody>
{rules}
</tbody></table>
<h2 id="failed">Failed alerts</h2>
<p>Given up on after their retries; <code>newswatch retry</code> sends them again.</p>
<table><caption>Alerts given up on, newest first.</caption>
<thead><tr><th scope="col">Found</th><th scope="col">Target</th><th scope="col">Attempts</th>
<th scope="col">Last error</th><th scope="col">Article</th></tr></thead>
<tbody>
{failed}
</tbody></table>
</main>
</body></html>
"""
