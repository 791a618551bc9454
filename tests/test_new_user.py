"""A new user's first minutes, as the README tells them: its own-site quick start, run as
written in a shell, then the site served by `feeds serve` and opened in headless Chromium with
XSLT off, over HTTP and from disk."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, NO_XSLT, devtools, evaluate, open_at, overflow
from tests.live import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TITLE = "Example: the first entry of your own feeds"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.external,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser)"),
]


def quick_start() -> list[str]:
    """The commands of the README's "your own site" quick start, comments left out."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start: your own site", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"\n\n((?:    .*\n)+)", section)
    assert block is not None, "the quick start has no indented command block"
    commands = [line[4:].split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [command for command in commands if command]


def test_the_readme_quick_start_builds_a_site_of_ones_own(tmp_path: Path) -> None:
    commands = quick_start()
    assert commands[0].startswith("feeds init"), commands
    serve = [c for c in commands if c.startswith("feeds serve")]
    assert serve == ["feeds serve"], "the quick start serves its site with `feeds serve`"
    # Every command up to the server, in one shell, with feeds on PATH as after the install.
    script = " && ".join(commands[: commands.index("feeds serve")])
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["sh", "-c", f"{script} && pwd"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    site = Path(done.stdout.strip().splitlines()[-1])
    assert (site / "output" / "index.html").is_file()

    # `feeds serve` as the README says, on a port of this test's own.
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "feeds", "serve", "--port", str(port), "--no-watch"],
            cwd=site,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(server, lambda: urllib.request.urlopen(url + "healthz", timeout=5), log)
        with devtools(tmp_path / "profile", NO_XSLT) as page:
            page("Page.enable")
            # Served, the addresses are the server's own; from disk, those `feeds build` gave
            # without a base_url (the one `feeds serve` uses by default).
            disk = (site / "output" / "index.html").as_uri()
            for start, address in ((url, url), (disk, "http://127.0.0.1:8000/")):
                open_at(page, start, 375)
                assert overflow(page) == 0
                text = evaluate(page, "document.body.innerText")
                assert EXAMPLE_TITLE in text, text[:500]
                # From the index to the feed of every entry, and its entry, in the browser.
                feed = evaluate(
                    page, "Array.from(document.links).find(a => /all\\.html$/.test(a.href)).href"
                )
                open_at(page, feed, 375)
                text = evaluate(page, "document.body.innerText")
                assert EXAMPLE_TITLE in text, text[:500]
                assert f"{address}all.atom" in text, text[:1000]
    finally:
        stop(server)
