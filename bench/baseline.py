"""The straightforward build, for comparison: one process, PyYAML's CSafeLoader, feedgen.

    python bench/baseline.py RECORDS OUTPUT

Reads every record, keeps every entry in memory, groups them into the all/topic/provider feeds,
and writes RSS and Atom with feedgen (newest 50 a feed). No validation, repair or caching: this
is the floor for effort, not for quality.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from feedgen.feed import FeedGenerator


def main() -> None:
    records, output = Path(sys.argv[1]), Path(sys.argv[2])
    entries: list[dict[str, Any]] = []
    for path in sorted(records.rglob("*.txt")):
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text.split("---")[1], Loader=yaml.CSafeLoader)
        if isinstance(data, dict) and data.get("published") is not False:
            entries.append(data)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        groups["all"].append(entry)
        for topic in entry.get("topics") or []:
            groups[f"topics/{str(topic).lower().replace(' ', '-')}"].append(entry)
        provider = (entry.get("provider") or {}).get("domain")
        if provider:
            groups[f"providers/{provider}"].append(entry)
    for name, members in groups.items():
        members.sort(key=lambda e: str(e.get("publishedDateTime")), reverse=True)
        feed = FeedGenerator()
        feed.id(f"https://example.org/feeds/{name}")
        feed.title(name)
        feed.link(href="https://example.org/", rel="alternate")
        feed.description(name)
        for entry in reversed(members[:50]):
            item = feed.add_entry()
            item.id(entry["webUrl"])
            item.title(entry["title"])
            item.link(href=entry["webUrl"])
            item.description(entry.get("excerpt") or "")
            published = entry["publishedDateTime"]
            if isinstance(published, datetime):
                item.published(published if published.tzinfo else published.replace(tzinfo=UTC))
            for image in entry.get("images") or []:
                item.enclosure(image["url"], "0", "image/jpeg")
        target = output / name
        target.parent.mkdir(parents=True, exist_ok=True)
        feed.rss_file(f"{target}.rss")
        feed.atom_file(f"{target}.atom")


if __name__ == "__main__":
    main()
