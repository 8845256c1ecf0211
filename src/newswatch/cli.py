"""The command line: the only place errors become messages and exit codes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from . import config as config_module
from .errors import ConfigError, NewswatchError
from .fetch import public_url
from .models import Config

EXIT_INVALID_CONFIG = 2


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    # Under systemd the journal stamps each line; elsewhere we do.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    for noisy in ("httpx", "httpcore", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)
    logging.getLogger("apprise").setLevel(logging.WARNING)


def _load(ctx: click.Context) -> Config:
    path: Path = ctx.obj["config_path"]
    try:
        return config_module.load(path)
    except ConfigError as e:
        for problem in e.problems:
            click.echo(problem, err=True)
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
    ctx.obj = {"config_path": config_module.find(config_path)}


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
        click.echo(f"feed {r.feed}: {r.error}", err=True)
    click.echo(f"polled {len(results)} feeds ({len(failed)} failed): "
               f"{sum(r.new for r in results)} new articles, "
               f"{sum(r.alerts for r in results)} alerts queued")


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config file and print a summary."""
    config = _load(ctx)
    click.echo(f"{ctx.obj['config_path']}: OK")
    click.echo(f"  database: {config.settings.database}")
    click.echo(f"  feeds:    {len(config.feeds)}")
    click.echo(f"  targets:  {len(config.targets)} ({', '.join(t.name for t in config.targets)})")
    click.echo(f"  rules:    {len(config.rules)}")
    for rule in config.rules:
        click.echo(f"    {rule.name} -> {', '.join(config.targets_for(rule))}: {rule.query}")


def _open_store(config: Config) -> Any:
    from .store import Store

    if not config.settings.database.exists():
        return None
    return Store(config.settings.database)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]))
@click.pass_context
def alerts(ctx: click.Context, as_json: bool, limit: int, status: str | None) -> None:
    """List recent alerts: what matched, where it went, and whether it was sent."""
    config = _load(ctx)
    store = _open_store(config)
    rows = store.alerts(limit=limit, status=status) if store else []
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
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    if not items:
        click.echo("no alerts yet")
        return
    for a in items:
        click.echo(f"{a['created']}  {a['status']:<7}  {a['target']}  [{a['rule']}]  "
                   f"{a['feed']}: {a['title'][:80]}")
        click.echo(f"    {a['url']}" + (f"  ({a['last_error']})" if a["last_error"] else ""))
        if a["also_reported_by"]:
            click.echo(f"    also reported by: {', '.join(a['also_reported_by'])}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def feeds(ctx: click.Context, as_json: bool) -> None:
    """List every feed with its state: last poll, status, error, articles, next poll."""
    config = _load(ctx)
    store = _open_store(config)
    states = {r["name"]: r for r in store.feeds()} if store else {}
    items = []
    for feed in config.feeds:
        s = states.get(feed.name, {})
        items.append({
            "name": feed.name, "url": public_url(feed.url), "tags": list(feed.tags),
            "interval": feed.interval, "last_poll": s.get("last_poll"),
            "last_success": s.get("last_success"), "last_status": s.get("last_status"),
            "last_error": s.get("last_error"), "errors_in_a_row": s.get("error_count", 0),
            "articles_seen": s.get("articles_seen", 0), "next_poll": s.get("next_poll"),
            "moved_to": public_url(s["fetch_url"]) if s.get("fetch_url") else None,
            "disabled": s.get("disabled")})
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for f in items:
        status = f"HTTP {f['last_status']}" if f["last_status"] else "never polled"
        state = f["last_error"] or status
        if f["errors_in_a_row"]:
            state = f"{state} ({f['errors_in_a_row']} failures in a row)"
        upcoming = "never (disabled)" if f["disabled"] else (f["next_poll"] or "soon")
        click.echo(f"{f['name']:<24} {state[:60]:<60} seen {f['articles_seen']:>6}  "
                   f"last {f['last_poll'] or '-':<20} next {upcoming}")
        if f["moved_to"]:
            click.echo(f"{'':<24} moved permanently to {f['moved_to']}: update the config")


@main.command()
@click.argument("query", required=False)
@click.option("--rule", "rule_name", metavar="NAME", help="Test a rule from the config instead.")
@click.option("--since", default="7d", show_default=True, help="How far back: 90m, 7d, ...")
@click.option("--feed", metavar="NAME", help="Only articles from this feed.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def match(ctx: click.Context, query: str | None, rule_name: str | None, since: str,
          feed: str | None, limit: int, as_json: bool) -> None:
    """Show which stored articles a QUERY (or --rule) would have caught.

    Uses the config's synonyms; article text is kept for `retention` (30 days).
    """
    from datetime import timedelta

    from .backtest import Hit, backtest
    from .errors import QueryError
    from .models import Rule
    from .notify import highlighted
    from .rules import Synonyms
    from .rules.compile import compile_rule, rule_languages
    from .rules.text import query_languages
    from .store import now

    config = _load(ctx)
    if bool(query) == bool(rule_name):
        raise click.UsageError("give a QUERY or --rule NAME (not both)")
    rule = next((r for r in config.rules if r.name == rule_name), None)
    if rule_name and rule is None:
        raise click.ClickException(f"no rule named {rule_name!r} in {ctx.obj['config_path']}")
    try:
        rule = rule or Rule("query", query or "")
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
    scanned = 0
    if store:
        tags = {f.name: f.tags for f in config.feeds}
        cutoff = now() - timedelta(seconds=window)
        languages = {f.name: f.language for f in config.feeds if f.language}
        for n, hit in backtest(store, compiled, cutoff, feed, tags, languages):
            scanned = n
            if hit and len(hits) < limit:
                hits.append(hit)
    if as_json:
        click.echo(json.dumps([{
            "title": h.article.title, "url": h.article.url, "feed": h.article.feed,
            "published": h.article.published.isoformat() if h.article.published else None,
            "snippet": h.snippet} for h in hits], indent=2, ensure_ascii=False))
        return
    for h in hits:
        when = f"{h.article.published:%Y-%m-%d %H:%M}" if h.article.published else "undated"
        click.echo(f"{when}  {h.article.feed}: {h.article.title}")
        click.echo(f"    {h.article.url}")
        if h.snippet:
            click.echo("    " + "".join(click.style(t, bold=True) if bold else t
                                        for t, bold in highlighted(h.snippet)))
    click.echo(f"{len(hits)} of {scanned} stored articles from the last {since} matched"
               + (f" (showing {limit})" if len(hits) == limit else ""))


@main.command()
@click.option("--target", metavar="NAME", help="Only alerts for this target.")
@click.pass_context
def retry(ctx: click.Context, target: str | None) -> None:
    """Put failed alerts back in the outbox to be sent again."""
    config = _load(ctx)
    store = _open_store(config)
    count = store.retry_failed(target) if store else 0
    click.echo(f"{count} failed alerts queued again; the running daemon sends them within "
               f"a minute (or run `newswatch once`)")


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
        click.echo(f"{name}: " + (f"FAILED: {error}" if error else "accepted"))
    if any(errors):
        ctx.exit(1)
