"""Reading an output back: which files are feed documents, and the same entries whichever
format they were read from."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.build import run
from feeds.layout import Document, locate
from feeds.readback.read import read_build, read_folder
from tests.conftest import RecordWriter, make_settings


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("all.json", Document("all", "json", None)),
        ("topics/ai.atom", Document("topics/ai", "atom", None)),
        ("providers/wire-example.rss", Document("providers/wire-example", "rss", None)),
        ("archive/topics/ai/3.atom", Document("topics/ai", "atom", 3)),
        ("archive/all/12.json", Document("all", "json", 12)),
        ("index.html", None),
        ("feeds.opml", None),
        ("notes/readme.json", None),
        ("topics/ai/extra.json", None),
        ("archive/topics/ai/latest.json", None),
        ("archive/elsewhere/ai/1.json", None),
    ],
)
def test_feed_documents_are_found_where_groupings_put_them(
    path: str, where: Document | None
) -> None:
    assert locate(path) == where


def test_every_format_reads_back_the_same_entries(
    tmp_path: Path, records: Path, write_record: RecordWriter
) -> None:
    write_record(title="Fish & <chips>", excerpt="Salt &amp; vinegar", topics=["Food"])
    write_record(title="No excerpt", excerpt=None, webUrl="https://news.example/b")
    read = {}
    for fmt in ("rss", "atom", "json"):
        settings = make_settings(records, tmp_path / fmt, formats=[fmt])
        run(settings).write(settings.output)
        read[fmt] = read_folder(settings.output)
        assert read[fmt] == read_build(run(settings))
    assert read["rss"]["all"].items == read["atom"]["all"].items == read["json"]["all"].items
    (fish,) = [i for i in read["rss"]["all"].items.values() if i.title.startswith("Fish")]
    assert fish.summary == "Salt &amp; vinegar"
    assert fish.published == "2024-05-01T10:00:00Z"
    assert read["json"]["topics/food"].formats == ("json",)
