"""Where ``feeds publish`` puts a build: a folder (here) or ``s3://bucket/prefix`` (``s3.py``).

Both keep the publish manifest (``.feeds-published.json``) beside what they publish, and both
are read back by ``feeds fetch``.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Collection, Iterator
from pathlib import Path, PurePosixPath

from feeds.build import display
from feeds.errors import DestinationError, FeedsError
from feeds.publish.plan import PUBLISHED, TEMP_PREFIX, Destination, Held, is_safe, read_manifest
from feeds.writing import atomic_write, prune, write_output

# What a temp file of feeds before 0.2 looks like: tempfile.mkstemp's names beside the target.
LEGACY_TEMP = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


def open_destination(
    dest: str, *, output: Path, endpoint_url: str | None = None, region: str | None = None
) -> Destination:
    """The destination ``dest`` names; ``output`` is the folder being published, which a
    folder destination must not be."""
    scheme, found, rest = dest.partition("://")
    if not found:
        if endpoint_url or region:
            raise FeedsError("--endpoint-url and --region are for s3:// destinations")
        folder = Path(dest)
        if folder.resolve() == output.resolve():
            raise FeedsError(f"{dest}: the destination is the output folder itself")
        return FolderDestination(folder)
    if scheme != "s3":
        raise FeedsError(f"{dest}: unknown destination; give a folder or s3://bucket/prefix")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise FeedsError(f"{dest}: no bucket; give s3://bucket or s3://bucket/prefix")
    from feeds.publish.s3 import S3Destination

    return S3Destination(bucket, prefix, endpoint_url=endpoint_url, region=region)


class FolderDestination:
    """A folder that mirrors the output (rsync-like), e.g. the root of a static web server.

    A folder stores no headers: the web server in front of it sets them. Files go in by a
    rename from a temp file named ``.feeds-tmp-*`` beside them, so a reader never sees half a
    file; temp files that a killed publish left are removed by the next one."""

    headers = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.label = display(folder) + "/"

    def _path(self, path: str) -> Path:
        """``folder / path``, refused when ``path`` or a symlinked folder on the way would lead
        out of the destination (the last part may be a symlink: it is replaced, not followed)."""
        if not is_safe(path) and path != PUBLISHED:
            raise FeedsError(f"unsafe path {path!r}")
        target = self.folder.joinpath(*PurePosixPath(path).parts)
        if not target.parent.resolve().is_relative_to(self.folder.resolve()):
            raise FeedsError("a symlinked folder leads out of the destination")
        return target

    def read(self, path: str) -> bytes | None:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, FeedsError) as e:
            raise DestinationError(f"cannot read {self.folder / path}: {_reason(e)}") from None

    def inventory(self, paths: Collection[str], digest: Collection[str]) -> dict[str, Held]:
        held = {}
        for path in paths:
            there = self._held(path)
            if there is not None:
                held[path] = there
        return held

    def _held(self, path: str) -> Held | None:
        """What is at ``path``: None when nothing (or a folder, which no rename can replace: its
        upload fails and says so)."""
        try:
            target = self._path(path)
            info = target.lstat()
        except (OSError, FeedsError):
            return None
        if stat.S_ISDIR(info.st_mode):
            return None
        if not stat.S_ISREG(info.st_mode):
            return Held(size=info.st_size, regular=False)
        try:
            data = target.read_bytes()
        except OSError:
            return Held(size=info.st_size)  # unreadable: equal to nothing
        return Held(sha256=hashlib.sha256(data).hexdigest(), size=len(data))

    def put(self, path: str, data: bytes, content_type: str, cache_control: str) -> None:
        try:
            atomic_write(self._path(path), data)
        except (OSError, FeedsError) as e:
            raise DestinationError(f"cannot write {self.folder / path}: {_reason(e)}") from None

    def remove(self, path: str) -> None:
        try:
            target = self._path(path)
            if not stat.S_ISREG(target.lstat().st_mode):
                raise FeedsError("not a regular file")
            target.unlink()
        except FileNotFoundError:
            return
        except (OSError, FeedsError) as e:
            raise DestinationError(f"cannot remove {self.folder / path}: {_reason(e)}") from None
        prune(self.folder, target.parent)

    def sweep(self, paths: Collection[str]) -> list[str]:
        """Remove feeds' temp files from the folders of ``paths`` (and those folders, when that
        leaves them empty: a killed publish may have made them)."""
        names: dict[PurePosixPath, set[str]] = {}
        for path in paths:
            where = PurePosixPath(path)
            names.setdefault(where.parent, set()).add(where.name)
        removed = []
        for parent, known in sorted(names.items(), key=lambda kv: -len(kv[0].parts)):
            folder = self.folder.joinpath(*parent.parts)
            if not folder.resolve().is_relative_to(self.folder.resolve()):
                continue  # a symlinked folder that leads out: not ours to clean
            for name in _temps(folder, known):
                try:
                    (folder / name).unlink()
                except OSError:
                    continue
                removed.append((parent / name).as_posix())
            prune(self.folder, folder)
        return removed


def _temps(folder: Path, known: set[str]) -> list[str]:
    """The temp files of feeds in ``folder``: ``.feeds-tmp-*``, and those feeds before 0.2 made
    beside the files it writes (``.<name>.<8 characters>.tmp``)."""
    try:
        entries = list(os.scandir(folder)) if not folder.is_symlink() else []
    except OSError:
        return []
    found = []
    for entry in entries:
        legacy = LEGACY_TEMP.fullmatch(entry.name)
        ours = entry.name.startswith(TEMP_PREFIX) or (legacy and legacy["name"] in known)
        if ours and entry.is_file(follow_symlinks=False):
            found.append(entry.name)
    return found


def _reason(error: Exception) -> str:
    return (error.strerror if isinstance(error, OSError) else None) or str(error)


def fetch(source: Destination, folder: Path) -> list[str]:
    """Copy what the last publish put in ``source`` (its publish manifest) into ``folder``, as
    an output folder with its own manifest, so ``feeds diff`` can compare with it. Files of an
    earlier fetch that are no longer published are removed. Nothing published: an empty list."""
    data = source.read(PUBLISHED)
    if data is None:
        paths: list[str] = []
    else:
        try:
            record = read_manifest(data)
        except ValueError as e:
            raise DestinationError(
                f"{source.label}{PUBLISHED}: not a publish manifest: {e}"
            ) from None
        if not record.complete:
            raise DestinationError(
                f"{source.label}{PUBLISHED}: the last publish did not finish; "
                "publish again, then fetch"
            )
        paths = sorted(record.objects)

    def documents() -> Iterator[tuple[str, bytes]]:
        for path in paths:
            body = source.read(path)
            if body is None:
                raise DestinationError(f"{source.label}{path}: listed in {PUBLISHED} but missing")
            yield path, body

    write_output(folder, documents())
    return paths
