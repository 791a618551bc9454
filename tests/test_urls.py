from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.text import clean_line
from feeds.urls import article_id, clean_url, domain_of, image_type

ARTICLE = "https://www.example.com/2020/06/12/story"


@pytest.mark.parametrize(
    "variant",
    [
        "http://www.example.com/2020/06/12/story",
        "https://www.example.com/2020/06/12/story/",
        "https://WWW.Example.COM/2020/06/12/story",
        "https://www.example.com:443/2020/06/12/story",
        "https://www.example.com/2020/06/12/story?utm_source=x&utm_medium=feed",
        "https://www.example.com/2020/06/12/story#comments",
    ],
)
def test_article_id_ignores_scheme_slash_case_of_host_utm_and_fragment(variant: str) -> None:
    url = clean_url(variant)
    assert url is not None
    assert article_id(url) == article_id(ARTICLE)


def test_article_id_differs_for_different_articles() -> None:
    assert article_id(ARTICLE) != article_id(ARTICLE + "-2")
    assert article_id(ARTICLE + "?page=2") != article_id(ARTICLE)


def test_article_id_ignores_parameter_order() -> None:
    assert article_id("https://x.example/a?b=2&a=1") == article_id("https://x.example/a?a=1&b=2")


def test_article_id_is_a_urn_uuid() -> None:
    assert article_id(ARTICLE).startswith("urn:uuid:")


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://example.com/a",
        "mailto:a@example.com",
        "relative/path",
        "https://user:secret@example.com/",
        "http://exa mple.com/",
        "https://example.com:99999/",
        "",
        "http://\x00example.com/",
    ],
)
def test_non_http_urls_are_dropped(bad: str) -> None:
    assert clean_url(bad) is None


def test_spaces_and_non_ascii_are_percent_encoded() -> None:
    assert clean_url("https://example.com/a b/ü?q=ä ö") == (
        "https://example.com/a%20b/%C3%BC?q=%C3%A4%20%C3%B6"
    )
    assert clean_url("https://bücher.example/") == "https://xn--bcher-kva.example/"


def test_existing_escapes_are_kept_and_stray_percents_escaped() -> None:
    assert clean_url("https://e.example/%2Fa%zz") == "https://e.example/%2Fa%25zz"


def test_relative_image_urls_resolve_against_the_article() -> None:
    assert clean_url("img/a.jpg", base=ARTICLE) == "https://www.example.com/2020/06/12/img/a.jpg"
    assert clean_url("//cdn.example/a.jpg", base=ARTICLE) == "https://cdn.example/a.jpg"
    assert clean_url("javascript:alert(1)", base=ARTICLE) is None


def test_image_type_comes_from_the_path_not_the_query() -> None:
    assert image_type("https://x.example/a.PNG?w=300") == "image/png"
    assert image_type("https://x.example/a.webp") == "image/webp"
    assert image_type("https://x.example/raw") == "image/jpeg"


def test_domain_of_accepts_common_spellings() -> None:
    for spelling in ["example.com", "www.example.com", "https://example.com/", "Example.COM"]:
        assert domain_of(spelling) == "example.com"
    assert domain_of("not a domain") is None


@given(st.text())
def test_clean_url_output_is_ascii_http_without_spaces(text: str) -> None:
    url = clean_url(text)
    if url is not None:
        assert url.isascii()
        assert url.startswith(("http://", "https://"))
        assert not any(c in url for c in ' <>"\\\n')
        assert clean_url(url) == url


_PCHAR = st.sampled_from(
    [*list("abcXYZ019-._~!$&'()*+,;=:@/"), "%2F", "%C3%A9", "%zz", "%e9", " ", "é", "?", "#", "%"]
)


@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "Https"]),
    host=st.sampled_from(
        [
            "example.com",
            "a-b.example",
            "EXAMPLE.com",
            "x_y.example",
            "b\u00fccher.example",
            "127.0.0.1",
            "[::1]",
            "h.example:8080",
            "h.example:443",
        ]
    ),
    path=st.lists(_PCHAR, max_size=12).map("".join),
    query=st.one_of(st.just(""), st.lists(_PCHAR, max_size=8).map(lambda p: "?" + "".join(p))),
    base=st.sampled_from([None, "https://base.example/news/story"]),
)
def test_the_fast_path_agrees_with_the_full_cleaning(
    scheme: str, host: str, path: str, query: str, base: str | None
) -> None:
    from feeds.urls import _clean_slowly

    url = f"{scheme}://{host}/{path}{query}"
    assert clean_url(url, base) == _clean_slowly(url, base)


@given(st.text())
def test_the_canonical_key_fast_path_agrees(text: str) -> None:
    from feeds.urls import _canonical_slowly, canonical_key

    url = clean_url(text) or clean_url("https://example.com/" + text)
    if url is not None:
        assert canonical_key(url) == _canonical_slowly(url)


@given(st.text())
def test_the_ascii_fast_path_of_clean_line_agrees(text: str) -> None:
    import re

    from feeds.text import xml_safe

    slow = re.sub(r"\s+", " ", xml_safe(text)).strip()
    if text.isascii() and text.isprintable():
        assert clean_line(text, repair_text=True) == slow
