from __future__ import annotations

from pathlib import Path

import pytest

from feeds.errors import SettingsError
from feeds.groupings import GROUPINGS
from feeds.model import Author
from feeds.rendering import FORMATS
from feeds.settings import FORMAT_NAMES, GROUPING_NAMES, Settings, load_settings, parse_settings


def bad(data: dict[str, object]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, base=Path("/site"), source="site.yaml")
    return caught.value


def test_defaults_need_no_file() -> None:
    settings = parse_settings({}, base=Path("/site"))
    assert settings.records == Path("/site/records")
    assert settings.output == Path("/site/output")
    assert settings.max_entries == 50
    assert settings.formats == ("rss", "atom", "json")
    assert settings.owner == Author(name="Feeds", url="http://127.0.0.1:8000/")


def test_a_typo_names_the_nearest_key() -> None:
    error = bad({"max_entrys": 10})
    assert (error.key, error.value) == ("max_entrys", 10)
    assert "did you mean 'max_entries'" in str(error)
    assert str(error).startswith("site.yaml: max_entrys: ")


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        ({"max_entries": 0}, "max_entries", "1 or more"),
        ({"max_entries": "50"}, "max_entries", "whole number"),
        ({"max_entries": True}, "max_entries", "whole number"),
        ({"base_url": "example.org"}, "base_url", "absolute http(s) URL"),
        ({"language": "english please"}, "language", "language tag"),
        ({"timezone": "Nowhere/City"}, "timezone", "IANA"),
        ({"formats": []}, "formats", "non-empty list"),
        ({"formats": ["rss", "gopher"]}, "formats", "'gopher'"),
        ({"groupings": ["everything"]}, "groupings", "'everything'"),
        ({"repair_text": "yes"}, "repair_text", "true or false"),
        ({"author": {"name": "A", "email": "not-an-address"}}, "author", "e-mail"),
        ({"author": {"name": "A", "twitter": "@a"}}, "author", "twitter"),
        ({"title": ""}, "title", "non-empty"),
        ({"records": 5}, "records", "folder path"),
        ({"summary_max_chars": 10}, "summary_max_chars", "100 or more"),
    ],
)
def test_bad_values_name_key_value_and_expectation(
    data: dict[str, object], key: str, expected: str
) -> None:
    error = bad(data)
    assert error.key == key
    assert expected in str(error)
    assert error.value == data[key]
    assert "(got " in str(error)


def test_base_url_gets_a_trailing_slash() -> None:
    assert parse_settings({"base_url": "https://example.org/feeds"}, base=Path("/")).base_url == (
        "https://example.org/feeds/"
    )


def test_paths_are_relative_to_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "settings.yaml"
    path.write_text("records: ../in\noutput: public\n")
    settings = load_settings(path)
    assert settings.records == tmp_path / "in"
    assert settings.output == tmp_path / "conf" / "public"


def test_overrides_are_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, records="r", output="o")
    assert (settings.records, settings.output) == (tmp_path / "r", tmp_path / "o")


def test_output_must_differ_from_records(tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        load_settings(None, records=str(tmp_path), output=str(tmp_path))


@pytest.mark.parametrize("text", ["- a list\n", "title: [unclosed\n"])
def test_a_settings_file_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError):
        load_settings(path)


def test_the_setting_names_match_the_build_tables() -> None:
    assert tuple(FORMATS) == FORMAT_NAMES
    assert tuple(g.name for g in GROUPINGS) == GROUPING_NAMES


def test_the_repository_settings_file_is_valid() -> None:
    settings = load_settings(Path(__file__).parent.parent / "settings.yaml")
    assert isinstance(settings, Settings)
    assert settings.base_url == "https://example.org/feeds/"


@pytest.mark.parametrize(
    "value",
    [
        ["ftp://hub.example/"],
        ["hub.example"],
        [5],
        {"url": "https://hub.example/"},
        ["https://u:p@h/"],
    ],
)
def test_a_bad_hub_names_the_key_and_the_value(value: object) -> None:
    error = bad({"hubs": value})
    assert (error.key, error.value) == ("hubs", value)
    assert "absolute http(s) hub URLs" in str(error)
    assert str(error).startswith("site.yaml: hubs: ")


def test_hubs_default_to_none_and_keep_their_order_once_each() -> None:
    assert parse_settings({}, base=Path("/site")).hubs == ()
    hubs = ["https://b.example/hub", "https://a.example/", "https://b.example/hub"]
    assert parse_settings({"hubs": hubs}, base=Path("/site")).hubs == (
        "https://b.example/hub",
        "https://a.example/",
    )
    assert parse_settings({"hubs": "https://a.example/"}, base=Path("/site")).hubs == (
        "https://a.example/",
    )


def test_a_site_url_with_a_query_is_kept_as_written(tmp_path: Path) -> None:
    settings = parse_settings({"site_url": "https://example.org/?a=1&b=2"}, base=tmp_path)
    assert settings.site_url == "https://example.org/?a=1&b=2"
    assert parse_settings({"site_url": "https://example.org/x"}, base=tmp_path).site_url == (
        "https://example.org/x/"
    )
