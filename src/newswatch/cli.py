"""The command line: the only place errors become messages and exit codes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from . import __version__
from . import config as config_module
from .errors import ConfigError, NewswatchError
from .fetch import public_url
from .models import Config
from .terminal import clean, json_dumps, one_line, rich_text
from .timestamps import now
from .urls import redact_text

EXIT_INVALID_CONFIG = 2


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    # Under systemd the journal stamps each line; elsewhere we do.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_Redacting(fmt))
    for noisy in ("httpx", "httpcore", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)
    # apprise's own lines: its warnings reach the log through notify's filter, which also
    # reads its debug lines to tell a refused message from a target that is down.


class _Redacting(logging.Formatter):
    """Every URL in a log line with its credentials hidden, whoever logged it (httpx
    names each URL it requests at -vv), tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def _load(ctx: click.Context, secrets: bool = True) -> Config:
    """The config; secrets=False for a command that never fetches nor sends, so it runs
    without the targets' `${VAR}`s set (a shell after a systemd install)."""
    path: Path = ctx.obj["config_path"]
    if not path.exists():
        looked = " nor ".join(str(p.absolute()) for p in ctx.obj["searched"])
        click.echo(f"no config file: found neither {looked}. Write a starter one with "
                   f"`newswatch init` (or name one with --config PATH)", err=True)
        ctx.exit(EXIT_INVALID_CONFIG)
    try:
        return config_module.load(path, secrets=secrets)
    except ConfigError as e:
        for problem in e.problems:  # may quote a query as written: shown, never obeyed
            click.echo(clean(problem), err=True)
        ctx.exit(EXIT_INVALID_CONFIG)
        raise AssertionError("unreachable") from None


@click.group()
@click.option("-c", "--config", "config_path", metavar="PATH",
              help="Config file (default: $NEWSWATCH_CONFIG, ./config.toml, "
                   "$XDG_CONFIG_HOME/newswatch/config.toml).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv: library debug too).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.version_option(__version__, prog_name="newswatch")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """Watch news feeds for the stories your rules describe; alert once."""
    _setup_logging(verbose, quiet)
    ctx.obj = {"config_path": config_module.find(config_path),
               "searched": config_module.searched(config_path)}


@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a config file already there.")
def init(path: Path | None, force: bool) -> None:
    """Write a commented starter config (default: $XDG_CONFIG_HOME/newswatch/config.toml)."""
    from .starter import next_steps, write_starter

    path = path or config_module.user_config()
    try:
        write_starter(path, force)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; edit it, or pass --force to replace it"
                                   ) from None
    except OSError as e:
        raise click.ClickException(f"{path}: {e.strerror or e}") from None
    click.echo(next_steps(path, default=path == config_module.user_config()))


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon in the foreground until SIGTERM (SIGHUP reloads the config)."""
    from .daemon import run as run_daemon

    config = _load(ctx)
    try:
        run_daemon(ctx.obj["config_path"], config)
    except NewswatchError as e:
        raise click.ClickException(str(e)) from None


@main.command()
@click.pass_context
def once(ctx: click.Context) -> None:
    """Poll every feed once, match, deliver, and exit."""
    from .daemon import poll_all

    config = _load(ctx)
    try:
        results = asyncio.run(poll_all(config))
    except NewswatchError as e:
        raise click.ClickException(str(e)) from None
    failed = [r for r in results if r.error]
    for r in failed:
        click.echo(f"feed {r.feed}: {one_line(r.error)}", err=True)
    click.echo(f"polled {len(results)} feeds ({len(failed)} failed): "
               f"{sum(r.new for r in results)} new articles, "
               f"{sum(r.alerts for r in results)} alerts queued")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config file and print a summary."""
    config = _load(ctx)
    click.echo(f"{ctx.obj['config_path']}: OK")
    click.echo(f"  database: {public_url(str(config.settings.database))}")
    click.echo(f"  feeds:    {len(config.feeds)}" + _paused(config.paused_feeds))
    click.echo(f"  targets:  {len(config.targets)} "
               f"({one_line(', '.join(t.name for t in config.targets))})")
    click.echo(f"  rules:    {len(config.rules)}" + _paused(config.paused_rules))
    for rule in config.rules:
        what = rule.query
        if rule.about:
            gate = {"all": "gate", "any": "or"}[rule.mode]
            limit = f"top {rule.top * 100:g}%" if rule.top else f">= {rule.threshold:g}"
            if rule.by_examples:
                limit = f'>= threshold "examples" (= {_examples_limit(config, rule):.3f})'
            what = f"about {rule.about!r} {limit}" + (
                f" ({gate}: {rule.query})" if rule.query else "")
        click.echo(one_line(f"    {rule.name} -> {', '.join(config.targets_for(rule))}: {what}"))
    for note in _query_notes(config) + _about_notes(config):
        click.echo(f"  note: {one_line(note)}")


def _examples_limit(config: Config, rule: Any) -> float:
    from .semantic import configured, examples_threshold, meaning

    return examples_threshold(meaning(configured(config.settings), rule.about, rule.examples),
                              len(rule.examples))


def _paused(items: tuple[Any, ...]) -> str:
    names = ", ".join(i.name for i in items)
    return one_line(f" (and {len(items)} paused: {names})") if items else ""


def _query_notes(config: Config) -> list[str]:
    """Operators written in lower case, which match as words ("drone or missile")."""
    from .rules.query import operator_notes

    return [f"rule {rule.name!r}: {note}" for rule in config.rules + config.paused_rules
            for note in operator_notes(rule.query)]


def _about_notes(config: Config) -> list[str]:
    """What `check` should tell about `about` rules: no gate, unreachable thresholds."""
    rules = config.about_rules
    if not rules:
        return []
    from .semantic import configured

    model = configured(config.settings)
    notes = []
    for rule in rules:
        if not rule.query or rule.mode == "any":
            has = "no query" if not rule.query else \
                'its query with mode = "any" (the query alerts on its own, not as a gate)'
            notes.append(f"rule {rule.name!r} has `about` and {has}: its score alone "
                         "decides, and the same kind of event with other actors (\"Ukraine "
                         "attacks Moscow\" for \"Russia attacks Ukraine\") scores as high; "
                         "add a query naming who and where as a gate" +
                         (" (mode = \"all\")" if rule.query else ""))
        if rule.top or rule.by_examples:
            continue  # a threshold drawn from articles or examples is always reachable
        # The intent read as an article is as close as a paraphrase gets.
        ceiling = float(model.passages([rule.about])[0] @ model.query(rule.about))
        if rule.threshold > ceiling:
            notes.append(f"rule {rule.name!r}: threshold {rule.threshold:g} is above "
                         f"{ceiling:.3f}, what the intent itself scores as an article; "
                         "nothing will reach it")
    return notes


def _open_store(config: Config) -> Any:
    from .store import Store

    database = config.settings.database
    if isinstance(database, Path) and not database.exists():
        return None
    try:
        store = Store(database)
    except NewswatchError as e:
        raise click.ClickException(str(e)) from None
    click.get_current_context().call_on_close(store.close)
    return store


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]))
@click.option("--rule", metavar="NAME", help="Only alerts of this rule.")
@click.option("--feed", metavar="NAME", help="Only alerts on articles of this feed.")
@click.option("--since", metavar="AGE", help="Only alerts this recent: 90m, 24h, 7d, ...")
@click.pass_context
def alerts(ctx: click.Context, as_json: bool, limit: int, status: str | None,
           rule: str | None, feed: str | None, since: str | None) -> None:
    """List recent alerts: what matched, where it went, and whether it was sent."""
    config = _load(ctx, secrets=False)
    try:
        cutoff = now() - timedelta(seconds=config_module.parse_duration(since)) if since \
            else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    store = _open_store(config)
    rows = store.alerts(limit, status, rule, feed, cutoff) if store else []
    items = []
    for r in rows:
        rules = json.loads(r["rules"])
        items.append({
            "id": r["id"], "rule": ", ".join(rules), "rules": rules, "target": r["target"],
            "status": r["status"], "created": r["created"], "sent": r["sent"],
            "attempts": r["attempts"], "last_error": r["last_error"], "feed": r["feed"],
            "title": r["title"], "url": r["url"], "published": r["published"],
            "snippet": r["snippet"],
            "also_reported_by": store.also_reported_by(r["article_id"]) if store else []})
    if as_json:
        click.echo(json_dumps(items))
        return
    if not items:
        click.echo("no alerts yet")
        return
    table = _table("found", "status", "target", "rules", "feed", "article")
    for a in items:
        article = [one_line(a["title"]), one_line(a["url"])]
        if a["also_reported_by"]:
            article.append(one_line(f"also reported by: {', '.join(a['also_reported_by'])}"))
        if a["last_error"]:
            article.append(one_line(f"({a['last_error']})"))
        table.add_row(*_cells(a["created"], a["status"], a["target"], a["rule"], a["feed"]),
                      rich_text("\n".join(article)),
                      style={"failed": "red", "pending": "yellow"}.get(a["status"]))
    _print(table)


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def feeds(ctx: click.Context, as_json: bool) -> None:
    """List every feed with its state; or import, export or add feeds."""
    if ctx.invoked_subcommand is not None:
        return
    config = _load(ctx, secrets=False)
    store = _open_store(config)
    states = {r["name"]: r for r in store.feeds()} if store else {}
    late = dict(store.overdue(config.feeds, now())) if store else {}
    items = []
    for feed in sorted(config.feeds + config.paused_feeds, key=lambda f: f.name):
        s = states.get(feed.name, {})
        items.append({
            "name": feed.name, "url": public_url(feed.url), "tags": list(feed.tags),
            "interval": feed.interval, "last_poll": s.get("last_poll"),
            "last_success": s.get("last_success"), "last_status": s.get("last_status"),
            "last_error": s.get("last_error"), "errors_in_a_row": s.get("error_count", 0),
            "articles_seen": s.get("articles_seen", 0), "next_poll": s.get("next_poll"),
            "moved_to": public_url(s["fetch_url"]) if s.get("fetch_url") else None,
            "disabled": s.get("disabled"), "paused": feed in config.paused_feeds,
            "polled_by": s.get("leased_by"),
            "overdue": feed.name in late})
    if as_json:
        click.echo(json_dumps(items))
        return
    table = _table("feed", "state", "seen", "last poll", "next poll")
    for f in items:
        status = f"HTTP {f['last_status']}" if f["last_status"] else "never polled"
        state = f["last_error"] or status
        if f["errors_in_a_row"]:
            state = f"{state} ({f['errors_in_a_row']} failures in a row)"
        if f["moved_to"]:
            state += f"; moved permanently to {f['moved_to']}: update the config"
        upcoming = "never (disabled)" if f["disabled"] else (f["next_poll"] or "soon")
        if f["paused"]:
            upcoming = "paused (enabled = false)"
        elif f["polled_by"]:
            upcoming = f"being polled by {f['polled_by']}"
        if f["overdue"]:
            upcoming += " (overdue: is the daemon running?)"
        table.add_row(*_cells(f["name"], state, str(f["articles_seen"]), f["last_poll"] or "-",
                              upcoming),
                      style="red" if f["errors_in_a_row"] or f["overdue"] else None)
    _print(table)
    if store and config.about_rules:
        from .semantic import backlog, configured

        name = configured(config.settings).name
        click.echo(f"articles waiting to be embedded for `about` rules: "
                   f"{backlog(store, config.settings.backfill, name)}")


def _table(*columns: str) -> Any:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def _cells(*values: str | None) -> list[Any]:
    """Table cells of plain text, one line each: a feed's title or a server's reason
    phrase is shown as written, never read as rich markup or terminal controls."""
    return [rich_text(v, single=True) for v in values]


def _print(renderable: Any) -> None:
    from rich.console import Console

    # Piped: wide enough that lines do not wrap for grep; on a terminal: its width.
    Console(width=None if sys.stdout.isatty() else 200, highlight=False,
            soft_wrap=False).print(renderable)


@feeds.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tag", "tags", multiple=True, metavar="TAG",
              help="Tag every imported feed (repeatable).")
@click.pass_context
def feeds_import(ctx: click.Context, opml: Path, tags: tuple[str, ...]) -> None:
    """Add the feeds of an OPML file to the config (keeping its comments and layout)."""
    from .feedlist import add_feeds, read_opml

    _load(ctx, secrets=False)  # refuse to edit a config that is already broken
    try:
        outlines = read_opml(opml.read_bytes())
        added, skipped = add_feeds(ctx.obj["config_path"], outlines, tags)
    except NewswatchError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"added {len(added)} feeds, skipped {len(skipped)} already in "
               f"{ctx.obj['config_path']}")
    if added:
        click.echo("reload a running daemon (SIGHUP, systemctl reload newswatch) to poll them")


@feeds.command("export")
@click.pass_context
def feeds_export(ctx: click.Context) -> None:
    """Print the config's feeds as OPML."""
    from .feedlist import write_opml

    click.echo(write_opml(_load(ctx, secrets=False)), nl=False)


@feeds.command("add")
@click.argument("url")
@click.option("--name", help="The feed's name (default: from its title).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag the feed (repeatable).")
@click.pass_context
def feeds_add(ctx: click.Context, url: str, name: str | None, tags: tuple[str, ...]) -> None:
    """Add a feed by its URL, or by a web page that links to its feed."""
    from .feedlist import Outline, add_feeds, find_feed

    config = _load(ctx, secrets=False)
    try:
        feed_url, title = asyncio.run(find_feed(config.settings, url))
        added, skipped = add_feeds(ctx.obj["config_path"],
                                   [Outline(feed_url, name or title, ())], tags)
    except NewswatchError as e:
        raise click.ClickException(str(e)) from None
    if skipped:
        click.echo(one_line(f"{public_url(feed_url)} is already in {ctx.obj['config_path']}"))
        return
    click.echo(one_line(f"added feed {added[0]!r}: {public_url(feed_url)}"))


@main.command()
@click.argument("query", required=False)
@click.option("--rule", "rule_name", metavar="NAME", help="Test a rule from the config instead.")
@click.option("--since", default="7d", show_default=True, help="How far back: 90m, 7d, ...")
@click.option("--feed", metavar="NAME", help="Only articles from this feed.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--about", metavar="TEXT", help="Rank articles by meaning instead (semantic).")
@click.option("--query", "gate", metavar="QUERY", help="With --about: a lexical gate.")
@click.option("--scores", is_flag=True, help="With --about: list every article's score.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="With --about: mark it.")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --about: JSON lines {\"url\": ..., \"relevant\": true|false}.")
@click.option("--suggest-threshold", is_flag=True, help="With --labels: pick a threshold.")
@click.option("--precision", "want_precision", default=0.9, show_default=True,
              type=click.FloatRange(0, 1), help="The precision --suggest-threshold aims at.")
@click.pass_context
def match(ctx: click.Context, query: str | None, rule_name: str | None, since: str,
          feed: str | None, limit: int, as_json: bool, about: str | None, gate: str | None,
          scores: bool, threshold: float | None, labels: Path | None, suggest_threshold: bool,
          want_precision: float) -> None:
    """Show which stored articles a QUERY (or --rule) would have caught.

    Uses the config's synonyms; article text is kept for `retention` (30 days).
    With --about, ranks stored articles by similarity to an intent.
    """

    config = _load(ctx, secrets=False)
    every_rule = config.rules + config.paused_rules  # a paused rule can still be tried
    rule_about = next((r for r in every_rule if r.name == rule_name and r.about), None)
    if about or rule_about:
        if rule_about:
            about, gate = rule_about.about, gate or rule_about.query or None
            if threshold is None and not rule_about.top and not rule_about.by_examples:
                threshold = rule_about.threshold
        _match_about(config, rule_about, about or "", gate, since, feed, limit, as_json, scores,
                     threshold, labels, suggest_threshold, want_precision)
        return

    from .backtest import Hit, backtest
    from .errors import QueryError
    from .messages import highlighted
    from .models import Rule
    from .rules import Synonyms
    from .rules.compile import compile_rule, rule_languages
    from .rules.query import operator_notes
    from .rules.text import query_languages


    if bool(query) == bool(rule_name):
        raise click.UsageError("give a QUERY or --rule NAME (not both)")
    rule = next((r for r in every_rule if r.name == rule_name), None)
    if rule_name and rule is None:
        raise click.ClickException(f"no rule named {rule_name!r} in {ctx.obj['config_path']}")
    rule = rule or Rule("query", query or "")
    for note in operator_notes(rule.query):
        click.echo(f"note: {one_line(note)}", err=True)
    try:
        with query_languages(rule_languages(config, rule)):
            compiled = compile_rule(rule, Synonyms(config.synonyms))
        window = config_module.parse_duration(since)
    except QueryError as e:
        click.echo(f"query: {e}\n    {query}\n    {' ' * (e.column - 1)}^", err=True)
        ctx.exit(EXIT_INVALID_CONFIG)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    store = _open_store(config)
    hits: list[Hit] = []
    scanned = matched = 0
    if store:
        tags = {f.name: f.tags for f in config.feeds}
        cutoff = now() - timedelta(seconds=window)
        languages = {f.name: f.language for f in config.feeds if f.language}
        for n, hit in backtest(store, compiled, cutoff, feed, tags, languages):
            scanned = n
            matched += hit is not None
            if hit and len(hits) < limit:
                hits.append(hit)
    if as_json:
        click.echo(json_dumps([{
            "title": h.article.title, "url": h.article.url, "feed": h.article.feed,
            "published": h.article.published.isoformat() if h.article.published else None,
            "snippet": h.snippet} for h in hits]))
        return
    for h in hits:
        when = f"{h.article.published:%Y-%m-%d %H:%M}" if h.article.published else "undated"
        click.echo(f"{when}  {one_line(h.article.feed)}: {one_line(h.article.title)}")
        click.echo(f"    {one_line(h.article.url)}")
        if h.snippet:
            click.echo("    " + "".join(click.style(t, bold=True) if bold else t
                                        for t, bold in highlighted(one_line(h.snippet))))
    click.echo(f"{matched} of {scanned} stored articles from the last {since} matched"
               + (f" (showing {limit})" if matched > limit else ""))


@main.command()
@click.option("--target", metavar="NAME", help="Only alerts for this target.")
@click.pass_context
def retry(ctx: click.Context, target: str | None) -> None:
    """Put failed alerts back in the outbox to be sent again."""
    config = _load(ctx, secrets=False)
    store = _open_store(config)
    count = store.retry_failed(target) if store else 0
    click.echo(f"{count} failed alerts queued again; the running daemon sends them within "
               f"a minute (or run `newswatch once`)")


@main.command()
@click.argument("alert_id", type=int)
@click.option("--wrong", "verdict", flag_value="wrong",
              help="It should not have alerted: its rules leave out articles like it.")
@click.option("--right", "verdict", flag_value="right",
              help="A good alert: its rules catch articles like it.")
@click.pass_context
def feedback(ctx: click.Context, alert_id: int, verdict: str | None) -> None:
    """Say whether an alert was right or wrong; its `about` rules learn from it."""
    from .feedback import judge

    if verdict is None:
        raise click.UsageError("say --wrong or --right")
    config = _load(ctx, secrets=False)
    store = _open_store(config)
    if store is None:
        raise click.ClickException(f"no alert {alert_id}: the database is empty")
    try:
        lines = judge(config, store, alert_id, verdict)
    except NewswatchError as e:
        raise click.ClickException(str(e)) from None
    for line in lines:
        click.echo(line)


def _match_about(config: Config, rule: Any, about: str, gate: str | None, since: str,
                 feed: str | None, limit: int, as_json: bool, show_all: bool,
                 threshold: float | None, labels: Path | None, suggest: bool,
                 want_precision: float) -> None:
    """`match --about`: stored articles ranked by similarity to an intent."""
    from datetime import timedelta

    from .errors import QueryError
    from .models import Rule
    from .rules import Matcher, Synonyms
    from .rules.compile import compile_rule, document, rule_languages
    from .rules.text import query_languages
    from .semantic import configured, embed, examples_threshold, from_blob, meaning, missing


    if problem := missing(config.settings.semantic_backend):
        raise click.ClickException(problem)
    try:
        window = config_module.parse_duration(since)
        gates = None
        if gate:  # compiled as the daemon compiles a rule's gate
            gate_rule = Rule("gate", gate, language=rule.language if rule else "")
            with query_languages(rule_languages(config, gate_rule)):
                gates = Matcher([compile_rule(gate_rule, Synonyms(config.synonyms))])
    except QueryError as e:
        raise click.BadParameter(f"{e}", param_hint="--query") from None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    store = _open_store(config)
    if store is None:
        raise click.ClickException("no database yet: run newswatch first")
    model = configured(config.settings)
    cutoff = now() - timedelta(seconds=window)
    while batch := store.unembedded(model.name, cutoff, 64):  # embed what is missing
        _, rows = embed(model, batch)
        with store.transaction():
            store.add_vectors(model.name, rows)
    languages = {f.name: f.language for f in config.feeds if f.language}
    right, wrong = store.feedback().get(rule.name, ([], [])) if rule else ([], [])
    # As the daemon scores the rule: nearer a counter-example (or an alert judged
    # wrong) than to the intent and its examples scores -1.
    rule_meaning = meaning(model, about, [*rule.examples, *right] if rule else [],
                           [*rule.not_about, *wrong] if rule else [])
    if threshold is None and rule and rule.by_examples:
        threshold = examples_threshold(rule_meaning, len(rule.examples))
    ranked = []
    for article, blob in store.vectors(model.name, cutoff):
        if feed and article.feed != feed:
            continue
        lexical = bool(gates.match(document(article, languages.get(article.feed)))) \
            if gates else None
        ranked.append((float(rule_meaning.scores(from_blob(blob))[0]), lexical, article))
    ranked.sort(key=lambda r: -r[0])
    # mode = "any": the query alerts on its own, it is no gate
    alone = bool(rule and rule.mode == "any" and gates)
    if labels:
        _threshold_report(ranked, labels, suggest, want_precision, alone)
        return
    shown = ranked if show_all else ranked[:limit]
    if as_json:
        click.echo(json_dumps([{"score": round(s, 4), "gate": g, "title": a.title, "url": a.url,
                                "feed": a.feed} for s, g, a in shown]))
        return
    marked = False
    for score, lexical, article in shown:
        if threshold is not None and not marked and score < threshold:
            click.echo(f"---- threshold {threshold:g} " + "-" * 40)
            marked = True
        gate_mark = "" if lexical is None else (
            f"{'query' if alone else 'gate'} {'✓' if lexical else '✗'} ")
        click.echo(f"{score:.3f}  {gate_mark}{one_line(article.feed)}: "
                   f"{one_line(article.title)}")
    click.echo(f"{len(ranked)} articles scored (model {model.name})", err=True)


def _threshold_report(ranked: list[tuple[float, bool | None, Any]], labels: Path,
                      suggest: bool, want_precision: float, alone: bool = False) -> None:
    """Precision and recall of the labelled articles at each threshold: what reaches it
    and passes the gate; with `alone` (a mode = "any" rule), what reaches it or
    matches the query."""
    gold = {}
    for line in labels.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            gold[row["url"]] = bool(row["relevant"])
    scored = [(s, g, gold[a.url]) for s, g, a in ranked if a.url in gold]
    if not scored:
        raise click.ClickException("none of the labelled URLs is among the stored articles")
    relevant = sum(1 for _, _, r in scored if r)
    # -1: nearer a counter-example, left out at any threshold
    levels = sorted({s for s, _, _ in scored if s >= 0}, reverse=True)
    rows = []
    for t in levels:
        picked = [r for s, g, r in scored
                  if (s >= t and (alone or g is not False)) or (alone and g)]
        tp = sum(picked)
        p = tp / len(picked) if picked else 1.0
        rec = tp / relevant if relevant else 0.0
        rows.append((t, p, rec))
    click.echo(f"{len(scored)} labelled articles, {relevant} relevant")
    click.echo(f"{'threshold':>9} {'precision':>9} {'recall':>7}")
    for t, p, rec in rows:
        click.echo(f"{t:>9.4f} {p:>9.2f} {rec:>7.2f}")
    if suggest:
        good = [(rec, i) for i, (_, p, rec) in enumerate(rows) if p >= want_precision]
        if not good:
            raise click.ClickException(f"no threshold reaches precision {want_precision:g}")
        best, i = max(good, key=lambda g: (g[0], -g[1]))  # a tie: the stricter
        # Halfway between the last article let in and the first one kept out.
        t = (levels[i] + levels[i + 1]) / 2 if i + 1 < len(levels) else levels[i]
        click.echo(f"suggested threshold: {t:.3f} (recall {best:.2f} at precision >= "
                   f"{want_precision:g})")


@main.group()
def db() -> None:
    """The database: move an installation to PostgreSQL."""


@db.command("copy")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target", metavar="postgresql://...")
def db_copy(source: Path, target: str) -> None:
    """Copy an SQLite database (SOURCE) into an empty PostgreSQL one (TARGET)."""
    from .dbcopy import copy_database

    try:
        counts = copy_database(source, target, lambda line: click.echo(f"  {line}"))
    except NewswatchError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"copied {sum(counts.values())} rows into {public_url(target)}; set "
               f"database = \"postgresql://...\" in the config, and start the instances")


@main.command()
def demo() -> None:
    """Watch sample feeds offline with the example rules: newswatch at work in a minute."""
    from .demo import run as run_demo

    run_demo(lambda line: click.echo(line))


@main.command("test-notify")
@click.argument("target", required=False)
@click.pass_context
def test_notify(ctx: click.Context, target: str | None) -> None:
    """Send a test message to one target (or all) and say whether each accepted it."""
    from .notify import Notifier

    config = _load(ctx)
    notifier = Notifier(config.targets)
    names = [target] if target else notifier.names()
    if target and target not in notifier.names():
        raise click.ClickException(f"no target named {target!r} in {ctx.obj['config_path']}")

    async def send_all() -> list[str | None]:
        async def one(name: str) -> str | None:
            try:
                await notifier.send(name, "newswatch test message",
                                    f"This is a test message from newswatch to **{name}**.")
            except NewswatchError as e:
                return str(e)
            return None
        return list(await asyncio.gather(*(one(n) for n in names)))

    errors = asyncio.run(send_all())
    for name, error in zip(names, errors, strict=True):
        click.echo(f"{name}: " + (f"FAILED: {one_line(error)}" if error else "accepted"))
    if any(errors):
        ctx.exit(1)
