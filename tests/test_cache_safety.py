"""The build cache can never hurt: damage, a wrong owner or mode, a full disk, a wrong path."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from feeds.cache import DATABASE, TAG
from feeds.cli import main
from tests import faults
from tests.conftest import load_corpus

corpus = load_corpus()
PAGE = 4096


def cache_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "build cache" in line]


def build_in_process(settings: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["build", "--settings", str(settings), "-q"])
    return code, capsys.readouterr().err


@pytest.mark.slow
def test_every_damaged_cache_page_gives_a_cold_build_and_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(7)
    settings = faults.site(tmp_path / "site")
    records = tmp_path / "site" / "records"
    corpus.generate(records, 40, seed=5)
    edited = sorted(records.rglob("*.txt"))[3]
    original = edited.read_text(encoding="utf-8")
    expected = {
        "same": faults.cold(records, settings, tmp_path / "cold-same"),
    }
    edited.write_text(original.replace('title: "', 'title: "Edited ', 1), encoding="utf-8")
    expected["edited"] = faults.cold(records, settings, tmp_path / "cold-edited")
    edited.write_text(original, encoding="utf-8")
    assert build_in_process(settings, capsys)[0] == 0
    site = tmp_path / "site"
    pristine = tmp_path / "pristine"
    shutil.copytree(site, pristine, symlinks=True)
    database = site / ".feeds-cache" / DATABASE
    pages = database.stat().st_size // PAGE
    assert pages > 30
    # The first pages (the schema, the tables' roots, the meta values), the last, and a seeded
    # sample of the rest.
    for page in sorted({*range(8), pages - 1, *rng.sample(range(8, pages - 1), 20)}):
        shutil.rmtree(site)
        shutil.copytree(pristine, site, symlinks=True)
        with database.open("r+b") as f:
            f.seek(page * PAGE)
            f.write(rng.randbytes(PAGE))
        scenario = "edited" if page % 2 else "same"
        if scenario == "edited":
            edited.write_text(original.replace('title: "', 'title: "Edited ', 1), encoding="utf-8")
            os.utime(edited, ns=(10**18, 10**18 + page))
        code, stderr = build_in_process(settings, capsys)
        assert code == 0, (page, stderr)
        assert "Traceback" not in stderr
        assert len(cache_lines(stderr)) <= 1, (page, stderr)
        assert faults.tree(site / "out") == expected[scenario], (page, scenario)
        # and the build after it is a normal one again
        code, stderr = build_in_process(settings, capsys)
        assert (code, cache_lines(stderr)) == (0, []), (page, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["foreign owner", "read-only"])
def test_a_cache_that_cannot_be_written_gives_a_cold_build_and_one_warning(
    tmp_path: Path, problem: str
) -> None:
    if problem == "foreign owner" and os.geteuid() != 0:
        pytest.skip("giving a file to another owner needs root")
    settings = faults.site(tmp_path / "site")
    records = tmp_path / "site" / "records"
    corpus.generate(records, 30, seed=6)
    assert faults.run_build(settings).returncode == 0
    record = next(records.rglob("*.txt"))
    record.write_text(record.read_text().replace('title: "', 'title: "New ', 1))
    expected = faults.cold(records, settings, tmp_path / "cold")
    cache = tmp_path / "site" / ".feeds-cache"
    for path in [*cache.iterdir(), cache]:
        if problem == "foreign owner":
            os.chown(path, faults.NOBODY, faults.NOBODY)
        else:
            path.chmod(0o555 if path == cache else 0o444)
    done = faults.run_build(settings, preexec=faults.powerless)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len(cache_lines(done.stderr)) == 1, done.stderr
    assert faults.tree(tmp_path / "site" / "out") == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_cache_on_a_full_disk_gives_a_build_and_one_warning(tmp_path: Path) -> None:
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)]).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        settings = faults.site(tmp_path / "site", cache=str(disk / "cache"))
        corpus.generate(tmp_path / "site" / "records", 60, seed=8)
        expected = faults.cold(tmp_path / "site" / "records", settings, tmp_path / "cold")
        done = faults.run_build(settings)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert len(cache_lines(done.stderr)) == 1, done.stderr
        assert faults.tree(tmp_path / "site" / "out") == expected
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("target", ["settings.yaml", "records", "notes"])
def test_a_cache_setting_naming_something_else_is_refused(tmp_path: Path, target: str) -> None:
    settings = faults.site(tmp_path, cache=target)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    (tmp_path / "records" / "a.txt").write_text("---\ntitle: t\n---\n")
    before = faults.tree(tmp_path)
    done = faults.run_build(settings)
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / target}" in done.stderr
    assert "cache" in done.stderr
    assert "feeds will not overwrite it" in done.stderr
    assert faults.tree(tmp_path) == before


def test_an_empty_folder_is_taken_as_the_cache(tmp_path: Path) -> None:
    settings = faults.site(tmp_path, cache="cache-here")
    (tmp_path / "cache-here").mkdir()
    corpus.generate(tmp_path / "records", 5, seed=9)
    done = faults.run_build(settings)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cache-here" / TAG).is_file()
    assert (tmp_path / "cache-here" / DATABASE).is_file()
