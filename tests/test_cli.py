"""The real ``feeds`` command in a fresh interpreter: summary, problems on stderr, exit codes."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pytest

from feeds.cli import EXIT_CODES, parser
from feeds.settings import DOCS
from tests.conftest import EXAMPLES, ROOT, SEED, RecordWriter, run_cli

SUMMARY = re.compile(
    r"^feeds: (\d+) records read, (\d+) published, (\d+) unpublished, \d+ duplicates, (\d+) rejected; (\d+) feeds"
    r"(?: and (\d+) archive pages)?: (\d+) files written, (\d+) unchanged, (\d+) removed in .+ \([\d.]+ s\)$",
    re.MULTILINE,
)


def settings_file(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text("title: CLI News\nbase_url: https://example.org/feeds/\n" + text)
    return path


def test_build_writes_the_examples_and_prints_one_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("build", "--settings", "settings.yaml", "--output", str(out))
    assert result.returncode == 0, result.stderr
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout
    read, published, drafts, rejected, feeds, pages, written = (
        int(g or 0) for g in match.groups()[:7]
    )
    assert (read, published, drafts, rejected, pages) == (14, 13, 1, 0, 3)
    # a page per feed; index, feeds.opml, topics.opml, providers.opml, custom.opml
    assert written == (feeds + pages) * 3 + feeds + 5
    assert (out / "all.rss").is_file()
    assert (out / "index.html").is_file()
    assert result.stderr == ""


def test_second_build_rewrites_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli("build", "--settings", "settings.yaml", "--output", str(out))
    again = run_cli("build", "--settings", "settings.yaml", "--output", str(out))
    match = SUMMARY.search(again.stdout)
    assert match
    assert int(match.group(7)) == 0
    assert int(match.group(8)) > 0


def test_rejected_records_are_reported_and_the_rest_published(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record("good.txt", title="Good one")
    write_record("no-title.txt", title=None)
    write_record("bad-date.txt", publishedDateTime="someday")
    write_record("binary.txt", text=b"\x89PNG\r\n\x1a\n\x00\xff")
    out = tmp_path / "out"
    result = run_cli(
        "build",
        "--settings",
        str(settings_file(tmp_path)),
        "--records",
        str(records),
        "--output",
        str(out),
    )
    assert result.returncode == 1
    lines = sorted(result.stderr.splitlines())
    assert len(lines) == 3
    assert re.match(r"^.*bad-date\.txt: publishedDateTime: .+$", lines[0])
    assert re.match(r"^.*binary\.txt: \(file\): not UTF-8 text: .+$", lines[1])
    assert re.match(r"^.*no-title\.txt: title: missing$", lines[2])
    assert "Good one" in (out / "all.rss").read_text()
    match = SUMMARY.search(result.stdout)
    assert match
    assert match.group(4) == "3"


def test_allow_rejected_flag_and_setting_exit_zero(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record("good.txt")
    write_record("bad.txt", title=None)
    common = ["--records", str(records), "--output", str(tmp_path / "out")]
    flag = run_cli("build", "--settings", str(settings_file(tmp_path)), *common, "--allow-rejected")
    assert flag.returncode == 0
    setting = run_cli(
        "build", "--settings", str(settings_file(tmp_path, "allow_rejected: true\n")), *common
    )
    assert setting.returncode == 0
    assert "bad.txt: title: missing" in setting.stderr


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("max_entrys: 10\n", ["max_entrys", "did you mean 'max_entries'"]),
        ("max_entries: many\n", ["max_entries", "'many'", "whole number"]),
        ("base_url: /feeds/\n", ["base_url", "'/feeds/'", "absolute http(s) URL"]),
        ("formats: [rss, pdf]\n", ["formats", "pdf"]),
        ("timezone: Mars/Olympus\n", ["timezone", "IANA"]),
    ],
)
def test_bad_settings_stop_before_anything_is_written(
    tmp_path: Path, line: str, words: list[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "all.rss").write_text("previous good output")
    result = run_cli(
        "build",
        "--settings",
        str(settings_file(tmp_path, line)),
        "--records",
        str(EXAMPLES),
        "--output",
        str(out),
    )
    assert result.returncode == 2
    for word in words:
        assert word in result.stderr
    assert "settings.yaml" in result.stderr
    assert (out / "all.rss").read_text() == "previous good output"
    assert sorted(p.name for p in out.iterdir()) == ["all.rss"]


def test_missing_records_folder_is_exit_2(tmp_path: Path) -> None:
    result = run_cli(
        "build",
        "--settings",
        str(settings_file(tmp_path)),
        "--records",
        str(tmp_path / "nope"),
        "--output",
        str(tmp_path / "out"),
    )
    assert result.returncode == 2
    assert "records folder not found" in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_settings_file_is_exit_2(tmp_path: Path) -> None:
    result = run_cli("build", "--settings", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2
    assert "absent.yaml" in result.stderr


def test_unwritable_output_is_exit_3(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("build", "--settings", "settings.yaml", "--output", str(blocker / "out"))
    assert result.returncode == 3
    assert "cannot write" in result.stderr


def test_check_writes_nothing_and_reports_like_build(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record("good.txt")
    write_record("bad.txt", webUrl="javascript:alert(1)")
    settings = settings_file(tmp_path, "output: out\n")
    result = run_cli("check", "--settings", str(settings), "--records", str(records))
    assert result.returncode == 1
    assert "bad.txt: webUrl: not an absolute http(s) URL" in result.stderr
    assert "feeds check: 2 records read, 1 published" in result.stdout
    assert not (tmp_path / "out").exists()


def test_settings_paths_are_relative_to_the_settings_file(tmp_path: Path) -> None:
    shutil.copytree(SEED.parent, tmp_path / "site" / "in")
    settings = settings_file(tmp_path / "site", "records: in\noutput: public\n")
    result = run_cli("build", "--settings", str(settings), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "public" / "all.atom").is_file()


@pytest.mark.parametrize(
    "args",
    [["--help"], ["build", "--help"], ["check", "--help"], ["ping", "--help"], ["--version"]],
)
def test_help_on_every_command(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 0
    assert result.stdout.strip()


def test_bare_feeds_prints_the_help_and_exits_0() -> None:
    result = run_cli()
    assert result.returncode == 0
    assert result.stdout.startswith("usage: feeds")
    assert "build     build the feeds into the output folder" in result.stdout
    assert result.stderr == ""


def test_a_misspelled_command_is_answered_with_the_nearest_one() -> None:
    result = run_cli("buld")
    assert result.returncode == 2
    assert "feeds: error: unknown command 'buld'; did you mean 'build'?" in result.stderr
    far = run_cli("xyzzy")
    assert far.returncode == 2
    assert "unknown command 'xyzzy' (one of: init, build, check" in far.stderr
    assert "did you mean" not in far.stderr


def test_a_misspelled_option_is_answered_with_the_nearest_one_of_its_command() -> None:
    result = run_cli("serve", "--prot", "8000")
    assert result.returncode == 2
    assert "unrecognized arguments: --prot 8000; --prot: did you mean --port?" in result.stderr
    # The options of the command given, not another's: build has no --port.
    build = run_cli("build", "--no-cahce", "--prot=1")
    assert build.returncode == 2
    assert "--no-cahce: did you mean --no-cache?" in build.stderr
    assert "--port" not in build.stderr
    stray = run_cli("build", "stray")
    assert stray.returncode == 2
    assert stray.stderr.rstrip().endswith("unrecognized arguments: stray")


def help_exit_codes(name: str) -> set[int]:
    """The exit codes ``feeds <name> --help`` lists under "exit status:"."""
    section = commands()[name].format_help().split("\nexit status:\n", 1)[1]
    return {int(code) for code in re.findall(r"^  (\d+) ", section, re.M)}


def test_each_command_help_lists_only_the_exit_codes_it_can_return() -> None:
    # One table for every command: a command added without one fails here (and in parser()).
    assert sorted(EXIT_CODES) == sorted(commands())
    for name in commands():
        assert help_exit_codes(name) == {code for code, _ in EXIT_CODES[name]} | {130, 141}
    # They listed the build's codes, which check and ping never return; serve's busy port has
    # its own.
    assert help_exit_codes("check") == {0, 1, 2, 130, 141}
    assert help_exit_codes("ping") == {0, 2, 3, 4, 130, 141}
    assert help_exit_codes("serve") == {0, 2, 3, 5, 130, 141}


def duplicate_site(tmp_path: Path, write_record: RecordWriter, pairs: int) -> Path:
    """Records of which ``pairs`` lose their article to a newer one, two with a dropped image
    each (another kind of warning), and two rejected; returns the settings file."""
    for n in range(pairs):
        url = f"https://news.example/story-{n}"
        write_record(f"old-{n:02d}.txt", webUrl=url, publishedDateTime="2024-05-01T10:00:00Z")
        write_record(f"new-{n:02d}.txt", webUrl=url, publishedDateTime="2024-05-02T10:00:00Z")
    for n in range(2):
        write_record(
            f"image-{n}.txt", images=[{"url": "ftp://i.example/a.jpg"}], webUrl=f"https://i/{n}"
        )
        write_record(f"rejected-{n}.txt", title=None)
    return settings_file(tmp_path, "records: records\noutput: out\n")


def test_many_warnings_of_one_kind_are_summarized_and_all_shown_with_verbose(
    tmp_path: Path, write_record: RecordWriter
) -> None:
    settings = duplicate_site(tmp_path, write_record, pairs=9)
    result = run_cli("check", "--settings", str(settings))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert sum(": webUrl: warning: same article as " in line for line in lines) == 3
    assert "... and 6 more duplicates (feeds check -v shows all)" in lines
    # Fewer than MANY of a kind are all shown, and every rejected record always is.
    assert sum(": images[0].url: warning: " in line for line in lines) == 2
    assert sum(line.endswith(": title: missing") for line in lines) == 2
    assert len(lines) == 3 + 1 + 2 + 2
    verbose = run_cli("check", "-v", "--settings", str(settings)).stderr.splitlines()
    assert sum(": webUrl: warning: same article as " in line for line in verbose) == 9
    assert not any(line.startswith("... and") for line in verbose)
    built = run_cli("build", "-q", "--settings", str(settings))
    assert "... and 6 more duplicates (feeds build -v shows all)" in built.stderr.splitlines()
    # A build with nothing to do reports them again from the cache, summarized the same way.
    again = run_cli("build", "-q", "--settings", str(settings))
    assert again.stderr == built.stderr


def command_sections() -> dict[str, str]:
    """Each ``## `feeds <command>` `` section of docs/commands.md, up to the next heading of its
    level or above."""
    page = (ROOT / "docs" / "commands.md").read_text()
    return dict(re.findall(r"^## `feeds (\S+)`\n(.*?)(?=^#{1,2} |\Z)", page, re.M | re.S))


def commands() -> dict[str, argparse.ArgumentParser]:
    (found,) = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found.choices)


def test_every_command_has_a_section_in_the_commands_page() -> None:
    assert sorted(command_sections()) == sorted(commands())


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_option_of_a_command_is_documented_in_its_section(name: str) -> None:
    section = command_sections().get(name, "")
    options = {
        option
        for action in commands()[name]._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    assert {option for option in options if option not in section} == set()


def test_every_setting_is_documented_in_the_settings_page() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    for key in DOCS:
        assert f"| `{key}` |" in page, key


def test_exit_codes_are_documented_in_the_commands_page() -> None:
    page = (ROOT / "docs" / "commands.md").read_text()
    for code in ("| 0 ", "| 1 ", "| 2 ", "| 3 ", "| 4 "):
        assert code in page
