"""The README and docs/: the generated references equal what the code generates now, every link
leads to a file and heading that exist, and the examples they show are what feeds does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from feeds.docs import COMMANDS, DOCS_DIR, fill, generate
from feeds.settings import parse_settings
from tests.conftest import ROOT, run_cli

README = ROOT / "README.md"
PAGES = sorted(DOCS_DIR.glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SECONDS = re.compile(r"\([\d.]+ s\)$")


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```$", "", path.read_text(), flags=re.M | re.S)
    found = {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}
    return found | set(re.findall(r'<a id="([^"]+)"', text))


def test_the_generated_references_are_what_the_parser_and_the_settings_table_give() -> None:
    stale = [path.name for path, (now, wanted) in generate().items() if now != wanted]
    assert stale == [], f"docs/{', docs/'.join(stale)} out of date: run make docs"


def test_a_command_without_a_block_gets_a_section_and_a_block_of_a_gone_command_is_an_error() -> (
    None
):
    text = "# Commands\n\n<!-- begin generated: feeds a -->\nold\n<!-- end generated: feeds a -->\n"
    filled = fill(text, {"feeds a": "new a", "feeds b": "new b"}, COMMANDS)
    assert "old" not in filled
    assert "<!-- begin generated: feeds a -->\nnew a\n<!-- end generated: feeds a -->" in filled
    assert filled.endswith(
        "## `feeds b`\n\n<!-- begin generated: feeds b -->\nnew b\n<!-- end generated: feeds b -->\n"
    )
    with pytest.raises(SystemExit, match="feeds a"):
        fill(text, {"feeds b": "new b"}, COMMANDS)


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {path.name}")
    assert broken == []


def test_the_readme_fits_in_a_few_screens_and_links_every_page_of_the_docs() -> None:
    text = README.read_text()
    assert len(text.splitlines()) < 200
    linked = {target.partition("#")[0] for target in LINK.findall(text)}
    assert {f"docs/{page.name}" for page in PAGES} <= linked
    assert "\n    make test" in text  # what .ci/run runs


def test_the_readme_example_is_what_feeds_builds(tmp_path: Path) -> None:
    text = README.read_text()
    record, settings = fenced(text, "yaml")
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "battery.txt").write_text(record)
    (tmp_path / "settings.yaml").write_text(settings)
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    summary = result.stdout.splitlines()[0]
    shown = next(line.strip() for line in text.splitlines() if line.startswith("    feeds: "))
    assert SECONDS.sub("", shown) == SECONDS.sub("", summary)
    (entry,) = fenced(text, "xml")
    assert entry in (tmp_path / "output" / "all.atom").read_text()
    for feed in ("all", "topics/energy", "topics/climate", "providers/northwind-example"):
        assert (tmp_path / "output" / f"{feed}.json").is_file()


@pytest.mark.parametrize("command", ["build", "check"])
def test_the_summary_lines_in_the_commands_page_are_what_the_examples_give(
    tmp_path: Path, command: str
) -> None:
    output = ["--output", str(tmp_path / "output")] if command == "build" else []
    result = run_cli(command, "--settings", "settings.yaml", *output)
    assert result.returncode == 0, result.stderr
    summary = SECONDS.sub("", result.stdout.splitlines()[0]).replace(str(tmp_path) + "/", "")
    page = (DOCS_DIR / "commands.md").read_text()
    prefix = "feeds: " if command == "build" else "feeds check: "
    shown = [line.strip() for line in page.splitlines() if line.startswith("    " + prefix)]
    assert shown
    assert {SECONDS.sub("", line) for line in shown} == {summary}


def test_the_settings_in_the_docs_are_valid_settings(tmp_path: Path) -> None:
    blocks = fenced((DOCS_DIR / "settings.md").read_text(), "yaml")
    assert len(blocks) >= 2
    for block in blocks:
        parse_settings(yaml.safe_load(block), base=tmp_path)  # raises SettingsError if not


def test_the_records_in_the_docs_are_published_without_a_warning(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    shown = [
        block
        for page in (README, *PAGES)
        for block in fenced(page.read_text(), "yaml")
        if block.startswith("---\n")
    ]
    assert len(shown) >= 2
    for i, block in enumerate(shown):
        (records / f"{i}.txt").write_text(block)
    shutil.copy(ROOT / "settings.yaml", tmp_path / "settings.yaml")
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"{len(shown)} records read, {len(shown)} published" in result.stdout
