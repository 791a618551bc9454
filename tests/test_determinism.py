"""Same records and settings, same bytes: whatever the file order, names, mtimes, clock, TZ or locale."""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

from tests.conftest import EXAMPLES, SEED, run_cli, tree


def shuffled_copy(source: Path, target: Path, seed: int) -> None:
    """Every record under a new random name and folder, with a random mtime."""
    rng = random.Random(seed)
    files = [p for p in sorted(source.rglob("*")) if p.is_file()] + [SEED]
    rng.shuffle(files)
    for n, path in enumerate(files):
        folder = target / rng.choice(["", "a", "b/c"])
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / f"{rng.randrange(10**9):09d}-{n}{path.suffix}"
        shutil.copyfile(path, copy)
        stamp = rng.randrange(10**9)
        os.utime(copy, (stamp, stamp))


def build(tmp_path: Path, records: Path, name: str, env: dict[str, str]) -> dict[str, bytes]:
    out = tmp_path / name
    result = run_cli(
        "build",
        "--settings",
        "settings.yaml",
        "--records",
        str(records),
        "--output",
        str(out),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return tree(out)


def test_shuffled_renamed_input_under_two_time_zones_and_locales_gives_identical_bytes(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    shuffled_copy(EXAMPLES, first, seed=1)
    shuffled_copy(EXAMPLES, second, seed=2)
    a = build(
        tmp_path, first, "a", {"TZ": "Pacific/Auckland", "LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8"}
    )
    b = build(tmp_path, second, "b", {"TZ": "America/Los_Angeles", "LC_ALL": "C", "LANG": "C"})
    assert a.keys() == b.keys()
    for path in a:
        assert a[path] == b[path], path


def test_two_builds_of_the_same_input_are_identical(tmp_path: Path) -> None:
    env = {"TZ": "UTC"}
    assert build(tmp_path, EXAMPLES, "one", env) == build(tmp_path, EXAMPLES, "two", env)


def test_no_date_in_the_output_comes_from_the_clock(tmp_path: Path) -> None:
    # The examples are dated 2024-2025; a build-time date (feedgen's default) would show up as
    # the year the test runs.
    out = build(tmp_path, EXAMPLES, "clock", {"TZ": "UTC"})
    text = b"".join(out.values()).decode()
    years = set(re.findall(r"\b(\d{4})-\d\d-\d\dT", text))
    years |= set(re.findall(r", \d\d \w{3} (\d{4}) ", text))
    assert years == {"2024", "2025"}
