from __future__ import annotations

import locale
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from feeds.dates import parse_date, rfc822, rfc3339
from feeds.errors import DateError

PARIS = ZoneInfo("Europe/Paris")


def test_an_offset_keeps_the_same_instant() -> None:
    assert parse_date("2020-06-12T18:05:00+02:00", PARIS) == datetime(
        2020, 6, 12, 16, 5, tzinfo=UTC
    )


def test_a_value_without_zone_is_read_in_the_settings_zone() -> None:
    assert parse_date("2020-06-12 18:05", PARIS) == datetime(2020, 6, 12, 16, 5, tzinfo=UTC)
    assert parse_date("2020-01-12 18:05", PARIS) == datetime(2020, 1, 12, 17, 5, tzinfo=UTC)


def test_a_date_alone_is_midnight_in_the_settings_zone() -> None:
    assert parse_date("2020-06-12", PARIS) == datetime(2020, 6, 11, 22, 0, tzinfo=UTC)
    assert parse_date("2020-06-12", ZoneInfo("UTC")) == datetime(2020, 6, 12, tzinfo=UTC)


def test_yaml_dates_and_datetimes_are_accepted() -> None:
    assert parse_date(date(2020, 6, 12), ZoneInfo("UTC")) == datetime(2020, 6, 12, tzinfo=UTC)
    aware = datetime(2020, 6, 12, 10, tzinfo=UTC)
    assert parse_date(aware, PARIS) == aware


def test_fractions_of_a_second_are_dropped() -> None:
    assert parse_date("2020-06-12T16:05:00.987Z", PARIS).microsecond == 0


@pytest.mark.parametrize("text", ["", "June 2020", "2020", "12:00", "soon", "2020-06-12 10:00 EST"])
def test_incomplete_or_ambiguous_dates_are_errors(text: str) -> None:
    with pytest.raises(DateError):
        parse_date(text, PARIS)


def test_rfc822_and_rfc3339_do_not_depend_on_the_locale() -> None:
    moment = datetime(2020, 6, 12, 16, 5, tzinfo=UTC)
    old = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("de_DE.UTF-8", "fr_FR.UTF-8", "C"):
            try:
                locale.setlocale(locale.LC_TIME, name)
            except locale.Error:
                continue
            assert rfc822(moment) == "Fri, 12 Jun 2020 16:05:00 +0000"
            assert rfc3339(moment) == "2020-06-12T16:05:00Z"
    finally:
        locale.setlocale(locale.LC_TIME, old)
