"""Our YAML loading (libyaml's composer, our own object building) against PyYAML's loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from feeds.records import split_front_matter
from feeds.yamlload import load_yaml
from tests.conftest import EXAMPLES, SEED, load_corpus

EDGE_CASES = [
    "date: 2021-07-02\nquoted: '2021-07-02'\ndouble: \"2021-07-02\"",
    "n: 015\no: 0o17\nx: 0x1F\nf: 1.10\ne: 1e3\ninf: .inf\nnan: .NaN",
    "a: yes\nb: No\nc: on\nd: OFF\ne: true\nf: ~\ng: null\nh:\n",
    "base: &b {x: 1, y: [a, b]}\ncopy: *b\nlist: [*b, *b]\nmerge:\n  <<: *b\n  z: 2",
    "esc: \"tab\\there\\nnewline \\u00e9 \\x41 \\\\ \\\" \\/\"\nsingle: 'it''s'",
    "folded: >\n  one\n  two\n\n  three\nliteral: |\n  keep\n   indent\n",
    "empty_list: []\nempty_map: {}\nnested: [[1, [2, [3]]], {a: {b: {c: d}}}]",
    "# comment\nkey: value # trailing\n'quoted key': v\n? complex\n: value",
    "unicode: 日本語 — “curly” ’s\nemoji: \U0001f600\nbom_like: \ufeffx",
    "tagged: !!str 123\nbin: !!binary aGVsbG8=\ncustom: !thing {a: b}\npy: !!python/object:os.system [x]",
    "multi: this is\n  a plain\n  multiline scalar\n",
]


def pyyaml(text: str) -> object:
    return yaml.load(text, Loader=yaml.BaseLoader)


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_load_as_pyyaml_does(text: str) -> None:
    assert load_yaml(text) == pyyaml(text)


@pytest.mark.slow
def test_every_example_and_generated_record_loads_as_pyyaml_does(tmp_path: Path) -> None:
    load_corpus().generate(tmp_path, 400, 5)
    files = [*tmp_path.rglob("*.txt"), *EXAMPLES.rglob("*.*"), SEED]
    assert len(files) > 400
    for path in files:
        front = split_front_matter(path.read_text(encoding="utf-8"))[0]
        assert load_yaml(front) == pyyaml(front), path


def test_aliases_stay_shared() -> None:
    loaded = load_yaml("a: &x [1, 2]\nb: *x")
    assert loaded["a"] is loaded["b"]


def test_errors_are_pyyaml_errors() -> None:
    for text in ["a: [1, 2", "a: b: c", "- a\nb: c", "*undefined", "a: 1\n---\nb: 2"]:
        with pytest.raises(yaml.YAMLError):
            load_yaml(text)


@given(
    st.recursive(
        st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_anything_pyyaml_can_dump_loads_back_the_same(value: object) -> None:
    text = yaml.safe_dump({"v": value}, allow_unicode=True)
    assert load_yaml(text) == pyyaml(text)
