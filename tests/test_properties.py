"""Hypothesis: arbitrary text in every field gives well-formed XML and valid JSON, never leaks
``secured``, and never turns text into markup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree, html

from feeds.content import entry_html
from feeds.errors import RecordError
from feeds.grouping import group
from feeds.mapping import map_record
from feeds.records import parse_record
from feeds.rendering import render_feeds
from tests.conftest import make_settings

SETTINGS = make_settings(Path("/tmp/records"))
ALLOWED_TAGS = {"p", "img", "h3", "ul", "li", "a"}

text = st.text(max_size=60)
words = st.lists(text, max_size=4)
secret = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
    min_size=24,
    max_size=40,
)


@st.composite
def records(draw: st.DrawFn) -> tuple[str, str]:
    hostile = st.sampled_from(
        ["<script>alert(1)</script>", "]]>", "&amp;", "<b>x</b>", "\x00", "â€™", "\u2028", "\ufffe"]
    )
    title = draw(st.one_of(text, hostile, st.builds(lambda a, b: a + b, text, hostile)))
    fields: dict[str, Any] = {
        "category": draw(text),
        "title": title if title.strip() else "t" + title,
        "excerpt": draw(st.one_of(text, hostile)),
        "publishedDateTime": "2024-05-01T10:00:00+02:00",
        "webUrl": "https://news.example/" + draw(st.text(max_size=20)),
        "published": True,
        "provider": {
            "name": draw(text),
            "domain": draw(st.sampled_from(["a.example", "", "b.example"])),
        },
        "topics": draw(words),
        "images": [{"url": draw(text), "width": 10, "height": 10, "title": draw(text)}],
        "related": [
            {
                "title": draw(text),
                "webUrl": "https://r.example/" + draw(st.text(max_size=10)),
                "provider": {"name": draw(text)},
            }
        ],
        "secured": draw(secret),
    }
    body = draw(text)
    public = yaml.safe_dump({k: v for k, v in fields.items() if k != "secured"}) + body
    assume(fields["secured"] not in public)  # the secret must be the only place it appears
    return "---\n" + yaml.safe_dump(fields, allow_unicode=True) + "---\n" + body, fields["secured"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_any_text_gives_valid_documents_without_secrets_or_markup(case: tuple[str, str]) -> None:
    source, secured = case
    try:
        record = parse_record(source.encode("utf-8", "surrogatepass"), "x.txt", SETTINGS.zone)
        assert record is not None
        entry, _ = map_record(record, SETTINGS)
    except RecordError:
        return  # rejected with a reason; nothing to publish
    files = render_feeds(group([entry], SETTINGS).feeds, SETTINGS)
    for path, data in files.items():
        assert secured.encode() not in data, path
        if path.endswith((".rss", ".atom", ".opml")):
            etree.fromstring(data)  # well-formed, or this raises
        elif path.endswith(".json"):
            json.loads(data)

    atom = etree.fromstring(files["all.atom"])
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert atom.findtext("a:entry/a:title", namespaces=ns) == entry.title
    content = atom.findtext("a:entry/a:content", namespaces=ns) or ""
    assert {
        el.tag for el in html.fragment_fromstring(content, create_parent="div").iter()
    } <= ALLOWED_TAGS | {"div"}

    rss = etree.fromstring(files["all.rss"])
    description = rss.findtext("channel/item/description") or ""
    fragment = html.fragment_fromstring(description, create_parent="div")
    if entry.summary:
        assert [el.tag for el in fragment.iter()] == ["div"]  # text only, never markup
    else:
        assert description == entry_html(entry)
        assert {el.tag for el in fragment.iter()} <= ALLOWED_TAGS | {"div"}
    assert rss.findtext("channel/item/title") == entry.title

    item = json.loads(files["all.json"])["items"][0]
    assert item["title"] == entry.title
