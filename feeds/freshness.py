"""What changed since the last build, as the build cache and the output folder tell it: record
files by size and mtime, output files by the stats the last build left them with. The states
saved per record file are plain tuples, with feed keys shared across records, so 100,000 of
them load in a fraction of a second."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds.cache import FileState, Report, SummaryRow
from feeds.grouping import Summary
from feeds.settings import Settings
from feeds.writing import interrupted

if TYPE_CHECKING:
    from feeds.reading import FileOutcome


def state_of(outcome: FileOutcome) -> FileState:
    summary = None
    if outcome.summary is not None:
        s = outcome.summary
        # Shared key objects: the saved state then holds each feed key once, and loads fast.
        keys = tuple(map(_SHARED.setdefault, s.keys, s.keys))
        summary = (s.id, s.published, s.digest, keys, s.size)
    error = (outcome.error.field, outcome.error.reason) if outcome.error is not None else None
    warnings = tuple((w.field, w.reason) for w in outcome.warnings)
    return (summary, outcome.draft, error, warnings)


def summary_of(known: SummaryRow, rel: str) -> Summary:
    article, published, digest, keys, size = known
    return Summary(article, published, digest, rel, keys, size)


_SHARED: dict[Any, Any] = {}


def file_stat(path: Path | str) -> tuple[int, int]:
    """(size, mtime in ns) of ``path``; (-1, -1) when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return (-1, -1)
    return (stat.st_size, stat.st_mtime_ns)


def output_stats(folder: Path, paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    """:func:`file_stat` of each of ``paths`` in ``folder`` (string joins: thousands of files)."""
    base = str(folder)
    return {path: file_stat(os.path.join(base, path)) for path in paths}


def damaged_outputs(settings: Settings, report: Report) -> set[str]:
    """Feed paths (without extension) whose output files are not as the last build left them."""
    damaged: set[str] = set()
    folders: dict[str, list[tuple[str, str, tuple[int, int]]]] = {}
    for path, recorded in report.outputs.items():
        folder, _, name = path.rpartition("/")
        folders.setdefault(folder, []).append((name, path, recorded))
    base = str(settings.output)
    for folder, files in folders.items():
        # Each name looked up in its folder (no walk from the root for every one of thousands).
        try:
            fd = os.open(os.path.join(base, folder), os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            damaged.update(path.rsplit(".", 1)[0] for _, path, _ in files)
            continue
        try:
            for name, path, recorded in files:
                try:
                    stat = os.stat(name, dir_fd=fd)
                    found = (stat.st_size, stat.st_mtime_ns)
                except OSError:
                    found = (-1, -1)
                if found != recorded:
                    damaged.add(path.rsplit(".", 1)[0])
        finally:
            os.close(fd)
    return damaged


def outputs_intact(settings: Settings, report: Report) -> bool:
    return (
        bool(report.outputs)
        and not interrupted(settings.output)
        and not damaged_outputs(settings, report)
    )
