"""Writing the output folder: crash-safe, only what changed, stale files removed, never outside it.

What feeds owns in the output folder is what its manifest (``.feeds-manifest``) lists, plus,
while a build runs, what its journal (``.feeds-journal``) lists. The journal is written before
the first file: it names the previous files and every file this build may write, so a build
killed at any instant leaves nothing that the next build (or ``feeds clean``) does not know to
remove. New bytes are staged in temporary files beside their targets and renamed into place
only once every document is staged, so a build that fails (a full disk, an I/O error) leaves the
previous output as it was. Files other than those are the user's and are never touched.

One build writes a folder at a time: an ``flock`` on the folder itself is held from before the
first write to after the last (no lock file); the kernel drops it when the process dies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from feeds.errors import WriteError
from feeds.layout import order
from feeds.progress import Progress

MANIFEST = ".feeds-manifest"
JOURNAL = ".feeds-journal"
TEMP_MARK = ".feeds-tmp"
"""Every temporary file feeds makes holds this in its name (``.<name>.feeds-tmp`` for a build's
staged documents, ``.feeds-tmp-<pid>-<n>-<name>`` for an atomic write), so it can be found again."""


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

    ``expected`` names files that belong to the output but were not rendered again because
    they did not change: they are kept, and counted as unchanged.
    """
    planned = list(files) if isinstance(files, Mapping) else []
    items = files.items() if isinstance(files, Mapping) else files
    with OutputWriter(folder, [*planned, *expected]) as writer:
        for path, data in items:
            writer.write(path, data)
        return writer.finish(expected)


class OutputWriter:
    """Writes one build's files into ``folder`` (see the module's docstring for the steps).

    ``planned`` names every file the build may write; others are added to the journal as they
    come. Use it as a context manager: leaving it without :meth:`finish` removes what was staged
    and leaves the previous output in place.
    """

    def __init__(self, folder: Path, planned: Iterable[str] = ()) -> None:
        self.folder = folder
        self.written: list[str] = []
        self.unchanged: list[str] = []
        self._staged: list[str] = []
        self._renaming = False
        self._finished = False
        self._lock = OutputLock(folder)
        self._confined = Confined(folder)
        try:
            self.previous = _read_list(folder / MANIFEST)
            interrupted = folder / JOURNAL
            self.owned = self.previous | _read_list(interrupted)
            if interrupted.exists():  # a build stopped half-way: its temporary files go
                for directory in {PurePosixPath(p).parent for p in self.owned}:
                    remove_temps(folder / directory)
                    prune(folder, folder / directory)
            remove_temps(folder)
            self.owned |= {_checked(p) for p in planned}
            atomic_write(interrupted, _listing(self.owned))
            self._journal = interrupted.open("a", encoding="utf-8")
        except OSError as e:
            self._lock.release()
            raise failure(e, folder) from e

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._finished:
            self.close()

    def write(self, path: str, data: bytes) -> None:
        """Stage ``data`` for ``path`` unless the file already holds exactly these bytes."""
        target = self._confined.path(path)
        try:
            if path not in self.owned:
                self.owned.add(path)
                self._journal.write(path + "\n")
                self._journal.flush()  # on disk (the page cache) before the file is
            if stage(target, data):
                self._staged.append(path)
                self.written.append(path)
            else:
                self.unchanged.append(path)
        except OSError as e:
            raise failure(e, self.folder) from e

    def merge(self, written: Iterable[str], unchanged: Iterable[str]) -> None:
        """Count files another process staged in the same folder (paths already planned)."""
        for path in written:
            self._staged.append(path)
            self.written.append(path)
        self.unchanged.extend(unchanged)

    def finish(
        self, expected: Iterable[str] = (), *, progress: Progress | None = None
    ) -> WriteReport:
        """Put every staged file in place, remove the stale ones, then record the manifest.

        Ctrl-C waits until the manifest is written (moments), so that it never leaves the
        folder half the previous output and half the new one; then it stops the program."""
        seen = {*self.written, *self.unchanged}
        for path in expected:
            if path not in seen:
                _checked(path)
                seen.add(path)
                self.unchanged.append(path)
        if progress is not None:
            progress.phase("putting files in place", len(self._staged))
        try:
            with _uninterrupted(NEW_OUTPUT):
                self._renaming = True
                self._staged.sort(key=order, reverse=True)
                placed = 0
                while self._staged:  # what is left staged is dropped if this stops half-way
                    target = self.folder.joinpath(*PurePosixPath(self._staged[-1]).parts)
                    os.replace(temp_of(target), target)
                    self._staged.pop()
                    placed += 1
                    if progress is not None and placed % 256 == 0:
                        progress.advance(256)
                if progress is not None:
                    progress.advance(placed % 256)
                removed = [p for p in sorted(self.owned - seen) if remove(self.folder, p)]
                manifest = _listing(seen)
                if not same(self.folder / MANIFEST, manifest):
                    atomic_write(self.folder / MANIFEST, manifest)
                self._journal.close()
                (self.folder / JOURNAL).unlink()
                self._finished = True
        except OSError as e:
            raise failure(e, self.folder) from e
        finally:
            if self._finished:
                self._lock.release()
            else:
                self.close()
        written = sorted(self.written, key=order)
        return WriteReport(tuple(written), tuple(self.unchanged), tuple(removed))

    def close(self) -> None:
        """Drop what is staged and not yet in place (here or by other processes), and let the
        folder go. Before the first rename nothing of the output changed, so the journal goes
        too; after it, the journal stays for the next build to finish the job."""
        if self._staged or not self._renaming:
            for directory in sorted({PurePosixPath(p).parent for p in self.owned}, reverse=True):
                remove_temps(self.folder / directory)
                prune(self.folder, self.folder / directory)
        self._staged.clear()
        with contextlib.suppress(OSError):
            self._journal.close()
            if not self._renaming:
                (self.folder / JOURNAL).unlink()
        self._lock.release()


NEW_OUTPUT = "the new output was written"
"""What a Ctrl-C that came while the new output was put in place says it left."""


@contextlib.contextmanager
def _uninterrupted(note: str) -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back for the block, then raise it as ``KeyboardInterrupt(note)``.
    Only where Python's own handler would raise it (the main thread, nobody else's handler)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt(note)


def stage(target: Path, data: bytes) -> bool:
    """Write ``data`` beside ``target`` (see :func:`temp_of`), unless ``target`` holds it
    already; True when something was staged. The caller holds the folder's lock."""
    if same(target, data):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_of(target)
    try:
        with open(temp, "wb") as f:
            f.write(data)
        os.chmod(temp, 0o644)
    except BaseException as e:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(e, OSError):  # named by the file it was for, not its temporary name
            raise OSError(e.errno, e.strerror, str(target)) from None
        raise
    return True


def temp_of(target: Path) -> Path:
    """The staged copy of ``target``: one name per target, so a rerun overwrites it."""
    return target.with_name(f".{target.name}{TEMP_MARK}")


def remove_temps(directory: Path) -> None:
    """Remove the temporary files feeds left in ``directory`` (not below it)."""
    try:
        with os.scandir(directory) as entries:
            names = [e.name for e in entries if e.name.startswith(".") and TEMP_MARK in e.name]
    except OSError:
        return
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, name))


class OutputLock:
    """An exclusive lock on an output folder, for as long as this process holds it.

    Re-entrant within a process (a build holds it and its writer takes it again). A second
    feeds process is refused at once with a message rather than made to wait: a cron job that
    overlaps the previous one should say so, not queue up.
    """

    _held: dict[str, tuple[int, int]] = {}  # noqa: RUF012 (shared by every instance)

    def __init__(self, folder: Path) -> None:
        self.key = os.path.abspath(folder)
        self.active = True
        fd, count = self._held.get(self.key, (-1, 0))
        if count:
            self._held[self.key] = (fd, count + 1)
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise failure(e, folder) from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise WriteError(
                    f"{folder} is being written by another feeds process; "
                    "run this again once it has finished"
                ) from None
            raise failure(e, folder) from e
        self._held[self.key] = (fd, 1)

    def release(self) -> None:
        if not self.active:
            return
        self.active = False
        fd, count = self._held.pop(self.key, (-1, 0))
        if count > 1:
            self._held[self.key] = (fd, count - 1)
        elif fd >= 0:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the block."""
    lock = OutputLock(folder)
    try:
        yield
    finally:
        lock.release()


def interrupted(folder: Path) -> bool:
    """Whether the last build into ``folder`` stopped before it finished."""
    return os.path.exists(os.path.join(folder, JOURNAL))


def failure(error: OSError, folder: Path) -> WriteError:
    return WriteError(f"cannot write {error.filename or folder}: {error.strerror or error}")


def safe_path(folder: Path, path: str, *, follow: bool = True) -> Path:
    """``folder / path``, refusing anything that could land outside ``folder``.

    ``follow`` also refuses a path that a symlink inside the folder leads out of (it costs a
    ``realpath``; files that are only counted, not written, skip it)."""
    _checked(path)
    target = folder.joinpath(*PurePosixPath(path).parts)
    if follow and not target.resolve().is_relative_to(folder.resolve()):  # a symlink out
        raise WriteError(f"refusing to write outside the output folder: {path!r}")
    return target


class Confined:
    """Paths inside one folder for many writes: as :func:`safe_path`, with each directory's
    ``realpath`` found once (a build writes thousands of files into a few directories; a
    ``realpath`` a file cost 10 ``lstat`` calls each) and one ``lstat`` a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = folder.resolve()
        self.directories: dict[Path, bool] = {}

    def path(self, path: str) -> Path:
        _checked(path)
        target = self.folder.joinpath(*PurePosixPath(path).parts)
        inside = self.directories.get(target.parent)
        if inside is None:
            inside = target.parent.resolve().is_relative_to(self.root)
            self.directories[target.parent] = inside
        if not inside or (target.is_symlink() and not target.resolve().is_relative_to(self.root)):
            raise WriteError(f"refusing to write outside the output folder: {path!r}")
        return target


def is_safe(path: str) -> bool:
    """Whether ``path`` is a relative, ``/``-separated path that cannot lead outside the folder
    it is joined to: no empty, ``.`` or ``..`` part, no backslash, no NUL. The one check of every
    path that comes from a file anyone could edit (a manifest, a journal)."""
    return (
        bool(path)
        and not path.startswith("/")
        and "\\" not in path
        and "\x00" not in path
        and all(part not in ("", ".", "..") for part in path.split("/"))
    )


def _checked(path: str) -> str:
    if not is_safe(path):
        raise WriteError(f"refusing to write outside the output folder: {path!r}")
    return path


def atomic_write(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` in one rename; a unique temporary name, so writers
    that hold no lock do not collide."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f"{TEMP_MARK}-{os.getpid()}-{next(_serial)}-{target.name}")
    try:
        with open(temp, "wb") as f:
            f.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


_serial = itertools.count()


def same(target: Path, data: bytes) -> bool:
    """Whether ``target`` holds exactly ``data``."""
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def listed_files(folder: Path) -> list[str]:
    """Every file the last build wrote to ``folder``, as its manifest lists them."""
    return sorted(_read_list(folder / MANIFEST))


def _listing(paths: Iterable[str]) -> bytes:
    return "".join(f"{p}\n" for p in sorted(paths)).encode()


def _read_list(file: Path) -> set[str]:
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    return {line for line in lines if line}


def remove(folder: Path, path: str) -> bool:
    """Remove the file ``path`` feeds wrote, and the folders it leaves empty."""
    try:
        target = safe_path(folder, path)
    except WriteError:
        return False  # a tampered manifest never makes us delete outside the folder
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        return False
    prune(folder, target.parent)
    return True


def prune(folder: Path, directory: Path) -> None:
    """Remove ``directory`` and its parents up to ``folder`` (not included) while empty."""
    while directory != folder and directory.is_relative_to(folder):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def clean_output(folder: Path) -> list[str]:
    """Remove every file feeds wrote (manifest and journal), its temporary files, then the
    manifest and the journal."""
    if not folder.is_dir():
        return []
    with locked(folder):
        owned = _read_list(folder / MANIFEST) | _read_list(folder / JOURNAL)
        removed = [p for p in sorted(owned) if remove(folder, p)]
        for directory in {PurePosixPath(p).parent for p in owned}:
            remove_temps(folder / directory)
            prune(folder, folder / directory)
        remove_temps(folder)
        for name in (MANIFEST, JOURNAL):
            (folder / name).unlink(missing_ok=True)
    return removed
