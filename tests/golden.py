"""Golden files: the seed record's feeds in tests/data/golden/seed (and seed-hubs), the example
records' in tests/data/golden/examples.

Regenerate after an intended change with ``make golden`` (``python -m tests.golden``), then
read the diff: it shows exactly what changed for readers. The examples' golden files live here
rather than in output/ because ``make build`` rewrites output/ from whatever the code does now.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from feeds.build import build
from feeds.settings import Settings, load_settings
from feeds.writing import write_output
from tests.conftest import DATA, ROOT, SEED, make_settings

GOLDEN = DATA / "golden"


def cases() -> dict[str, Settings]:
    return {
        "seed": make_settings(SEED.parent, output=GOLDEN / "seed"),
        # The same feeds advertising WebSub hubs: only the hub links differ from "seed".
        "seed-hubs": make_settings(
            SEED.parent,
            output=GOLDEN / "seed-hubs",
            hubs=["https://hub.example.net/", "https://push.example.com/websub?a=1&b=2"],
        ),
        "examples": replace(load_settings(ROOT / "settings.yaml"), output=GOLDEN / "examples"),
    }


def golden_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def main() -> None:
    for name, settings in cases().items():
        report = write_output(settings.output, build(settings).files)
        print(
            f"{name}: {len(report.written)} written, {len(report.removed)} removed, in {settings.output}"
        )


if __name__ == "__main__":
    main()
