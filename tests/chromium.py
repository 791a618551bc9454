"""Debian's headless Chromium, run once (``chromium()``) or driven over the DevTools protocol
(``devtools()``): for tests/test_browser.py and the screenshots (tests/screenshots.py)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What Chrome is moving to (XSLT off by default from version 158): the pages must not need it.
NO_XSLT = "--disable-features=XSLT"
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


Call = Callable[..., dict[str, Any]]


Listener = Callable[[Call, dict[str, Any]], None]


@contextmanager
def devtools(profile: Path, *args: str, listener: Listener | None = None) -> Iterator[Call]:
    """A headless Chromium driven over the DevTools protocol: ``call(method, **params)``.

    Events that arrive meanwhile go to ``listener``, which may call methods in turn.
    """
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [
            CHROMIUM,
            *_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            *args,
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None) as socket:
            ids = iter(range(1, 1_000_000))
            answers: dict[int, dict[str, Any]] = {}

            def call(method: str, **params: Any) -> dict[str, Any]:
                n = next(ids)
                socket.send(json.dumps({"id": n, "method": method, "params": params}))
                # A listener's own calls may read this call's answer: it is kept for it.
                while n not in answers:
                    message = json.loads(socket.recv(timeout=30))
                    if "id" in message:
                        answers[message["id"]] = message
                    elif listener is not None:
                        listener(call, message)
                message = answers.pop(n)
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result

            yield call
    finally:
        process.terminate()
        process.wait(timeout=10)


def evaluate(page: Call, expression: str, *, gesture: bool = False) -> Any:
    """The value of ``expression`` in the page; ``gesture`` runs it as if the user acted."""
    result = page(
        "Runtime.evaluate",
        expression=expression,
        awaitPromise=True,
        returnByValue=True,
        userGesture=gesture,
    )
    assert "exceptionDetails" not in result, result
    return result["result"].get("value")


def wait_for(page: Call, condition: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not evaluate(page, condition):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {condition}"
        time.sleep(0.1)


def open_at(page: Call, url: str, width: int) -> None:
    """Load ``url`` in a viewport ``width`` CSS pixels wide (a phone's when narrow)."""
    page(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=800,
        deviceScaleFactor=1,
        mobile=width < 600,
    )
    page("Page.navigate", url=url)
    wait_for(page, f"document.readyState === 'complete' && location.href === {json.dumps(url)}")


def overflow(page: Call) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no sideways scroll)."""
    value: int = evaluate(
        page, "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return value


def screenshot(page: Call, path: Path) -> None:
    """The whole page, as tall as it is, as a PNG at ``path``, every image loaded."""
    height = evaluate(page, "document.documentElement.scrollHeight")
    width = evaluate(page, "document.documentElement.clientWidth")
    page(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=width < 600,
    )
    evaluate(page, "for (const image of document.images) image.loading = 'eager'")
    wait_for(page, "Array.from(document.images).every((image) => image.complete)")
    shot = page(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
    )
    path.write_bytes(base64.b64decode(shot["data"]))
