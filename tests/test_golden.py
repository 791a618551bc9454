"""The feeds of the seed record and of the example records, byte for byte (see tests/golden.py)."""

from __future__ import annotations

import pytest

from feeds.build import Build, build
from tests.golden import cases, golden_files

CASES = cases()
_BUILDS: dict[str, Build] = {}


def built(case: str) -> Build:
    if case not in _BUILDS:
        _BUILDS[case] = build(CASES[case])
    return _BUILDS[case]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_file_set_is_complete(case: str) -> None:
    expected = sorted(golden_files(CASES[case].output))
    assert sorted(built(case).files) == expected, "run `make golden` and review the diff"


@pytest.mark.parametrize(
    ("case", "path"),
    [(case, path) for case in sorted(CASES) for path in sorted(golden_files(CASES[case].output))],
)
def test_golden_file_matches(case: str, path: str) -> None:
    golden = golden_files(CASES[case].output)[path].decode()
    assert built(case).files[path].decode() == golden, "run `make golden` and review the diff"


def test_seed_golden_covers_every_format() -> None:
    assert {
        "all.rss",
        "all.atom",
        "all.json",
        "topics/computer-vision.rss",
        "index.html",
        "feeds.opml",
    } <= set(golden_files(CASES["seed"].output))
