"""Builds stopped at any instant: the next build's output equals a cold build's, byte for byte.

Real builds in subprocesses, killed at seeded instants (SIGKILL of the main process or of its
whole process group, SIGINT as Ctrl-C sends it), or stopped by a file size limit (how a full
disk looks to a process that is not root) and, as root, by a full tmpfs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from feeds.writing import JOURNAL, MANIFEST, TEMP_MARK
from tests import faults
from tests.conftest import load_corpus

corpus = load_corpus()
SEED = 20261130


def fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for rel, data in sorted(faults.tree(folder).items()):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


class Site:
    """A site whose records change between builds, with cold builds of each version kept."""

    def __init__(self, root: Path, count: int = 200) -> None:
        self.root = root
        self.settings = faults.site(root / "site")
        self.records = root / "site" / "records"
        self.out = root / "site" / "out"
        corpus.generate(self.records, count, seed=1)
        self.pool = root / "pool"
        corpus.generate(self.pool, 60, seed=2)
        self._cold: dict[str, dict[str, bytes]] = {}

    def cold(self) -> dict[str, bytes]:
        key = fingerprint(self.records)
        if key not in self._cold:
            self._cold[key] = faults.cold(self.records, self.settings, self.root / "cold")
        return self._cold[key]

    def mutate(self, rng: random.Random) -> None:
        """Edit, delete and add a few records (titles and dates move entries across pages)."""
        files = sorted(self.records.rglob("*.txt"))
        for path in rng.sample(files, 5):
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace('title: "', f'title: "Edited {rng.random():.6f} ', 1))
        for path in rng.sample(files, 3):
            path.unlink(missing_ok=True)
        for path in rng.sample(sorted(self.pool.rglob("*.txt")), 4):
            target = self.records / "added" / f"{rng.randrange(10**9)}.txt"
            target.parent.mkdir(exist_ok=True)
            shutil.copy(path, target)

    def snapshot(self, into: Path) -> None:
        if into.exists():
            shutil.rmtree(into)
        shutil.copytree(self.records, into)

    def restore(self, source: Path) -> None:
        shutil.rmtree(self.records)
        shutil.copytree(source, self.records)


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in faults.children(pending.pop()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def kill_at(process: subprocess.Popen[str], site: Site, how: str, delay: float) -> set[int]:
    """Stop ``process`` as ``how`` says: after ``delay`` seconds, or the instant the journal
    appears or the manifest is replaced. Returns the processes it had started."""
    manifest = site.out / MANIFEST
    before = manifest.stat().st_ino if manifest.exists() else None
    deadline = time.monotonic() + delay
    family: set[int] = set()
    while process.poll() is None:
        family |= descendants(process.pid)
        if how == "journal" and (site.out / JOURNAL).exists():
            break
        if how == "manifest" and manifest.exists() and manifest.stat().st_ino != before:
            break
        if how not in ("journal", "manifest") and time.monotonic() >= deadline:
            break
        time.sleep(0.001)
    with contextlib.suppress(ProcessLookupError):  # it may have finished first
        if how == "group":
            os.killpg(process.pid, signal.SIGKILL)
        elif how == "interrupt":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.kill()
    process.wait(timeout=60)
    return family


def assert_no_stray_files(out: Path) -> None:
    stray = [p for p in out.rglob("*") if TEMP_MARK in p.name or p.name == JOURNAL]
    assert stray == []


def assert_all_gone(pids: set[int], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(faults.alive(pid) for pid in pids):
            return
        time.sleep(0.05)
    left = [pid for pid in pids if faults.alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"worker processes outlived the build by {within} s: {left}")


@pytest.mark.slow
def test_a_build_killed_at_any_instant_is_repaired_by_the_next_build(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    site = Site(tmp_path)
    first = faults.run_build(site.settings)
    assert first.returncode == 0, first.stderr
    assert faults.tree(site.out) == site.cold()
    started = time.monotonic()
    site.mutate(rng)
    timing = faults.run_build(site.settings)
    full = time.monotonic() - started
    assert timing.returncode == 0, timing.stderr
    ways = ["main", "group", "interrupt", "journal", "manifest"]
    for round_ in range(10):
        how = ways[round_ % len(ways)]
        site.snapshot(tmp_path / "before")
        site.mutate(rng)
        family = kill_at(faults.start_build(site.settings), site, how, rng.uniform(0, full))
        assert_all_gone(family)
        if rng.random() < 0.5:  # the records go back to what the output held before
            site.restore(tmp_path / "before")
        again = faults.run_build(site.settings)
        assert again.returncode == 0, (how, again.stderr)
        assert "Traceback" not in again.stderr
        assert faults.tree(site.out) == site.cold(), how
        assert_no_stray_files(site.out)


@pytest.mark.slow
def test_workers_exit_when_the_build_is_killed(tmp_path: Path) -> None:
    # Above build.PARALLEL_MIN files, records are read by a pool of worker processes.
    settings = faults.site(tmp_path)
    corpus.generate(tmp_path / "records", 1800, seed=3)
    build = faults.start_build(settings, "--no-cache")
    family: set[int] = set()
    deadline = time.monotonic() + 60
    while not family and build.poll() is None and time.monotonic() < deadline:
        family = descendants(build.pid)
        time.sleep(0.01)
    assert family, "the build started no worker process"
    time.sleep(0.2)
    family |= descendants(build.pid)
    build.kill()
    build.wait(timeout=30)
    assert_all_gone(family)


@pytest.mark.slow
def test_clean_removes_what_a_killed_build_left(tmp_path: Path) -> None:
    site = Site(tmp_path, count=120)
    (site.out).mkdir()
    (site.out / "mine.txt").write_text("the user's own file")
    assert faults.run_build(site.settings).returncode == 0
    site.mutate(random.Random(SEED))
    kill_at(faults.start_build(site.settings), site, "manifest", 0)
    done = subprocess.run(
        [*faults.command(site.settings)[:3], "clean", "--settings", str(site.settings)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert faults.tree(site.out) == {"mine.txt": b"the user's own file"}


@pytest.mark.slow
def test_a_second_build_at_once_is_refused_and_harms_nothing(tmp_path: Path) -> None:
    site = Site(tmp_path, count=150)
    # The first build is stopped while it holds the output folder (its journal is there), so
    # that the second finds it busy whatever the speed of either: 150 records take a moment.
    for _ in range(20):
        first = faults.start_build(site.settings)
        while not (site.out / JOURNAL).exists() and first.poll() is None:
            time.sleep(0.001)
        os.killpg(first.pid, signal.SIGSTOP)
        if (site.out / JOURNAL).exists():
            break
        os.killpg(first.pid, signal.SIGCONT)  # it was done already: again, from nothing
        assert first.wait(timeout=120) == 0
        shutil.rmtree(site.out, ignore_errors=True)
        shutil.rmtree(site.out.parent / ".feeds-cache", ignore_errors=True)
    else:
        pytest.fail("the first build was never caught writing")
    try:
        second = faults.run_build(site.settings)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert first.wait(timeout=120) == 0
    assert second.returncode == 3
    assert "is being written by another feeds process" in second.stderr
    assert "Traceback" not in second.stderr
    assert faults.tree(site.out) == site.cold()


@pytest.mark.slow
def test_a_full_disk_keeps_the_previous_output_then_the_next_build_succeeds(
    tmp_path: Path,
) -> None:
    site = Site(tmp_path, count=120)
    assert faults.run_build(site.settings).returncode == 0
    before = faults.tree(site.out)
    site.mutate(random.Random(SEED))
    # Larger files than this cannot be written: the cache's database and the biggest feeds.
    full = faults.run_build(site.settings, preexec=faults.file_size_limit(12_000))
    assert full.returncode == 3, full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("feeds: error:")]
    assert len(errors) == 1, full.stderr
    assert "File too large" in errors[0]
    assert str(site.out) in errors[0]
    assert TEMP_MARK not in errors[0]
    assert "Traceback" not in full.stderr
    assert faults.tree(site.out) == before
    again = faults.run_build(site.settings)
    assert again.returncode == 0, again.stderr
    assert faults.tree(site.out) == site.cold()


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_tmpfs_keeps_the_previous_output_then_the_next_build_succeeds(
    tmp_path: Path,
) -> None:
    site = Site(tmp_path, count=100)
    disk = tmp_path / "site" / "out"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)])
    if mounted.returncode != 0:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        assert faults.run_build(site.settings).returncode == 0
        before = faults.tree(site.out)
        for path in sorted((tmp_path / "pool").rglob("*.txt")):  # a bigger site
            shutil.copy(path, site.records / f"more-{path.name}")
        full = faults.run_build(site.settings)
        assert full.returncode == 3, full.stderr
        assert "No space left on device" in full.stderr
        assert len(full.stderr.strip().splitlines()) == 1, full.stderr
        assert faults.tree(site.out) == before
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        again = faults.run_build(site.settings)
        assert again.returncode == 0, again.stderr
        assert faults.tree(site.out) == site.cold()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
