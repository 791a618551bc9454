"""The whole pipeline for one settings object: records -> entries -> feeds -> bytes.

Nothing here prints or writes; the CLI (and later the app) decide what to do with the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from feeds.errors import FeedsError, Problem, RecordError
from feeds.grouping import dedupe, group
from feeds.mapping import map_record
from feeds.model import Entry, Feed
from feeds.records import find_records, read_record
from feeds.rendering import render_all
from feeds.settings import Settings


@dataclass(frozen=True, slots=True)
class BuildResult:
    files: dict[str, bytes]
    feeds: tuple[Feed, ...]
    records: int
    published: int
    drafts: int
    duplicates: int
    rejected: tuple[RecordError, ...]
    warnings: tuple[Problem, ...] = field(default=())


def read_entries(
    settings: Settings,
) -> tuple[list[Entry], int, int, list[RecordError], list[Problem]]:
    """(entries, files read, drafts, rejected records, warnings) for the records folder."""
    if not settings.records.is_dir():
        raise FeedsError(f"records folder not found: {display(settings.records)}")
    entries: list[Entry] = []
    rejected: list[RecordError] = []
    warnings: list[Problem] = []
    drafts = 0
    paths = find_records(settings.records)
    for path in paths:
        shown = display(path)
        try:
            record = read_record(path, shown, settings.zone)
            if record is None:
                drafts += 1
                continue
            entry, problems = map_record(record, settings)
        except RecordError as e:
            rejected.append(e)
            continue
        except Exception as e:  # one record must never stop the others
            rejected.append(RecordError(shown, "(record)", f"unexpected {type(e).__name__}: {e}"))
            continue
        entries.append(entry)
        warnings.extend(problems)
    return entries, len(paths), drafts, rejected, warnings


def build(settings: Settings) -> BuildResult:
    entries, count, drafts, rejected, warnings = read_entries(settings)
    entries, duplicates = dedupe(entries)
    feeds = group(entries, settings)
    return BuildResult(
        files=render_all(feeds, settings),
        feeds=tuple(feeds),
        records=count,
        published=len(entries),
        drafts=drafts,
        duplicates=len(duplicates),
        rejected=tuple(rejected),
        warnings=tuple(warnings + duplicates),
    )


def display(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, for shorter messages."""
    try:
        return (
            os.path.relpath(path)
            if path.is_absolute() and path.is_relative_to(Path.cwd())
            else str(path)
        )
    except ValueError:
        return str(path)
