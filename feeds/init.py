"""``feeds init``: a new site in a folder, ready for ``feeds build``.

It writes a commented ``settings.yaml``, one example record in ``records/`` and a
``.gitignore`` for what builds write, and never writes over a file that is already there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from feeds.errors import FeedsError

SETTINGS = "settings.yaml"
GITIGNORE = ".gitignore"
RECORDS = "records"
EXAMPLE = "001_example-record.txt"

SETTINGS_TEXT = """\
# The settings of this site. `feeds build`, `feeds check` and `feeds serve` read ./settings.yaml
# when run in this folder. Every key is optional: a key left out (or commented out with #) takes
# the default shown. Folders are relative to this file. A misspelt key or a bad value stops the
# build before anything is written, with a message that says what was expected.
# The whole reference: docs/settings.md in the feeds repository.

# The site's name: feeds are titled from it ("My Feeds", "My Feeds: Examples").
title: My Feeds
# One sentence about the site: the description of every feed.
description: The feeds of my records

# Where the output folder will be served, with its trailing slash: the address of every feed
# (self links, the subscribe boxes, the OPML files) starts with it. Set it before you publish.
# Unset, it is http://127.0.0.1:8000/, where `feeds serve` serves by default.
# base_url: https://news.example.org/feeds/
# The site the feeds belong to, which readers link as their home page (default: base_url).
# site_url: https://news.example.org/

# The language of the entries: a tag such as en, en-GB or pt-BR.
language: en
# Who publishes the feeds (default: the title): a name, or a name with an email and a url.
# author:
#   name: The News Desk
#   email: desk@example.org
#   url: https://news.example.org/

# The folder of record files, one record a file, searched in every subfolder.
records: records
# The folder the feeds are written to. feeds removes from it only the files it wrote.
output: output
# The time zone of dates written without an offset (an IANA name such as Europe/Paris).
timezone: UTC

# How many of the newest entries each feed holds. Older ones go to archive pages
# (archive/...), archive_page_size entries a page, unless archives is false.
max_entries: 50
archives: true
archive_page_size: 100
# No feed document grows beyond this many bytes (fewer entries go in).
# max_document_bytes: 524288

# The formats to build: any of rss, atom, json.
formats: [rss, atom, json]
# The feeds to build: all (every entry), topic (one feed a topic), provider (one feed a
# provider) and topic-provider (one feed for each pair).
groupings: [all, topic, provider]
# Feeds of your own, by a filter (docs/settings.md has every filter):
# custom_feeds:
#   - title: Climate from the wires
#     topics: [Climate, Energy]
#     providers: [example.org]

# How often readers should fetch the feeds again, in minutes.
ttl_minutes: 60
# Repair text that was decoded wrongly somewhere (governmentâ€™s -> government’s).
repair_text: true
# Excerpts longer than this are cut at a word and end with an ellipsis.
summary_max_chars: 2000
# true: exit 0 even when a record was rejected (each one is still reported).
allow_rejected: false
# The build cache folder (default: .feeds-cache beside the output folder).
# cache: .feeds-cache
# WebSub hubs to notify when feeds change (feeds ping, feeds build --ping):
# hubs: [https://hub.example.net/]
"""

RECORD_TEXT = """\
---
# An example record, written by feeds init: replace it with your own. A record is one YAML
# mapping between the two --- lines, in a file ending in .txt, .yaml, .yml or .md anywhere
# under records/. title, webUrl and publishedDateTime are required; the rest is optional.
title: "Example: the first entry of your own feeds"
excerpt: "An example that feeds init wrote. Each record is an entry in every feed it is in."
# When it was published: with an offset (Z is UTC); without one, the timezone setting applies.
publishedDateTime: 2026-01-15T09:00:00Z
# The article the entry links to; the entry's id is made from it, so keep it stable.
webUrl: "https://example.org/news/2026/01/15/first-entry"
category: news
# false keeps a record out of every feed (a draft).
published: true

provider:
  name: Example Gazette
  domain: example.org

topics:
  - Examples
  - Getting Started

# The first image is the entry's picture.
images:
  - url: "https://example.org/images/first-entry.jpg"
    width: 1200
    height: 675
    title: "A placeholder picture for the example record"

# Other articles on the same story, listed under the entry.
related:
  - title: "Another article on the same story"
    webUrl: "https://example.org/news/2026/01/14/the-story-so-far"
    publishedDateTime: 2026-01-14T17:30:00Z
    provider:
      name: Example Gazette
      domain: example.org
---
Text after the closing --- is the body of the entry: paragraphs, separated by blank lines,
that readers show after the excerpt.
"""

GITIGNORE_TEXT = """\
# What feeds builds from the records and settings (move these lines if you change output).
/output/
# The build cache beside it, and feeds serve's own folder and history.
/.feeds-cache/
/.feeds-cache.*
"""


@dataclass(frozen=True, slots=True)
class Started:
    """What ``start_site`` wrote: each file's path as given (``folder / name``)."""

    folder: Path
    written: tuple[Path, ...]
    example: bool
    """False when ``records/`` already held files, so no example record was added."""


def start_site(folder: Path) -> Started:
    """Write a new site into ``folder`` (made if missing); raise :class:`FeedsError` naming
    every file that is already there, before writing anything."""
    if folder.exists() and not folder.is_dir():
        raise FeedsError(f"{folder}: exists and is not a folder; nothing was written")
    records = folder / RECORDS
    if records.exists() and not records.is_dir():
        raise FeedsError(f"{records}: exists and is not a folder; nothing was written")
    example = not (records.is_dir() and _holds_files(records))
    files = {folder / SETTINGS: SETTINGS_TEXT, folder / GITIGNORE: GITIGNORE_TEXT}
    if example:
        files[records / EXAMPLE] = RECORD_TEXT
    there = [path for path in files if os.path.lexists(path)]
    if there:
        names = ", ".join(str(path) for path in there)
        raise FeedsError(
            f"{names}: already there; feeds init writes nothing over existing files, so "
            "nothing was written (move them away, or init another folder)"
        )
    written: list[Path] = []
    try:
        records.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            with path.open("x", encoding="utf-8") as out:  # "x": never over a file made meanwhile
                written.append(path)
                out.write(text)
    except OSError as e:
        for path in written:
            path.unlink(missing_ok=True)
        where = e.filename if e.filename is not None else folder
        raise FeedsError(
            f"{where}: cannot be written: {e.strerror or e}; nothing was written"
        ) from None
    return Started(folder=folder, written=tuple(written), example=example)


def _holds_files(folder: Path) -> bool:
    return any(path.is_file() for path in folder.rglob("*"))
