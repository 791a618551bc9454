"""Record files: found, decoded, parsed as YAML (safely) and typed into :class:`Record`.

A record is one YAML mapping between ``---`` lines; text after the closing ``---`` is its body.
A file without the opening ``---`` is read as YAML alone. A problem with the file or a required
field (``title``, ``webUrl``, ``publishedDateTime``, ``published``) raises :class:`RecordError`
naming the file and the field, and concerns that record only. A broken optional part (an image
or related link without a usable URL, a value of the wrong type) is dropped with a warning
naming its field, and the record is kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeVar

import yaml

from feeds.dates import parse_date
from feeds.errors import DateError, Problem, RecordError, short_repr
from feeds.model import MAX_WARNINGS, Provider, RawImage, RawRelated, Record
from feeds.urls import clean_url
from feeds.yamlload import load_yaml

SUFFIXES = (".txt", ".yaml", ".yml", ".md")
MAX_BYTES = 4 * 1024 * 1024
_FALSE = {"false", "no", "off", "n", "0"}
_TRUE = {"true", "yes", "on", "y", "1"}


_NULLS = {"", "~", "null", "Null", "NULL"}


def _null(value: Any) -> Any:
    return None if isinstance(value, str) and value in _NULLS else value


@dataclass(frozen=True, slots=True)
class Scan:
    """The record files of a folder, and what stood in the way of finding them all."""

    files: list[tuple[str, int, int]]
    """(path relative to the folder, size, mtime in ns) of every record file, in path order."""
    errors: list[RecordError]
    """Files and folders that should hold records and cannot be read (paths relative)."""
    warnings: list[Problem]
    """What was left out on purpose: links that lead outside the folder."""


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
                continue
            rel = prefix + name
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((f"{rel}/", entry.path))
                    continue
                if not name.lower().endswith(SUFFIXES):
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
    return Scan(found, errors, warnings)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_record(path: Path, display: str, zone: tzinfo) -> Record | None:
    """The record in ``path``, or None for a draft (``published: false``)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RecordError(display, "(file)", f"{size} bytes; records are at most {MAX_BYTES}")
        data = path.read_bytes()
    except OSError as e:
        raise RecordError(display, "(file)", f"cannot be read: {e.strerror or e}") from None
    return parse_record(data, display, zone)


def parse_record(data: bytes, path: str, zone: tzinfo) -> Record | None:
    """Type a record from the bytes of its file; ``path`` is only used in messages."""
    front, body, offset = split_front_matter(_decode(data, path))
    fields = _load(front, path, offset)
    f = _Fields(fields, path, dropped=_Dropped())
    if not f.flag("published", default=True):
        return None
    title = f.text("title")
    if not title.strip():
        raise RecordError(path, "title", "missing or empty")
    url = f.url("webUrl")
    return Record(
        path=path,
        title=title,
        excerpt=f.optional_text("excerpt", "excerpt"),
        url=url,
        published=f.date("publishedDateTime", zone),
        category=f.optional_text("category", "category"),
        provider=f.provider("provider"),
        topics=f.texts("topics", "topic"),
        images=f.images("images"),
        related=f.related("related", zone),
        body=body,
        kind=f.optional_text("type", "type"),
        quality=f.optional_text("quality", "quality"),
        heat=f.optional_text("heat", "heat"),
        warnings=tuple(f.dropped.shown),
        warning_count=f.dropped.count,
    )


def _decode(data: bytes, path: str) -> str:
    if not data.strip():
        raise RecordError(path, "(file)", "empty file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RecordError(
            path, "(file)", f"not UTF-8 text: byte 0x{data[e.start]:02x} at offset {e.start}"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str) -> tuple[str, str, int]:
    """(YAML, body, line offset of the YAML in the file)."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines) or lines[start].rstrip() != "---":
        return text, "", 0
    for end in range(start + 1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            body = "\n".join(lines[end + 1 :]).strip()
            return "\n".join(lines[start + 1 : end]), body, start + 1
    return "\n".join(lines[start + 1 :]), "", start + 1


def _load(front: str, path: str, offset: int) -> dict[Any, Any]:
    if not front.strip():
        raise RecordError(path, "(file)", "no YAML between the --- lines")
    try:
        fields = load_yaml(front)
    except yaml.MarkedYAMLError as e:
        where = f"line {e.problem_mark.line + 1 + offset}: " if e.problem_mark else ""
        raise RecordError(path, "(yaml)", f"not valid YAML: {where}{e.problem}") from None
    except (yaml.YAMLError, RecursionError) as e:
        raise RecordError(path, "(yaml)", f"not valid YAML: {e}") from None
    if not isinstance(fields, dict):
        raise RecordError(path, "(yaml)", f"expected a mapping of fields, got {_kind(fields)}")
    return fields


def _kind(value: object) -> str:
    names = {str: "text", list: "a list", dict: "a mapping", type(None): "nothing"}
    name = names.get(type(value), f"a {type(value).__name__}")
    return f"{name} {short_repr(value, 40)}" if name == "text" else name


_Item = TypeVar("_Item")
# What an item of ``images`` or ``related`` becomes when it is null or dropped while typing: it
# keeps its place, so warnings about the items after it name their right position.
_NO_IMAGE = RawImage(url="", width=None, height=None, title="")
_NO_LINK = RawRelated(title="", url="", provider=None, published=None)


class _Dropped:
    """The optional parts of one record dropped while typing: the first ones, and a count."""

    __slots__ = ("count", "shown")

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []
        self.count = 0

    @property
    def full(self) -> bool:
        return len(self.shown) >= MAX_WARNINGS

    def add(self, field: str, reason: str) -> None:
        self.count += 1
        if len(self.shown) < MAX_WARNINGS:
            self.shown.append((field, reason))


class _Fields:
    """Typed access to one mapping of a record, with errors and warnings that name the field."""

    def __init__(
        self, data: dict[Any, Any], path: str, prefix: str = "", dropped: _Dropped | None = None
    ) -> None:
        self.data = data
        self.path = path
        self.prefix = prefix
        self.dropped = dropped if dropped is not None else _Dropped()

    def error(self, field: str, reason: str) -> RecordError:
        return RecordError(self.path, self.prefix + field, reason)

    def drop(self, field: str, reason: str, part: str) -> None:
        """Warn that the optional ``part`` at ``field`` is dropped, and why."""
        self.dropped.add(self.prefix + field, f"{reason}; {part} dropped")

    def nested(self, field: str, value: dict[Any, Any]) -> _Fields:
        return _Fields(value, self.path, f"{self.prefix}{field}.", self.dropped)

    def get(self, field: str) -> Any:
        return _null(self.data.get(field))

    def text(self, field: str, *, required: bool = True) -> str:
        value = self.get(field)
        if value is None:
            if required:
                raise self.error(field, "missing")
            return ""
        return self.as_text(field, value)

    def as_text(self, field: str, value: Any) -> str:
        text = _as_text(value)
        if text is None:
            raise self.error(field, f"expected text, got {_kind(value)}")
        return text

    def optional_text(self, field: str, part: str) -> str:
        """The text at ``field``, or "" when it is missing or dropped for the wrong type."""
        value = self.get(field)
        if value is None:
            return ""
        text = _as_text(value)
        if text is None:
            self.drop(field, f"expected text, got {_kind(value)}", part)
            return ""
        return text

    def texts(self, field: str, part: str) -> tuple[str, ...]:
        texts = []
        for i, value in enumerate(self.items(field)):
            if value is None:
                continue
            text = _as_text(value)
            if text is None:
                self.drop(f"{field}[{i}]", f"expected text, got {_kind(value)}", part)
            else:
                texts.append(text)
        return tuple(texts)

    def items(self, field: str) -> list[Any]:
        """A list field; a lone value is accepted as a one-item list."""
        value = self.get(field)
        if value is None:
            return []
        return [_null(v) for v in value] if isinstance(value, list) else [value]

    def flag(self, field: str, *, default: bool) -> bool:
        value = self.get(field)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self.error(field, f"expected true or false, got {_kind(value)}")

    def count(self, field: str, part: str) -> int | None:
        """A whole number of 0 or more at ``field``; None when missing or dropped."""
        value = self.get(field)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        self.drop(field, f"expected a whole number of 0 or more, got {_kind(value)}", part)
        return None

    def url(self, field: str) -> str:
        raw = self.text(field)
        url = clean_url(raw)
        if url is None:
            raise self.error(field, f"not an absolute http(s) URL: {short_repr(raw)}")
        return url

    def date(self, field: str, zone: tzinfo) -> Any:
        value = self.get(field)
        if value is None:
            raise self.error(field, "missing")
        try:
            return parse_date(value, zone)
        except DateError as e:
            raise self.error(field, str(e)) from None

    def provider(self, field: str) -> Provider | None:
        value = self.get(field)
        if value is None:
            return None
        if isinstance(value, str):
            return Provider(name=value, domain="") if value.strip() else None
        if not isinstance(value, dict):
            self.drop(field, f"expected a mapping or text, got {_kind(value)}", "provider")
            return None
        p = self.nested(field, value)
        name, domain = p.optional_text("name", "name"), p.optional_text("domain", "domain")
        return Provider(name=name, domain=domain) if (name.strip() or domain.strip()) else None

    def images(self, field: str) -> tuple[RawImage, ...]:
        return self.each(field, _image, _NO_IMAGE)

    def related(self, field: str, zone: tzinfo) -> tuple[RawRelated, ...]:
        return self.each(field, lambda value, item: _link(value, item, zone), _NO_LINK)

    def each(
        self, field: str, typer: Callable[[Any, _Fields], _Item], empty: _Item
    ) -> tuple[_Item, ...]:
        """The typed items of a list field, one for each item (``empty`` for a null one).

        An item repeated through a YAML alias is one object: it is typed once, and its
        warnings are counted again for each position, so a record of a few megabytes that
        repeats one bad item hundreds of thousands of times costs a fraction of a second.
        """
        typed: list[_Item] = []
        known: dict[int, tuple[_Item, list[tuple[str, str]]]] = {}
        for i, value in enumerate(self.items(field)):
            if value is None:
                typed.append(empty)
                continue
            done = known.get(id(value))
            if done is None:
                alone = _Fields({}, self.path, dropped=_Dropped())
                done = known[id(value)] = (typer(value, alone), alone.dropped.shown)
            item, warnings = done
            typed.append(item)
            for sub, reason in warnings:
                if self.dropped.full:
                    self.dropped.count += 1
                else:
                    where = f"{field}[{i}].{sub}" if sub else f"{field}[{i}]"
                    self.dropped.add(self.prefix + where, reason)
        return tuple(typed)


def _image(value: Any, item: _Fields) -> RawImage:
    """An item of ``images``: a URL alone, or a mapping of ``url``, ``width``, ``height`` and
    ``title``. Warnings are named relative to the item ("" for the item itself)."""
    if isinstance(value, str):
        return RawImage(url=value, width=None, height=None, title="")
    if not isinstance(value, dict):
        item.drop("", f"expected a URL or a mapping, got {_kind(value)}", "image")
        return _NO_IMAGE
    img = _Fields(value, item.path, dropped=item.dropped)
    text = _address(img, "url", "image")
    if text is None:
        return _NO_IMAGE
    return RawImage(
        url=text,
        width=img.count("width", "width"),
        height=img.count("height", "height"),
        title=img.optional_text("title", "title"),
    )


def _address(part: _Fields, key: str, what: str) -> str | None:
    """The text of the URL that ``part`` cannot do without, or None (and a warning that drops
    ``what``)."""
    url = part.get(key)
    if url is None:
        part.drop(key, "missing", what)
        return None
    text = _as_text(url)
    if text is None:
        part.drop(key, f"expected text, got {_kind(url)}", what)
    return text


def _link(value: Any, item: _Fields, zone: tzinfo) -> RawRelated:
    """An item of ``related``: a mapping of ``webUrl``, ``title``, ``provider`` and
    ``publishedDateTime``. Warnings are named relative to the item ("" for the item itself)."""
    if not isinstance(value, dict):
        item.drop("", f"expected a mapping, got {_kind(value)}", "link")
        return _NO_LINK
    r = _Fields(value, item.path, dropped=item.dropped)
    text = _address(r, "webUrl", "link")
    if text is None:
        return _NO_LINK
    published = None
    if r.get("publishedDateTime") is not None:
        try:
            published = parse_date(r.get("publishedDateTime"), zone)
        except DateError as e:
            r.drop("publishedDateTime", str(e), "date")
    return RawRelated(
        title=r.optional_text("title", "title"),
        url=text,
        provider=r.provider("provider"),
        published=published,
    )


def _as_text(value: Any) -> str | None:
    """``value`` as text, or None when it is not a scalar (a list, a mapping)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
