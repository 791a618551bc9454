"""Screenshots of the example site's index and of one feed's page, at a phone's width (375 px)
and a desktop's (1280 px), opened from disk in headless Chromium with XSLT off.

    python -m tests.screenshots [FOLDER]    # default: docs/screenshots

The example records are built with the example settings into a temporary folder first, so the
screenshots show what the code renders now. Their images live on hosts that do not exist
(``img.northwind.example``): Chromium gets a plain stand-in image for each instead, so the
screenshots show where thumbnails go.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from feeds.build import build
from feeds.settings import load_settings
from feeds.writing import write_output
from tests.chromium import NO_XSLT, Call, devtools, open_at, screenshot
from tests.conftest import ROOT

# The feed of every entry: the example's only feed with older entries in archive pages.
PAGES = {"index": "index.html", "feed": "all.html"}
WIDTHS = (375, 1280)


def stand_in(page: Call, event: dict[str, Any]) -> None:
    """Answer every request for an image on the web with a plain image of its own colour."""
    if event.get("method") != "Fetch.requestPaused":
        return
    request = event["params"]
    hue = int(hashlib.sha256(request["request"]["url"].encode()).hexdigest()[:4], 16) % 360
    image = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='600' height='400'>"
        f"<rect width='600' height='400' fill='hsl({hue} 45% 62%)'/>"
        "<circle cx='430' cy='130' r='60' fill='hsl(50 90% 85%)'/>"
        f"<path d='M0 400 L200 190 L330 320 L420 240 L600 400 Z' fill='hsl({hue} 40% 35%)'/></svg>"
    )
    page(
        "Fetch.fulfillRequest",
        requestId=request["requestId"],
        responseCode=200,
        responseHeaders=[{"name": "Content-Type", "value": "image/svg+xml"}],
        body=base64.b64encode(image.encode()).decode(),
    )


def take(folder: Path) -> list[Path]:
    """Every screenshot, written into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        settings = replace(load_settings(ROOT / "settings.yaml"), output=work / "output")
        write_output(settings.output, build(settings).files)
        with devtools(work / "profile", NO_XSLT, listener=stand_in) as page:
            page("Fetch.enable", patterns=[{"urlPattern": "http*", "resourceType": "Image"}])
            for name, path in PAGES.items():
                for width in WIDTHS:
                    open_at(page, (settings.output / path).as_uri(), width)
                    shot = folder / f"{name}-{width}.png"
                    screenshot(page, shot)
                    shots.append(shot)
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "docs" / "screenshots")
    for shot in take(parser.parse_args().folder):
        print(shot)


if __name__ == "__main__":
    main()
