"""``settings.yaml``: loaded and checked in full before anything is built or written."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from feeds.dates import parse_date
from feeds.errors import DateError, SettingsError
from feeds.model import Author
from feeds.text import fold, slugify
from feeds.urls import clean_url, domain_of

FORMAT_NAMES = ("rss", "atom", "json")
GROUPING_NAMES = ("all", "topic", "provider", "topic-provider", "custom")
DEFAULT_GROUPINGS = ("all", "topic", "provider")
DEFAULT_FILE = "settings.yaml"
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True, slots=True)
class CustomFeed:
    """A named feed of the entries that pass every condition given (one of a list suffices)."""

    title: str
    slug: str
    topics: tuple[str, ...] = ()
    """Folded (``fold``) topic names."""
    providers: tuple[str, ...] = ()
    """Provider domains (``www.`` removed) or folded names."""
    categories: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    min_quality: float | None = None
    min_heat: float | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    title: str = "Feeds"
    description: str = ""
    base_url: str = "http://127.0.0.1:8000/"
    site_url: str = ""
    language: str = "en"
    author: Author = field(default_factory=lambda: Author(name="", url=None))
    records: Path = Path("records")
    output: Path = Path("output")
    timezone: str = "UTC"
    max_entries: int = 50
    archives: bool = True
    archive_page_size: int = 100
    max_document_bytes: int = 512 * 1024
    formats: tuple[str, ...] = FORMAT_NAMES
    groupings: tuple[str, ...] = DEFAULT_GROUPINGS
    custom_feeds: tuple[CustomFeed, ...] = ()
    repair_text: bool = True
    summary_max_chars: int = 2000
    ttl_minutes: int = 60
    allow_rejected: bool = False
    cache: Path | None = None
    hubs: tuple[str, ...] = ()

    @property
    def cache_file(self) -> Path:
        """The build cache folder: ``cache``, else ``.feeds-cache`` beside the output folder."""
        return self.cache or self.output.parent / ".feeds-cache"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def home(self) -> str:
        """The site the feeds belong to: ``site_url``, else ``base_url``."""
        return self.site_url or self.base_url

    @property
    def owner(self) -> Author:
        """The feeds' author: ``author``, else the site title with the site's URL."""
        if self.author.name:
            return self.author
        return Author(name=self.title, url=self.home, email=self.author.email)


@dataclass(frozen=True, slots=True)
class Doc:
    """One setting as docs/settings.md shows it (``make docs`` writes that table from ``DOCS``)."""

    kind: str
    """What the value is, in YAML terms."""
    meaning: str
    """What it does (Markdown; links are relative to docs/)."""
    default: str = ""
    """Shown instead of the field's own default, where that is worked out as settings load."""


# One row per key of Settings, in its order: docs/settings.md is generated from it (make docs).
DOCS: dict[str, Doc] = {
    "title": Doc(
        "text", "site title; feed titles are built from it (`Example News: Computer Vision`)"
    ),
    "description": Doc(
        "text",
        "site description: the RSS channel description, the Atom subtitle and the JSON Feed "
        "`description`",
    ),
    "base_url": Doc(
        "URL",
        "absolute http(s) URL where the output folder is served, without a query or fragment "
        "(a trailing `/` is added); self links, subscribe addresses and the OPML use it. "
        "`feeds serve` uses the address it serves at instead, unless given `--base-url`",
    ),
    "site_url": Doc(
        "URL",
        "the site the feeds belong to (RSS channel `<link>`, Atom `alternate`, JSON "
        "`home_page_url`)",
        default="`base_url`",
    ),
    "language": Doc("language tag", "language of the feeds (`en`, `en-GB`, `pt-BR`)"),
    "author": Doc(
        "name, or `{name, email, url}`",
        "the feeds' author (each entry's author is its provider)",
        default="the site title, with `site_url`",
    ),
    "records": Doc(
        "folder",
        "folder of record files, searched recursively; relative to the settings file",
    ),
    "output": Doc(
        "folder",
        "folder the feeds are written to; relative to the settings file. Refused when it is "
        "`/`, the home folder, the records folder, inside it, or a folder that holds the records "
        "folder or the settings file (feeds removes its own stale files from it)",
    ),
    "timezone": Doc("IANA zone name", "zone of dates written without an offset (`Europe/Paris`)"),
    "max_entries": Doc(
        "whole number, 1 or more", "newest entries in each feed's subscription document"
    ),
    "archives": Doc(
        "true or false",
        "keep every older entry in [archive pages](output.md#complete-history-rfc-5005-archives);"
        " `false` drops them",
    ),
    "archive_page_size": Doc(
        "whole number, 1 or more", "entries per archive page, counted from the oldest"
    ),
    "max_document_bytes": Doc(
        "whole number, 16384 or more",
        "byte budget of every feed document (512 KiB by default); fewer entries go in to "
        "respect it",
    ),
    "formats": Doc(f"list of: {', '.join(FORMAT_NAMES)}", "formats to build"),
    "groupings": Doc(
        f"list of: {', '.join(GROUPING_NAMES)}",
        "feeds to build: `all` (every entry), `topic` (one feed per topic), `provider` (one per "
        "provider), `topic-provider` (one per topic and provider pair, under "
        "`topic-providers/`) and `custom` (added by itself when `custom_feeds` are defined)",
    ),
    "custom_feeds": Doc(
        "list of `{title, slug, topics, providers, categories, types, min_quality, min_heat, "
        "since, until}`",
        "named feeds by a filter, under `custom/`; see [Custom feeds](#custom-feeds)",
        default="none",
    ),
    "repair_text": Doc(
        "true or false", "repair mojibake in text (`governmentâ€™s` -> `government’s`)"
    ),
    "summary_max_chars": Doc(
        "whole number, 100 or more",
        "longer excerpts are cut at a word boundary and end with `…`",
    ),
    "ttl_minutes": Doc(
        "whole number, 1 or more",
        "how often readers should poll, in minutes (RSS `<ttl>`, HTTP `Cache-Control`)",
    ),
    "allow_rejected": Doc("true or false", "exit 0 even when records were rejected"),
    "cache": Doc(
        "folder",
        "the build cache folder, see [Large archives](internals.md#large-archives). Refused "
        "when it names something that exists and is not a feeds cache (a folder with feeds' "
        "`CACHEDIR.TAG`) or an empty folder",
        default="`.feeds-cache/` beside the output folder",
    ),
    "hubs": Doc(
        "list of URLs",
        "WebSub hubs (absolute http(s) URLs): every feed advertises them and `feeds ping` "
        "notifies them, see [`feeds ping`](commands.md#feeds-ping)",
        default="none",
    ),
}


def load_settings(path: Path | None, **overrides: Any) -> Settings:
    """Read ``path`` (default ``./settings.yaml`` if it exists) and apply CLI ``overrides``.

    Paths in the file are relative to the file; paths given as overrides are relative to the
    current directory.
    """
    source = "settings"
    data: Mapping[str, Any] = {}
    base = Path.cwd()
    if path is None and Path(DEFAULT_FILE).is_file():
        path = Path(DEFAULT_FILE)
    if path is not None:
        source = str(path)
        data = _read(path)
        base = path.resolve().parent
    settings = parse_settings(data, base=base, source=source)
    changes = {k: v for k, v in overrides.items() if v is not None}
    for key in ("records", "output"):
        if key in changes:
            changes[key] = Path(changes[key]).resolve()
    for key in ("base_url",):
        if key in changes:
            try:
                changes[key] = _CHECKS[key](changes[key], base)
            except _Bad as e:
                raise SettingsError("--base-url", key, changes[key], e.expected) from None
    if changes:
        settings = _replace(settings, changes)
    _check_folders(settings, source, path)
    return settings


def _read(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SettingsError(
            str(path), "(file)", str(path), "the settings file does not exist"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(str(path), "(file)", str(path), f"cannot be read: {e}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as e:
        raise SettingsError(str(path), "(file)", "", f"not valid YAML: {e}") from None
    except RecursionError:
        raise SettingsError(str(path), "(file)", "", "not valid YAML: nested too deeply") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(str(path), "(file)", data, "expected a mapping of settings")
    return data


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date that does not exist (``2024-02-30``) stays
    text, so the key it belongs to reports it (with a date that works) instead of the loader."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def parse_settings(data: Mapping[str, Any], *, base: Path, source: str = "settings") -> Settings:
    """Check every key of ``data`` and build a :class:`Settings`; the first problem raises."""
    known = [f.name for f in fields(Settings)]
    for key in data:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
            raise SettingsError(source, str(key), data[key], f"unknown setting{hint}")
    values: dict[str, Any] = {}
    for key, value in data.items():
        check = _CHECKS[key]
        try:
            values[key] = check(value, base)
        except _Bad as e:
            raise SettingsError(source, key, value, e.expected) from None
    groupings = values.get("groupings", DEFAULT_GROUPINGS)
    if values.get("custom_feeds"):
        # Custom feeds are asked for by name: defining them is enough to build them.
        values["groupings"] = tuple(g for g in GROUPING_NAMES if g in {*groupings, "custom"})
    elif "custom" in groupings:
        raise SettingsError(
            source, "groupings", data["groupings"], "custom needs feeds defined in custom_feeds"
        )
    values.setdefault("records", (base / "records").resolve())
    values.setdefault("output", (base / "output").resolve())
    return Settings(**values)


def _replace(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    values = {f.name: getattr(settings, f.name) for f in fields(Settings)}
    values.update(changes)
    return Settings(**values)


def _check_folders(settings: Settings, source: str, file: Path | None) -> None:
    """Refuse an output folder whose stale-file removal or writes could reach what is not
    feeds' own: the records, the settings file, a home folder, the whole file system."""
    output, records = settings.output, settings.records
    why = None
    if output == Path(output.anchor):
        why = "must not be the root of the file system"
    elif output == _home():
        why = "must not be the home folder"
    elif output == records:
        why = "must be a different folder from records"
    elif records.is_relative_to(output):
        why = f"must not contain the records folder ({records})"
    elif output.is_relative_to(records):
        why = f"must not be inside the records folder ({records})"
    elif file is not None and file.resolve().is_relative_to(output):
        why = f"must not contain the settings file ({file})"
    if why is not None:
        raise SettingsError(source, "output", str(output), f"{why}; choose a folder of its own")
    from feeds.cache import check_cache_path  # the cache module needs Settings

    problem = check_cache_path(settings.cache_file)
    if problem is not None:
        raise SettingsError(
            source, "cache", str(settings.cache_file), f"{problem}; feeds will not overwrite it"
        )


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None


class _Bad(Exception):
    def __init__(self, expected: str) -> None:
        self.expected = expected


def _text(value: Any, base: Path) -> str:
    if not isinstance(value, str):
        raise _Bad("expected a string")
    return value.strip()


def _title(value: Any, base: Path) -> str:
    text = _text(value, base)
    if not text:
        raise _Bad("expected a non-empty string")
    return text


def _url(value: Any, base: Path) -> str:
    url = clean_url(value) if isinstance(value, str) else None
    if url is None:
        raise _Bad("expected an absolute http(s) URL, e.g. https://example.org/feeds/")
    if url.endswith("/") or "?" in url or "#" in url:  # a slash after a query changes it
        return url
    return url + "/"


def _base_url(value: Any, base: Path) -> str:
    url = _url(value, base)
    if "?" in url or "#" in value:
        # Feed URLs are this URL and a path: a query or fragment would end up in the middle.
        raise _Bad(
            "expected a URL without a query (?) or fragment (#), e.g. https://example.org/feeds/"
        )
    return url


def _language(value: Any, base: Path) -> str:
    if not isinstance(value, str) or not _LANGUAGE.match(value):
        raise _Bad("expected a language tag such as en, en-GB or pt-BR")
    return value


def _author(value: Any, base: Path) -> Author:
    if isinstance(value, str) and value.strip():
        return Author(name=value.strip(), url=None)
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise _Bad("expected a name, or a mapping with name and optional email and url")
    extra = set(value) - {"name", "email", "url"}
    if extra:
        raise _Bad(f"unknown author key {sorted(extra)[0]!r}; expected name, email, url")
    email = value.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise _Bad("expected author.email to be an e-mail address")
    url = value.get("url")
    if url is not None:
        url = clean_url(url) if isinstance(url, str) else None
        if url is None:
            raise _Bad("expected author.url to be an absolute http(s) URL")
    return Author(name=value["name"].strip(), url=url, email=email)


def _folder(value: Any, base: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise _Bad("expected a folder path")
    return (base / value).resolve()


def _zone(value: Any, base: Path) -> str:
    if not isinstance(value, str):
        raise _Bad("expected an IANA time zone name such as UTC or Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad("expected an IANA time zone name such as UTC or Europe/Paris") from None
    return value


def _count(minimum: int) -> Callable[[Any, Path], int]:
    def check(value: Any, base: Path) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Bad(f"expected a whole number, {minimum} or more")
        return value

    return check


def _choices(names: tuple[str, ...]) -> Callable[[Any, Path], tuple[str, ...]]:
    def check(value: Any, base: Path) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise _Bad(f"expected a non-empty list of: {', '.join(names)}")
        for item in items:
            if item not in names:
                raise _Bad(f"expected only {', '.join(names)}; {item!r} is not one of them")
        return tuple(n for n in names if n in items)

    return check


_FILTERS = (
    "title",
    "slug",
    "topics",
    "providers",
    "categories",
    "types",
    "min_quality",
    "min_heat",
    "since",
    "until",
)
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _custom_feeds(value: Any, base: Path) -> tuple[CustomFeed, ...]:
    if not isinstance(value, list):
        raise _Bad("expected a list of custom feeds, each a mapping with a title and filters")
    feeds: list[CustomFeed] = []
    for i, item in enumerate(value):
        try:
            feeds.append(_custom_feed(item))
        except _Bad as e:
            raise _Bad(f"custom feed {i + 1}: {e.expected}") from None
    slugs = [feed.slug for feed in feeds]
    for slug in slugs:
        if slugs.count(slug) > 1:
            raise _Bad(f"two custom feeds have the slug {slug!r}; give one a `slug`")
    return tuple(feeds)


def _custom_feed(item: Any) -> CustomFeed:
    if not isinstance(item, dict):
        raise _Bad("expected a mapping with a title and filters")
    for key in item:
        if key not in _FILTERS:
            near = difflib.get_close_matches(str(key), _FILTERS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(_FILTERS)}"
            raise _Bad(f"unknown key {key!r}{hint}")
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _Bad("`title` must be a non-empty string")
    slug = item.get("slug", slugify(title))
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise _Bad(f"`slug` must be lowercase letters, digits and dashes, got {slug!r}")

    def names(key: str) -> tuple[str, ...]:
        raw = item.get(key, [])
        raw = [raw] if isinstance(raw, str) else raw
        if not isinstance(raw, list) or not all(isinstance(n, str) and n.strip() for n in raw):
            raise _Bad(f"`{key}` must be a name or a list of names")
        return tuple(dict.fromkeys(fold(n) for n in raw))

    def minimum(key: str) -> float | None:
        raw = item.get(key)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _Bad(f"`{key}` must be a number, got {raw!r}")
        return float(raw)

    def moment(key: str) -> datetime | None:
        raw = item.get(key)
        if raw is None:
            return None
        try:
            return parse_date(raw, ZoneInfo("UTC"))
        except DateError as e:
            raise _Bad(f"`{key}` must be a date such as 2024-01-31: {e}") from None

    providers = tuple(domain_of(p) or p for p in names("providers"))
    feed = CustomFeed(
        title=title.strip(),
        slug=slug,
        topics=names("topics"),
        providers=providers,
        categories=names("categories"),
        types=names("types"),
        min_quality=minimum("min_quality"),
        min_heat=minimum("min_heat"),
        since=moment("since"),
        until=moment("until"),
    )
    if feed.since and feed.until and feed.since >= feed.until:
        raise _Bad("`since` must be before `until`")
    if set(item) <= {"title", "slug"}:
        raise _Bad(
            "give at least one filter (topics, providers, categories, types, "
            "min_quality, min_heat, since, until)"
        )
    return feed


def _flag(value: Any, base: Path) -> bool:
    if not isinstance(value, bool):
        raise _Bad("expected true or false")
    return value


def _hubs(value: Any, base: Path) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _Bad("expected a list of absolute http(s) hub URLs")
    hubs: list[str] = []
    for item in items:
        url = clean_url(item) if isinstance(item, str) else None
        if url is None:
            raise _Bad(f"expected absolute http(s) hub URLs; {item!r} is not one")
        if url not in hubs:
            hubs.append(url)
    return tuple(hubs)


_CHECKS: dict[str, Callable[[Any, Path], Any]] = {
    "title": _title,
    "description": _text,
    "base_url": _base_url,
    "site_url": _url,
    "language": _language,
    "author": _author,
    "records": _folder,
    "output": _folder,
    "timezone": _zone,
    "max_entries": _count(1),
    "archives": _flag,
    "archive_page_size": _count(1),
    "max_document_bytes": _count(16 * 1024),
    "formats": _choices(FORMAT_NAMES),
    "groupings": _choices(GROUPING_NAMES),
    "custom_feeds": _custom_feeds,
    "repair_text": _flag,
    "summary_max_chars": _count(100),
    "ttl_minutes": _count(1),
    "allow_rejected": _flag,
    "cache": _folder,
    "hubs": _hubs,
}
