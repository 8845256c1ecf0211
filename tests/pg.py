"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests (Debian's packages; .ci/run
installs them): initdb and pg_ctl in a temporary directory, as the `postgres` user when
the tests run as root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

MISSING = ("PostgreSQL is not installed here (Debian: apt-get install postgresql; "
           ".ci/run installs it): the PostgreSQL store is not tested")


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            raise FileNotFoundError(MISSING)
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="newswatch-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.base, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        self._run("initdb", "-D", str(self.base / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.base / "data"), "-l", str(self.base / "log"),
                  "-w", "-o", options, "start")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bindir / program), *args], check=True,
                       capture_output=True, cwd=self.base)

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = "nw_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"{self.url}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
