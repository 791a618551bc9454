"""The Makefile in a fresh copy of this checkout: ``make build`` installs only what feeds needs
to run, and the development tools come with the targets that test and lint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

DEV_TOOLS = ("pytest", "ruff", "mypy")


def fresh_clone(folder: Path) -> Path:
    """The files a clone of this checkout would have, as they are now (edits included)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return folder


@pytest.mark.slow
@pytest.mark.external
@pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git"
)
def test_make_build_in_a_fresh_clone_installs_only_what_feeds_needs(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "clone")
    shutil.rmtree(clone / "output")
    built = subprocess.run(
        ["make", "build"], cwd=clone, capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert "14 records read, 13 published" in built.stdout
    assert (clone / "output" / "index.html").is_file()
    bin_ = clone / ".venv" / "bin"
    assert (bin_ / "feeds").is_file()
    assert [tool for tool in DEV_TOOLS if (bin_ / tool).exists()] == []
    # The targets that test and lint bring the development tools, and build does not again.
    for target in ("quick", "lint", "test", "golden"):
        planned = subprocess.run(
            ["make", "-n", target], cwd=clone, capture_output=True, text=True, check=True
        ).stdout
        assert "-e '.[dev]'" in planned, target
    again = subprocess.run(
        ["make", "-n", "build"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout
    assert "pip install" not in again
