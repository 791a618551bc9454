"""Plain-text hygiene: mojibake repair, characters XML cannot carry, white space, length."""

from __future__ import annotations

import functools
import re
import unicodedata
from types import SimpleNamespace

# XML 1.0 allows TAB, LF, CR and everything from U+0020 except surrogates, U+FFFE and U+FFFF.
# C1 controls and the U+FDD0..U+FDEF noncharacters are allowed but "discouraged" (XML 1.0, 2.2),
# and validators warn on them, so they go too.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
NOT_XML_ASCII = bytes(c for c in range(128) if _NOT_XML.match(chr(c)))
"""The characters :func:`xml_safe` removes that are ASCII."""
_SPACE = re.compile(r"\s+")
# UTF-8 read as Latin-1 or Windows-1252 always starts with one of these characters; text without
# any cannot hold that mojibake, and skipping ftfy for it saves most of the cleaning time.
_MAYBE_MOJIBAKE = re.compile("[\x80-\xff]")
_NOT_ASCII = re.compile(r"([^\x00-\x7f]+)")


@functools.cache
def _repairs() -> SimpleNamespace:
    """ftfy and what the repair needs of it, loaded at the first text that may need it (a build
    with nothing to do, and most records, never do: the import costs 40 ms)."""
    import ftfy
    import ftfy.bad_codecs  # registers the "sloppy-windows-*" codecs used below
    from ftfy.chardata import CHARMAP_ENCODINGS
    from ftfy.fixes import remove_control_chars, remove_terminal_escapes

    # The single-byte encodings ftfy undoes, and the characters that stand for a UTF-8 lead
    # byte (0xc2-0xf4) or continuation byte (0x80-0xbf) in one of them.
    encodings = tuple(CHARMAP_ENCODINGS)
    return SimpleNamespace(
        fix_text=ftfy.fix_text,
        # ftfy's lossy heuristics (a space taken for a lost 0xa0 byte: "â€ " -> "†"; a lost
        # byte turned into U+FFFD) and the fixes that are not mojibake (line breaks, quotes,
        # widths) are off.
        config=ftfy.TextFixerConfig(
            unescape_html=False,
            remove_terminal_escapes=False,
            restore_byte_a0=False,
            replace_lossy_sequences=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
            uncurl_quotes=False,
            fix_line_breaks=False,
            remove_control_chars=False,
            normalization=None,
            explain=False,
        ),
        remove_control_chars=remove_control_chars,
        remove_terminal_escapes=remove_terminal_escapes,
        encodings=encodings,
        leads=frozenset(bytes([b]).decode(e) for e in encodings for b in range(0xC2, 0xF5)),
        continuations=frozenset(bytes([b]).decode(e) for e in encodings for b in range(0x80, 0xC0)),
    )


_LONGEST = 12  # characters of one sequence misread up to three times


def xml_safe(text: str) -> str:
    """Remove every character that XML 1.0 cannot carry (or discourages)."""
    if ascii_without(text, NOT_XML_ASCII):
        return text
    return _NOT_XML.sub("", text)


def ascii_without(text: str, chars: bytes) -> bool:
    """Whether ``text`` is ASCII and holds none of ``chars``.

    The check before cleaning or escaping text, most of which has nothing to change: one pass
    of ``bytes.translate``, several times faster than a regular expression or a replacement
    for each character (every entry's text is rendered in each format at every cold build).
    """
    if not text.isascii():
        return False
    data = text.encode("ascii")
    return len(data.translate(None, chars)) == len(data)


def repair(text: str) -> str:
    """Undo mojibake (``governmentâ€™s`` -> ``government’s``) and normalise to NFC.

    Only exact repairs are kept: a changed stretch of text is the repair's only if it is the
    exact decoding of what was there (the characters, encoded back to the bytes they were
    misread from, are valid UTF-8). A lossy sequence (``â€`` followed by a space: the source
    lost a byte) is left as written, never guessed into a character that was not there.

    Everything else is left as written: curly quotes stay curly, full-width characters stay
    full-width, and HTML entities stay entities (these fields are plain text, so ``&amp;`` in a
    title is shown as those five characters rather than guessed at).
    """
    if not _MAYBE_MOJIBAKE.search(text):
        return unicodedata.normalize("NFC", text)
    fix = _repairs()
    fixed = fix.fix_text(text, fix.config)
    if fixed != text:
        fixed = _exact_only(text, fixed)
    # Removed after the repair, so that no sequence is decoded across a removed character.
    cleaned = fix.remove_control_chars(fix.remove_terminal_escapes(fixed))
    return unicodedata.normalize("NFC", cleaned)


def _exact_only(source: str, fixed: str) -> str:
    """``fixed``, where each run of non-ASCII characters it changed is an exact decoding of the
    source's run, and the source's run everywhere else."""
    before, after = _NOT_ASCII.split(source), _NOT_ASCII.split(fixed)
    if len(before) != len(after) or before[::2] != after[::2]:
        # ftfy joined a run to the ASCII beside it (a space taken for a lost 0xa0 byte, even
        # with that fix off): each run is repaired on its own instead, where no space is seen.
        after = [
            part if n % 2 == 0 else _repairs().fix_text(part, _repairs().config)
            for n, part in enumerate(before)
        ]
    runs = (
        b if a == b or _decoded(a, b) else a for a, b in zip(before[1::2], after[1::2], strict=True)
    )
    return "".join(part for pair in zip(before[::2], (*runs, ""), strict=True) for part in pair)


def _decoded(source: str, fixed: str) -> bool:
    """Whether ``fixed`` is ``source`` with some stretches replaced by their exact decoding."""
    for encoding in _repairs().encodings:  # the common case first: the run is one misread stretch
        layer = source
        for _ in range(3):
            try:
                layer = layer.encode(encoding).decode("utf-8")
            except UnicodeError:
                break
            if layer == fixed:
                return True
    pending = [(0, 0)]
    seen: set[tuple[int, int]] = set()
    while pending:
        i, j = pending.pop()
        if i == len(source):
            if j == len(fixed):
                return True
            continue
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if j < len(fixed) and source[i] == fixed[j]:
            pending.append((i + 1, j + 1))
        for length, decoded in _decodings(source, i):
            if fixed.startswith(decoded, j):
                pending.append((i + length, j + len(decoded)))
    return False


def _decodings(text: str, i: int) -> list[tuple[int, str]]:
    """(length, decoding) of the exact decodings of stretches of ``text`` starting at ``i``."""
    fix = _repairs()  # also registers the "sloppy-windows-*" codecs
    char = text[i]
    found = []
    if "\x80" <= char <= "\x9f":  # Windows-1252 read as Latin-1
        found.append((1, char.encode("latin-1").decode("sloppy-windows-1252")))
    if "\ud800" <= char <= "\udbff" and "\udc00" <= text[i + 1 : i + 2] <= "\udfff":
        pair = text[i : i + 2].encode("utf-16-le", "surrogatepass")
        found.append((2, pair.decode("utf-16-le")))
    if char not in fix.leads or i + 1 == len(text) or text[i + 1] not in fix.continuations:
        return found
    for end in range(i + 2, min(len(text), i + _LONGEST) + 1):
        for encoding in fix.encodings:
            layer = text[i:end]
            for _ in range(3):
                try:
                    layer = layer.encode(encoding).decode("utf-8")
                except UnicodeError:
                    break
                found.append((end - i, layer))
    return found


def clean_line(text: str, *, repair_text: bool) -> str:
    """One line of plain text (a title, a name): repaired, XML-safe, white space collapsed."""
    if text.isascii() and text.isprintable():  # nothing to repair or remove: the common case
        # Its only white space is " ", and most lines are single-spaced already.
        if "  " in text or text.startswith(" ") or text.endswith(" "):
            return " ".join(text.split())
        return text
    if repair_text:
        text = repair(text)
    return _SPACE.sub(" ", xml_safe(text)).strip()


def clean_paragraphs(text: str, *, repair_text: bool) -> tuple[str, ...]:
    """A body of plain text split into paragraphs at blank lines, each paragraph one line."""
    if repair_text:
        text = repair(text)
    text = xml_safe(text)
    paragraphs = (_SPACE.sub(" ", p).strip() for p in re.split(r"\n\s*\n", text))
    return tuple(p for p in paragraphs if p)


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def fold(name: str) -> str:
    """The grouping key of a name: case and surrounding or repeated white space do not count."""
    return " ".join(name.split()).casefold()


_SYMBOLS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """``Computer Vision`` -> ``computer-vision``, ``Société Générale`` -> ``societe-generale``,
    ``C++`` -> ``c-plus-plus``; "" when nothing ASCII is left (``日本語``)."""
    for symbol, word in _SYMBOLS.items():
        name = name.replace(symbol, word)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")
