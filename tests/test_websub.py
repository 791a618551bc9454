"""WebSub pings against real hub endpoints on loopback: the form, retries, timeouts, failures."""

from __future__ import annotations

import time

import pytest

from feeds.publish.websub import link_header, ping
from tests.hub import running_hub, silent_hub
from tests.live import free_port

FEEDS = ["https://example.org/feeds/all.atom", "https://example.org/feeds/topics/ai.rss"]


def test_ping_posts_one_publish_form_per_hub_and_feed() -> None:
    with running_hub() as first, running_hub() as second:
        report = ping([first.url, second.url], FEEDS, timeout=5, retries=0)
    assert [(r.hub, r.url, r.ok) for r in report.results] == [
        (first.url, FEEDS[0], True),
        (first.url, FEEDS[1], True),
        (second.url, FEEDS[0], True),
        (second.url, FEEDS[1], True),
    ]
    for hub in (first, second):
        assert hub.urls() == sorted(FEEDS)
        for received in hub.received:
            assert received.content_type == "application/x-www-form-urlencoded"
            assert received.form["hub.mode"] == ["publish"]
            assert set(received.form) == {"hub.mode", "hub.url"}
    assert report.delivered() == set(FEEDS)


def test_ping_retries_after_503_until_the_hub_accepts() -> None:
    with running_hub(503, 503) as hub:
        report = ping([hub.url], FEEDS[:1], timeout=5, retries=3, backoff=0.05)
    (result,) = report.results
    assert (result.ok, result.attempts, result.reason) == (True, 3, "HTTP 204")
    assert hub.urls() == [FEEDS[0]] * 3


@pytest.mark.slow
def test_ping_gives_up_after_the_retries() -> None:
    with running_hub(500, 429, 502) as hub:
        report = ping([hub.url], FEEDS[:1], timeout=5, retries=2, backoff=0.05)
    (failure,) = report.failures
    assert failure.attempts == 3
    assert failure.reason == "HTTP 502 Bad Gateway (3 attempts)"
    assert report.delivered() == set()


@pytest.mark.slow
def test_ping_does_not_retry_a_client_error() -> None:
    with running_hub(404) as hub:
        report = ping([hub.url], FEEDS[:1], timeout=5, retries=3, backoff=0.05)
    (failure,) = report.failures
    assert (failure.attempts, failure.reason) == (1, "HTTP 404 Not Found")
    assert len(hub.received) == 1


@pytest.mark.slow
def test_a_failure_at_one_hub_keeps_the_feed_undelivered() -> None:
    with running_hub(400) as bad, running_hub() as good:
        report = ping([bad.url, good.url], FEEDS[:1], timeout=5, retries=0)
    assert [r.ok for r in report.results] == [False, True]
    assert report.delivered() == set()


@pytest.mark.slow
def test_ping_times_out_on_a_hub_that_never_answers() -> None:
    with silent_hub() as url:
        started = time.monotonic()
        report = ping([url], FEEDS, timeout=0.5, retries=1, backoff=0.05)
        elapsed = time.monotonic() - started
    assert [(f.ok, f.attempts, f.reason) for f in report.failures] == [
        (False, 2, "timed out after 0.5 s (2 attempts)")
    ] * 2
    assert elapsed < 5


def test_ping_reports_a_refused_connection() -> None:
    url = f"http://127.0.0.1:{free_port()}/hub"
    report = ping([url], FEEDS[:1], timeout=2, retries=1, backoff=0.05)
    (failure,) = report.failures
    assert failure.attempts == 2
    assert failure.reason.startswith("cannot connect: ")
    assert "refused" in failure.reason


def test_nothing_to_ping_sends_nothing() -> None:
    with running_hub() as hub:
        assert ping([hub.url], [], timeout=1).results == ()
    assert hub.received == []


def test_link_header_names_every_hub_then_self() -> None:
    assert link_header(["https://a.example/", "https://b.example/hub"], FEEDS[0]) == (
        '<https://a.example/>; rel="hub", <https://b.example/hub>; rel="hub", '
        f'<{FEEDS[0]}>; rel="self"'
    )
