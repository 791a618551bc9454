from __future__ import annotations

import re
import unicodedata

import ftfy.bad_codecs  # noqa: F401  (registers the "sloppy-windows-*" codecs)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.text import clean_line, clean_paragraphs, truncate, xml_safe

SLOPPY = "sloppy-windows-1252"

XML_CHAR = re.compile(
    "^[\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]*$"
)


def test_mojibake_is_repaired() -> None:
    assert clean_line("the US governmentâ€™s tracking", repair_text=True) == (
        "the US government’s tracking"
    )


def test_mojibake_is_kept_when_repair_is_off() -> None:
    assert clean_line("governmentâ€™s", repair_text=False) == "governmentâ€™s"


def test_repair_leaves_typography_and_entities_alone() -> None:
    text = "“Quoted” ＡＢＣ AT&amp;T <b>"
    assert clean_line(text, repair_text=True) == text


def test_characters_illegal_in_xml_are_removed() -> None:
    assert xml_safe("a\x00b\x0bc\x1fd\ufffee\ud800f") == "abcdef"


def test_white_space_is_collapsed_in_a_line() -> None:
    assert clean_line("  a\n\tb   c ", repair_text=True) == "a b c"


def test_paragraphs_split_at_blank_lines() -> None:
    assert clean_paragraphs("One\nline.\n\n\nTwo.\n", repair_text=True) == ("One line.", "Two.")


def test_truncate_cuts_at_a_word_boundary() -> None:
    assert truncate("alpha beta gamma delta", 13) == "alpha beta…"
    assert truncate("short", 10) == "short"


@given(st.text())
def test_clean_line_is_xml_safe_and_single_line(text: str) -> None:
    for repair in (True, False):
        cleaned = clean_line(text, repair_text=repair)
        assert XML_CHAR.match(cleaned)
        assert "\n" not in cleaned
        assert cleaned == cleaned.strip()
    # Without repair, cleaning is idempotent (ftfy may legitimately find more to fix).
    once = clean_line(text, repair_text=False)
    assert clean_line(once, repair_text=False) == once


@given(st.text(min_size=1), st.integers(min_value=2, max_value=500))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    assert len(truncate(text, limit)) <= limit


# The repair never introduces a character that was not in the source: it undoes mojibake only
# where re-encoding gives back exactly the bytes that were misread.


def mojibake(text: str) -> str:
    """``text`` as UTF-8 bytes misread as Windows-1252: ``’`` -> ``â€™``."""
    return text.encode("utf-8").decode(SLOPPY)


@pytest.mark.parametrize(
    ("source", "repaired"),
    [
        ("the US governmentâ€™s tracking", "the US government’s tracking"),
        ("cafÃ© crÃ¨me brÃ»lÃ©e", "café crème brûlée"),
        ("naÃ¯ve â€œquotedâ€\x9d", "naïve “quoted”"),
        (mojibake(mojibake("“twice”")), "“twice”"),  # misread twice
        ("cafÃ©â€”bar", "café—bar"),
        ("Â£5 and â‚¬3", "£5 and €3"),
        ("\x93quoted\x94", "“quoted”"),  # Windows-1252 read as Latin-1
        ("日本語 Ã©", "日本語 é"),
        ("ÐŸÑ€Ð¸Ð²ÐµÑ‚", "Привет"),
    ],
)
def test_complete_mojibake_is_repaired_exactly(source: str, repaired: str) -> None:
    assert clean_line(source, repair_text=True) == repaired


@pytest.mark.parametrize(
    "source",
    [
        "the governmentâ€ s plan",  # "†" lost its last byte 0xa0 to a space
        "the â€ end",
        "say â€ and go",
        'say â€"hi"',
        "say â€'hi'",
        "at the end â€",
        "â€",
        "lost â€\ufffd byte",
        "Ã  la carte",  # "à" lost its 0xa0
        "Â price",  # a no-break space that lost its 0xa0
    ],
)
def test_lossy_mojibake_is_left_as_written(source: str) -> None:
    cleaned = clean_line(source, repair_text=True)
    assert "†" not in cleaned
    assert set(cleaned) <= set(source)
    assert cleaned == " ".join(xml_safe(source).split())


def test_a_lossy_sequence_does_not_stop_the_repair_of_the_rest() -> None:
    cleaned = clean_line("governmentâ€™s â€ cafÃ©", repair_text=True)
    assert cleaned == "government’s â€ café"


def test_paragraphs_are_repaired_only_where_exact() -> None:
    assert clean_paragraphs("governmentâ€™s\n\nthe â€ end", repair_text=True) == (
        "government’s",
        "the â€ end",
    )


# The single-byte encodings UTF-8 is commonly misread as (those ftfy knows).
ENCODINGS = ["latin-1", SLOPPY, "sloppy-windows-1251", "sloppy-windows-1250", "sloppy-windows-1253"]
ENCODINGS += ["sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2", "macroman", "cp437"]


def exact_decodings(text: str) -> set[str]:
    """Every character that is the exact decoding of part of ``text``, found by brute force: a
    stretch of characters that, encoded back to the bytes they were read from, is valid UTF-8
    (after up to three misreadings), or a C1 control read as Windows-1252. Decomposed (NFD), as
    canonical composition may join such a character to its neighbour."""
    found = set(text)
    for start in range(len(text)):
        char = text[start]
        if "\x80" <= char <= "\x9f":
            found |= set(char.encode("latin-1").decode(SLOPPY))
        for end in range(start + 2, min(len(text), start + 12) + 1):
            for encoding in ENCODINGS:
                layer = text[start:end]
                for _ in range(3):
                    try:
                        layer = layer.encode(encoding).decode("utf-8")
                    except UnicodeError:
                        break
                    found |= set(layer)
    return set(unicodedata.normalize("NFD", "".join(found)))


PIECES = st.sampled_from(
    ["â€", "â€™", "Ã©", "Ã", "Â", "\xa0", " ", '"', "'", "™", "\x9d", "\x80", "é", "e\u0301", "a"]
)


@st.composite
def damaged_mojibake(draw: st.DrawFn) -> str:
    """Text with mojibake, some of it lossy: a 0xa0 byte become a space, a sequence cut short."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["piece", "text", "mojibake", "lossy", "cut"]))
        if kind == "piece":
            parts.append(draw(PIECES))
        elif kind == "text":
            parts.append(draw(st.text(max_size=6)))
        else:
            bad = mojibake(draw(st.text(min_size=1, max_size=3)))
            if kind == "lossy":
                bad = bad.replace("\xa0", " ")
            elif kind == "cut":
                bad = bad[: draw(st.integers(0, len(bad) - 1))]
            parts.append(bad)
    return "".join(parts)


@settings(max_examples=400, deadline=None)
@given(st.one_of(damaged_mojibake(), st.text()))
def test_repair_never_introduces_a_character_not_derivable_exactly(source: str) -> None:
    allowed = exact_decodings(source) | {" "}
    for cleaned in (
        clean_line(source, repair_text=True),
        *clean_paragraphs(source, repair_text=True),
    ):
        introduced = set(unicodedata.normalize("NFD", cleaned)) - allowed
        assert not introduced, (source, cleaned, introduced)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=20))
def test_mojibake_of_any_word_next_to_lossy_sequences_never_becomes_a_dagger(word: str) -> None:
    source = f"{mojibake(word)} â€ {mojibake(word)}â€"
    cleaned = clean_line(source, repair_text=True)
    assert cleaned.count("†") <= source.count("†") + 2 * word.count("†")
