"""Hostile records through the real CLI, read back by real aggregator code (feedparser, reader),
and by the independent validator kit in ../shared when it is set up on this machine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import feedparser
import pytest
import yaml
from reader import make_reader

from feeds.rendering.index import FILTER_SCRIPT, SUBSCRIBE_SCRIPT
from tests.conftest import EXAMPLES, ROOT, run_cli

SECRET = "U2VjcmV0Q2lwaGVydGV4dA=="
KIT = ROOT.parent / "shared" / "validate" / "validate-feeds"
KIT_VENV = Path("/tmp/feeds-validate/venv/bin/python")


def write(folder: Path, name: str, **fields: object) -> None:
    base: dict[str, object] = {
        "title": "Plain",
        "excerpt": "Plain excerpt.",
        "publishedDateTime": "2024-05-01T10:00:00Z",
        "webUrl": f"https://h.example/{name}",
        "provider": {"name": "Hostile Wire", "domain": "h.example"},
        "topics": ["AI"],
        "secured": SECRET,
    }
    base.update(fields)
    (folder / f"{name}.txt").write_text(
        "---\n" + yaml.safe_dump(base, allow_unicode=True) + "---\n"
    )


@pytest.fixture(scope="module")
def hostile(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("hostile")
    records = folder / "records"
    records.mkdir()
    write(
        records,
        "script",
        title="<script>alert(1)</script> & co",
        excerpt="<img src=x onerror=alert(1)> ]]> end",
    )
    write(
        records,
        "topics",
        topics=["C++", "C#", "C", "日本語", "../../etc/passwd", "Société Générale", " ai "],
    )
    write(
        records,
        "moji",
        excerpt="governmentâ€™s tracking\x01\x02\u2028done",
        provider={"name": "No Domain"},
    )
    write(
        records,
        "urls",
        webUrl="http://h.example/a b/ü?utm_source=x&b=1",
        images=[
            {"url": "img/rel.png"},
            {"url": "javascript:alert(1)"},
            {"url": "https://cdn.example/x.gif"},
        ],
        related=[
            {"title": "<b>x</b>", "webUrl": "data:text/html,x"},
            {"title": "ok", "webUrl": "https://r.example/1"},
        ],
    )
    write(
        records,
        "urls-again",
        webUrl="https://h.example/a%20b/%C3%BC/?b=1",
        title="Newer copy",
        publishedDateTime="2024-06-01",
    )
    write(records, "draft", published=False, title="Draft must not appear")
    write(records, "huge", excerpt="word " * 40_000)
    (records / "crlf.txt").write_bytes(
        b"\xef\xbb\xbf---\r\ntitle: BOM CRLF\r\nwebUrl: https://h.example/crlf\r\npublishedDateTime: 2024-05-03\r\n---\r\n"
    )
    (records / "empty.txt").write_text("")
    (records / "binary.txt").write_bytes(b"\x00\xff\xfe\x89PNG")
    out = folder / "out"
    result = run_cli(
        "build",
        "--settings",
        str(ROOT / "settings.yaml"),
        "--records",
        str(records),
        "--output",
        str(out),
    )
    return out, result


def test_bad_records_are_rejected_and_the_rest_published(
    hostile: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, result = hostile
    assert result.returncode == 1
    rejected = [line for line in result.stderr.splitlines() if ": warning: " not in line]
    assert sorted(Path(line.split(":")[0]).name for line in rejected) == ["binary.txt", "empty.txt"]
    assert "10 records read, 6 published, 1 unpublished, 1 duplicates, 2 rejected" in result.stdout
    titles = [e.title for e in feedparser.parse(out / "all.atom").entries]
    assert sorted(titles) == sorted(
        ["<script>alert(1)</script> & co", "Plain", "Plain", "Plain", "Newer copy", "BOM CRLF"]
    )


def test_nothing_secret_or_draft_is_published(
    hostile: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = hostile
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data, path
            assert b"Draft must not appear" not in data, path
            if path.suffix == ".json":  # plain-text fields may hold "<script>"; HTML may not
                assert all("<script" not in i["content_html"] for i in json.loads(data)["items"])
            else:
                if path.name == "index.html":  # the one script is the filter's and Subscribe's
                    ours = f"<script>\n{FILTER_SCRIPT}\n{SUBSCRIBE_SCRIPT}\n</script>".encode()
                    assert data.count(ours) == 1
                    data = data.replace(ours, b"")
                assert b"<script" not in data, path


def test_markup_reaches_readers_as_text(
    hostile: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = hostile
    for name in ("all.atom", "all.rss"):
        parsed = feedparser.parse(out / name)
        assert not parsed.bozo
        assert "<script>alert(1)</script> & co" in [e.title for e in parsed.entries]
    items = json.loads((out / "all.json").read_text())["items"]
    assert "<script>alert(1)</script> & co" in [i["title"] for i in items]


def test_hostile_topic_names_get_safe_distinct_paths(
    hostile: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = hostile
    topics = sorted(p.stem for p in (out / "topics").glob("*.rss"))
    assert topics == [
        "77710aed",
        "ai",
        "c",
        "c-plus-plus",
        "c-sharp",
        "etc-passwd",
        "societe-generale",
    ]
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))


def test_reader_ingests_every_example_feed_with_the_same_entries(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        run_cli("build", "--settings", str(ROOT / "settings.yaml"), "--output", str(out)).returncode
        == 0
    )
    reader = make_reader(":memory:", feed_root=str(out))
    feeds = sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.suffix in {".rss", ".atom", ".json"}
    )
    for feed in feeds:
        reader.add_feed(feed)
    reader.update_feeds()
    seen: dict[str, list[tuple[str, str | None, str | None, object]]] = {}
    for feed in feeds:
        got = reader.get_feed(feed)
        assert got.last_exception is None, (feed, got.last_exception)
        entries = sorted(reader.get_entries(feed=feed), key=lambda e: e.id)
        seen[feed] = [(e.id, e.title, e.link, e.published) for e in entries]
    for feed in feeds:
        stem = feed.rsplit(".", 1)[0]
        assert seen[feed] == seen[f"{stem}.atom"], feed
    archived = [
        e for f in feeds if f.startswith("archive/all/") and f.endswith(".atom") for e in seen[f]
    ]
    assert len(seen["all.atom"]) + len(archived) == 13
    assert len(list(EXAMPLES.rglob("*.*"))) == 14


@pytest.mark.external
@pytest.mark.skipif(
    not (KIT.exists() and KIT_VENV.exists()),
    reason="validator kit not set up (../shared/validate/setup)",
)
def test_independent_validator_finds_no_errors(
    hostile: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out, _ = hostile
    examples = tmp_path / "examples"
    assert (
        run_cli(
            "build", "--settings", str(ROOT / "settings.yaml"), "--output", str(examples)
        ).returncode
        == 0
    )
    for folder in (examples, out):
        result = subprocess.run(
            [str(KIT), "--base-url", "https://example.org/feeds/", str(folder)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:]
    strict = subprocess.run(
        [str(KIT), "--strict", str(examples)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert strict.returncode == 0, strict.stdout[-3000:]


@pytest.mark.external
@pytest.mark.skipif(
    not (KIT.exists() and KIT_VENV.exists()),
    reason="validator kit not set up (../shared/validate/setup)",
)
def test_independent_validator_accepts_websub_hub_links(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        (ROOT / "settings.yaml").read_text()
        + f"hubs: [https://hub.example.net/, 'https://push.example.com/websub?a=1&b=2']\n"
        f"records: {EXAMPLES}\noutput: {tmp_path / 'output'}\n"
    )
    assert run_cli("build", "--settings", str(settings)).returncode == 0
    assert b'rel="hub"' in (tmp_path / "output" / "all.rss").read_bytes()
    for strict in ((), ("--strict",)):
        result = subprocess.run(
            [
                str(KIT),
                *strict,
                "--base-url",
                "https://example.org/feeds/",
                str(tmp_path / "output"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:]
        assert "0 errors, 0 warnings" in result.stdout
