"""``feeds publish``: which files of a build go to a destination, in which order, with which
headers, and which old objects go away.

Planning is pure: it compares the output folder's files with what the destination holds (its
publish manifest, else what it lists). :func:`execute` carries a plan out through a
:class:`Destination` (a folder, or S3 in ``feeds/s3.py``), stage by stage, so a document is
only uploaded once everything it links to is in place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from feeds.errors import FeedsError
from feeds.rendering.links import INDEX, STYLESHEET, cache_control, content_type, sealed_pages
from feeds.settings import Settings
from feeds.writing import listed_files, safe_path

PUBLISHED = ".feeds-published.json"
"""The destination's record of what the last publish put there: path -> sha256 and headers."""
MANIFEST_CONTENT_TYPE = "application/json"
MANIFEST_CACHE_CONTROL = "no-store"
UPLOAD_THREADS = 8


class DestinationError(FeedsError):
    """The destination cannot be read or written (the message names the object and why)."""


@dataclass(frozen=True, slots=True)
class Item:
    """One file of the output folder, as it is to be published."""

    path: str
    sha256: str
    md5: str
    """Hex MD5 of the bytes: the ETag S3 gives an object uploaded in one part."""
    content_type: str
    cache_control: str


@dataclass(frozen=True, slots=True)
class Held:
    """What the destination holds at a path, as far as it can tell."""

    sha256: str | None = None
    md5: str | None = None
    content_type: str | None = None
    cache_control: str | None = None

    def holds(self, item: Item, *, headers: bool) -> bool:
        """Whether ``item`` is already there, bytes (and, where stored, headers) alike."""
        if self.sha256 is not None:
            same = self.sha256 == item.sha256
        else:
            same = self.md5 is not None and self.md5 == item.md5
        if not same or not headers:
            return same
        return (self.content_type, self.cache_control) == (item.content_type, item.cache_control)


class Destination(Protocol):
    label: str
    """How messages name it: ``s3://bucket/prefix/`` or the folder."""
    headers: bool
    """Whether it stores a Content-Type and Cache-Control with each object."""

    def read(self, path: str) -> bytes | None:
        """The object's bytes, None when there is none."""

    def inventory(self, items: Sequence[Item]) -> dict[str, Held]:
        """What it holds at the paths of ``items``, without a publish manifest to say."""

    def put(self, path: str, data: bytes, content_type: str, cache_control: str) -> None: ...

    def remove(self, path: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Plan:
    stages: tuple[tuple[Item, ...], ...]
    """The uploads, stage by stage: archive pages, subscription documents, feed.xsl, OPMLs,
    the index."""
    unchanged: tuple[str, ...]
    deletions: tuple[str, ...]
    """Objects of the last publish that this output no longer has (with ``--delete``)."""
    left: tuple[str, ...]
    """The same, left in place (without ``--delete``)."""
    items: tuple[Item, ...]
    previous: Mapping[str, Held]

    @property
    def uploads(self) -> tuple[Item, ...]:
        return tuple(item for stage in self.stages for item in stage)


@dataclass(frozen=True, slots=True)
class Outcome:
    uploaded: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    """(path, reason) of every upload or deletion that failed."""
    skipped: tuple[str, ...]
    """Uploads not tried because an earlier stage failed (they would link to missing objects)."""
    deleted: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.failed and not self.skipped


def stage(path: str) -> int:
    """When a file goes up: what links to others comes after what it links to."""
    name = PurePosixPath(path).name
    if path.startswith("archive/"):
        return 0
    if name == STYLESHEET:
        return 2
    if name.endswith(".opml"):
        return 3
    if name == INDEX:
        return 4
    return 1


def describe(folder: Path, settings: Settings) -> list[Item]:
    """Every file the last build wrote to ``folder`` (its manifest), with its headers."""
    paths = listed_files(folder)
    sealed = sealed_pages(paths)
    items = []
    for path in paths:
        try:
            data = safe_path(folder, path).read_bytes()
        except OSError as e:
            raise FeedsError(
                f"cannot read {folder / path}: {e.strerror or e}; run feeds build again"
            ) from None
        items.append(
            Item(
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                content_type=content_type(path),
                cache_control=cache_control(settings.ttl_minutes * 60, immutable=path in sealed),
            )
        )
    return items


def plan(
    items: Sequence[Item],
    held: Mapping[str, Held],
    previous: Mapping[str, Held],
    *,
    delete: bool,
    headers: bool,
) -> Plan:
    """What to upload (what ``held`` lacks), and which objects of the ``previous`` publish
    this output no longer has: deleted with ``delete``, else left."""
    ordered = sorted(items, key=lambda item: (stage(item.path), item.path))
    unchanged = tuple(
        i.path for i in ordered if i.path in held and held[i.path].holds(i, headers=headers)
    )
    same = set(unchanged)
    stages: dict[int, list[Item]] = {}
    for item in ordered:
        if item.path not in same:
            stages.setdefault(stage(item.path), []).append(item)
    current = {item.path for item in items}
    gone = tuple(sorted(p for p in previous if p not in current))
    return Plan(
        stages=tuple(tuple(stages[k]) for k in sorted(stages)),
        unchanged=unchanged,
        deletions=gone if delete else (),
        left=() if delete else gone,
        items=tuple(ordered),
        previous=previous,
    )


def execute(the_plan: Plan, folder: Path, destination: Destination) -> Outcome:
    """Upload stage by stage, each only when every earlier one is in place; then record the
    publish manifest; then delete. A failed object never stops the others of its stage."""
    uploaded: list[str] = []
    failed: list[tuple[str, str]] = []
    skipped: list[str] = []
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        for items in the_plan.stages:
            if failed:
                skipped.extend(item.path for item in items)
                continue
            for item, problem in zip(
                items, pool.map(lambda i: _upload(i, folder, destination), items), strict=True
            ):
                if problem is None:
                    uploaded.append(item.path)
                else:
                    failed.append((item.path, problem))
    if failed:
        return Outcome(tuple(uploaded), tuple(failed), tuple(skipped), ())
    # Written last, so it never claims an object that is not there yet.
    record = {item.path: _held(item) for item in the_plan.items}
    record.update({path: the_plan.previous[path] for path in the_plan.left})
    gone = {path: the_plan.previous[path] for path in the_plan.deletions}
    problem = _record(destination, {**record, **gone})
    if problem:
        return Outcome(tuple(uploaded), ((PUBLISHED, problem),), (), ())
    deleted: list[str] = []
    for path in the_plan.deletions:
        try:
            destination.remove(path)
        except DestinationError as e:
            failed.append((path, str(e)))
        else:
            deleted.append(path)
            del gone[path]
    if deleted:
        problem = _record(destination, {**record, **gone})
        if problem:
            failed.append((PUBLISHED, problem))
    return Outcome(tuple(uploaded), tuple(failed), (), tuple(deleted))


def _upload(item: Item, folder: Path, destination: Destination) -> str | None:
    """Why ``item`` could not be uploaded, or None once it is."""
    try:
        data = safe_path(folder, item.path).read_bytes()
    except OSError as e:
        return f"cannot read {folder / item.path}: {e.strerror or e}"
    if hashlib.sha256(data).hexdigest() != item.sha256:
        return "changed in the output folder while publishing; publish again"
    try:
        destination.put(item.path, data, item.content_type, item.cache_control)
    except DestinationError as e:
        return str(e)
    return None


def _record(destination: Destination, record: Mapping[str, Held]) -> str | None:
    try:
        destination.put(
            PUBLISHED, manifest_bytes(record), MANIFEST_CONTENT_TYPE, MANIFEST_CACHE_CONTROL
        )
    except DestinationError as e:
        return str(e)
    return None


def _held(item: Item) -> Held:
    return Held(item.sha256, None, item.content_type, item.cache_control)


def manifest_bytes(record: Mapping[str, Held]) -> bytes:
    objects = {
        path: {
            "sha256": held.sha256,
            "content_type": held.content_type,
            "cache_control": held.cache_control,
        }
        for path, held in sorted(record.items())
    }
    return (json.dumps({"version": 1, "objects": objects}, indent=1) + "\n").encode("utf-8")


def parse_manifest(data: bytes | None) -> dict[str, Held] | None:
    """The publish manifest's record; None when there is none or it cannot be read (then the
    destination is listed instead, so a damaged record never loses an object's state)."""
    if data is None:
        return None
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    objects = document.get("objects") if isinstance(document, dict) else None
    if not isinstance(objects, dict):
        return None
    record = {}
    for path, fields in objects.items():
        if not (isinstance(path, str) and isinstance(fields, dict) and _safe(path)):
            return None
        values = [fields.get(key) for key in ("sha256", "content_type", "cache_control")]
        if not all(isinstance(value, str) for value in values):
            return None
        record[path] = Held(values[0], None, values[1], values[2])
    return record


def _safe(path: str) -> bool:
    """A relative path with no empty, ``.`` or ``..`` part: never outside the destination."""
    return (
        bool(path)
        and not path.startswith("/")
        and "\\" not in path
        and all(part not in ("", ".", "..") for part in path.split("/"))
    )
