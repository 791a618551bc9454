"""Writing the output folder: atomic, only what changed, stale files removed, never outside it.

A manifest (``.feeds-manifest``) lists the files the last build wrote; only those are ever
removed, so other files a user keeps in the output folder are left alone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from feeds.errors import WriteError

MANIFEST = ".feeds-manifest"
LAST = ("index.html", "feeds.opml")


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def write_output(
    folder: Path,
    files: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
    expected: Iterable[str] = (),
) -> WriteReport:
    """Make ``folder`` hold ``files``: write changed ones, keep identical ones, drop stale ones.

    ``files`` may stream (path, bytes) pairs, written as they come; a mapping is written feeds
    first. Either way the index and OPML that link to the feeds come after them, and stale files
    are removed last, so a reader following a link never finds it missing. ``expected`` names
    files that belong to the output but were not rendered again because they did not change:
    they are kept, and counted as unchanged.
    """
    if isinstance(files, Mapping):
        files = sorted(files.items(), key=lambda item: (item[0] in LAST, item[0]))
    writer = OutputWriter(folder)
    for path, data in files:
        writer.write(path, data)
    return writer.finish(expected)


class OutputWriter:
    """Writes one build's files into ``folder``; several processes may write parts of it, and
    one ``finish`` records the manifest and removes what is stale."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[str] = []
        self.unchanged: list[str] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.previous = _read_manifest(folder)
        except OSError as e:
            raise _failure(e, folder) from e

    def write(self, path: str, data: bytes) -> None:
        target = safe_path(self.folder, path)
        try:
            if _same(target, data):
                self.unchanged.append(path)
            else:
                atomic_write(target, data)
                self.written.append(path)
        except OSError as e:
            raise _failure(e, self.folder) from e

    def merge(self, written: Iterable[str], unchanged: Iterable[str]) -> None:
        """Count files another process wrote into the same folder."""
        self.written.extend(written)
        self.unchanged.extend(unchanged)

    def finish(self, expected: Iterable[str] = ()) -> WriteReport:
        seen = {*self.written, *self.unchanged}
        for path in expected:
            if path not in seen:
                _check(path)
                seen.add(path)
                self.unchanged.append(path)
        try:
            manifest = "".join(f"{p}\n" for p in sorted(seen)).encode()
            if not _same(self.folder / MANIFEST, manifest):
                atomic_write(self.folder / MANIFEST, manifest)
            removed = [p for p in sorted(self.previous - seen) if _remove(self.folder, p)]
        except OSError as e:
            raise _failure(e, self.folder) from e
        return WriteReport(tuple(self.written), tuple(self.unchanged), tuple(removed))


def _failure(error: OSError, folder: Path) -> WriteError:
    return WriteError(f"cannot write {error.filename or folder}: {error.strerror or error}")


def safe_path(folder: Path, path: str, *, follow: bool = True) -> Path:
    """``folder / path``, refusing anything that could land outside ``folder``.

    ``follow`` also refuses a path that a symlink inside the folder leads out of (it costs a
    ``realpath``; files that are only counted, not written, skip it)."""
    _check(path)
    target = folder.joinpath(*PurePosixPath(path).parts)
    if follow and not target.resolve().is_relative_to(folder.resolve()):  # a symlink out
        raise WriteError(f"refusing to write outside the output folder: {path!r}")
    return target


def _check(path: str) -> None:
    """Refuse a relative path that could lead outside the folder it is joined to."""
    if (
        not path
        or "\\" in path
        or "\x00" in path
        or path.startswith("/")
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise WriteError(f"refusing to write outside the output folder: {path!r}")


def atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; static servers must read the files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _same(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def listed_files(folder: Path) -> list[str]:
    """Every file the last build wrote to ``folder``, as its manifest lists them."""
    return sorted(_read_manifest(folder))


def _read_manifest(folder: Path) -> set[str]:
    try:
        lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    return {line for line in lines if line}


def _remove(folder: Path, path: str) -> bool:
    try:
        target = safe_path(folder, path)
    except WriteError:
        return False  # a tampered manifest never makes us delete outside the folder
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    parent = target.parent
    while parent != folder and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
    return True


def clean_output(folder: Path) -> list[str]:
    """Remove every file the manifest lists (what feeds wrote), then the manifest."""
    removed = [p for p in sorted(_read_manifest(folder)) if _remove(folder, p)]
    (folder / MANIFEST).unlink(missing_ok=True)
    return removed
