"""Reading dates as authors write them, and writing them as each format requires."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, tzinfo

from feeds.errors import DateError

# Two defaults that differ in every date field: a value that leaves any of them to the default
# is incomplete ("June 2020"), and dateutil would otherwise fill it from today's date.
_DEFAULT_A = datetime(2000, 1, 1)
_DEFAULT_B = datetime(2001, 2, 2)

EXAMPLE = "2025-03-14T09:30:00Z"
"""A date every reader of records takes: what messages about a date that cannot be read show."""
_WRITE_IT = f"write it like {EXAMPLE}"


def parse_date(value: object, zone: tzinfo) -> datetime:
    """An aware UTC datetime, whole seconds, from a string (or a YAML date/datetime).

    A value with an offset keeps its instant; one without is read in ``zone``; a date alone is
    midnight in ``zone``.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = _parse_text(value.strip())
    else:
        raise DateError(f"expected a date and time, got a {type(value).__name__}; {_WRITE_IT}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC).replace(microsecond=0)
    except OverflowError as e:
        raise DateError(f"date is out of range; {_WRITE_IT}") from e


def _parse_text(text: str) -> datetime:
    if not text:
        raise DateError(f"empty date; {_WRITE_IT}")
    try:
        # ISO 8601, what nearly every record holds: complete by construction, and ten times
        # faster than dateutil's two parses below.
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    # Imported here: the ISO dates above need none of it, nor does a build with nothing to do.
    from dateutil import parser as dateparser

    with warnings.catch_warnings():
        warnings.simplefilter("error", dateparser.UnknownTimezoneWarning)
        try:
            a = dateparser.parse(text, default=_DEFAULT_A)
            b = dateparser.parse(text, default=_DEFAULT_B)
        except dateparser.UnknownTimezoneWarning as e:
            raise DateError(
                f"unknown time zone name in {text[:80]!r}; use an offset, like {EXAMPLE[:-1]}+02:00"
            ) from e
        except (ValueError, OverflowError) as e:
            raise DateError(f"cannot read {text[:80]!r} as a date; {_WRITE_IT}") from e
    if (a.year, a.month, a.day) != (b.year, b.month, b.day):
        raise DateError(
            f"incomplete date {text[:80]!r}: year, month and day are all needed; {_WRITE_IT}"
        )
    return a


# Entries are rendered once per build each, with a date or more apiece: printf-style formats
# write them in half the time of f-strings with a format spec for each field.
_RFC822 = "%s, %02d %s %04d %02d:%02d:%02d +0000"
_RFC3339 = "%04d-%02d-%02dT%02d:%02d:%02dZ"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(moment: datetime) -> str:
    """``Fri, 12 Jun 2020 16:05:00 +0000``, independent of the locale: what
    ``email.utils.format_datetime`` writes for UTC, in a third of its time."""
    m = moment.astimezone(UTC)
    return _RFC822 % (
        _DAYS[m.weekday()],
        m.day,
        _MONTHS[m.month - 1],
        m.year,
        m.hour,
        m.minute,
        m.second,
    )


def rfc3339(moment: datetime) -> str:
    """``2020-06-12T16:05:00Z``."""
    m = moment.astimezone(UTC)
    return _RFC3339 % (m.year, m.month, m.day, m.hour, m.minute, m.second)
