"""A publish killed at any instant (SIGKILL of the real ``feeds publish``) and then a publish of
any build: the destination ends up equal to that build, byte for byte, with no temp files.

The kills are seeded. The child below runs the real command with ``os.replace`` wrapped (every
file feeds puts in a folder goes there by a rename, the publish manifest included) and SIGKILLs
itself at its Nth rename, before it (a temp file stays) or after it: deterministic points. Or it
starts a timer at its first rename and SIGKILLs itself when it fires: a seeded random instant
while the publish writes (in a file, between files, while deleting, in the manifest)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from feeds.publish.plan import PUBLISHED
from feeds.writing import listed_files
from tests.conftest import EXAMPLES, ROOT, record_text, run_cli

LUNAR = "002_lunar-relay-satellite.txt"  # the only record of the topic "Space"

# argv: N, then "before" or "after" (kill at the Nth rename) or "timer" and SECONDS (kill that
# long after the Nth rename), then the feeds arguments. At a normal exit it prints how long it
# wrote, from its first rename: what the timer's seconds are drawn from.
KILL_AT_RENAME = """
import atexit, os, signal, sys, threading, time
count, when = int(sys.argv[1]), sys.argv[2]
seconds = float(sys.argv.pop(3)) if when == "timer" else 0.0
real, lock, seen, first = os.replace, threading.Lock(), [0], []

def kill():
    os.kill(os.getpid(), signal.SIGKILL)

def replace(src, dst, *args, **kwargs):
    with lock:
        seen[0] += 1
        if not first:
            first.append(time.monotonic())
        hit = seen[0] == count
        if hit and when == "timer":
            timer = threading.Timer(seconds, kill)
            timer.daemon = True  # a publish that finishes first exits
            timer.start()
        if hit and when == "before":
            kill()
        real(src, dst, *args, **kwargs)
        if hit and when == "after":
            kill()

def report():
    if first:
        print(f"wrote for {time.monotonic() - first[0]}", file=sys.stderr)

atexit.register(report)
os.replace = replace
from feeds.cli import main
sys.exit(main(sys.argv[3:]))
"""


@dataclass(frozen=True)
class Version:
    """One build of the example site: its settings file and its output folder."""

    name: str
    settings: Path
    output: Path

    def files(self) -> dict[str, bytes]:
        return {path: (self.output / path).read_bytes() for path in listed_files(self.output)}

    def args(self, dest: Path, *more: str) -> list[str]:
        return ["publish", str(dest), "--settings", str(self.settings), *more]


def make_version(root: Path, name: str, records: Path, title: str) -> Version:
    text = (ROOT / "settings.yaml").read_text()
    text = text.replace("title: Example News\n", f"title: {title}\n", 1)
    text = text.replace("records: records\n", f"records: {records}\n", 1)
    text = text.replace("output: output\n", f"output: {root / name}\n", 1)
    settings = root / f"{name}.yaml"
    settings.write_text(text)
    built = run_cli("build", "--settings", str(settings), "--no-cache", "-q")
    assert built.returncode == 0, built.stderr
    return Version(name, settings, root / name)


def extra_records(folder: Path, count: int) -> None:
    """More records, so that a publish has a few hundred files and lasts long enough to be
    killed in the middle at a random instant."""
    topics = ["AI", "Climate", "Energy", "Software"]
    for n in range(count):
        (folder / f"2{n:03d}_extra.txt").write_text(
            record_text(
                title=f"Extra story {n}",
                webUrl=f"https://news.example/extra/{n}",
                publishedDateTime=f"2024-0{1 + n % 9}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                topics=[topics[n % len(topics)]],
                provider={"name": f"Wire {n % 5}", "domain": f"wire{n % 5}.example"},
            )
        )


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Version]:
    """v1: the examples and more; v2: every document changed (another title); v3: another set
    of files (a topic gone, a topic new)."""
    root = tmp_path_factory.mktemp("versions")
    records = root / "records"
    shutil.copytree(EXAMPLES, records)
    extra_records(records, 40)
    changed = root / "records3"
    shutil.copytree(records, changed)
    (changed / LUNAR).unlink()
    (changed / "100_tide.txt").write_text(
        record_text(title="Tide gauges", webUrl="https://news.example/tide", topics=["Tides"])
    )
    built = {
        "v1": make_version(root, "v1", records, "Example News"),
        "v2": make_version(root, "v2", records, "Example News Two"),
        "v3": make_version(root, "v3", changed, "Example News Three"),
    }
    v1, v2, v3 = (built[k].files() for k in ("v1", "v2", "v3"))
    assert set(v1) == set(v2)
    assert all(v1[p] != v2[p] for p in v1)
    assert set(v3) - set(v1)
    assert set(v1) - set(v3)
    return built


def publish(version: Version, dest: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*version.args(dest, *args))


def publish_killed_at_rename(
    version: Version, dest: Path, count: int, when: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return killable(version, dest, [str(count), when], args)


def publish_killed_at_instant(
    version: Version, dest: Path, seconds: float, *args: str
) -> subprocess.CompletedProcess[str]:
    """Publish, SIGKILLed ``seconds`` after its first rename (unless it finished before)."""
    return killable(version, dest, ["1", "timer", str(seconds)], args)


def killable(
    version: Version, dest: Path, kill: list[str], args: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KILL_AT_RENAME, *kill, *version.args(dest, *args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def tree(dest: Path) -> dict[str, bytes]:
    """Every file in ``dest`` but the publish manifest (hidden ones included)."""
    found = {}
    for parent, _, names in os.walk(dest):
        for name in names:
            path = (Path(parent) / name).relative_to(dest).as_posix()
            if path != PUBLISHED:
                found[path] = (Path(parent) / name).read_bytes()
    return found


def folders(dest: Path) -> set[str]:
    return {
        (Path(parent) / name).relative_to(dest).as_posix()
        for parent, names, _ in os.walk(dest)
        for name in names
    }


def assert_holds_exactly(dest: Path, version: Version) -> None:
    """``dest`` is ``version``'s build: the same files, the same bytes, no temp files, and no
    folder that the build has not."""
    files = version.files()
    held = tree(dest)
    assert sorted(set(held) - set(files)) == []
    assert sorted(p for p in files if held.get(p) != files[p]) == []
    wanted = {parent.as_posix() for p in files for parent in Path(p).parents if parent.name}
    assert folders(dest) == wanted


@pytest.mark.slow
def test_publish_after_killed_publish_restores_older_build(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    dest = tmp_path / "www"
    assert publish(v1, dest).returncode == 0
    killed = publish_killed_at_rename(v2, dest, 40, "after")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    v2_files = v2.files()
    assert any(tree(dest).get(p) == v2_files[p] for p in v2_files)

    again = publish(v1, dest)
    assert again.returncode == 0, again.stderr
    assert_holds_exactly(dest, v1)
    assert publish(v1, dest).stdout.startswith(f"feeds publish: 0 uploaded, {len(v1.files())} ")


@pytest.mark.slow
def test_a_temp_file_left_by_a_killed_publish_is_removed_by_the_next(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    dest = tmp_path / "www"
    assert publish(v1, dest).returncode == 0
    killed = publish_killed_at_rename(v2, dest, 10, "before")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert set(tree(dest)) - set(v1.files()), "the kill left no temp file"

    again = publish(v2, dest)
    assert again.returncode == 0, again.stderr
    assert_holds_exactly(dest, v2)


def test_a_publish_killed_during_the_first_publish_into_a_folder_converges(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    v1, v3 = versions["v1"], versions["v3"]
    dest = tmp_path / "www"
    # Killed before the OPMLs and the index: the new topic's feeds are there.
    killed = publish_killed_at_rename(v3, dest, len(v3.files()) - 5, "after")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (dest / "topics" / "tides.rss").is_file()
    again = publish(v1, dest, "--delete")
    assert again.returncode == 0, again.stderr
    assert_holds_exactly(dest, v1)


@pytest.mark.slow
def test_fetch_waits_for_a_publish_that_finishes(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    dest = tmp_path / "www"
    assert publish(v1, dest).returncode == 0
    assert publish_killed_at_rename(v2, dest, 30, "after").returncode == -signal.SIGKILL
    fetched = run_cli("fetch", str(dest), str(tmp_path / "copy"))
    assert fetched.returncode == 3
    assert fetched.stderr.startswith("feeds: error: ")
    assert "the last publish did not finish; publish again, then fetch" in fetched.stderr

    assert publish(v2, dest).returncode == 0
    fetched = run_cli("fetch", str(dest), str(tmp_path / "copy"))
    assert fetched.returncode == 0, fetched.stderr
    assert {p: (tmp_path / "copy" / p).read_bytes() for p in v2.files()} == v2.files()


@pytest.mark.slow
def test_publishes_killed_at_seeded_renames_converge_to_any_build(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    rng = random.Random(5)
    names = sorted(versions)
    templates = published_templates(versions, tmp_path)
    for run in range(10):
        dest = tmp_path / f"www{run}"
        shutil.copytree(templates[rng.choice(names)], dest, symlinks=True)
        for _ in range(rng.randint(1, 2)):  # a second kill finds the first one's marker
            killed = versions[rng.choice(names)]
            count, when = rng.randint(1, 190), rng.choice(["before", "after"])
            flags = ["--delete"] if rng.random() < 0.5 else []
            publish_killed_at_rename(killed, dest, count, when, *flags)
        target = versions[rng.choice(names)]
        final = publish(target, dest, "--delete")
        assert final.returncode == 0, (run, final.stderr)
        assert_holds_exactly(dest, target)


@pytest.mark.slow
def test_publishes_killed_at_seeded_random_instants_converge_to_any_build(
    versions: dict[str, Version], tmp_path: Path
) -> None:
    rng = random.Random(7)
    names = sorted(versions)
    templates = published_templates(versions, tmp_path)
    shutil.copytree(templates["v1"], tmp_path / "timed", symlinks=True)
    timed = publish_killed_at_instant(versions["v2"], tmp_path / "timed", 1e6)
    assert timed.returncode == 0, timed.stderr
    writing = float(timed.stderr.split("wrote for ")[1])  # the kills fall anywhere in this
    for run in range(12):
        dest = tmp_path / f"www{run}"
        start = rng.choice(names)
        shutil.copytree(templates[start], dest, symlinks=True)
        flags = ["--delete"] if rng.random() < 0.5 else []
        killed = versions[rng.choice([n for n in names if n != start])]
        publish_killed_at_instant(killed, dest, rng.uniform(0, 1.1) * writing, *flags)
        target = versions[rng.choice(names)]
        final = publish(target, dest, "--delete")
        assert final.returncode == 0, (run, final.stderr)
        assert_holds_exactly(dest, target)


def published_templates(versions: dict[str, Version], tmp_path: Path) -> dict[str, Path]:
    """A folder holding each version, published by feeds, to copy as a starting point."""
    templates = {}
    for name, version in versions.items():
        templates[name] = tmp_path / f"template-{name}"
        result = publish(version, templates[name])
        assert result.returncode == 0, result.stderr
    return templates
