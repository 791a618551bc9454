"""WebSub publishing: tell each hub which feeds changed, so subscribers are pushed, not polling.

One POST per (hub, feed) with ``hub.mode=publish`` and ``hub.url=<feed URL>``; the hub then
fetches the feed itself. Only the standard library, so a ping adds no dependency.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

from feeds import GENERATOR

BACKOFF_SECONDS = 0.5
MAX_THREADS = 8
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class PingResult:
    hub: str
    url: str
    ok: bool
    attempts: int
    reason: str
    """What the hub answered (``HTTP 204``) or why no answer came (``timed out after 10 s``)."""


@dataclass(frozen=True, slots=True)
class PingReport:
    """Every (hub, feed) ping, in the order hubs and feeds were given."""

    results: tuple[PingResult, ...]

    @property
    def failures(self) -> tuple[PingResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def delivered(self) -> set[str]:
        """Feed URLs every hub accepted."""
        failed = {r.url for r in self.failures}
        return {r.url for r in self.results if r.url not in failed}


def ping(
    hubs: Sequence[str],
    urls: Sequence[str],
    timeout: float = 10,
    retries: int = 3,
    *,
    backoff: float = BACKOFF_SECONDS,
) -> PingReport:
    """Notify every hub of every feed URL, several requests at a time.

    A 2xx answer is a success. 5xx, 429, connection errors and timeouts are tried again up to
    ``retries`` times, waiting ``backoff``, then twice that, and so on; other answers are final.
    ``timeout`` bounds the connection and each read.
    """
    pairs = [(hub, url) for hub in hubs for url in urls]
    if not pairs:
        return PingReport(())
    with ThreadPoolExecutor(min(MAX_THREADS, len(pairs))) as pool:
        results = pool.map(lambda p: _publish(p[0], p[1], timeout, retries, backoff), pairs)
        return PingReport(tuple(results))


def _publish(hub: str, url: str, timeout: float, retries: int, backoff: float) -> PingResult:
    body = urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
    attempt = 0
    while True:
        attempt += 1
        request = urllib.request.Request(
            hub,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": GENERATOR,
            },
        )
        retry_after: float | None = None
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                response.read(65536)
                status = response.status
            if 200 <= status < 300:
                return PingResult(hub, url, True, attempt, f"HTTP {status}")
            reason, retry = f"HTTP {status}", False
        except urllib.error.HTTPError as e:
            e.close()
            reason, retry = f"HTTP {e.code} {e.reason}".rstrip(), e.code in _RETRY_STATUS
            retry_after = _seconds(e.headers.get("Retry-After"))
        except TimeoutError:
            reason, retry = f"timed out after {timeout:g} s", True
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                reason = f"timed out after {timeout:g} s"
            else:
                reason = f"cannot connect: {e.reason}"
            retry = True
        except (OSError, http.client.HTTPException) as e:
            reason, retry = f"connection failed: {e or type(e).__name__}", True
        if not retry or attempt > retries:
            tries = f" ({attempt} attempts)" if attempt > 1 else ""
            return PingResult(hub, url, False, attempt, reason + tries)
        wait = backoff * 2 ** (attempt - 1)
        # A hub may ask for a longer pause, but a ping never waits longer than its timeout.
        time.sleep(min(max(wait, retry_after or 0), max(wait, timeout)))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff is used instead


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A hub that redirects a publish POST is misconfigured; following it would resend as GET."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def link_header(hubs: Sequence[str], self_url: str) -> str:
    """The ``Link`` header that lets a subscriber discover the hubs without parsing the feed."""
    return ", ".join([*(f'<{hub}>; rel="hub"' for hub in hubs), f'<{self_url}>; rel="self"'])
