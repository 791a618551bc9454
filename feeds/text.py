"""Plain-text hygiene: mojibake repair, characters XML cannot carry, white space, length."""

from __future__ import annotations

import re
import unicodedata

import ftfy

# XML 1.0 allows TAB, LF, CR and everything from U+0020 except surrogates, U+FFFE and U+FFFF.
# C1 controls and the U+FDD0..U+FDEF noncharacters are allowed but "discouraged" (XML 1.0, 2.2),
# and validators warn on them, so they go too.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_SPACE = re.compile(r"\s+")
# UTF-8 read as Latin-1 or Windows-1252 always starts with one of these characters; text without
# any cannot hold that mojibake, and skipping ftfy for it saves most of the cleaning time.
_MAYBE_MOJIBAKE = re.compile("[\x80-\xff]")


def xml_safe(text: str) -> str:
    """Remove every character that XML 1.0 cannot carry (or discourages)."""
    return _NOT_XML.sub("", text)


def repair(text: str) -> str:
    """Undo mojibake (``governmentâ€™s`` -> ``government’s``) and normalise to NFC.

    Everything else is left as written: curly quotes stay curly, full-width characters stay
    full-width, and HTML entities stay entities (these fields are plain text, so ``&amp;`` in a
    title is shown as those five characters rather than guessed at).
    """
    if not _MAYBE_MOJIBAKE.search(text):
        return unicodedata.normalize("NFC", text)
    return ftfy.fix_text(
        text,
        unescape_html=False,
        uncurl_quotes=False,
        fix_character_width=False,
        fix_latin_ligatures=False,
        normalization="NFC",
    )


def clean_line(text: str, *, repair_text: bool) -> str:
    """One line of plain text (a title, a name): repaired, XML-safe, white space collapsed."""
    if text.isascii() and text.isprintable():
        return " ".join(text.split())  # nothing to repair or remove: the common case, fast
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
