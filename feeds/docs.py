"""The references in docs/, generated so that they cannot drift from the program.

    python -m feeds.docs           rewrite the generated blocks (what ``make docs`` runs)
    python -m feeds.docs --check   rewrite nothing; exit 1 naming each file that is out of date

``docs/commands.md`` gets one block per command, from the argparse parser of feeds/cli.py: what
it does, its usage, every option and the exit codes of its help. ``docs/settings.md`` gets the
settings table, from ``DOCS`` and the defaults of ``Settings`` in feeds/settings.py. A block
sits between ``<!-- begin generated: NAME -->`` and ``<!-- end generated: NAME -->``; the
hand-written text around the blocks is kept as it is. A new command gets a section of its own
at the end of commands.md; a block whose command is gone is an error.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from feeds.cli import parser
from feeds.settings import DOCS, Settings

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
COMMANDS = "commands.md"
SETTINGS = "settings.md"
WIDTH = 96
_BLOCK = re.compile(
    r"<!-- begin generated: (?P<name>[^>]+?) -->\n.*?<!-- end generated: (?P=name) -->",
    re.S,
)


def subcommands(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _formatter(command: argparse.ArgumentParser) -> argparse.HelpFormatter:
    # A fixed width, so that the usage lines do not depend on the terminal make docs runs in.
    kind = command.formatter_class
    assert isinstance(kind, type)
    assert issubclass(kind, argparse.HelpFormatter)
    return kind(prog=command.prog, width=WIDTH)


def usage(command: argparse.ArgumentParser) -> str:
    formatter = _formatter(command)
    formatter.add_usage(command.usage, command._actions, command._mutually_exclusive_groups)
    return formatter.format_help().strip()


def split_epilog(epilog: str) -> tuple[str, list[tuple[str, str]]]:
    """The prose of an epilog and its ``exit status:`` list as (code, meaning) pairs."""
    prose, _, codes = epilog.partition("exit status:")
    rows: list[tuple[str, str]] = []
    for line in codes.splitlines():
        found = re.match(r"^\s+(\d+)\s+(.*)$", line)
        if found:
            rows.append((found[1], found[2]))
        elif line.strip() and rows:
            rows[-1] = (rows[-1][0], f"{rows[-1][1]} {line.strip()}")
    return " ".join(prose.split()), rows


def command_block(command: argparse.ArgumentParser) -> str:
    formatter = _formatter(command)
    lines = [" ".join((command.description or "").split()), ""]
    lines += ["    " + line for line in usage(command).splitlines()]
    rows = []
    for action in command._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        invocation = formatter._format_action_invocation(action)
        meaning = formatter._expand_help(action) if action.help else ""
        rows.append(f"| `{invocation}` | {_cell(meaning)} |")
    if rows:
        lines += ["", "| argument | meaning |", "|---|---|", *rows]
    prose, codes = split_epilog(command.epilog or "")
    if prose:
        lines += ["", prose]
    if codes:
        lines += ["", "| exit | meaning |", "|---|---|"]
        lines += [f"| {code} | {_cell(meaning)} |" for code, meaning in codes]
    return "\n".join(lines)


def commands_overview(top: argparse.ArgumentParser) -> str:
    helps = {
        action.dest: action.help or ""
        for group in top._actions
        if isinstance(group, argparse._SubParsersAction)
        for action in group._choices_actions
    }
    lines = ["| command | what it does |", "|---|---|"]
    for name in subcommands(top):
        lines.append(f"| [`feeds {name}`](#feeds-{name}) | {_cell(helps.get(name, ''))} |")
    return "\n".join(lines)


def shown_default(value: Any) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`[{', '.join(str(item) for item in value)}]`"
    if value == "":
        return "empty"
    return f"`{value}`"


def settings_table() -> str:
    known = [f.name for f in fields(Settings)]
    if list(DOCS) != known:
        raise SystemExit(
            "feeds/settings.py: DOCS must have one row per field of Settings, in its order: "
            f"missing {sorted(set(known) - set(DOCS))}, extra {sorted(set(DOCS) - set(known))}"
        )
    lines = ["| key | value | default | meaning |", "|---|---|---|---|"]
    for field in fields(Settings):
        doc = DOCS[field.name]
        if doc.default:
            default = doc.default
        elif field.default is not MISSING:
            default = shown_default(field.default)
        else:
            assert field.default_factory is not MISSING
            default = shown_default(field.default_factory())
        lines.append(f"| `{field.name}` | {_cell(doc.kind)} | {default} | {_cell(doc.meaning)} |")
    return "\n".join(lines)


def blocks(top: argparse.ArgumentParser) -> dict[str, dict[str, str]]:
    """Every generated block, by file and name."""
    commands = {"commands": commands_overview(top)}
    commands |= {f"feeds {name}": command_block(sub) for name, sub in subcommands(top).items()}
    return {COMMANDS: commands, SETTINGS: {"settings": settings_table()}}


def fill(text: str, generated: Mapping[str, str], source: str) -> str:
    """``text`` with each block replaced by its generated text; a block for a command that the
    text lacks is added at the end, under a heading of its own."""
    seen: list[str] = []

    def replace(found: re.Match[str]) -> str:
        name = found["name"]
        if name not in generated:
            raise SystemExit(f"{source}: a generated block {name!r} that nothing generates now")
        seen.append(name)
        return _wrap(name, generated[name])

    text = _BLOCK.sub(replace, text)
    for name, body in generated.items():
        if name not in seen:
            text = text.rstrip("\n") + f"\n\n## `{name}`\n\n{_wrap(name, body)}\n"
    return text


def _wrap(name: str, body: str) -> str:
    return f"<!-- begin generated: {name} -->\n{body}\n<!-- end generated: {name} -->"


def generate(folder: Path = DOCS_DIR) -> dict[Path, tuple[str, str]]:
    """Each generated file: (its text now, the text it should have)."""
    result = {}
    for name, generated in blocks(parser()).items():
        path = folder / name
        now = path.read_text(encoding="utf-8") if path.exists() else ""
        result[path] = (now, fill(now, generated, str(path)))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="python -m feeds.docs", description=__doc__)
    options.add_argument("--check", action="store_true", help="only say what is out of date")
    options.add_argument("--docs", type=Path, default=DOCS_DIR, help="the docs folder")
    args = options.parse_args(argv)
    stale = []
    for path, (now, wanted) in generate(args.docs).items():
        if now == wanted:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(wanted, encoding="utf-8")
            print(f"feeds.docs: wrote {path}")
    if args.check and stale:
        for path in stale:
            print(f"{path}: out of date; run make docs", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
