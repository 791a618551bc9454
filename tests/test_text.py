from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from feeds.text import clean_line, clean_paragraphs, truncate, xml_safe

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
