"""Finding the record files of a folder: what a build reads, what it skips, and what stands in
the way. Kept apart from reading a record (``records.py``), so that a build with nothing to do
walks the folder without loading the YAML readers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from feeds.errors import Problem, RecordError

SUFFIXES = (".txt", ".yaml", ".yml", ".md")


@dataclass(frozen=True, slots=True)
class Scan:
    """The record files of a folder, and what stood in the way of finding them all."""

    files: list[tuple[str, int, int]]
    """(path relative to the folder, size, mtime in ns) of every record file, in path order."""
    errors: list[RecordError]
    """Files and folders that should hold records and cannot be read (paths relative)."""
    warnings: list[Problem]
    """What was left out on purpose: links that lead outside the folder."""
    skipped: dict[str, int]
    """Files that are not records by their name (hidden ones aside), counted by kind: the
    extension (``.json``), or the name of a file without one (``README``)."""

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())


def scan_records(folder: Path) -> Scan:
    """Every record file below ``folder``, without ever raising for what is found there.

    Hidden files and folders are skipped, and symlinked folders are not followed (no loops).
    A symlinked file is read only when it resolves inside ``folder``: a link to a file elsewhere
    would publish what was never put in the records, so it is skipped with a warning that
    names the link and nothing of its target. Found with ``os.scandir`` on plain strings: on a
    large archive this walk is most of what a build with nothing to do costs.
    """
    found: list[tuple[str, int, int]] = []
    errors: list[RecordError] = []
    warnings: list[Problem] = []
    skipped: dict[str, int] = {}
    root = os.path.realpath(folder)
    pending = [("", os.fspath(folder))]
    while pending:
        prefix, directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as e:
            shown = prefix or "./"
            errors.append(RecordError(shown, "(folder)", f"cannot be read: {e.strerror or e}"))
            continue
        for entry in entries:
            name = entry.name
            # The common case first, and cheap: a plain file with a record's suffix (d_type
            # comes with the listing; only the stat is a system call).
            if (
                name.endswith(SUFFIXES)
                and name[0] != "."
                and name.isascii()
                and entry.is_file(follow_symlinks=False)
            ):
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError as e:
                    rel = prefix + name
                    errors.append(RecordError(rel, "(file)", f"cannot be read: {e.strerror or e}"))
                    continue
                found.append((prefix + name, stat.st_size, stat.st_mtime_ns))
                continue
            if name.startswith("."):
                continue
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                if entry.is_dir(follow_symlinks=False) or name.lower().endswith(SUFFIXES):
                    shown = prefix + os.fsencode(name).decode("utf-8", "backslashreplace")
                    errors.append(
                        RecordError(shown, "(file)", "the name is not valid UTF-8; rename it")
                    )
                else:
                    _skip(skipped, os.fsencode(name).decode("utf-8", "backslashreplace"))
                continue
            rel = prefix + name
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((f"{rel}/", entry.path))
                    continue
                if not name.lower().endswith(SUFFIXES):
                    _skip(skipped, name)
                    continue
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not _inside(target, root):
                        warnings.append(
                            Problem(
                                rel,
                                "(file)",
                                "a link to a file outside the records folder; skipped",
                            )
                        )
                        continue
                stat = entry.stat()
            except OSError as e:
                errors.append(RecordError(rel, "(file)", f"cannot be read: {e.strerror or e}"))
                continue
            if entry.is_file():
                found.append((rel, stat.st_size, stat.st_mtime_ns))
    found.sort()
    errors.sort(key=lambda e: e.path)
    warnings.sort(key=lambda w: w.path)
    return Scan(found, errors, warnings, skipped)


def _skip(skipped: dict[str, int], name: str) -> None:
    """Count a file that is not a record, by its kind; a few dozen kinds at most are told apart."""
    dot = name.rfind(".")
    kind = name[dot:].lower() if dot > 0 else name
    if len(kind) > 30 or not kind.isprintable():
        kind = "other"
    if kind in skipped or len(skipped) < 50:
        skipped[kind] = skipped.get(kind, 0) + 1
    else:
        skipped["other"] = skipped.get("other", 0) + 1


def skipped_kinds(skipped: dict[str, int], shown: int = 5) -> str:
    """``.markdown, .json``: the kinds of the files skipped, the most frequent first."""
    kinds = sorted(skipped, key=lambda kind: (-skipped[kind], kind))
    return ", ".join(kinds[:shown]) + (", ..." if len(kinds) > shown else "")


def has_records(folder: Path) -> bool:
    """Whether :func:`scan_records` would find a record file below ``folder``, or one it must
    report (a folder that cannot be read, a name that is not UTF-8): it stops at the first."""
    root = os.path.realpath(folder)
    pending = [os.fspath(folder)]
    while pending:
        try:
            with os.scandir(pending.pop()) as listing:
                for entry in listing:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        try:
                            name.encode("utf-8")
                        except UnicodeEncodeError:
                            return True
                        pending.append(entry.path)
                    elif name.lower().endswith(SUFFIXES) and (
                        not entry.is_symlink() or _inside(os.path.realpath(entry.path), root)
                    ):
                        return True
        except OSError:
            return True
    return False


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
