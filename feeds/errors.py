"""Every error feeds raises on purpose, and the warnings it gives: each carries enough context
(the file, the field or key, the reason) to be acted on.

    FeedsError
      SettingsError      the settings cannot be used; nothing is built            (exit 2)
      RecordError        one record cannot be published; the others are           (exit 1)
      DateError          a date that cannot be read (a RecordError or a SettingsError names it)
      WriteError         the output folder could not be written; the previous one is kept (exit 3)
      CacheError         the build cache cannot be used; the build goes without it (a warning)
      UnreadableError    an output folder or document that cannot be read back (feeds diff)
      DestinationError   a publish destination cannot be read or written           (exit 3)
      Refused            a publish would replace what is not this site's           (exit 2)
      StoreError         a build handed to serving workers cannot be read; they keep theirs
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class FeedsError(Exception):
    """Base class of every error this package raises on purpose."""


class SettingsError(FeedsError):
    """The settings cannot be used; nothing is built or written."""

    def __init__(self, source: str, key: str, value: object, expected: str) -> None:
        self.source = source
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(f"{source}: {key}: {expected} (got {short_repr(value)})")


class RecordError(FeedsError):
    """One record cannot be published; every other record still is."""

    def __init__(self, path: str, field: str, reason: str) -> None:
        self.path = path
        self.field = field
        self.reason = reason
        super().__init__(f"{path}: {field}: {reason}")


class WriteError(FeedsError):
    """The output folder could not be written."""


class CacheError(FeedsError):
    """The build cache cannot be used (damaged, unwritable, full); the build goes without it."""


class DateError(FeedsError, ValueError):
    """A date that cannot be read; whoever asked for it says which field held it."""


class UnreadableError(FeedsError):
    """A folder or document that cannot be read as feeds' output."""


class DestinationError(FeedsError):
    """The destination cannot be read or written (the message names the object and why)."""


class Refused(FeedsError):
    """The publish would replace what is not this site's: nothing was published."""

    def __init__(self, message: str, paths: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.paths = tuple(paths)


class StoreError(FeedsError):
    """A generation of the store cannot be read; the reader keeps what it had."""


DUPLICATES = "duplicates"
"""The kind of the warnings of records whose article a newer record has (see :class:`Problem`)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A warning about a record that is still published (a dropped image, a truncated excerpt)."""

    path: str
    field: str
    reason: str
    kind: str = ""
    """What a summary of many counts it as (``duplicates``); by default, its field's warnings."""

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.reason}"

    @property
    def family(self) -> str:
        """The warnings it is counted with when there are many: ``duplicates``, or ``warnings on
        images[].url`` (every image's URL)."""
        return self.kind or "warnings on " + re.sub(r"\[\d+\]", "[]", self.field)


# A kind of warning with this many or more is shown by SHOWN examples and a count.
MANY = 6
SHOWN = 3


def warning_lines(
    warnings: Sequence[Problem], command: str, *, every: bool = False
) -> Iterable[str]:
    """The lines of ``warnings``: with many of one kind (:attr:`Problem.family`), the first
    :data:`SHOWN` and one line counting the rest, which ``feeds <command> -v`` shows; all of
    them with ``every``."""
    counts = Counter(warning.family for warning in warnings)
    shown: Counter[str] = Counter()
    for warning in warnings:
        family = warning.family
        if every or counts[family] < MANY or shown[family] < SHOWN:
            shown[family] += 1
            yield f"{warning.path}: {warning.field}: warning: {warning.reason}"
    for family, count in counts.items():
        if count > shown[family]:
            yield f"... and {count - shown[family]} more {family} (feeds {command} -v shows all)"


def short_repr(value: object, limit: int = 80) -> str:
    # reprlib bounds both depth and width, so a YAML alias bomb or a 200 KB string cannot turn an
    # error message into a memory or time problem of its own.
    import reprlib

    r = reprlib.Repr()
    r.maxstring = limit
    r.maxother = limit
    r.maxlevel = 2
    r.maxlist = r.maxdict = r.maxtuple = r.maxset = 4
    return r.repr(value)
