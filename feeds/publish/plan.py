"""``feeds publish``: which files of a build go to a destination, in which order, with which
headers, and which old objects go away.

The destination keeps a publish manifest (``.feeds-published.json``): the site that published
there and, for each object it wrote, the digest and headers. It is what makes a publish cheap
(an object whose record matches is not touched) and safe (only objects it lists are feeds' to
replace or delete). Before a publish changes anything it rewrites the manifest with an
``unfinished`` marker listing what it is about to write; the complete manifest replaces it at the
end. A publish that finds the marker (the previous one was killed) trusts no digest in it and
checks every object against what the destination really holds.

Planning is pure: :func:`plan` compares the output folder's files with the manifest and what the
destination holds. :func:`execute` carries a plan out through a :class:`Destination` (a folder,
or S3 in ``feeds/publish/s3.py``), stage by stage, so a document is only uploaded once everything it
links to is in place.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from feeds import writing
from feeds.errors import DestinationError, FeedsError, Refused
from feeds.layout import cache_control, content_type, order, sealed_pages, stage
from feeds.settings import Settings
from feeds.writing import listed_files, safe_path

PUBLISHED = ".feeds-published.json"
"""The destination's record of what feeds put there: site, path -> digests and headers."""
TEMP_PREFIX = writing.TEMP_MARK + "-"
"""How the temp files of a folder destination start: the next publish removes any it finds."""
MANIFEST_CONTENT_TYPE = "application/json"
MANIFEST_CACHE_CONTROL = "no-store"
MANIFEST_VERSION = 2
UPLOAD_THREADS = 8
SHA256 = re.compile(r"[0-9a-f]{64}")
MD5 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class Upload:
    """One file of the output folder, as it is to be published."""

    path: str
    sha256: str
    md5: str
    """Hex MD5 of the bytes: the ETag S3 gives an object uploaded in one part."""
    size: int
    content_type: str
    cache_control: str


@dataclass(frozen=True, slots=True)
class Held:
    """What the destination holds at a path, or what the manifest recorded there."""

    sha256: str | None = None
    md5: str | None = None
    content_type: str | None = None
    cache_control: str | None = None
    size: int | None = None
    regular: bool = True
    """False for what is not a plain file of the destination (a symlink): never feeds' to
    replace unasked, nor to delete."""

    def same_bytes(self, item: Upload) -> bool:
        if not self.regular or (self.size is not None and self.size != item.size):
            return False
        if self.sha256 is not None:
            return self.sha256 == item.sha256
        return self.md5 is not None and self.md5 == item.md5

    def holds(self, item: Upload, *, headers: bool) -> bool:
        """Whether ``item`` is already there, bytes (and, where stored, headers) alike."""
        if not self.same_bytes(item) or not headers:
            return self.same_bytes(item)
        return (self.content_type, self.cache_control) == (item.content_type, item.cache_control)

    def among(self, digests: Collection[str]) -> bool:
        """Whether the bytes held are ones that feeds recorded (by any of ``digests``)."""
        if not self.regular:
            return False
        if self.sha256 is not None:
            return self.sha256 in digests
        return self.md5 is not None and self.md5 in digests


@dataclass(frozen=True, slots=True)
class Record:
    """A publish manifest."""

    objects: Mapping[str, Held]
    """What the last complete publish recorded (for an unfinished one: before it started)."""
    site: str | None = None
    """The ``base_url`` of the site that published; None in manifests of feeds before 0.2."""
    unfinished: Mapping[str, frozenset[str]] | None = None
    """The marker of a publish that started and did not finish: each path it may have written,
    with the sha256 of every version it may have put there. None once a publish completed."""

    @property
    def complete(self) -> bool:
        return self.unfinished is None

    def owned(self) -> set[str]:
        """Every path that feeds wrote, or may have written, for this site."""
        return set(self.objects) | set(self.unfinished or {})

    def digests(self, path: str) -> set[str]:
        """Every digest of bytes that feeds may have put at ``path``."""
        held = self.objects.get(path)
        found = {d for d in (held.sha256, held.md5) if d} if held else set()
        return found | set((self.unfinished or {}).get(path, ()))


class Destination(Protocol):
    label: str
    """How messages name it: ``s3://bucket/prefix/`` or the folder."""
    headers: bool
    """Whether it stores a Content-Type and Cache-Control with each object."""

    def read(self, path: str) -> bytes | None:
        """The object's bytes, None when there is none."""

    def inventory(self, paths: Collection[str], digest: Collection[str]) -> dict[str, Held]:
        """What it holds at ``paths`` (nothing for a path it does not hold), with a sha256 for
        every path of ``digest`` that it holds."""

    def put(self, path: str, data: bytes, content_type: str, cache_control: str) -> None: ...

    def remove(self, path: str) -> None: ...

    def sweep(self, paths: Collection[str]) -> list[str]:
        """Remove the temp files that a killed publish left beside ``paths``; their paths."""


@dataclass(frozen=True, slots=True)
class Plan:
    stages: tuple[tuple[Upload, ...], ...]
    """The uploads, stage by stage: archive pages, subscription documents, the feeds' HTML
    pages, OPMLs, the index."""
    unchanged: tuple[str, ...]
    deletions: tuple[str, ...]
    """Objects of earlier publishes that this output no longer has (with ``--delete``)."""
    left: tuple[str, ...]
    """The same, left in place (without ``--delete``)."""
    marker: Record
    """The manifest written before the first upload or deletion."""
    record: Record
    """The manifest written once everything is in place (deletions still listed)."""
    adopted: tuple[str, ...] = ()
    """Files that feeds did not write and that already hold the built bytes: now feeds'."""
    replaced: tuple[str, ...] = ()
    """Files that feeds did not write, replaced because ``--overwrite`` says so."""
    refused: tuple[str, ...] = ()
    """Files that feeds did not write and would replace: without ``--overwrite``, nothing is
    published."""
    kept: tuple[tuple[str, str], ...] = ()
    """(path, why) of files of earlier publishes that feeds no longer counts as its own: changed
    since, or no longer a plain file. Never deleted."""

    @property
    def uploads(self) -> tuple[Upload, ...]:
        return tuple(item for stage in self.stages for item in stage)


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    uploaded: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    """(path, reason) of every upload or deletion that failed."""
    skipped: tuple[str, ...]
    """Uploads not tried because an earlier stage failed (they would link to missing objects)."""
    deleted: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.failed and not self.skipped


def describe(folder: Path, settings: Settings) -> list[Upload]:
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
            Upload(
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                size=len(data),
                content_type=content_type(path),
                cache_control=cache_control(settings.ttl_minutes * 60, immutable=path in sealed),
            )
        )
    return items


def claim(record: Record | None, site: str, label: str, *, overwrite: bool) -> Record | None:
    """The manifest this publish builds on: ``record`` when it is this site's, None when the
    destination is another site's and ``overwrite`` hands it over (none of its files are then
    this site's, so ``--delete`` never removes them)."""
    if record is None or record.site in (None, site):
        return record
    if overwrite:
        return None
    raise Refused(
        f"{label}{PUBLISHED}: {label} holds the publish of another site, {record.site} (this "
        f"one is {site}); nothing was published; --overwrite publishes over it"
    )


def to_check(
    items: Sequence[Upload], record: Record | None, *, delete: bool
) -> tuple[set[str], set[str]]:
    """The paths whose state the destination must tell before planning, and those of them that
    need a sha256 (to compare with a recorded one). A complete manifest is trusted for what it
    lists; new paths are checked for files that feeds did not write."""
    paths = {item.path for item in items}
    if record is None:
        return paths, set()
    gone = record.owned() - paths
    if record.complete:
        deleting = gone if delete else set()
        return (paths - set(record.objects)) | deleting, deleting
    return paths | record.owned(), gone


def plan(
    items: Sequence[Upload],
    record: Record | None,
    held: Mapping[str, Held],
    *,
    site: str,
    delete: bool,
    overwrite: bool = False,
    headers: bool,
) -> Plan:
    """What to upload, adopt, refuse, delete and leave. ``record`` is the destination's publish
    manifest as :func:`claim` gave it, ``held`` what the destination holds at the paths
    :func:`to_check` named."""
    ordered = sorted(items, key=lambda item: order(item.path))
    owned = record.owned() if record is not None else set()
    trusted = record.objects if record is not None and record.complete else {}
    fates: dict[str, list[Upload]] = {}
    for item in ordered:
        there = trusted.get(item.path) or held.get(item.path)
        for fate in _fate(
            item, there, owned=item.path in owned, overwrite=overwrite, headers=headers
        ):
            fates.setdefault(fate, []).append(item)

    def paths(fate: str) -> tuple[str, ...]:
        return tuple(item.path for item in fates.get(fate, []))

    uploads, refused = fates.get("upload", []), set(paths("refuse"))
    built = {item.path: _held(item) for item in ordered if item.path not in refused}
    old, deletions, left, kept = _gone(record, held, owned - {i.path for i in items}, delete)
    stages: dict[int, list[Upload]] = {}
    for item in uploads:
        stages.setdefault(stage(item.path), []).append(item)
    writes = {item.path: item.sha256 for item in uploads + fates.get("adopt", [])}
    return Plan(
        stages=tuple(tuple(stages[k]) for k in sorted(stages)),
        unchanged=paths("unchanged"),
        deletions=deletions,
        left=left,
        marker=_marker(record, site, writes),
        record=Record({**built, **old}, site),
        adopted=paths("adopt"),
        replaced=paths("replace"),
        refused=paths("refuse"),
        kept=kept,
    )


def _fate(
    item: Upload, there: Held | None, *, owned: bool, overwrite: bool, headers: bool
) -> tuple[str, ...]:
    """What becomes of ``item``, given what is ``there`` and whether feeds wrote it: uploaded,
    unchanged, adopted (the same bytes that feeds did not write: now its own), replaced (with
    ``overwrite``) or refused."""
    if there is None:
        return ("upload",)
    same = "unchanged" if there.holds(item, headers=headers) else "upload"
    if owned:
        return (same,)
    if there.same_bytes(item):
        return ("adopt", same)  # only headers, if anything, to set right
    return ("replace", "upload") if overwrite else ("refuse",)


def _gone(
    record: Record | None, held: Mapping[str, Held], gone: set[str], delete: bool
) -> tuple[dict[str, Held], tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """What becomes of the files of earlier publishes that this build does not have: their
    record, those deleted, those left, and those no longer feeds' (with why)."""
    if record is None:
        return {}, (), (), ()
    kept_record: dict[str, Held] = {}
    chosen: list[str] = []
    kept: list[tuple[str, str]] = []
    for path in sorted(gone):
        if record.complete and not delete:
            kept_record[path] = record.objects[path]
            chosen.append(path)
            continue
        there = held.get(path)
        if there is None:
            continue  # already gone: forgotten
        if not there.regular:
            kept.append((path, "not a regular file"))
        elif not there.among(record.digests(path)):
            kept.append((path, "changed since feeds published it"))
        else:
            kept_record[path] = there
            chosen.append(path)
    done = tuple(chosen)
    return kept_record, done if delete else (), () if delete else done, tuple(kept)


def _marker(record: Record | None, site: str, writes: Mapping[str, str]) -> Record:
    """The manifest that says, before anything is written, what may be written: on top of an
    earlier marker, so that a chain of killed publishes still knows every version it wrote."""
    objects = record.objects if record is not None else {}
    unfinished = {p: set(d) for p, d in ((record.unfinished or {}) if record else {}).items()}
    for path, digest in writes.items():
        unfinished.setdefault(path, set()).add(digest)
    return Record(objects, site, {p: frozenset(d) for p, d in unfinished.items()})


def execute(
    the_plan: Plan, folder: Path, destination: Destination, previous: bytes | None = None
) -> PublishOutcome:
    """Write the marker, upload stage by stage (each only when every earlier one is in place),
    delete, then write the complete manifest. A failed object never stops the others of its
    stage. ``previous``: the manifest's bytes before, not written again when they are equal."""
    if the_plan.uploads or the_plan.deletions:
        problem = _record(destination, the_plan.marker)
        if problem:
            return PublishOutcome((), ((PUBLISHED, problem),), (), ())
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
        return PublishOutcome(tuple(uploaded), tuple(failed), tuple(skipped), ())
    deleted: list[str] = []
    for path in the_plan.deletions:
        try:
            destination.remove(path)
        except DestinationError as e:
            failed.append((path, str(e)))
        else:
            deleted.append(path)
    objects = {p: h for p, h in the_plan.record.objects.items() if p not in set(deleted)}
    final = replace(the_plan.record, objects=objects)
    if manifest_bytes(final) != previous:
        problem = _record(destination, final)
        if problem:
            failed.append((PUBLISHED, problem))
    return PublishOutcome(tuple(uploaded), tuple(failed), (), tuple(deleted))


def _upload(item: Upload, folder: Path, destination: Destination) -> str | None:
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


def _record(destination: Destination, record: Record) -> str | None:
    try:
        destination.put(
            PUBLISHED, manifest_bytes(record), MANIFEST_CONTENT_TYPE, MANIFEST_CACHE_CONTROL
        )
    except DestinationError as e:
        return str(e)
    return None


def _held(item: Upload) -> Held:
    return Held(item.sha256, item.md5, item.content_type, item.cache_control, item.size)


def manifest_bytes(record: Record) -> bytes:
    document: dict[str, Any] = {"version": MANIFEST_VERSION, "site": record.site}
    document["objects"] = {path: _entry(held) for path, held in sorted(record.objects.items())}
    if record.unfinished is not None:
        document["unfinished"] = {p: sorted(d) for p, d in sorted(record.unfinished.items())}
    return (json.dumps(document, indent=1) + "\n").encode("utf-8")


def _entry(held: Held) -> dict[str, Any]:
    fields = {
        "sha256": held.sha256,
        "md5": held.md5,
        "size": held.size,
        "content_type": held.content_type,
        "cache_control": held.cache_control,
    }
    return {key: value for key, value in fields.items() if value is not None}


def read_manifest(data: bytes) -> Record:
    """The publish manifest in ``data``. ValueError (saying why) when it is not one that can be
    trusted with what feeds may replace or delete: not JSON, a field of the wrong kind, or a
    path that could lead out of the destination."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(document, dict) or document.get("version") not in (1, MANIFEST_VERSION):
        raise ValueError("not a publish manifest of a known version")
    site = document.get("site")
    objects = document.get("objects")
    if not (site is None or isinstance(site, str)) or not isinstance(objects, dict):
        raise ValueError("site or objects of the wrong kind")
    record = {_path(path): _held_entry(path, fields) for path, fields in objects.items()}
    unfinished = document.get("unfinished")
    if unfinished is None:
        return Record(record, site)
    if not isinstance(unfinished, dict):
        raise ValueError("unfinished: not an object")
    return Record(record, site, {_path(p): _digests(p, d) for p, d in unfinished.items()})


def parse_manifest(data: bytes | None) -> dict[str, Held] | None:
    """The objects of the publish manifest in ``data``; None when there is none or it cannot
    be trusted."""
    if data is None:
        return None
    try:
        return dict(read_manifest(data).objects)
    except ValueError:
        return None


def _path(path: object) -> str:
    if not (isinstance(path, str) and is_safe(path)):
        raise ValueError(f"unsafe path {path!r}")
    return path


def _held_entry(path: str, fields: object) -> Held:
    if not isinstance(fields, dict):
        raise ValueError(f"{path!r}: not an object")
    sha256, md5, size = fields.get("sha256"), fields.get("md5"), fields.get("size")
    content, cache = fields.get("content_type"), fields.get("cache_control")
    if not (isinstance(sha256, str) and SHA256.fullmatch(sha256)):
        raise ValueError(f"{path!r}: sha256: not a SHA-256")
    if not (md5 is None or (isinstance(md5, str) and MD5.fullmatch(md5))):
        raise ValueError(f"{path!r}: md5: not an MD5")
    if not (size is None or (type(size) is int and size >= 0)):
        raise ValueError(f"{path!r}: size: not a size")
    if not (isinstance(content, str) and isinstance(cache, str)):
        raise ValueError(f"{path!r}: headers of the wrong kind")
    return Held(sha256, md5, content, cache, size)


def _digests(path: str, digests: object) -> frozenset[str]:
    if not isinstance(digests, list) or not all(
        isinstance(d, str) and SHA256.fullmatch(d) for d in digests
    ):
        raise ValueError(f"unfinished: {path!r}: not a list of SHA-256")
    return frozenset(digests)


def is_safe(path: str) -> bool:
    """A relative path with no empty, ``.`` or ``..`` part, no backslash or NUL, and none of
    feeds' own names (the manifest, temp files): never outside the destination."""
    return (
        writing.is_safe(path)
        and path != PUBLISHED
        and not path.rpartition("/")[2].startswith(TEMP_PREFIX)
    )
