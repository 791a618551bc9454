"""The renderers (string templates) against their element-tree form (tests/reference_items.py):
entries and whole documents byte for byte, on generated entries, feeds and settings full of text
that XML, HTML and JSON must escape; and the escaping and the serializer against the reference's
own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.content import entry_html
from feeds.dates import rfc822, rfc3339
from feeds.grouping import FeedPlan
from feeds.layout import archive_path
from feeds.model import Author, Entry, FeedInfo, Image, Paging, Related
from feeds.rendering import FORMATS, atom, jsonfeed, rss, xml
from feeds.rendering.xml import Element, el, serialize
from feeds.settings import Settings
from feeds.text import xml_safe
from tests import reference_items as reference

# Pieces that each need their own escaping somewhere: markup, entities, CDATA's end, quotes,
# white space that attributes must keep, characters XML cannot carry or discourages (removed),
# a noncharacter, astral and combining characters, and a URL with a query.
PIECES = [
    "&",
    "&amp;",
    "<",
    ">",
    "]]>",
    "]]",
    "]",
    '"',
    "'",
    "\n",
    "\r",
    "\t",
    "\r\n",
    " ",
    "  ",
    "\x00",
    "\x01",
    "\x0b",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9f",
    "\ufdd0",
    "\ufffe",
    "\uffff",
    "\u2028",
    "é",
    "e\u0301",
    "’",
    "😀",
    "\U0010fffd",
    "<script>alert(1)</script>",
    "<![CDATA[",
    "&#x26;",
    "https://example.org/a?b=1&c=2#d",
    "https://bücher.example/straße?q=ä&x=<y>",
]
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]

texts = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.text(max_size=6),  # any character but a lone surrogate, which no entry can hold
    ),
    max_size=8,
).map("".join)
optional_texts = st.one_of(st.just(""), texts)
sizes = st.one_of(st.none(), st.just(0), st.integers(min_value=1, max_value=10**6))
moments = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from(ZONES),
)
media_types = st.one_of(st.sampled_from(["image/jpeg", "image/svg+xml"]), texts)

images = st.builds(
    Image, url=texts, media_type=media_types, width=sizes, height=sizes, title=optional_texts
)
related_links = st.builds(
    Related,
    url=texts,
    title=texts,
    provider=optional_texts,
    published=st.one_of(st.none(), moments),
)
authors = st.builds(
    Author,
    name=texts,
    url=st.one_of(st.none(), optional_texts),
    email=st.one_of(st.none(), optional_texts),
)
entries = st.builds(
    Entry,
    id=texts,
    url=texts,
    title=texts,
    summary=optional_texts,
    paragraphs=st.lists(optional_texts, max_size=4).map(tuple),
    published=moments,
    author=st.one_of(st.none(), authors),
    provider_key=st.none(),
    topics=st.just(()),
    categories=st.lists(optional_texts, max_size=6).map(tuple),
    images=st.lists(images, max_size=25).map(tuple),
    related=st.lists(related_links, max_size=25).map(tuple),
    source=st.just("record.txt"),
)

Renderer = Callable[[Entry, str], bytes]
PAIRS: list[tuple[Renderer, Renderer]] = [
    (rss.item, reference.rss_item),
    (atom.item, reference.atom_entry),
    (jsonfeed.item, reference.json_item),
]
DIFFERENTIAL = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@DIFFERENTIAL
@given(entries, st.one_of(st.none(), st.just(""), texts))
def test_every_format_writes_an_entry_as_its_element_tree_did(
    entry: Entry, html: str | None
) -> None:
    """And its HTML. ``html`` None stands for the entry's own, which is what builds pass; any
    other text (empty too) checks that the content is written however it reads."""
    assert entry_html(entry) == reference.entry_html(entry)
    content = reference.entry_html(entry) if html is None else html
    for renderer, expected in PAIRS:
        assert renderer(entry, content) == expected(entry, content), renderer.__module__


@given(moments)
def test_dates_are_written_as_the_standard_library_writes_them(moment: datetime) -> None:
    utc = moment.astimezone(UTC)
    assert rfc822(moment) == format_datetime(utc)
    assert rfc3339(moment) == utc.strftime("%Y-%m-%dT%H:%M:%SZ")


# ASCII alone too, which the escapes' fast path takes (a URL with a tab, say).
ascii_texts = st.lists(
    st.one_of(
        st.sampled_from([piece for piece in PIECES if piece.isascii()]),
        st.text(st.characters(max_codepoint=127), max_size=6),
    ),
    max_size=8,
).map("".join)
any_texts = st.one_of(optional_texts, ascii_texts)
# A subscription document or archive page of a feed at any depth, its place in the feed's
# history taken freely (first, middle, last, complete, none of them) and its text hostile.
pages = st.integers(min_value=0, max_value=4)
pagings = st.builds(
    Paging,
    current=st.sampled_from(["all", "topics/ai", "topic-providers/ai/example-com"]),
    number=pages,
    prev=pages,
    next=pages,
    complete=st.booleans(),
)
feed_plans = st.builds(
    lambda title, updated, paging: FeedPlan(
        grouping="topic",
        key="ai",
        name="AI",
        title=title,
        path=archive_path(paging.current, paging.number) if paging.archive else paging.current,
        total=0,
        updated=updated,
        items=(),
        paging=paging,
    ),
    any_texts,
    moments,
    pagings,
)
site_settings = st.builds(
    Settings,
    title=any_texts,
    description=any_texts,
    base_url=st.one_of(st.just("https://example.org/feeds/"), any_texts),
    site_url=any_texts,
    language=st.one_of(st.just("en"), any_texts),
    author=st.builds(
        Author,
        name=any_texts,
        url=st.one_of(st.none(), any_texts),
        email=st.one_of(st.none(), any_texts),
    ),
    ttl_minutes=st.integers(min_value=0, max_value=10**6),
    hubs=st.lists(any_texts, max_size=3).map(tuple),
)
# Entries as pasted into a document: any bytes, those of rendered items among them.
fragment_lists = st.lists(st.binary(max_size=40), max_size=4)

DOCUMENTS: list[tuple[str, Callable[[FeedInfo, Settings, list[bytes]], bytes]]] = [
    ("rss", reference.rss_document),
    ("atom", reference.atom_document),
    ("json", reference.json_document),
]


@DIFFERENTIAL
@given(feed_plans, site_settings, fragment_lists)
def test_every_format_writes_a_document_as_its_element_tree_did(
    feed: FeedInfo, site: Settings, fragments: list[bytes]
) -> None:
    for fmt, expected in DOCUMENTS:
        assert FORMATS[fmt].render(feed, site, fragments) == expected(feed, site, fragments), fmt


ESCAPES = [
    (xml_safe, reference.xml_safe),
    (xml.escape_text, reference.escape_text),
    (xml.escape_hex, reference.escape_hex),
    (xml.escape_attr, reference.escape_attr),
    (xml.cdata, reference.cdata),
]


@DIFFERENTIAL
@given(st.one_of(texts, texts.filter(str.isascii), st.text(st.characters(max_codepoint=127))))
def test_each_escape_is_the_reference_one(text: str) -> None:
    """ASCII text on its own too: the escapes have a fast path for it."""
    for escape, expected in ESCAPES:
        assert escape(text) == expected(text), escape.__name__


TAGS = ["item", "title", "link", "atom:link", "media:content", "x"]
leaves = st.builds(
    lambda tag, text, attrs: el(tag, text, **attrs),
    st.sampled_from(TAGS),
    st.one_of(st.none(), optional_texts),
    st.dictionaries(
        st.sampled_from(["href", "rel", "title", "width", "xml:lang"]),
        st.one_of(st.none(), optional_texts, sizes),
        max_size=3,
    ),
)
trees = st.recursive(
    leaves,
    lambda children: st.builds(
        lambda tag, kids: el(tag, None, *kids),
        st.sampled_from(TAGS),
        st.lists(st.one_of(st.none(), children), max_size=4),
    ),
    max_leaves=12,
)


@DIFFERENTIAL
@given(trees)
def test_the_serializer_writes_any_tree_as_the_reference_does(root: Element) -> None:
    """The OPML keeps the tree; its serializer shares :func:`feeds.rendering.xml.leaf` and
    :func:`feeds.rendering.xml.attr` with the templates."""
    body = reference.at_depth(root, 0)
    expected = b'<?xml version="1.0" encoding="utf-8"?>\n' + body + b"\n"
    assert serialize(root) == expected
