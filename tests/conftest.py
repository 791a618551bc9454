from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from feeds.build import Built, build
from feeds.settings import Settings, parse_settings

if TYPE_CHECKING:
    from tests.s3server import S3Server

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = DATA / "seed" / "000_eab61dff0902df34.txt"
EXAMPLES = ROOT / "records"
BASE_URL = "https://example.org/feeds/"


def make_settings(records: Path, output: Path | None = None, **values: Any) -> Settings:
    data = {
        "title": "Test News",
        "description": "Feeds for the tests",
        "base_url": BASE_URL,
        "site_url": "https://example.org/",
        "author": {"name": "Test Desk", "email": "desk@example.org"},
        **values,
    }
    settings = parse_settings(data, base=records.parent)
    from dataclasses import replace

    return replace(settings, records=records, output=output or records.parent / "output")


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (hidden ones too) and its bytes, by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def example_site(folder: Path, settings: str) -> Path:
    """A copy of the example records in ``folder/records`` and ``settings`` (YAML text) in
    ``folder/settings.yaml``; returns the settings file."""
    shutil.copytree(EXAMPLES, folder / "records")
    path = folder / "settings.yaml"
    path.write_text(settings)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a copy of the example records in ``tmp_path``."""
    records = tmp_path / "records"
    shutil.copytree(EXAMPLES, records)
    return make_settings(records, output=tmp_path / "output", ttl_minutes=15)


@pytest.fixture
def records(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    folder.mkdir()
    return folder


RecordWriter = Callable[..., Path]


def record_text(**fields: Any) -> str:
    """A record file's text in the seed's layout; ``None`` leaves a field out."""
    import yaml

    base: dict[str, Any] = {
        "title": "A title",
        "excerpt": "An excerpt.",
        "publishedDateTime": "2024-05-01T10:00:00Z",
        "webUrl": "https://news.example/a",
        "published": True,
        "provider": {"name": "Example Wire", "domain": "wire.example"},
        "topics": ["AI"],
    }
    base.update(fields)
    base = {k: v for k, v in base.items() if v is not None}
    return "---\n" + yaml.safe_dump(base, allow_unicode=True, sort_keys=False) + "---\n"


@pytest.fixture
def write_record(records: Path) -> RecordWriter:
    counter = iter(range(10_000))

    def write(name: str | None = None, text: str | bytes | None = None, **fields: Any) -> Path:
        path = records / (name or f"r{next(counter):04d}.txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        content = record_text(**fields) if text is None else text
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write


def build_from(records: Path, **values: Any) -> Built:
    return build(make_settings(records, **values))


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real command, in a fresh interpreter, as CI and users run it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        preexec_fn=preexec,
    )


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a loopback port, for the tests of one module."""
    from tests.s3server import running_s3  # it imports this module

    with running_s3(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


def load_corpus() -> Any:
    """bench/corpus.py, the generator of realistic records, as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("corpus", ROOT / "bench" / "corpus.py")
    assert spec is not None
    assert spec.loader is not None
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    return corpus
