"""Paths are safe: outputs that could reach what is not feeds', records reached through links,
folders and names that cannot be read, settings that YAML cannot type. Every one of them is a
message naming the path, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import faults
from tests.conftest import SEED, record_text, run_cli

SECRET = "AKIA-FAKE-SECRET-KEY-0123456789"


def site(tmp_path: Path, **values: object) -> Path:
    settings = faults.site(tmp_path, **values)
    (tmp_path / "records" / "seed.txt").write_bytes(SEED.read_bytes())
    return settings


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("/", "root of the file system"),
        pytest.param("..", "must not contain the records folder", marks=pytest.mark.slow),
        pytest.param(".", "must not contain the records folder", marks=pytest.mark.slow),
        pytest.param("records", "different folder from records", marks=pytest.mark.slow),
        ("records/out", "inside the records folder"),
        pytest.param("HOME", "home folder", marks=pytest.mark.slow),
    ],
)
def test_an_output_that_reaches_beyond_its_own_folder_is_refused(
    tmp_path: Path, output: str, reason: str
) -> None:
    if output == "HOME":
        output = str(Path.home())
    settings = site(tmp_path / "site", output=output)
    before = faults.tree(tmp_path)
    for command in ("build", "check", "clean"):
        done = run_cli(command, "--settings", str(settings))
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "output" in done.stderr
        assert reason in done.stderr
        assert "Traceback" not in done.stderr
    assert faults.tree(tmp_path) == before
    assert not Path("/.feeds-manifest").exists()


def test_an_output_holding_the_settings_file_is_refused(tmp_path: Path) -> None:
    settings = tmp_path / "site" / "conf" / "settings.yaml"
    settings.parent.mkdir(parents=True)
    (tmp_path / "records").mkdir()
    settings.write_text(faults.settings_text(records="../../records", output=".."))
    done = run_cli("build", "--settings", str(settings))
    assert done.returncode == 2
    assert "must not contain the settings file" in done.stderr


@pytest.mark.parametrize("url", ["https://example.org/feeds/?x=1", "https://example.org/f/#top"])
def test_a_base_url_with_a_query_or_fragment_is_refused(tmp_path: Path, url: str) -> None:
    settings = site(tmp_path, base_url=url)
    done = run_cli("build", "--settings", str(settings))
    assert done.returncode == 2
    assert "base_url" in done.stderr
    assert "without a query" in done.stderr
    done = run_cli("build", "--settings", str(site(tmp_path)), "--base-url", url)
    assert done.returncode == 2
    assert "without a query" in done.stderr


def test_a_record_linked_from_outside_is_skipped_and_nothing_of_it_is_quoted(
    tmp_path: Path,
) -> None:
    settings = site(tmp_path / "site")
    records = tmp_path / "site" / "records"
    secret = tmp_path / "elsewhere" / ".env"
    secret.parent.mkdir()
    secret.write_text(f"AWS_SECRET_ACCESS_KEY={SECRET}\n")
    outside = tmp_path / "elsewhere" / "real.txt"
    outside.write_text(record_text(title="From elsewhere", webUrl="https://x.example/else"))
    (records / "secret.txt").symlink_to(secret)
    (records / "outside.txt").symlink_to(outside)
    (records / "inside.txt").symlink_to(records / "seed.txt")
    for command in ("check", "build"):
        done = run_cli(command, "--settings", str(settings))
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stderr + done.stdout
        assert "elsewhere" not in done.stderr + done.stdout
        for name in ("secret.txt", "outside.txt"):
            assert f"{name}: (file): warning: a link to a file outside the records folder" in (
                done.stderr
            )
        assert "Traceback" not in done.stderr
    published = (tmp_path / "site" / "out" / "all.atom").read_text()
    assert "From elsewhere" not in published
    assert SECRET not in published


def test_links_that_lead_nowhere_and_undecodable_names_are_rejected_by_name(
    tmp_path: Path,
) -> None:
    settings = site(tmp_path)
    records = tmp_path / "records"
    (records / "loop-a.txt").symlink_to(records / "loop-b.txt")
    (records / "loop-b.txt").symlink_to(records / "loop-a.txt")
    (records / "gone.txt").symlink_to(records / "missing.txt")
    bad_name = os.fsencode(records) + b"/caf\xe9.txt"
    with open(bad_name, "w") as f:
        f.write(record_text(title="Latin-1 name", webUrl="https://x.example/latin"))
    for command in ("check", "build"):
        done = run_cli(command, "--settings", str(settings))
        assert done.returncode == 1, (command, done.stderr)
        assert "Traceback" not in done.stderr
        lines = done.stderr.splitlines()
        assert any(
            line.endswith("loop-a.txt: (file): cannot be read: Too many levels of symbolic links")
            for line in lines
        ), done.stderr
        assert any("gone.txt: (file): cannot be read: No such file" in line for line in lines)
        assert any(
            line.endswith("caf\\xe9.txt: (file): the name is not valid UTF-8; rename it")
            for line in lines
        ), done.stderr
    assert "Seed" not in done.stderr  # the seed record itself is published
    assert (tmp_path / "out" / "all.atom").read_text().count("<entry>") == 1


def test_an_unreadable_folder_is_rejected_by_name_and_the_rest_is_published(
    tmp_path: Path,
) -> None:
    settings = site(tmp_path)
    locked = tmp_path / "records" / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text(record_text(webUrl="https://x.example/locked"))
    locked.chmod(0)
    try:
        for command in ("check", "build"):
            done = run_cli(command, "--settings", str(settings), preexec=faults.powerless)
            assert done.returncode == 1, (command, done.stderr)
            assert "records/locked: (folder): cannot be read: Permission denied" in done.stderr
            assert "Traceback" not in done.stderr
        assert (tmp_path / "out" / "all.atom").read_text().count("<entry>") == 1
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "custom_feeds:\n  - title: T\n    topics: [AI]\n    since: 2024-02-30\n",
            "custom_feeds: custom feed 1: `since` must be a date such as 2024-01-31",
        ),
        pytest.param(
            "title: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply", marks=pytest.mark.slow
        ),
        ("title: x\n\tbad: tab\n", "not valid YAML"),
    ],
)
def test_settings_that_yaml_cannot_type_are_a_message(
    tmp_path: Path, text: str, message: str
) -> None:
    settings = site(tmp_path)
    settings.write_text(settings.read_text() + text)
    for command in ("check", "build"):
        done = run_cli(command, "--settings", str(settings))
        assert done.returncode == 2, (command, done.stderr)
        assert message in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
