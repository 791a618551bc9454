"""Every format read back by real parsers (feedparser, lxml, json + a JSON Feed schema), field by field."""

from __future__ import annotations

import json
import re
from calendar import timegm
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from feeds.build import Built, build
from feeds.model import Entry, Feed
from tests.conftest import BASE_URL, DATA, EXAMPLES, SEED, make_settings, record_text

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "media": "http://search.yahoo.com/mrss/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
JSONFEED_SCHEMA = json.loads((DATA / "jsonfeed-1.1.schema.json").read_text())


@pytest.fixture(scope="module")
def seed_build() -> Built:
    return build(make_settings(SEED.parent))


@pytest.fixture(scope="module")
def examples_build() -> Built:
    return build(make_settings(EXAMPLES))


def the_entry(result: Built) -> Entry:
    (entry,) = result.feeds[0].entries
    return entry


def parsed_time(struct: Any) -> datetime:
    return datetime.fromtimestamp(timegm(struct), UTC)


def test_rss_reads_back_field_by_field(seed_build: Built) -> None:
    entry = the_entry(seed_build)
    data = seed_build.files["all.rss"]
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    assert feed.feed.link == "https://example.org/"
    assert feed.feed.generator == "feeds"
    (item,) = feed.entries
    assert (item.id, item.guidislink) == (entry.id, False)
    assert item.link == entry.url
    assert item.title == entry.title
    assert parsed_time(item.published_parsed) == entry.published
    assert item.author == "MIT Technology Review"
    assert [t.term for t in item.tags] == ["Computer Vision", "AI", "news"]
    assert [(e.href, e.type, e.length) for e in item.enclosures] == [
        (entry.images[0].url, "image/jpeg", "0")
    ]
    assert [(m["url"], m["medium"], m["width"], m["height"]) for m in item.media_content] == [
        (entry.images[0].url, "image", "3000", "1687")
    ]
    assert item.media_thumbnail[0]["url"] == entry.images[0].url
    assert "government’s tracking" in item.summary
    content = item.content[0].value
    assert "Controversial startup" in content
    assert "SFGate" in content


def test_rss_channel_has_self_link_dates_and_namespaces(seed_build: Built) -> None:
    root = etree.fromstring(seed_build.files["all.rss"])
    assert root.nsmap == {
        "atom": NS["atom"],
        "content": NS["content"],
        "dc": NS["dc"],
        "fh": "http://purl.org/syndication/history/1.0",
        "media": NS["media"],
    }
    channel = root.find("channel")
    assert channel is not None
    self_link = channel.find("atom:link", NS)
    assert self_link is not None
    assert self_link.attrib == {
        "href": BASE_URL + "all.rss",
        "rel": "self",
        "type": "application/rss+xml",
    }
    build_date = parsedate_to_datetime(channel.findtext("lastBuildDate") or "")
    assert build_date == the_entry(seed_build).published
    assert root.find(".//media:group", NS) is None
    assert channel.findtext("ttl") == "60"


def test_atom_reads_back_field_by_field(seed_build: Built) -> None:
    entry = the_entry(seed_build)
    feed = feedparser.parse(seed_build.files["all.atom"])
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.author_detail == {"name": "Test Desk", "email": "desk@example.org"}
    assert parsed_time(feed.feed.updated_parsed) == entry.published
    (item,) = feed.entries
    assert item.id == entry.id
    assert item.link == entry.url
    assert item.title == entry.title
    assert item.title_detail.type == "text/plain"
    assert parsed_time(item.published_parsed) == entry.published
    assert item.author_detail == {
        "name": "MIT Technology Review",
        "href": "https://technologyreview.com/",
    }
    assert [t.term for t in item.tags] == ["Computer Vision", "AI", "news"]
    links = {(link["rel"], link["href"]): link for link in item.links}
    enclosure = links[("enclosure", entry.images[0].url)]
    assert enclosure["type"] == "image/jpeg"
    related = [link for link in item.links if link["rel"] == "related"]
    assert [(r["href"], r["title"]) for r in related] == [(r.url, r.title) for r in entry.related]
    assert item.summary == entry.summary
    assert item.content[0].type == "text/html"


def test_atom_links_keep_rel_type_and_title_in_the_xml(seed_build: Built) -> None:
    root = etree.fromstring(seed_build.files["all.atom"])
    links = root.findall("atom:entry/atom:link", NS)
    assert [link.get("rel") for link in links] == ["alternate", "enclosure", "related", "related"]
    assert all(link.get("type") for link in links)
    assert all(link.get("title") for link in links if link.get("rel") == "related")
    feed_self = root.find("atom:link[@rel='self']", NS)
    assert feed_self is not None
    assert feed_self.get("href") == BASE_URL + "all.atom"


def test_json_feed_reads_back_field_by_field(seed_build: Built) -> None:
    entry = the_entry(seed_build)
    document = json.loads(seed_build.files["all.json"])
    jsonschema.validate(document, JSONFEED_SCHEMA)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["feed_url"] == BASE_URL + "all.json"
    (item,) = document["items"]
    assert item["id"] == entry.id
    assert item["url"] == entry.url
    assert item["title"] == entry.title
    assert item["summary"] == item["content_text"] == entry.summary
    assert datetime.fromisoformat(item["date_published"]) == entry.published
    assert item["authors"] == [
        {"name": "MIT Technology Review", "url": "https://technologyreview.com/"}
    ]
    assert item["tags"] == ["Computer Vision", "AI", "news"]
    assert item["image"] == entry.images[0].url
    assert item["attachments"] == [
        {"url": entry.images[0].url, "mime_type": "image/jpeg", "title": entry.images[0].title}
    ]
    assert item["_related"] == {
        "items": [
            {
                "url": "https://mashable.com/article/clearview-ai-facial-recognition-continues/",
                "title": "Controversial startup to continue supplying police with facial-recognition tech",
                "provider": "Mashable",
                "date_published": "2020-06-11T23:41:00Z",
            },
            {
                "url": "https://www.sfgate.com/news/article/Microsoft-won-t-sell-face-recognition-software-to-15335316.php",
                "title": "Microsoft won't sell face recognition software to police",
                "provider": "SFGate",
                "date_published": "2020-06-12T21:17:00Z",
            },
        ]
    }


def feed_documents(result: Built) -> list[tuple[Feed, str, bytes]]:
    return [
        (feed, fmt, result.files[f"{feed.path}.{fmt}"])
        for feed in result.feeds
        for fmt in ("rss", "atom", "json")
    ]


def test_every_example_feed_parses_cleanly_with_its_entries(examples_build: Built) -> None:
    documents = feed_documents(examples_build)
    assert len(documents) == 3 * len(examples_build.feeds) >= 3 * 15
    for feed, fmt, data in documents:
        if fmt == "json":
            document = json.loads(data)
            jsonschema.validate(document, JSONFEED_SCHEMA)
            ids = [item["id"] for item in document["items"]]
        else:
            parsed = feedparser.parse(data)
            assert not parsed.bozo, (feed.path, fmt, parsed.get("bozo_exception"))
            ids = [item.id for item in parsed.entries]
        assert ids == [e.id for e in feed.entries], (feed.path, fmt)


def test_one_enclosure_in_rss_and_every_image_as_media(examples_build: Built) -> None:
    for feed in examples_build.feeds:
        root = etree.fromstring(examples_build.files[f"{feed.path}.rss"])
        for item, entry in zip(root.iter("item"), feed.entries, strict=True):
            assert len(item.findall("enclosure")) == (1 if entry.images else 0)
            assert len(item.findall("media:content", NS)) == len(entry.images)
            assert len(item.findall("media:thumbnail", NS)) == (1 if entry.images else 0)


def test_index_and_opml_list_every_feed(examples_build: Built) -> None:
    index = examples_build.files["index.html"].decode()
    opml = etree.fromstring(examples_build.files["feeds.opml"])
    assert opml.get("version") == "2.0"
    urls = {o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")}
    for feed in examples_build.feeds:
        assert BASE_URL + feed.path + ".rss" in urls
        for fmt in ("rss", "atom", "json"):
            assert f'href="{feed.path}.{fmt}"' in index
    assert '<link rel="alternate" type="application/rss+xml"' in index
    assert '<link rel="alternate" type="application/atom+xml"' in index
    assert '<link rel="alternate" type="application/feed+json"' in index


def test_index_is_well_formed_html(examples_build: Built) -> None:
    from lxml import html

    page = html.document_fromstring(examples_build.files["index.html"])
    rows = page.xpath("//ul[contains(@class, 'feeds')]/li")
    assert len(rows) == len([f for f in examples_build.feeds if not f.paging.archive])


def test_only_selected_formats_are_built(tmp_path: Path) -> None:
    result = build(make_settings(SEED.parent, formats=["atom"]))
    assert sorted(p for p in result.files if p.startswith("all.")) == ["all.atom", "all.html"]
    opml = etree.fromstring(result.files["feeds.opml"])
    assert all(o.get("xmlUrl", ".atom").endswith(".atom") for o in opml.iter("outline"))


def test_an_empty_records_folder_gives_valid_empty_feeds(records: Path) -> None:
    result = build(make_settings(records))
    assert sorted(result.files) == [
        "all.atom",
        "all.html",
        "all.json",
        "all.rss",
        "feeds.opml",
        "index.html",
        "providers.opml",
        "topics.opml",
    ]
    for name in ("all.rss", "all.atom"):
        parsed = feedparser.parse(result.files[name])
        assert not parsed.bozo
        assert parsed.entries == []
    assert b"<updated>2000-01-01T00:00:00Z</updated>" in result.files["all.atom"]
    assert b"lastBuildDate" not in result.files["all.rss"]
    assert json.loads(result.files["all.json"])["items"] == []


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=25,
    )
)
def test_the_fast_json_layout_is_exactly_the_standard_one(value: object) -> None:
    from feeds.rendering.jsonfeed import pretty

    assert pretty(value) == json.dumps(value, ensure_ascii=False, indent=2)


HUBS = ["https://hub.example.net/", "https://push.example.com/websub?x=1&y=2"]


def test_every_feed_advertises_its_hubs_and_itself_in_every_format() -> None:
    result = build(make_settings(EXAMPLES, hubs=HUBS))
    documents = feed_documents(result)
    assert len(documents) == 3 * len(result.feeds)
    for feed, fmt, data in documents:
        self_url = f"{BASE_URL}{feed.path}.{fmt}"
        if fmt == "json":
            document = json.loads(data)
            jsonschema.validate(document, JSONFEED_SCHEMA)
            assert document["hubs"] == [{"type": "WebSub", "url": hub} for hub in HUBS]
            assert document["feed_url"] == self_url
            continue
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (feed.path, fmt, parsed.get("bozo_exception"))
        links = [(link.rel, link.href) for link in parsed.feed.links]
        assert [href for rel, href in links if rel == "hub"] == HUBS, (feed.path, fmt)
        assert [href for rel, href in links if rel == "self"] == [self_url], (feed.path, fmt)
        assert parsed.feed.link == "https://example.org/"  # the channel's or alternate link


def test_rss_hub_links_sit_beside_the_self_link_and_keep_the_channel_link() -> None:
    result = build(make_settings(SEED.parent, hubs=HUBS))
    channel = etree.fromstring(result.files["all.rss"]).find("channel")
    assert channel is not None
    assert channel.findtext("link") == "https://example.org/"
    atom_links = [(a.get("rel"), a.get("href")) for a in channel.findall("atom:link", NS)]
    assert atom_links == [("self", BASE_URL + "all.rss")] + [("hub", hub) for hub in HUBS]


def test_without_hubs_no_feed_mentions_one() -> None:
    result = build(make_settings(EXAMPLES))
    for _, _, data in feed_documents(result):
        assert b'"hub"' not in data
        assert b'"hubs"' not in data


def test_feeds_carry_no_stylesheet_their_html_page_is_the_browser_view(
    examples_build: Built,
) -> None:
    for path, data in examples_build.files.items():
        if path.endswith((".rss", ".atom")):
            tree = etree.fromstring(data).getroottree()
            assert not list(tree.getroot().itersiblings(preceding=True)), path
            assert b"xml-stylesheet" not in data
            assert path.rpartition(".")[0] + ".html" in examples_build.files or "archive/" in path
    assert not [p for p in examples_build.files if p.endswith(".xsl")]


# What real clients read is what we meant.

AMP_URL = "https://news.example/story?id=1&section=world"


def naive_xml_text(raw: str) -> str:
    """Text as read by a parser that decodes XML's five named entities and nothing else.

    Widely used JavaScript feed parsers do this: they show ``&#x26;`` as those five
    characters, so ``?a=1&#x26;b=2`` in a ``<link>`` is a broken article URL for them.
    """
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
        raw = raw.replace(entity, char)
    return raw.replace("&amp;", "&")


@pytest.fixture(scope="module")
def ampersand_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    records = tmp_path_factory.mktemp("amp") / "records"
    records.mkdir()
    (records / "a.txt").write_text(
        record_text(
            title="Rock & roll <live>",
            webUrl=AMP_URL,
            images=[{"url": "https://img.example/i.jpg?w=640&h=480", "title": "A & B"}],
            related=[{"title": "More & more", "webUrl": "https://r.example/?q=a&p=2"}],
        )
    )
    return build(make_settings(records))


def test_url_valued_rss_elements_read_the_same_by_a_naive_parser(
    ampersand_build: Built,
) -> None:
    data = ampersand_build.files["all.rss"]
    root = etree.fromstring(data)
    source = data.decode()
    for tag in ("link", "guid", "comments", "docs"):
        for raw in re.findall(rf"<{tag}\b[^>]*>([^<]*)</{tag}>", source):
            assert "&#" not in raw, (tag, raw)
    for name in ("url", "href"):
        for raw in re.findall(rf' {name}="([^"]*)"', source):
            assert "&#" not in raw, (name, raw)
    item = root.find("channel/item")
    assert item is not None
    raw_link = re.findall(r"<link>([^<]*)</link>", source)
    assert [naive_xml_text(raw) for raw in raw_link] == ["https://example.org/", AMP_URL]
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    (entry,) = parsed.entries
    assert entry.link == AMP_URL
    assert entry.enclosures[0].href == "https://img.example/i.jpg?w=640&h=480"
    assert entry.title == "Rock & roll <live>"


def test_rss_text_elements_keep_the_hex_references_of_the_best_practices_profile(
    ampersand_build: Built,
) -> None:
    source = ampersand_build.files["all.rss"].decode()
    assert "<title>Rock &#x26; roll &#x3C;live&gt;</title>" in source
    assert '<media:title type="plain">A &#x26; B</media:title>' in source


def test_atom_alternate_link_comes_before_self_and_hub_links_in_every_document() -> None:
    result = build(make_settings(EXAMPLES, hubs=HUBS, max_entries=8, archive_page_size=2))
    atoms = [path for path in result.files if path.endswith(".atom")]
    assert any(path.startswith("archive/") for path in atoms)
    for path in atoms:
        root = etree.fromstring(result.files[path])
        first = root.find("atom:link", NS)
        assert first is not None
        assert (first.get("rel"), first.get("href")) == ("alternate", "https://example.org/"), path
        for entry in root.findall("atom:entry", NS):
            first = entry.find("atom:link", NS)
            assert first is not None
            assert first.get("rel") == "alternate", path
        parsed = feedparser.parse(result.files[path])
        assert parsed.feed.link == "https://example.org/"


def test_readers_get_exact_repairs_and_lossy_mojibake_as_written(records: Path) -> None:
    (records / "a.txt").write_text(
        record_text(title="The governmentâ€™s plan", excerpt="Costs rose â€ the source lost a byte")
    )
    result = build(make_settings(records))
    for fmt in ("rss", "atom"):
        (item,) = feedparser.parse(result.files[f"all.{fmt}"]).entries
        assert item.title == "The government’s plan"
        assert item.summary == "Costs rose â€ the source lost a byte"
    (item,) = json.loads(result.files["all.json"])["items"]
    assert item["summary"] == "Costs rose â€ the source lost a byte"
