"""The fast paths of mapping's text and URL helpers against the general code they skip."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from feeds.text import clean_line, xml_safe
from feeds.urls import _IMAGE_TYPES, DEFAULT_IMAGE_TYPE, image_type

FAST = settings(max_examples=1000)
ascii_lines = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=40)


@FAST
@given(st.one_of(st.text(" ab", max_size=8), ascii_lines, st.text(" ab\t\n\x0b\x7f"), st.text()))
def test_a_line_is_cleaned_as_the_general_rule_says(text: str) -> None:
    expected = re.sub(r"\s+", " ", xml_safe(text)).strip()
    if text.isascii():  # no repair: it only changes non-ASCII text
        assert clean_line(text, repair_text=True) == expected
    assert clean_line(text, repair_text=False) == expected


def image_type_by_urlsplit(url: str) -> str:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return _IMAGE_TYPES.get(path[dot:], DEFAULT_IMAGE_TYPE) if dot != -1 else DEFAULT_IMAGE_TYPE


paths = st.lists(st.sampled_from(["/", "x", ".", "png", "PNG", "svg", "\t", "\n", " ", "é", ":"]))


@FAST
@given(
    st.sampled_from(["https://", "http://", "HTTP://", " https://", "ftp://", "//", ""]),
    st.sampled_from(["a.example", "a-1.example:8080", "[::1]", "u@a.example", "é.example", ""]),
    paths.map("".join),
    st.sampled_from(["", "?w=1", "#top", "?a=1#b", "?.png", "#.svg", "\t", "\r\n"]),
)
@example("https://", "a.example", "/x.png\t", "")  # white space urlsplit removes, at the end
@example("https://", "a.example", "/x.pn\ng", "?w=1")  # and inside the extension
def test_the_image_type_is_the_one_urlsplit_finds(
    scheme: str, host: str, path: str, rest: str
) -> None:
    url = scheme + host + path + rest
    try:
        expected = image_type_by_urlsplit(url)
    except ValueError:  # urlsplit refuses it; clean_url never gives such a URL
        return
    assert image_type(url) == expected
