"""Where ``feeds publish`` puts a build: a folder (here) or ``s3://bucket/prefix`` (feeds/s3.py).

Both keep the publish manifest (``.feeds-published.json``) beside what they publish, and both
are read back by ``feeds fetch``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from feeds.build import display
from feeds.errors import FeedsError
from feeds.publishing import PUBLISHED, Destination, DestinationError, Held, Item, parse_manifest
from feeds.writing import atomic_write, safe_path, write_output


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
    from feeds.s3 import S3Destination

    return S3Destination(bucket, prefix, endpoint_url=endpoint_url, region=region)


class FolderDestination:
    """A folder that mirrors the output (rsync-like), e.g. the root of a static web server.

    A folder stores no headers: the web server in front of it sets them."""

    headers = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.label = display(folder) + "/"

    def read(self, path: str) -> bytes | None:
        try:
            return safe_path(self.folder, path).read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, FeedsError) as e:
            raise DestinationError(f"cannot read {self.folder / path}: {_reason(e)}") from None

    def inventory(self, items: Sequence[Item]) -> dict[str, Held]:
        held = {}
        for item in items:
            try:
                data = self.read(item.path)
            except DestinationError:
                continue  # unreadable: uploaded again, and its own error reported if it fails
            if data is not None:
                held[item.path] = Held(sha256=hashlib.sha256(data).hexdigest())
        return held

    def put(self, path: str, data: bytes, content_type: str, cache_control: str) -> None:
        try:
            atomic_write(safe_path(self.folder, path), data)
        except (OSError, FeedsError) as e:
            raise DestinationError(f"cannot write {self.folder / path}: {_reason(e)}") from None

    def remove(self, path: str) -> None:
        try:
            target = safe_path(self.folder, path)
            target.unlink(missing_ok=True)
            parent = target.parent
            while parent != self.folder and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        except (OSError, FeedsError) as e:
            raise DestinationError(f"cannot remove {self.folder / path}: {_reason(e)}") from None


def _reason(error: Exception) -> str:
    return (error.strerror if isinstance(error, OSError) else None) or str(error)


def fetch(source: Destination, folder: Path) -> list[str]:
    """Copy what the last publish put in ``source`` (its publish manifest) into ``folder``, as
    an output folder with its own manifest, so ``feeds diff`` can compare with it. Files of an
    earlier fetch that are no longer published are removed. Nothing published: an empty list."""
    data = source.read(PUBLISHED)
    record = parse_manifest(data)
    if record is None and data is not None:
        raise DestinationError(f"{source.label}{PUBLISHED}: not a publish manifest")
    paths = sorted(record or {})

    def documents() -> Iterator[tuple[str, bytes]]:
        for path in paths:
            body = source.read(path)
            if body is None:
                raise DestinationError(f"{source.label}{path}: listed in {PUBLISHED} but missing")
            yield path, body

    write_output(folder, documents())
    return paths
