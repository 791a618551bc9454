"""The ``feeds`` command: the only module that prints or chooses an exit status."""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from feeds import __version__
from feeds.build import Build, display, run
from feeds.cache import discard, is_cache, open_cache, unusable
from feeds.errors import (
    MANY,
    SHOWN,
    CacheError,
    DestinationError,
    FeedsError,
    Refused,
    SettingsError,
    WriteError,
    warning_lines,
)
from feeds.layout import INDEX
from feeds.progress import BuildProgress
from feeds.publish.pinged import forget, remember, to_ping
from feeds.rendering import site_documents
from feeds.scan import SUFFIXES, has_records, scan_records, skipped_kinds
from feeds.settings import DEFAULT_FILE, Settings, load_settings
from feeds.writing import NEW_OUTPUT, WriteReport, clean_output, locked

if TYPE_CHECKING:
    from feeds.publish.plan import Destination, Plan, Upload

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_UNUSABLE = 2
EXIT_WRITE_FAILED = 3
EXIT_PING_FAILED = 4
EXIT_NO_PORT = 5  # feeds serve: the address to serve on cannot be bound
EXIT_INTERRUPTED = 130  # what a shell reports for a command that SIGINT stopped
EXIT_PIPE_CLOSED = 141  # what a shell reports for a command that SIGPIPE stopped
EXIT_RISKY = 1  # feeds diff
EXIT_NOT_PUBLISHED = 3  # feeds publish, feeds fetch
EXIT_FIRST_BUILD = 3  # feeds serve

# The exit status of each command: its --help lists these (and only these), with EVERY_COMMAND.
EXIT_CODES: dict[str, tuple[tuple[int, str], ...]] = {
    "build": (
        (0, "everything was published"),
        (1, "some records were rejected (one line each on stderr); the others were published"),
        (2, "bad usage or settings, no records folder or none in it; nothing was written"),
        (
            3,
            "the output folder could not be written (disk full, permissions, another build "
            "writing it); the previous output was kept",
        ),
        (4, "--strict-ping: a hub was not notified of a changed feed (the output was written)"),
    ),
    "check": (
        (0, "every record can be published"),
        (1, "some records were rejected (one line each on stderr)"),
        (2, "bad usage or settings, no records folder or none in it"),
    ),
    "clean": (
        (0, "everything feeds wrote was removed"),
        (2, "bad usage or settings; nothing was removed"),
        (3, "a file could not be removed, or a build is writing the output folder"),
    ),
    "ping": (
        (0, "every hub was told, or a ping failed without --strict-ping (named on stderr)"),
        (2, "bad usage or settings; nothing was pinged"),
        (3, "the record of what was pinged could not be written (or a build holds the folder)"),
        (4, "--strict-ping: a hub was not notified of a changed feed"),
    ),
    "serve": (
        (0, "stopped by Ctrl-C once serving (SIGTERM stops it as that signal does)"),
        (2, "bad usage, settings or records folder; nothing was built"),
        (3, "the first build failed (the message says why); nothing was served"),
        (
            5,
            "the address cannot be served on: the port is in use (choose another with --port) "
            "or not allowed; nothing was built",
        ),
    ),
    "diff": (
        (0, "no risky change"),
        (1, "risky changes found"),
        (2, "bad usage, or a folder or document that cannot be read (the message names it)"),
    ),
    "publish": (
        (0, "everything is published (a failed WebSub ping is reported, not fatal)"),
        (
            2,
            "bad usage or settings, no build in the output folder (no .feeds-manifest), no "
            "boto3; or DEST holds files feeds did not write, or another site's publish (named on "
            "stderr): nothing was published, --overwrite publishes over them",
        ),
        (
            3,
            "some objects were not published (each named on stderr); the previous ones stay "
            "readable and the next feeds publish finishes the job",
        ),
    ),
    "init": (
        (0, "the site was started: run feeds build in DIR"),
        (
            2,
            "a file it would write is already there, or DIR cannot be written; nothing was written",
        ),
    ),
    "fetch": (
        (0, "every published file was copied (or nothing was published yet)"),
        (2, "bad usage, or an unknown SOURCE"),
        (3, "SOURCE or DIR could not be read or written, or its last publish did not finish"),
    ),
}
EVERY_COMMAND = (
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C); one line on stderr says what was kept"),
    (EXIT_PIPE_CLOSED, "stdout or stderr was closed early (| head): the rest was not printed"),
)
# What a Ctrl-C leaves, by command (the line it prints); the others say only "interrupted".
INTERRUPTED = {
    "build": "the previous output was kept",
    "publish": "the next feeds publish finishes the job",
}


def exit_status(command: str) -> str:
    """The exit status section of ``command``'s --help, from :data:`EXIT_CODES`."""
    import textwrap

    lines = ["exit status:"]
    for code, meaning in (*EXIT_CODES[command], *EVERY_COMMAND):
        lines += textwrap.wrap(
            meaning, 92, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7
        )
    return "\n".join(lines) + "\n"


EPILOG = """\
Without a command, or with -h, this help. Each command's --help lists its options and the exit
status it can end with.

exit status:
  0    help or version printed
  2    bad usage: an unknown command (with the nearest one) or option
"""

DIFF_EPILOG = """\
risky (exit 1): the same link under a new id (id churn), an id twice in one document, a
published date that moved, a subscription document that is gone.

"""


PUBLISH_EPILOG = """\
A publish killed at any point is finished by the next one, of any build: the publish
manifest is marked unfinished before anything changes, and then every object is checked.
Files that feeds did not write are never replaced without --overwrite; --delete removes only
files this site's publishes wrote and that still hold the bytes they wrote.

"""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, naming the nearest command (or choice) to a misspelled one."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        names = [str(choice) for choice in choices]
        near = difflib.get_close_matches(str(value), names, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        what = "command" if isinstance(action, argparse._SubParsersAction) else "choice"
        raise argparse.ArgumentError(
            None, f"unknown {what} {value!r}{hint} (one of: {', '.join(names)})"
        )

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            options = _options(self, getattr(parsed, "command", None))
            hints = []
            for extra in extras:
                name = extra.split("=", 1)[0]
                near = difflib.get_close_matches(name, options, n=1) if name[:1] == "-" else []
                if near:
                    hints.append(f"{name}: did you mean {near[0]}?")
            self.error(
                " ".join(["unrecognized arguments:", *extras]) + "".join(f"; {h}" for h in hints)
            )
        return parsed


def _options(top: argparse.ArgumentParser, command: str | None) -> list[str]:
    """The option strings of ``command``'s parser (the top parser's without a command)."""
    chosen = top
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            chosen = action.choices[command]
    return [option for action in chosen._actions for option in action.option_strings]


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="feeds",
        description="Turn a folder of news records into RSS, Atom and JSON feeds.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"feeds {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")

    _init_command(commands)
    b = commands.add_parser(
        "build",
        help="build the feeds into the output folder",
        description="Read the records, build every feed and write the output folder.",
    )
    _common(b)
    b.add_argument("--output", metavar="DIR", help="output folder (default: from settings)")
    b.add_argument(
        "--no-cache",
        action="store_true",
        help="build everything from scratch, without reading or writing the build cache",
    )
    b.add_argument("-q", "--quiet", action="store_true", help="print only problems and the summary")
    _verbose(b)
    b.add_argument(
        "--ping",
        action="store_true",
        help="after the build, notify the WebSub hubs of the feeds that changed (as feeds ping)",
    )
    _ping_options(b)
    b.set_defaults(run=run_build)

    c = commands.add_parser(
        "check",
        help="check the settings and records without writing anything",
        description="Read and check the settings and every record; write nothing.",
    )
    _common(c)
    _verbose(c)
    c.set_defaults(run=run_check, output=None, quiet=False)

    k = commands.add_parser(
        "clean",
        help="remove the build cache and every file feeds wrote to the output folder",
        description=(
            "Remove the build cache and the files listed in the output folder's manifest "
            "(what feeds wrote); other files in the output folder are left alone."
        ),
    )
    k.add_argument("--settings", metavar="FILE", type=Path, help="settings file")
    k.add_argument("--output", metavar="DIR", help="output folder (default: from settings)")
    k.set_defaults(run=run_clean, records=None, base_url=None, allow_rejected=None)

    p = commands.add_parser(
        "ping",
        help="notify the WebSub hubs of the feeds whose bytes changed since the last ping",
        description=(
            "POST hub.mode=publish for every feed in the output folder whose bytes changed "
            "since the last successful ping, to every hub of the hubs setting."
        ),
    )
    p.add_argument("--settings", metavar="FILE", type=Path, help="settings file")
    p.add_argument("--output", metavar="DIR", help="output folder (default: from settings)")
    p.add_argument(
        "--base-url", metavar="URL", help="where the feeds are served (default: from settings)"
    )
    _ping_options(p)
    p.set_defaults(run=run_ping, records=None, allow_rejected=None)

    s = commands.add_parser(
        "serve",
        help="serve the feeds over HTTP, rebuilt when records change",
        description=(
            "Build the feeds (in a process of its own, with the build cache) and serve them "
            "with uvicorn, with ETag/Last-Modified, 304s and gzip; rebuild when the records "
            "folder or the settings file changes."
        ),
    )
    _common(s)
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="port to bind; 0: any free one (default: 8000)",
    )
    s.add_argument(
        "--watch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="rebuild when records or settings change (default: --watch)",
    )
    s.add_argument(
        "--write",
        action="store_true",
        help="build into the output folder, with the build cache of feeds build",
    )
    s.add_argument(
        "--output", metavar="DIR", help="output folder for --write (default: from settings)"
    )
    s.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log every request through uvicorn's access logger (default: --access-log)",
    )
    s.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        metavar="N",
        help="uvicorn worker processes; with 2 or more, one builder hands each build to all "
        "(default: 1)",
    )
    s.set_defaults(run=run_serve, quiet=False)

    d = commands.add_parser(
        "diff",
        help="compare two outputs (or an output with what the records build now) for CI",
        description=(
            "Compare the feeds of OLD and NEW output folders, or, without NEW, of OLD and what the "
            "records and settings would build now (in memory; nothing is written): entries added, "
            "removed and changed per feed, and the risky changes that make readers show old "
            "entries again."
        ),
        epilog=DIFF_EPILOG,
    )
    d.add_argument("old", metavar="OLD", type=Path, help="the output folder deployed now")
    d.add_argument(
        "new",
        metavar="NEW",
        type=Path,
        nargs="?",
        help="the output folder to deploy (default: build the records in memory)",
    )
    d.add_argument("--settings", metavar="FILE", type=Path, help="settings file (without NEW)")
    d.add_argument("--records", metavar="DIR", help="records folder (without NEW)")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    d.add_argument("-q", "--quiet", action="store_true", help="print only risky lines and totals")
    _verbose(d)
    d.set_defaults(run=run_diff, output=None, base_url=None, allow_rejected=None)
    _publish_commands(commands)
    for name, command in commands.choices.items():
        command.epilog = (command.epilog or "") + exit_status(name)
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return top


def _init_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    i = commands.add_parser(
        "init",
        help="start a site: settings.yaml, an example record and a .gitignore",
        description=(
            "Start a site in DIR (made if missing): a commented settings.yaml, records/ with "
            "one example record, and a .gitignore for the output folder and the build cache. "
            "Files that are already there are never overwritten."
        ),
    )
    i.add_argument(
        "dir",
        metavar="DIR",
        type=Path,
        nargs="?",
        default=Path("."),
        help="the folder to start the site in (default: the current folder)",
    )
    i.set_defaults(run=run_init)


def run_init(args: argparse.Namespace) -> int:
    import shlex

    from feeds.init import start_site

    started = start_site(args.dir)
    print(f"feeds init: wrote {', '.join(str(path) for path in started.written)}")
    if not started.example:
        print(f"feeds init: {args.dir / 'records'} already holds files: no example record added")
    go = "" if args.dir == Path(".") else f"cd {shlex.quote(str(args.dir))} && "
    print(f"next: {go}feeds build, then open output/index.html (or run feeds serve)")
    return EXIT_OK


def _publish_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    u = commands.add_parser(
        "publish",
        help="upload a build's changed files to a folder or an S3-compatible bucket",
        description=(
            "Publish the output folder of the last build to DEST, a folder or "
            "s3://bucket/prefix: only files whose bytes or headers changed, archive pages and "
            "feeds before the index and OPMLs, the publish manifest last. Credentials come from "
            "the AWS environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...), never from settings."
        ),
        epilog=PUBLISH_EPILOG,
    )
    u.add_argument("dest", metavar="DEST", help="a folder, or s3://bucket/prefix")
    u.add_argument("--settings", metavar="FILE", type=Path, help="settings file")
    u.add_argument("--output", metavar="DIR", help="output folder (default: from settings)")
    u.add_argument(
        "--delete",
        action="store_true",
        help="remove what earlier publishes of this site put in DEST and this build no longer "
        "has (only files that still hold the bytes feeds wrote)",
    )
    u.add_argument(
        "--overwrite",
        action="store_true",
        help="replace files in DEST that feeds did not write, and publish over another site's "
        "publish (without it they are listed and nothing is published)",
    )
    u.add_argument(
        "--dry-run", action="store_true", help="list what would change, and change nothing"
    )
    _store_options(u)
    u.add_argument(
        "-v", "--verbose", action="store_true", help="one line per object, unchanged ones too"
    )
    u.add_argument(
        "--no-ping",
        action="store_true",
        help="do not notify the WebSub hubs of the uploaded feeds",
    )
    u.set_defaults(run=run_publish, records=None, base_url=None, allow_rejected=None)

    f = commands.add_parser(
        "fetch",
        help="download what the last feeds publish put in a folder or bucket",
        description=(
            "Copy the files that the last feeds publish put in SOURCE (as its publish manifest "
            "lists them) into DIR, e.g. to compare them with a new build using feeds diff. "
            "Nothing published yet leaves DIR empty."
        ),
    )
    f.add_argument("source", metavar="SOURCE", help="a folder, or s3://bucket/prefix")
    f.add_argument("dir", metavar="DIR", type=Path, help="the folder to copy them into")
    _store_options(f)
    f.set_defaults(run=run_fetch)


def _verbose(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help=f"print every warning (without it, from {MANY} warnings of one kind on, "
        f"{SHOWN} of them and how many more)",
    )


def _store_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="S3 API endpoint (default: AWS_ENDPOINT_URL, else AWS S3)",
    )
    command.add_argument(
        "--region", metavar="R", help="S3 region (default: AWS_DEFAULT_REGION or AWS config)"
    )


def _ping_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive(float),
        default=10.0,
        help="how long to wait for a hub to connect and to answer a ping (default: 10)",
    )
    command.add_argument(
        "--retries",
        metavar="N",
        type=_positive(int, zero=True),
        default=3,
        help="ping again after 5xx, 429, timeouts and connection errors (default: 3)",
    )
    command.add_argument(
        "--strict-ping",
        action="store_true",
        help="exit 4 if a hub was not notified of a changed feed (on build: implies --ping)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return port


def _positive(kind: type[float] | type[int], *, zero: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"expected more than 0, got {text!r}")
        return value

    return parse


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--settings",
        metavar="FILE",
        type=Path,
        help="settings file (default: ./settings.yaml if present, else built-in defaults)",
    )
    command.add_argument("--records", metavar="DIR", help="records folder (default: from settings)")
    command.add_argument(
        "--base-url", metavar="URL", help="where the feeds are served (default: from settings)"
    )
    command.add_argument(
        "--allow-rejected",
        action="store_true",
        default=None,
        help="exit 0 even if records were rejected (setting allow_rejected)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    if args.command is None:
        top.print_help()
        return EXIT_OK
    try:
        try:
            code: int = args.run(args)
        finally:
            sys.stdout.flush()  # so that a closed pipe shows here, not at exit
    except BrokenPipeError:
        closed = [stream for stream in (sys.stdout, sys.stderr) if _closed(stream)]
        if not closed:
            raise  # not the reader of our output that went away: a bug, shown as one
        for stream in closed:
            _mute(stream)
        return EXIT_PIPE_CLOSED
    except SettingsError as e:
        _say(f"feeds: error: {e}")
        return EXIT_UNUSABLE
    except WriteError as e:
        _say(f"feeds: error: {e}; the previous output was kept")
        return EXIT_WRITE_FAILED
    except FeedsError as e:
        _say(f"feeds: error: {e}")
        return EXIT_UNUSABLE
    except KeyboardInterrupt as e:
        # The build names what it kept when that is no longer the previous output.
        note = str(e) or getattr(args, "kept", INTERRUPTED.get(args.command))
        _say("feeds: interrupted" + (f"; {note}" if note else ""))
        return EXIT_INTERRUPTED
    return code


def _say(line: str) -> None:
    """``line`` on stderr, unless nobody reads it any more."""
    try:
        print(line, file=sys.stderr)
    except BrokenPipeError:
        _mute(sys.stderr)


def _closed(stream: TextIO) -> bool:
    """Whether ``stream`` is a pipe (or socket) whose reader is gone."""
    import select

    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(descriptor, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _mute(stream: TextIO) -> None:
    """Point ``stream`` at /dev/null, so that what it still buffers is not an error at exit."""
    import os

    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, stream.fileno())
    finally:
        os.close(null)


def _report(result: Build, command: str, *, verbose: bool) -> None:
    """Every rejected record (each one is a file to fix), then the warnings: with many of one
    kind, a few examples and how many more, unless ``verbose``."""
    for error in result.rejected:
        print(error, file=sys.stderr)
    for line in warning_lines(result.warnings, command, every=verbose):
        print(line, file=sys.stderr)


def _records_summary(result: Build) -> str:
    return (
        f"{result.records} records read, {result.published} published, "
        f"{result.drafts} unpublished, {result.duplicates} duplicates, "
        f"{len(result.rejected)} rejected{_skipped(result.skipped)}"
    )


def _skipped(skipped: dict[str, int]) -> str:
    """``, 2 files skipped (not records: .markdown, .json)``, or "" when there are none."""
    count = sum(skipped.values())
    if not count:
        return ""
    files = "1 file" if count == 1 else f"{count} files"
    return f", {files} skipped (not records: {skipped_kinds(skipped)})"


def _no_records(settings: Settings, then: str = "nothing was written") -> FeedsError:
    """The error of a records folder without a record: building it would publish an empty site
    (and on a site already published, empty every feed)."""
    skipped = scan_records(settings.records).skipped
    return FeedsError(
        f"no records in {display(settings.records)}/: record files end in "
        f"{', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]}{_skipped(skipped)}; {then}"
    )


def _feeds_summary(result: Build) -> str:
    pages = f" and {result.page_count} archive pages" if result.page_count else ""
    return f"{result.feed_count} feeds{pages}"


def _status(result: Build, allow_rejected: bool) -> int:
    return EXIT_REJECTED if result.rejected and not allow_rejected else EXIT_OK


def run_build(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = _settings(args)
    if not settings.records.is_dir():  # before the lock, which makes the output folder
        raise FeedsError(f"records folder not found: {display(settings.records)}")
    if not has_records(settings.records):
        raise _no_records(settings)
    with locked(settings.output):
        result, written = _build_and_write(settings, args)
    seconds = time.perf_counter() - started
    out = display(settings.output)
    print(
        f"feeds: {_records_summary(result)}; {_feeds_summary(result)}: "
        f"{len(written.written)} files written, {len(written.unchanged)} unchanged, "
        f"{len(written.removed)} removed in {out}/ ({seconds:.2f} s)"
    )
    if not args.quiet:
        print(f"feeds: open {out}/{INDEX} for the list of feeds")
    status = _status(result, settings.allow_rejected)
    if args.ping or args.strict_ping:
        return _ping(
            settings, status, timeout=args.timeout, retries=args.retries, strict=args.strict_ping
        )
    return status


def _build_and_write(settings: Settings, args: argparse.Namespace) -> tuple[Build, WriteReport]:
    """Build and write, with the cache when it can be used; a cache that fails half-way is
    dropped with one warning and the build runs again without it (nothing was written yet:
    the output changes only once every document is staged)."""
    cache, problem = (None, None) if args.no_cache else open_cache(settings)
    if problem:
        print(f"feeds: warning: {problem}", file=sys.stderr)
    with BuildProgress(enabled=not args.quiet and sys.stderr.isatty()) as progress:
        try:
            result = run(settings, cache=cache, progress=progress)
            written = result.write(settings.output, progress=progress)
        except CacheError as e:
            assert cache is not None
            cache.close()
            cache = None
            print(f"feeds: warning: {unusable(settings.cache_file, e)}", file=sys.stderr)
            discard(settings.cache_file)
            result = run(settings, progress=progress)
            written = result.write(settings.output, progress=progress)
        args.kept = NEW_OUTPUT  # what a Ctrl-C leaves from here on
        if cache is not None and not result.untouched():
            progress.phase("saving the build cache")
        try:
            result.commit(settings.output)
        except CacheError as e:  # the output is written; only the next build's speed is at stake
            print(f"feeds: warning: {unusable(settings.cache_file, e)}", file=sys.stderr)
            discard(settings.cache_file)
    _report(result, "build", verbose=args.verbose)
    return result, written


def run_ping(args: argparse.Namespace) -> int:
    settings = _settings(args)
    return _ping(
        settings, EXIT_OK, timeout=args.timeout, retries=args.retries, strict=args.strict_ping
    )


def _ping(settings: Settings, status: int, *, timeout: float, retries: int, strict: bool) -> int:
    """Ping the hubs about the changed feeds; ``status`` unless ``strict`` and one failed."""
    from feeds.publish.websub import ping  # http.client: only for the commands that ping

    if not settings.hubs:
        print("feeds ping: no hubs set (setting hubs), nothing to ping")
        return status
    started = time.perf_counter()
    changed = to_ping(settings.output)
    paths = {settings.base_url + path: path for path in changed}
    report = ping(settings.hubs, list(paths), timeout, retries)
    for failure in report.failures:
        print(
            f"feeds: ping failed: {failure.hub}: {failure.url}: {failure.reason}", file=sys.stderr
        )
    remember(settings.output, {paths[url]: changed[paths[url]] for url in report.delivered()})
    failed = len(report.failures)
    print(
        f"feeds ping: {len(changed)} changed feeds in {display(settings.output)}/, "
        f"{len(settings.hubs)} hubs: {len(report.results) - failed} pings accepted, "
        f"{failed} failed ({time.perf_counter() - started:.2f} s)"
    )
    return EXIT_PING_FAILED if strict and failed else status


def run_check(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    settings = _settings(args)
    if settings.records.is_dir() and not has_records(settings.records):
        raise _no_records(settings)
    with BuildProgress(enabled=sys.stderr.isatty()) as progress:
        result = run(settings, progress=progress)
    _report(result, "check", verbose=args.verbose)
    seconds = time.perf_counter() - started
    documents = result.feed_count + result.page_count
    feed_pages = result.feed_count  # each feed's HTML page
    files = documents * len(settings.formats) + feed_pages + len(site_documents(settings))
    print(
        f"feeds check: {_records_summary(result)}; {_feeds_summary(result)}, "
        f"{files} files would be written ({seconds:.2f} s)"
    )
    return _status(result, settings.allow_rejected)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        args.settings,
        records=args.records,
        output=args.output,
        base_url=args.base_url,
        allow_rejected=args.allow_rejected,
    )


def run_clean(args: argparse.Namespace) -> int:
    settings = _settings(args)
    removed = clean_output(settings.output)
    cache = is_cache(settings.cache_file)
    discard(settings.cache_file)
    # The single-file cache of feeds 0.1 sat here; it is feeds' own by its name.
    (settings.output.parent / ".feeds-cache.sqlite").unlink(missing_ok=True)
    forget(settings.output)
    print(
        f"feeds clean: {len(removed)} files removed from {display(settings.output)}/"
        + (f", cache {display(settings.cache_file)}/ removed" if cache else "")
    )
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import logging
    import logging.config

    import uvicorn

    from feeds.serve.app import serving
    from feeds.serve.builder import FeedServer, FirstBuildFailed
    from feeds.serve.listen import listen, url_of, why_not
    from feeds.serve.protocol import uvicorn_options
    from feeds.serve.workers import LOG_CONFIG, serve

    settings = _settings(args)
    if not settings.records.is_dir():
        raise FeedsError(f"records folder not found: {display(settings.records)}")
    if not has_records(settings.records):  # served as they come: serve watches the folder
        empty = _no_records(settings, "serving an empty site until some are added")
        print(f"feeds: warning: {empty}", file=sys.stderr)
    settings_file = args.settings or (Path(DEFAULT_FILE) if Path(DEFAULT_FILE).is_file() else None)
    try:
        sock = listen(args.host, args.port)
    except OSError as e:
        _say(f"feeds: error: {why_not(e, args.host, args.port)}; nothing was built")
        return EXIT_NO_PORT
    with sock:
        served = url_of(args.host, sock.getsockname()[1])
        # Without --base-url, every address it shows (the index, the OPMLs, the feeds' self
        # links) is the one it serves at; the settings' base_url is where feeds build's output
        # goes. Kept when the settings file changes.
        overrides = {
            "records": args.records,
            "output": args.output,
            "base_url": args.base_url or served,
            "allow_rejected": args.allow_rejected,
        }
        overrides = {key: value for key, value in overrides.items() if value is not None}
        settings = load_settings(args.settings, **overrides)
        logging.config.dictConfig(LOG_CONFIG)
        logging.getLogger("feeds").info(
            "serving on %s once built (Ctrl-C to stop)%s",
            served,
            f", as {settings.base_url}"
            if args.base_url
            else "; the feeds' addresses name it (behind a proxy, give --base-url)",
        )
        try:
            if args.workers > 1:
                serve(
                    settings,
                    settings_file,
                    workers=args.workers,
                    watch=args.watch,
                    write=args.write,
                    sock=sock,
                    access_log=args.access_log,
                    overrides=overrides,
                )
                return EXIT_OK
            server = FeedServer(settings, settings_file, write=args.write, overrides=overrides)
            try:
                # Before uvicorn starts, so that a Ctrl-C stops it at once (the build process
                # is killed) and a failure is one line.
                asyncio.run(server.rebuild())
            except (FeedsError, OSError) as e:
                server.close()
                raise FirstBuildFailed(e) from e
            except BaseException:
                server.close()
                raise
            config = uvicorn.Config(
                serving(server, watch=args.watch),
                host=args.host,
                port=sock.getsockname()[1],
                server_header=False,
                log_config=None,
                access_log=args.access_log,
                **uvicorn_options(),
            )
            # Ctrl-C is how a server is stopped: uvicorn raises it again once it has shut down.
            with contextlib.suppress(KeyboardInterrupt):
                uvicorn.Server(config).run(sockets=[sock])
            return EXIT_OK
        except FirstBuildFailed as e:
            _say(
                f"feeds: error: the first build failed: {e}; nothing was served"
                + (f"\n{e.trace.rstrip()}" if e.trace else "")
            )
            return EXIT_FIRST_BUILD


def run_diff(args: argparse.Namespace) -> int:
    import json

    from feeds.readback.diff import compare, lines, to_json
    from feeds.readback.read import read_build, read_folder

    if args.new is not None and (args.settings is not None or args.records is not None):
        raise FeedsError("diff: --settings and --records build NEW; give one or the other")
    old = read_folder(args.old)
    if args.new is not None:
        new = read_folder(args.new)
    else:
        with BuildProgress(enabled=not args.json and sys.stderr.isatty()) as progress:
            result = run(_settings(args), progress=progress)
        _report(result, "diff", verbose=args.verbose)
        new = read_build(result)
    report = compare(old, new)
    if args.json:
        print(json.dumps(to_json(report), indent=2, ensure_ascii=False))
    else:
        print("\n".join(lines(report, quiet=args.quiet)))
    return EXIT_RISKY if report.risky else EXIT_OK


def run_publish(args: argparse.Namespace) -> int:
    from feeds.publish.destinations import open_destination
    from feeds.publish.pinged import subscription_documents
    from feeds.publish.plan import PUBLISHED, describe, execute
    from feeds.writing import MANIFEST

    started = time.perf_counter()
    settings = _settings(args)
    folder = settings.output
    if not (folder / MANIFEST).is_file():
        raise FeedsError(
            f"{display(folder)}/ has no {MANIFEST}: run feeds build first "
            "(feeds publish publishes a build; it does not build)"
        )
    items = describe(folder, settings)
    destination = open_destination(
        args.dest, output=folder, endpoint_url=args.endpoint_url, region=args.region
    )
    try:
        todo, previous = _survey(destination, items, settings.base_url, args)
    except DestinationError as e:
        print(f"feeds: error: {e}; nothing was published", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    except Refused as e:
        for path in e.paths[:REFUSED_SHOWN]:
            print(f"feeds: {destination.label}{path}: not written by feeds", file=sys.stderr)
        if len(e.paths) > REFUSED_SHOWN:
            print(f"feeds: and {len(e.paths) - REFUSED_SHOWN} more", file=sys.stderr)
        print(f"feeds: error: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    where = destination.label
    if args.dry_run:
        for item in todo.uploads:
            print(f"{'replace' if item.path in todo.replaced else 'upload'} {item.path}")
        for path in todo.deletions:
            print(f"delete {path}")
        _publish_details(todo, where, verbose=args.verbose, delete=args.delete)
        print(
            f"feeds publish: dry run: {len(todo.uploads)} to upload, {len(todo.unchanged)} "
            f"unchanged, {len(todo.deletions)} to delete{_left(todo.left)}; nothing was changed "
            f"in {where} ({time.perf_counter() - started:.2f} s)"
        )
        return EXIT_OK
    swept = destination.sweep({i.path for i in items} | todo.marker.owned() | {PUBLISHED})
    if swept:
        print(f"feeds publish: removed {len(swept)} temp files that a killed publish left")
    outcome = execute(todo, folder, destination, previous)
    if args.verbose:
        for path in outcome.uploaded:
            print(f"uploaded {path}")
        for path in outcome.deleted:
            print(f"deleted {path}")
    _publish_details(todo, where, verbose=args.verbose, delete=args.delete)
    for path, reason in outcome.failed:
        print(f"feeds: not published: {path}: {reason}", file=sys.stderr)
    for path in outcome.skipped:
        print(
            f"feeds: not published: {path}: waits until the feeds it lists are published",
            file=sys.stderr,
        )
    failed = len(outcome.failed) + len(outcome.skipped)
    print(
        f"feeds publish: {len(outcome.uploaded)} uploaded, {len(todo.unchanged)} unchanged, "
        f"{len(outcome.deleted)} deleted, {failed} failed{_left(todo.left)} in {where} "
        f"({time.perf_counter() - started:.2f} s)"
    )
    if not outcome.complete:
        print(
            "feeds: the objects above were not published; the previous ones stay readable, "
            "and feeds publish again finishes the job",
            file=sys.stderr,
        )
        return EXIT_NOT_PUBLISHED
    feeds = subscription_documents(list(outcome.uploaded))
    if settings.hubs and feeds and not args.no_ping:
        _announce(settings, feeds)
    return EXIT_OK


REFUSED_SHOWN = 50


def _survey(
    destination: Destination, items: Sequence[Upload], site: str, args: argparse.Namespace
) -> tuple[Plan, bytes | None]:
    """The plan of this publish and the publish manifest's bytes as they were. Raises Refused
    when the destination is another site's or holds files feeds did not write."""
    from feeds.publish.plan import PUBLISHED, claim, plan, read_manifest, to_check

    label = destination.label
    previous = destination.read(PUBLISHED)
    record = None
    if previous is not None:
        try:
            record = read_manifest(previous)
        except ValueError as e:
            print(
                f"feeds: warning: {label}{PUBLISHED}: not a publish manifest feeds can trust "
                f"({e}); every object is checked, and none it lists counts as feeds'",
                file=sys.stderr,
            )
    record = claim(record, site, label, overwrite=args.overwrite)
    if record is not None and not record.complete:
        print(
            f"feeds publish: the last publish to {label} did not finish: every object is "
            "checked against what it holds"
        )
    paths, digest = to_check(items, record, delete=args.delete)
    held = destination.inventory(paths, digest) if paths else {}
    todo = plan(
        items,
        record,
        held,
        site=site,
        delete=args.delete,
        overwrite=args.overwrite,
        headers=destination.headers,
    )
    if todo.refused:
        raise Refused(
            f"{label}: {_files(len(todo.refused))} that feeds did not write would be replaced; "
            "nothing was published; --overwrite replaces them",
            todo.refused,
        )
    return todo, previous


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _left(left: Sequence[str]) -> str:
    return f", {len(left)} left (no --delete)" if left else ""


def _publish_details(todo: Plan, where: str, *, verbose: bool, delete: bool) -> None:
    for path, why in todo.kept:
        if delete:
            print(f"feeds: warning: {where}{path}: {why}; not deleted", file=sys.stderr)
        elif verbose:
            print(f"forgotten {path} ({why}; --delete will not remove it)")
    if not verbose:
        return
    for path in todo.unchanged:
        print(f"{'adopted' if path in todo.adopted else 'unchanged'} {path}")
    for path in todo.replaced:
        print(f"replaced {path} (not written by feeds; --overwrite)")
    for path in todo.left:
        print(f"left {path} (no longer built; --delete removes it)")


def _announce(settings: Settings, feeds: Sequence[str]) -> None:
    """Ping the hubs about the feeds just uploaded; a failure is reported, never fatal."""
    from feeds.publish.websub import ping

    report = ping(settings.hubs, [settings.base_url + path for path in feeds])
    for failure in report.failures:
        print(
            f"feeds: ping failed: {failure.hub}: {failure.url}: {failure.reason}", file=sys.stderr
        )
    failed = len(report.failures)
    print(
        f"feeds publish: {len(feeds)} changed feeds, {len(settings.hubs)} hubs: "
        f"{len(report.results) - failed} pings accepted, {failed} failed"
    )


def run_fetch(args: argparse.Namespace) -> int:
    from feeds.publish.destinations import fetch, open_destination

    started = time.perf_counter()
    source = open_destination(
        args.source, output=args.dir, endpoint_url=args.endpoint_url, region=args.region
    )
    try:
        paths = fetch(source, args.dir)
    except DestinationError as e:
        print(f"feeds: error: {e}", file=sys.stderr)
        return EXIT_NOT_PUBLISHED
    what = f"{len(paths)} files" if paths else "nothing published yet, 0 files"
    print(
        f"feeds fetch: {what} from {source.label} in {display(args.dir)}/ "
        f"({time.perf_counter() - started:.2f} s)"
    )
    return EXIT_OK
