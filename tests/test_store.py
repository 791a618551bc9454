"""The snapshot store between the builder and the workers, on real files: what a worker loads is
what the builder would serve, document for document and header for header."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from feeds.errors import StoreError
from feeds.serve.follower import POLL_SECONDS, Follower
from feeds.serve.http import Snapshot
from feeds.serve.store import BLOBS, CURRENT, Store, current, load
from feeds.serve.workers import Builder
from feeds.settings import Settings
from tests.conftest import record_text


@pytest.fixture
def builder(settings: Settings, tmp_path: Path) -> Builder:
    return Builder(settings, None, write=False, store=Store(tmp_path / "store"))


def rebuild(builder: Builder) -> Snapshot:
    assert asyncio.run(builder.rebuild())
    assert builder.snapshot is not None
    return builder.snapshot


def loaded(builder: Builder, previous: Snapshot | None = None) -> Snapshot:
    folder = builder.store.folder
    return load(folder, current(folder), previous).snapshot


def add_record(settings: Settings, name: str, title: str, **fields: Any) -> None:
    (settings.records / name).write_text(
        record_text(title=title, webUrl=f"https://fresh.example/{name}", **fields)
    )


def next_second() -> None:
    """Two builds in different seconds, so their Last-Modified differ."""
    time.sleep(1.01 - time.time() % 1)


def test_a_worker_loads_every_document_and_header_the_builder_serves(builder: Builder) -> None:
    built = rebuild(builder)
    published = load(builder.store.folder, current(builder.store.folder), None)
    assert published.snapshot.documents == built.documents
    assert published.snapshot.built_at == built.built_at
    assert published.snapshot.stats == built.stats
    assert (published.builds, published.last_error) == (1, None)
    document = published.snapshot.documents["/all.atom"]
    assert document.gzip is not None
    assert document.browser is not None


def test_a_reload_reads_and_rebuilds_only_the_changed_documents(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    first = loaded(builder)
    add_record(settings, "fresh.txt", "Fresh off the press")
    second = rebuild(builder)
    changed = {path for path, doc in second.documents.items() if first.documents.get(path) != doc}
    assert "/all.atom" in changed
    assert "/topics/ai.atom" in changed
    assert "/providers/cobaltwire-example.atom" not in changed
    # The unchanged documents' bytes are not read again: without their blobs the load still works.
    for path, doc in second.documents.items():
        if path not in changed:
            (builder.store.folder / BLOBS / doc.digest).unlink(missing_ok=True)
    reloaded = loaded(builder, first)
    assert reloaded.documents == second.documents
    for path, doc in reloaded.documents.items():
        assert (doc is first.documents.get(path)) == (path not in changed), path


@pytest.mark.slow
def test_last_modified_comes_from_the_builder_even_after_a_missed_generation(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    first = loaded(builder)
    next_second()
    add_record(settings, "one.txt", "First addition")
    rebuild(builder)  # a worker busy elsewhere never loads this generation
    next_second()
    add_record(settings, "two.txt", "Second addition", topics=["Oceans"])
    third = rebuild(builder)
    reloaded = loaded(builder, first)
    assert reloaded.documents == third.documents
    # Changed in the missed generation only: its time is that generation's, not this one's.
    ai = reloaded.documents["/topics/ai.rss"]
    assert first.documents["/topics/ai.rss"].last_modified < ai.last_modified
    assert ai.last_modified < third.built_at.replace(microsecond=0)


def test_a_failed_rebuild_publishes_only_the_stale_status(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    first = loaded(builder)
    shutil.rmtree(settings.records)
    assert not asyncio.run(builder.rebuild())
    published = load(builder.store.folder, current(builder.store.folder), first)
    assert published.last_error is not None
    assert str(settings.records) in published.last_error
    assert published.builds == 1
    assert all(doc is first.documents[path] for path, doc in published.snapshot.documents.items())


def stored(folder: Path) -> set[str]:
    """The digests in a store's blobs, each with its gzip body when it has one."""
    names = {p.name for p in (folder / BLOBS).iterdir()}
    assert {name.removesuffix(".gz") for name in names if name.endswith(".gz")} <= names
    return {name for name in names if not name.endswith(".gz")}


def test_old_generations_are_removed_once_the_grace_period_is_over(
    settings: Settings, tmp_path: Path
) -> None:
    kept = Builder(settings, None, write=False, store=Store(tmp_path / "kept"))
    swept = Builder(settings, None, write=False, store=Store(tmp_path / "swept", grace=0))
    old = {doc.digest for doc in rebuild(kept).documents.values()}
    rebuild(swept)
    add_record(settings, "fresh.txt", "Fresh off the press")
    new = {doc.digest for doc in rebuild(kept).documents.values()}
    rebuild(swept)
    assert old - new
    assert stored(tmp_path / "kept") == old | new
    assert stored(tmp_path / "swept") == new
    indexes = sorted(p.name for p in (tmp_path / "swept").glob("index-*.json"))
    assert indexes == [current(tmp_path / "swept")] == ["index-000002.json"]


def test_a_damaged_generation_is_an_error_naming_file_and_field(builder: Builder) -> None:
    built = rebuild(builder)
    folder = builder.store.folder
    blob = folder / BLOBS / built.documents["/all.rss"].digest
    blob.write_bytes(b"<rss>something else</rss>")
    with pytest.raises(StoreError, match=r"blobs/.*: documents\./all\.rss: the bytes do not match"):
        loaded(builder)
    blob.write_bytes(built.documents["/all.rss"].identity.body)
    packed = folder / BLOBS / f"{built.documents['/all.atom'].digest}.gz"
    assert built.documents["/all.rss"].gzip is not None
    packed.write_bytes(built.documents["/all.rss"].gzip.body)
    with pytest.raises(StoreError, match=r"\.gz: documents\./all\.atom: the gzip body does not"):
        loaded(builder)
    index_file = folder / current(folder)
    index = json.loads(index_file.read_text())
    del index["documents"]["/all.atom"]["digest"]
    index_file.write_text(json.dumps(index))
    with pytest.raises(StoreError, match=r"index-000001\.json: documents\./all\.atom\.digest: "):
        loaded(builder)
    (folder / CURRENT).unlink()
    with pytest.raises(StoreError, match="cannot read the current generation"):
        current(folder)


def test_blobs_deleted_under_the_builder_are_written_again_for_new_workers(
    builder: Builder, settings: Settings
) -> None:
    rebuild(builder)
    shutil.rmtree(builder.store.folder / BLOBS)
    (builder.store.folder / BLOBS).mkdir()
    add_record(settings, "fresh.txt", "Fresh off the press")
    built = rebuild(builder)
    assert loaded(builder).documents == built.documents


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
    blob = builder.store.folder / BLOBS / built.documents["/all.atom"].digest
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
