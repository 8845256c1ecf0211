from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from pg import MISSING, Cluster
from servers import FeedServer, Inbox, Webhook

# Property tests check what the code finds, not how fast: a shared, loaded machine
# must not fail them on hypothesis's 200 ms deadline (speed has its own tests and
# benchmarks).
settings.register_profile("newswatch", deadline=None)
settings.load_profile("newswatch")


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd): its inbox and its port. Like real
    servers, it refuses a line longer than 1,000 bytes."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a config.toml in tmp_path from its parts; returns its path."""

    def write(feeds: list[tuple[str, str]], targets: list[tuple[str, str]],
              rules: list[tuple[str, ...]], extra: str = "", interval: str = "15m",
              backfill: str = "1d") -> Path:
        lines = ["[newswatch]", 'database = "nw.db"', f'interval = "{interval}"',
                 f'backfill = "{backfill}"', extra, ""]
        for name, url in feeds:
            lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"', ""]
        for name, url in targets:
            lines += ["[[targets]]", f'name = "{name}"', f'url = "{url}"', ""]
        for name, query, *notify in rules:  # (name, query[, target, ...])
            lines += ["[[rules]]", f'name = "{name}"', f"query = '{query}'"]
            lines += [f"notify = {list(notify)!r}".replace("'", '"')] if notify else []
            lines.append("")
        path = tmp_path / "config.toml"
        path.write_text("\n".join(lines))
        return path

    return write


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    try:
        cluster = Cluster()
    except (FileNotFoundError, KeyError) as e:
        pytest.skip(str(e) if isinstance(e, FileNotFoundError) else MISSING)
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres(postgres_cluster: Cluster) -> str:
    """The URL of a new, empty PostgreSQL database."""
    return postgres_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a store lives, once for each backend."""
    if request.param == "sqlite":
        return tmp_path / "nw.db"
    return str(request.getfixturevalue("postgres"))
