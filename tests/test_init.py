"""``feeds init``: a new site that the real ``feeds build`` and ``feeds serve`` take as it is, and
never a file written over."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from feeds.init import EXAMPLE, SETTINGS_TEXT
from feeds.settings import DOCS
from tests.conftest import run_cli
from tests.live import free_port, stop, wait_until_up

HOSTILE = "my site – ünïcödé 日本 'quoted' $HOME"


def test_init_writes_a_site_that_builds_at_once_with_no_warning(tmp_path: Path) -> None:
    site = tmp_path / "sites" / HOSTILE
    started = run_cli("init", str(site), cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert started.stderr == ""
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        ".gitignore",
        f"records/{EXAMPLE}",
        "settings.yaml",
    ]
    checked = run_cli("check", cwd=site)
    assert (checked.returncode, checked.stderr) == (0, "")
    built = run_cli("build", cwd=site)
    assert (built.returncode, built.stderr) == (0, ""), built.stdout
    assert "1 records read, 1 published, 0 unpublished, 0 duplicates, 0 rejected" in built.stdout
    output = site / "output"
    for feed in ("all", "topics/examples", "topics/getting-started", "providers/example-org"):
        for extension in ("rss", "atom", "json"):
            assert (output / f"{feed}.{extension}").is_file(), (feed, extension)
    (item,) = json.loads((output / "all.json").read_text())["items"]
    assert item["date_published"] == "2026-01-15T09:00:00Z"
    assert item["tags"] == ["Examples", "Getting Started", "news"]
    assert item["image"].startswith("https://")
    assert item["_related"]["items"][0]["title"]
    assert "<p>Text after the closing --- is the body" in item["content_html"]


def test_init_prints_the_next_command_quoted_for_a_shell(tmp_path: Path) -> None:
    started = run_cli("init", HOSTILE, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    (hint,) = [line for line in started.stdout.splitlines() if line.startswith("next: ")]
    command = re.match(r"next: (.*) && feeds build", hint)
    assert command, hint
    shell = subprocess.run(
        ["sh", "-c", command[1] + " && pwd"], cwd=tmp_path, capture_output=True, text=True
    )
    assert Path(shell.stdout.strip()) == tmp_path / HOSTILE


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_gitignore_keeps_the_output_and_the_cache_out_of_git(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    assert run_cli("build", cwd=tmp_path).returncode == 0
    assert (tmp_path / "output").is_dir()
    assert (tmp_path / ".feeds-cache").is_dir()
    (tmp_path / ".feeds-cache.served.json").write_text("{}")  # what feeds serve leaves beside it
    (tmp_path / ".feeds-cache.serving").mkdir()
    (tmp_path / ".feeds-cache.serving" / "x").write_text("")
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    listed = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sorted(line[3:] for line in listed.splitlines()) == [
        ".gitignore",
        f"records/{EXAMPLE}",
        "settings.yaml",
    ]


@pytest.mark.parametrize("there", ["settings.yaml", ".gitignore"])
def test_init_writes_nothing_when_a_file_it_would_write_is_there(
    tmp_path: Path, there: str
) -> None:
    mine = tmp_path / there
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text("mine\n")
    refused = run_cli("init", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert f"feeds: error: {there}: already there" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [
        there
    ]
    assert mine.read_text() == "mine\n"


def test_init_adds_no_example_to_records_already_there(tmp_path: Path) -> None:
    (tmp_path / "records" / "2024").mkdir(parents=True)
    mine = tmp_path / "records" / "2024" / "mine.txt"
    mine.write_text(
        "---\ntitle: Mine\nwebUrl: https://news.example/mine\n"
        "publishedDateTime: 2024-05-01T10:00:00Z\n---\n"
    )
    started = run_cli("init", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert "already holds files: no example record added" in started.stdout
    assert not (tmp_path / "records" / EXAMPLE).exists()
    built = run_cli("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "1 records read, 1 published" in built.stdout


def test_init_into_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("a file")
    refused = run_cli("init", "site", cwd=tmp_path)
    assert refused.returncode == 2
    assert "site: exists and is not a folder" in refused.stderr


def test_init_where_no_folder_can_be_made_is_a_message(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("a file")
    refused = run_cli("init", "a-file/site", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("feeds: error: a-file/site")
    assert "cannot be written" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_settings_init_writes_mention_every_setting() -> None:
    missing = [key for key in DOCS if not re.search(rf"^(# )?{key}:", SETTINGS_TEXT, re.MULTILINE)]
    assert missing == []


@pytest.mark.slow
def test_feeds_serve_serves_a_new_site_as_it_is(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "feeds", "serve", "--port", str(port), "--no-watch"],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(process, lambda: urllib.request.urlopen(url + "healthz", timeout=5), log)
        with urllib.request.urlopen(url + "all.json", timeout=5) as response:
            feed = json.load(response)
        with urllib.request.urlopen(url, timeout=5) as response:
            index = response.read().decode()
    finally:
        stop(process)
    assert [item["title"] for item in feed["items"]] == [
        "Example: the first entry of your own feeds"
    ]
    assert "all.atom" in index
