"""Errors and warnings that carry enough context to be acted on."""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class Problem:
    """A warning about a record that is still published (a dropped image, a truncated excerpt)."""

    path: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.reason}"


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
