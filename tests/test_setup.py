"""A newcomer's first steps: a starter config, a clear word when there is none, an
installable package that carries what it needs."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from newswatch.cli import main
from newswatch.config import load

ROOT = Path(__file__).parent.parent
BUNDLED = ROOT / "config.toml"


def test_init_writes_the_bundled_config_and_says_what_next(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    result = CliRunner().invoke(main, ["init", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text() == BUNDLED.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"newswatch --config {path} check" in result.output
    assert "http://127.0.0.1:9180/" in result.output
    config = load(path)
    assert [t.url for t in config.targets] == ["stdout://"]
    assert config.settings.http_listen == "127.0.0.1:9180"
    assert config.settings.database == path.parent / "newswatch.db"


def test_init_never_overwrites_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# my rules\n")
    result = CliRunner().invoke(main, ["init", str(path)])
    assert result.exit_code == 1 and "exists" in result.output and "--force" in result.output
    assert path.read_text() == "# my rules\n"
    assert CliRunner().invoke(main, ["init", "--force", str(path)]).exit_code == 0
    assert path.read_text() == BUNDLED.read_text()


def test_init_writes_where_commands_look_by_default(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "NEWSWATCH_CONFIG": ""}
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 2
    assert f"found neither {tmp_path / 'config.toml'} nor " \
           f"{tmp_path / 'xdg' / 'newswatch' / 'config.toml'}" in result.output
    assert "newswatch init" in result.output
    assert CliRunner().invoke(main, ["init"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 0, result.output
    assert "  newswatch check " in CliRunner().invoke(main, ["init", "--force"], env=env).output


def test_the_wheel_carries_the_starter_config(tmp_path: Path) -> None:
    # Built from a clean copy: a build/ or egg-info left in the checkout would carry
    # files the package's own metadata no longer names.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "src", source / "src", symlinks=True,
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE", "config.toml"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(tmp_path), str(source)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("newswatch-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert z.read("newswatch/starter.toml").decode() == BUNDLED.read_text()


def test_the_license_is_the_one_the_package_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_units_documentation_is_installed_by_the_readmes_steps() -> None:
    unit = (ROOT / "systemd" / "newswatch.service").read_text()
    doc = re.search(r"^Documentation=file://(\S+)$", unit, re.M)
    assert doc, "the unit names its documentation"
    steps = (ROOT / "README.md").read_text()
    target = Path(doc.group(1))
    installed = re.search(rf"install -D -m 0644 -t {target.parent} (.+?)\s", steps)
    assert installed and installed.group(1) == target.name
