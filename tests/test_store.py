"""The snapshot store between the builder and the workers, on real files: what a worker loads is
what the builder would serve, document for document and header for header, and a rebuild hands
over only what changed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feeds.errors import StoreError
from feeds.serve import child
from feeds.serve.follower import POLL_SECONDS, Follower
from feeds.serve.http import Snapshot
from feeds.serve.store import CURRENT, Published, Store, current, load
from feeds.serve.workers import Builder
from feeds.settings import Settings
from tests.conftest import record_text


@pytest.fixture
def builder(settings: Settings, tmp_path: Path) -> Iterator[Builder]:
    builder = Builder(settings, None, write=False, store=Store(tmp_path / "store"))
    yield builder
    builder.close()


def rebuild(builder: Builder) -> Snapshot:
    assert asyncio.run(builder.rebuild())
    assert builder.snapshot is not None
    return builder.snapshot


def published(builder: Builder, previous: Published | None = None) -> Published:
    folder = builder.store.folder
    return load(folder, current(folder), previous)


def loaded(builder: Builder, previous: Published | None = None) -> Snapshot:
    return published(builder, previous).snapshot


def add_record(settings: Settings, name: str, title: str, **fields: Any) -> None:
    (settings.records / name).write_text(
        record_text(title=title, webUrl=f"https://fresh.example/{name}", **fields)
    )


def next_second() -> None:
    """Two builds in different seconds, so their Last-Modified differ."""
    time.sleep(1.01 - time.time() % 1)


def test_a_worker_loads_every_document_and_header_the_builder_serves(builder: Builder) -> None:
    built = rebuild(builder)
    first = published(builder)
    assert first.snapshot.documents == built.documents
    assert first.snapshot.built_at == built.built_at
    assert first.snapshot.stats == built.stats
    assert (first.builds, first.last_error) == (1, None)
    document = first.snapshot.documents["/all.atom"]
    assert document.gzip is not None
    assert document.browser is not None
    assert Path(document.blob).read_bytes() == Path(built.documents["/all.atom"].blob).read_bytes()


def delta(builder: Builder) -> dict[str, Any]:
    folder = builder.store.folder
    data: dict[str, Any] = json.loads(
        (folder / current(folder).replace("index-", "delta-")).read_bytes()
    )
    return data


def test_a_rebuild_hands_over_only_the_documents_that_changed(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    first = published(builder)
    add_record(settings, "fresh.txt", "Fresh off the press")
    second = rebuild(builder)
    changed = {
        path for path, doc in second.documents.items() if first.snapshot.documents.get(path) != doc
    }
    assert "/all.atom" in changed
    assert "/topics/ai.atom" in changed
    assert "/providers/cobaltwire-example.atom" not in changed
    assert set(delta(builder)["documents"]) == changed
    assert delta(builder)["base"] == first.generation
    reloaded = loaded(builder, first)
    assert reloaded.documents == second.documents
    for path, doc in reloaded.documents.items():
        assert (doc is first.snapshot.documents.get(path)) == (path not in changed), path


@pytest.mark.slow
def test_last_modified_comes_from_the_builder_even_after_a_missed_generation(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    first = published(builder)
    next_second()
    add_record(settings, "one.txt", "First addition")
    rebuild(builder)  # a worker busy elsewhere never loads this generation
    next_second()
    add_record(settings, "two.txt", "Second addition", topics=["Oceans"])
    third = rebuild(builder)
    reloaded = loaded(builder, first)  # not based on what it has: the whole index
    assert reloaded.documents == third.documents
    # Changed in the missed generation only: its time is that generation's, not this one's.
    ai = reloaded.documents["/topics/ai.rss"]
    assert first.snapshot.documents["/topics/ai.rss"].last_modified < ai.last_modified
    assert ai.last_modified < third.built_at.replace(microsecond=0)


def test_a_failed_rebuild_publishes_only_the_stale_status(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    first = published(builder)
    shutil.rmtree(settings.records)
    assert not asyncio.run(builder.rebuild())
    assert delta(builder)["documents"] == {}
    again = published(builder, first)
    assert again.last_error is not None
    assert str(settings.records) in again.last_error
    assert again.builds == 1
    documents = first.snapshot.documents
    assert all(doc is documents[path] for path, doc in again.snapshot.documents.items())


def test_old_generations_are_removed_once_the_grace_period_is_over(
    settings: Settings, tmp_path: Path
) -> None:
    swept = Builder(settings, None, write=False, store=Store(tmp_path / "swept", grace=0))
    rebuild(swept)
    add_record(settings, "fresh.txt", "Fresh off the press")
    rebuild(swept)
    swept.close()
    names = sorted(p.name for p in (tmp_path / "swept").iterdir())
    assert names == [CURRENT, "delta-000002.json", "index-000002.json"]
    assert current(tmp_path / "swept") == "index-000002.json"


def test_a_damaged_generation_is_an_error_naming_file_and_field(builder: Builder) -> None:
    rebuild(builder)
    folder = builder.store.folder
    index_file = folder / current(folder)
    index = json.loads(index_file.read_text())
    blob = Path(index["documents"]["/all.rss"]["blob"])
    index["documents"]["/all.rss"]["size"] += 1
    index_file.write_text(json.dumps(index))
    with pytest.raises(StoreError, match=rf"{blob}: documents\./all\.rss: \d+ bytes where"):
        loaded(builder)
    del index["documents"]["/all.atom"]["digest"]
    index_file.write_text(json.dumps(index))
    with pytest.raises(StoreError, match=r"index-000001\.json: documents\./all\.atom\.digest: "):
        loaded(builder)
    index_file.write_text("{")
    with pytest.raises(StoreError, match=r"index-000001\.json: cannot read the index"):
        loaded(builder)
    (folder / CURRENT).unlink()
    with pytest.raises(StoreError, match="cannot read the current generation"):
        current(folder)


@pytest.mark.slow
def test_a_worker_that_cannot_read_a_build_keeps_the_last_and_says_stale(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    follower = Follower(builder.store.folder)
    assert asyncio.run(follower.refresh())
    first, generation = follower.snapshot, follower.generation
    add_record(settings, "fresh.txt", "Fresh off the press")
    built = rebuild(builder)
    blob = Path(built.documents["/all.atom"].blob)
    body = blob.read_bytes()
    blob.unlink()

    async def follow_briefly() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(follower.follow(), POLL_SECONDS * 3)

    asyncio.run(follow_briefly())
    assert (follower.snapshot, follower.generation) == (first, generation)
    assert follower.last_error is not None
    assert f"{blob}: documents./all.atom: cannot read the document" in follower.last_error
    blob.write_bytes(body)
    asyncio.run(follow_briefly())
    assert follower.last_error is None
    assert follower.snapshot is not None
    assert follower.snapshot.documents == built.documents


def test_blobs_no_build_uses_go_once_the_server_moved_past_them(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(child, "GRACE_SECONDS", 0.0)
    folder = tmp_path / "served"

    def build(generation: int) -> child.Reply:
        request = child.Request(
            settings, folder, tmp_path / "history.json", generation=generation, first=not generation
        )
        reply = child.build(request)
        assert reply.error is None, reply.error
        return reply

    def blobs() -> set[str]:
        return {p.name for p in (folder / child.BLOBS).iterdir() if not p.name.endswith(".gz")}

    first = build(0)
    old = {served.digest for served in first.documents.values()}
    assert blobs() == old
    add_record(settings, "fresh.txt", "Fresh off the press")
    second = build(first.generation)
    kept = {served.digest for served in second.documents.values()}
    replaced = {first.documents[p].digest for p in second.documents if p in first.documents} - kept
    assert replaced
    assert replaced <= blobs()  # the server may still serve the first generation
    add_record(settings, "later.txt", "Later still")
    build(second.generation)  # the server serves the second: the first's blobs can go
    assert not replaced & blobs()
    assert old - replaced <= blobs()
