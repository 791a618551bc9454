"""A record file: decoded, parsed as YAML (safely) and typed into :class:`Record`.

A record is one YAML mapping between ``---`` lines; text after the closing ``---`` is its body.
A file without the opening ``---`` is read as YAML alone. A problem with the file or a required
field (``title``, ``webUrl``, ``publishedDateTime``, ``published``) raises :class:`RecordError`
naming the file and the field, and concerns that record only. A broken optional part (an image
or related link without a usable URL, a value of the wrong type) is dropped with a warning
naming its field, and the record is kept. Finding the files is ``scan.py``'s.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeVar

import yaml

from feeds.dates import parse_date
from feeds.errors import DateError, RecordError, short_repr
from feeds.model import MAX_WARNINGS, Provider, RawImage, RawRelated, Record
from feeds.urls import clean_url
from feeds.yamlload import load_yaml

MAX_BYTES = 4 * 1024 * 1024
_FALSE = {"false", "no", "off", "n", "0"}
_TRUE = {"true", "yes", "on", "y", "1"}


_NULLS = {"", "~", "null", "Null", "NULL"}


def _null(value: Any) -> Any:
    return None if isinstance(value, str) and value in _NULLS else value


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


class _Names:
    """The keys of one kind of mapping in a record, and what an unknown key there was meant as.

    ``known`` are the keys of the record format (the seed's), read or not; ``read`` the ones
    feeds reads, the only ones a did-you-mean names. Any other key is the archive's own and is
    ignored without a word, unless it looks meant for a field that is read: the same name in
    another case or with ``_`` or ``-`` (``webURL``), a misspelling (``tittle``), or a name
    other formats give the field (``tags``, ``summary``, ``date``).
    """

    __slots__ = ("_aliases", "_folded", "_memo", "_read", "known", "required")

    def __init__(
        self,
        known: Iterable[str],
        read: Iterable[str],
        required: Iterable[str] = (),
        aliases: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.known = frozenset(known)
        self.required = frozenset(required)
        self._folded = {_fold(k): k for k in self.known}
        self._read = {_fold(k): k for k in read}
        self._aliases = {_fold(a): f for f, names in (aliases or {}).items() for a in names}
        # Keys already looked at, in this process: an archive's own keys recur in every record.
        self._memo: dict[object, tuple[str, bool] | None] = {}

    def meant(self, key: object) -> tuple[str, bool] | None:
        """(the field ``key`` looks meant for, whether it is another name rather than a
        misspelling of it), or None. Only called for a key that is not ``known``."""
        try:
            return self._memo[key]
        except KeyError:
            pass
        except TypeError:  # unhashable: never a key of a record's mapping
            return None
        found: tuple[str, bool] | None = None
        if isinstance(key, str) and len(key) <= 40 and key.isprintable():
            folded = _fold(key)
            if folded in self._folded:
                field = self._folded[folded]
                found = (field, False) if folded in self._read else None
            elif folded in self._aliases:
                found = (self._aliases[folded], True)
            else:
                close = difflib.get_close_matches(folded, self._read, n=1, cutoff=0.8) or [
                    k for k in self._read if len(folded) >= 3 and _one_edit(folded, k)
                ]
                found = (self._read[close[0]], False) if close else None
        if len(self._memo) < 4096:
            self._memo[key] = found
        return found


def _one_edit(a: str, b: str) -> bool:
    """Whether one letter added, removed, changed, or two neighbours swapped, turns ``a`` into
    ``b``: the misspellings of short names (``ulr``, ``nmae``) that a ratio misses."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    return (
        a[1:] == b[1:]  # changed
        or a[1:] == b  # added
        or a == b[1:]  # removed
        or (len(a) == len(b) >= 2 and a[0] == b[1] and a[1] == b[0] and a[2:] == b[2:])  # swap
    )


_DATE_NAMES = (
    "date",
    "datetime",
    "pubDate",
    "publishDate",
    "publishedAt",
    "publishTime",
    "publicationDate",
    "datePublished",
    "created",
    "createdAt",
    "timestamp",
    "time",
)
_URL_NAMES = ("url", "link", "href", "permalink")
_RECORD_READ = (
    "title",
    "excerpt",
    "publishedDateTime",
    "webUrl",
    "category",
    "type",
    "quality",
    "heat",
    "published",
    "provider",
    "topics",
    "images",
    "related",
)
RECORD_FIELDS = _Names(
    # The seed's fields that are never published are known too: never warned about or named.
    known=(*_RECORD_READ, "ampWebUrl", "cdnAmpWebUrl", "secured"),
    read=_RECORD_READ,
    required=("title", "webUrl", "publishedDateTime"),
    aliases={
        "title": ("headline",),
        "excerpt": ("summary", "description", "abstract", "teaser"),
        "publishedDateTime": _DATE_NAMES,
        "webUrl": _URL_NAMES,
        "provider": ("author", "source", "publisher"),
        "topics": ("tags", "tag", "keywords", "categories", "subjects"),
        "images": ("image", "thumbnail", "picture", "pictures", "photo", "photos"),
    },
)
"""The fields of a record (the seed's), and of a related link, which the seed writes alike."""
RELATED_FIELDS = _Names(
    known=RECORD_FIELDS.known,
    read=("title", "webUrl", "publishedDateTime", "provider"),
    required=("webUrl",),
    aliases={"publishedDateTime": _DATE_NAMES, "webUrl": _URL_NAMES},
)
IMAGE_FIELDS = _Names(
    known=("url", "width", "height", "title", "isCached"),
    read=("url", "width", "height", "title"),
    required=("url",),
    aliases={"url": ("src", "href", "link"), "title": ("alt", "caption")},
)
PROVIDER_FIELDS = _Names(
    known=("name", "domain"),
    read=("name", "domain"),
    aliases={"domain": ("site", "website", "host", "url", "homepage")},
)


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
    f = _Fields(fields, path, dropped=_Dropped(), names=RECORD_FIELDS)
    if not f.flag("published", default=True):
        return None
    f.unknown()
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
        topics=f.topics("topics"),
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
        reason = f"not valid YAML: {where}{e.problem}{_yaml_hint(front, e)}"
        raise RecordError(path, "(yaml)", reason) from None
    except (yaml.YAMLError, RecursionError) as e:
        raise RecordError(path, "(yaml)", f"not valid YAML: {e}") from None
    if not isinstance(fields, dict):
        raise RecordError(path, "(yaml)", f"expected a mapping of fields, got {_kind(fields)}")
    return fields


def _yaml_hint(front: str, error: yaml.MarkedYAMLError) -> str:
    """How to fix the common mistakes behind a YAML error, from the line it points at: ``;
    hint: ...``, or "" when it is none of them. The line, not the wording, decides: libyaml
    and PyYAML's own scanner word the same error differently."""
    mark = error.problem_mark
    lines = front.split("\n")
    if mark is None or not 0 <= mark.line < len(lines):
        return ""
    line, column, problem = lines[mark.line], mark.column, error.problem or ""
    if line[column : column + 1] == "\t":  # libyaml and PyYAML both point at the tab
        return "; hint: YAML indents with spaces, never tabs: replace the tab with spaces"
    indent = len(line) - len(line.lstrip(" "))
    if "mapping values are not allowed" in problem:
        content = line[indent:]
        item = content.startswith("- ")
        if item:
            content = content[2:].lstrip(" ")
        start = len(line) - len(content)
        key, colon, value = content.partition(": ")
        value = value.strip()
        if colon and column > start + len(key) and value[:1] not in ("'", '"', ""):
            return f"; hint: quote the value: {key}: {_quoted(value)}"
        above = _line_above(lines, mark.line)
        if above is not None and _start(line, key=not item) > _start(above, key=not item):
            return (
                "; hint: this line is indented more than the one above, so it continues that "
                "line's value: line the fields up (or quote the value, if the ': ' is part of it)"
            )
        return ""
    if "did not find expected" in problem or "expected <block end>" in problem:
        above = _line_above(lines, mark.line)
        if above is None:
            return ""
        item = line[indent:].startswith("- ")
        here, there = _start(line, key=not item), _start(above, key=not item)
        if here != there:
            return (
                f"; hint: check the indentation: this line starts in column {here + 1}, the one "
                f"above in column {there + 1}; the fields of one mapping (the items of one "
                "list) start in the same column"
            )
    return ""


def _line_above(lines: list[str], index: int) -> str | None:
    """The nearest line above ``index`` that holds more than a comment."""
    for line in reversed(lines[:index]):
        if line.strip() and not line.lstrip().startswith("#"):
            return line
    return None


def _start(line: str, *, key: bool) -> int:
    """The column where ``line`` starts: where its key starts when ``key`` (after a ``- ``)."""
    content = line.lstrip(" ")
    if key and content.startswith("- "):
        content = content[2:].lstrip(" ")
    return len(line) - len(content)


def _quoted(value: str) -> str:
    shown = value if len(value) <= 60 else value[:60] + "..."
    if '"' not in shown and "\\" not in shown:
        return f'"{shown}"'
    return "'" + shown.replace("'", "''") + "'"


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
        self,
        data: dict[Any, Any],
        path: str,
        prefix: str = "",
        dropped: _Dropped | None = None,
        names: _Names | None = None,
    ) -> None:
        self.data = data
        self.path = path
        self.prefix = prefix
        self.dropped = dropped if dropped is not None else _Dropped()
        self.names = names

    def error(self, field: str, reason: str) -> RecordError:
        return RecordError(self.path, self.prefix + field, reason)

    def drop(self, field: str, reason: str, part: str) -> None:
        """Warn that the optional ``part`` at ``field`` is dropped, and why."""
        self.dropped.add(self.prefix + field, f"{reason}; {part} dropped")

    def nested(self, field: str, value: dict[Any, Any], names: _Names) -> _Fields:
        return _Fields(value, self.path, f"{self.prefix}{field}.", self.dropped, names)

    def unknown(self) -> None:
        """Warn of each key that looks meant for a field this mapping lacks (``tittle`` with
        no ``title``): its value is ignored. Any other unknown key is ignored without a word,
        and a mapping of known keys only (every record of the seed's format) costs one set
        test. A required field's near miss is named where it is found missing instead."""
        names = self.names
        if names is None or names.known.issuperset(self.data):
            return
        for key in self.data:
            if key in names.known:
                continue
            meant = names.meant(key)
            if meant is None or meant[0] in names.required or self.get(meant[0]) is not None:
                continue
            self.dropped.add(self.prefix + key, f"unknown field; did you mean {meant[0]!r}?")

    def missing(self, field: str) -> str:
        """ "missing", naming the key of this mapping that looks meant for ``field``, if any."""
        names = self.names
        if names is not None and not names.known.issuperset(self.data):
            for key in self.data:
                meant = None if key in names.known else names.meant(key)
                if meant is not None and meant[0] == field:
                    if meant[1]:
                        return f"missing (there is {key!r}; the field is called {field!r})"
                    return f"missing (there is {key!r}: a misspelling?)"
        return "missing"

    def get(self, field: str) -> Any:
        return _null(self.data.get(field))

    def text(self, field: str, *, required: bool = True) -> str:
        value = self.get(field)
        if value is None:
            if required:
                raise self.error(field, self.missing(field))
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

    def topics(self, field: str) -> tuple[str, ...]:
        """The topics; one text with commas in it stays one topic, with a warning."""
        value = self.get(field)
        if isinstance(value, str) and "," in value:
            warning = _one_topic(value)
            if warning:
                self.dropped.add(self.prefix + field, warning)
        return self.texts(field, "topic")

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
            raise self.error(field, self.missing(field))
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
        p = self.nested(field, value, PROVIDER_FIELDS)
        p.unknown()
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
    img = _Fields(value, item.path, dropped=item.dropped, names=IMAGE_FIELDS)
    img.unknown()
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
        part.drop(key, part.missing(key), what)
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
    r = _Fields(value, item.path, dropped=item.dropped, names=RELATED_FIELDS)
    r.unknown()
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


def _one_topic(text: str) -> str:
    """The warning for ``topics: Space, Science``: one topic (as it always was), and the list
    that gives two; "" for a text with one topic in it (``Space,``)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 2:
        return ""
    shown = [p if p.replace(" ", "").isalnum() else json.dumps(p) for p in parts[:4]]
    listed = ", ".join(shown) + (", ..." if len(parts) > 4 else "")
    return (
        f"{short_repr(text, 60)} is one topic; for {len(parts)} topics, write a list: "
        f"topics: [{listed[:200]}]"
    )


def _as_text(value: Any) -> str | None:
    """``value`` as text, or None when it is not a scalar (a list, a mapping)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
