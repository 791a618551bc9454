"""Our YAML loading: the reference (libyaml's composer, our own object building) against PyYAML's
loader, and the fast path (rapidyaml) against the reference, differentially: for every document,
the fast path gives exactly the reference's value, or hands the document to the reference."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from feeds import yamlload
from feeds.records import split_front_matter
from feeds.yamlload import FAST_PATH, load_fast, load_reference, load_yaml
from tests.conftest import EXAMPLES, ROOT, SEED, load_corpus

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
    assert_same(text)


# The fast path against the reference.

needs_fast_path = pytest.mark.skipif(not FAST_PATH, reason="rapidyaml is not usable here")


def outcome(load: Callable[[str], object], text: str) -> tuple[str, str]:
    """What a loader gives: its value as ``repr`` (which shows the order of keys and tells
    ``"true"`` from ``True``), or its error as the message a record's error would show."""
    try:
        return "value", repr(load(text))
    except (yaml.YAMLError, RecursionError) as e:
        return "error", f"{type(e).__name__}: {e}"


def assert_same(text: str) -> bool:
    """The fast path gives the reference's value or declines, and :func:`load_yaml` gives the
    reference's value or error; whether the fast path took ``text``."""
    fast = load_fast(text)
    want = outcome(load_reference, text)
    if fast is not None:
        assert want == ("value", repr(fast)), f"fast path differs on {text!r}"
    assert outcome(load_yaml, text) == want
    return fast is not None


def path_taken(text: str) -> str:
    """:func:`assert_same`, and which way ``text`` went, for ``--hypothesis-show-statistics``."""
    took = assert_same(text)
    if outcome(load_reference, text)[0] == "error":
        return "an error: the reference"
    return "fast path" if took else "a value: the reference"


# What a resolver or the JSON emitter would take for something else: numbers, nulls, booleans,
# dates, infinities.
SPECIAL = [
    "56", "2020-06-12T16:05:00Z", "2021-07-02", "12:30", "1e3", "1E+3", "-1e-3", "0x1F", "0o17",
    "0b101", "007", "0", "-0", "+12", "1_000", "1.10", "1.0", "0.5", ".5", "5.", "-.5", "-5.",
    "+.5", ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".NaN", ".nan", ".Nan", "inf", "nan",
    "Infinity", "-Infinity", "NaN", "infinity", "null", "Null", "NULL", "~", "true", "True", "TRUE",
    "false", "False", "yes", "No", "on", "OFF", "y", "n", "<<", "=",
]  # fmt: skip
# What plain scalars are made of: words, the special ones, and what libyaml refuses to start a
# plain scalar with.
WORDS = [
    "news", "article", "MIT Technology Review", "technologyreview.com", *SPECIAL, "café",
    "日本語", "“curly”", "\U0001f600", "a:b", "a#b", "x,y", "x]", "x}", "it's", 'say "x"', "a\\b",
    "-x", "--", "---", "...", ":x", "?x", "@x", "`x", "%x", "|x", ">x", "!x", "&x", "*x", "[x",
    "{x", "#x", "x@y", "x`y", "x%y", "x|y", "x>y", "x!y", "x&y", "x*y", "-", "?", ":", "a - b",
    "a: b", "a #b", "AT&T", "a < b > c", "<script>alert(1)</script>", "]]>", "governmentâ€™s",
    "\u00a0", "x\u00a0y", "\u2026",
]  # fmt: skip
ESCAPES = [
    "\\\\", '\\"', "\\t", "\\n", "\\r", "\\/", "\\ ", "\\\t", "\\0", "\\a", "\\b", "\\e", "\\f",
    "\\v", "\\N", "\\_", "\\L", "\\P", "\\x41", "\\x85", "\\u00e9", "\\u2028", "\\ud800",
    "\\U0001F600", "\\q", "\\x4", "\\\n", "\\u0000",
]  # fmt: skip
# What a random edit inserts: indicators, whitespace YAML cares about, line breaks of YAML 1.1,
# control characters, document markers.
RISKY = [
    " ", "  ", "\t", "\n", "\r", "\r\n", ":", ": ", "-", "- ", "#", " #", "'", '"', "\\", "&a ",
    "*a", "!t ", "!!str ", "[", "]", "{", "}", ",", "?", "? ", "|", ">", "@", "`", "%", "\ufeff",
    "\x85", "\u2028", "\u2029", "\x00", "\x01", "\x7f", "\x9f", "\ufffe", "---", "...", "\n---\n",
    "\n...\n", "%YAML 1.1\n", "é",
]  # fmt: skip
KEYS = ["title", "url", "webUrl", "name", "domain", "width", "isCached", "images", "a", "b"]
ODD_KEYS = [
    "1", "1.5", "true", "null", "~", "-x", "x-y", "x.y", "a b", "日本", "'q'", '"dq"', "''",
    '""', '"a\\"b"', "? k", "x:y", "k ", "@k", "`k", "%k", "&a k", "!t k", "*a", "[k]", "{k: v}",
    "k" * 1100,
]  # fmt: skip


# What the seed's scalars are made of.
SAFE = [
    "news", "article", "MIT Technology Review", "technologyreview.com", "56", "3000", "1e3",
    "2020-06-12T16:05:00Z", "true", "false", "Computer Vision", "café", "日本語", "it's", "x-y",
    "a:b", "a#b", "x,y", "AT&T", "a < b > c", "<script>alert(1)</script>", "-0", "0",
    "governmentâ€™s", "https://www.example.org/2020/06/12/a-b?w=3000&h=2%252F", "x]", "x}",
]  # fmt: skip
# And what only a quoted scalar can hold.
QUOTED = [*SAFE, "]]>", " ", "'", "&", " & ", "#", ": ", " #", "@x", "`x", "%", "|", ">"]
T = TypeVar("T")


class Pick(Protocol):
    """One of ``options``: drawn by hypothesis (which shrinks a failure to a small document) or
    by ``random`` (many documents a second)."""

    def __call__(self, options: Sequence[T], /) -> T: ...


class Draw:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def __call__(self, options: Sequence[T], /) -> T:
        return self.draw(st.sampled_from(options))


class Seeded:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def __call__(self, options: Sequence[T], /) -> T:
        return self.random.choice(options)


class Documents:
    """YAML documents around the seed's layout. ``odd`` (drawn once a document) is how often, in
    percent, a part is one of the odd ones: most documents are valid, many are not, and some are
    valid for one of the two parsers only."""

    def __init__(self, pick: Pick) -> None:
        self.pick = pick
        self.odd = pick([0, 0, 2, 10, 30, 60])

    def odds(self) -> bool:
        return self.pick(range(100)) < self.odd

    def plain(self, indent: int) -> str:
        pick = self.pick
        if self.odds():
            return pick(SPECIAL)
        text = " ".join(pick(WORDS if self.odds() else SAFE) for _ in range(pick([1, 1, 2, 3])))
        if self.odds():  # folded over lines, as a plain scalar may be
            text += "\n" + " " * (indent + pick([0, 1, 2, 4])) + pick(WORDS)
        return text

    def double_quoted(self, indent: int) -> str:
        pick = self.pick
        parts = [pick(SAFE)]
        for _ in range(pick(range(4))):
            if self.odds():
                parts.append(pick([*ESCAPES, *RISKY, "\n", "\n\n", " \n  ", "\n" + " " * indent]))
            else:
                word = pick(QUOTED)
                parts.append(word.replace("\\", "\\\\").replace('"', '\\"'))
        end = pick(['" - x', '" k: v', '" x', "", '"\\']) if self.odds() else pick(['"', '" # c'])
        return '"' + "".join(parts) + end

    def single_quoted(self, indent: int) -> str:
        pick = self.pick
        words = [pick(SAFE), *(pick(QUOTED) for _ in range(pick(range(3))))]
        words = [word.replace("'", "''") for word in words]
        if self.odds():
            words.append(pick([*WORDS, '"', "\\", "'", "\n", "\n  ", " \n ", "\n" + " " * indent]))
        return "'" + "".join(words) + "'" + (pick([" - x", " k: v", ""]) if self.odds() else "")

    def block(self, indent: int) -> str:
        pick = self.pick
        header = pick(["|", ">", "|-", ">-", "|+", ">+", "|2", ">1", "|-1", "| # c", "> x"])
        lines = [pick(["", "  more", "\t x", *SAFE]) for _ in range(pick(range(4)))]
        return header + "".join(f"\n{' ' * (indent + pick([2, 2, 0, 3]))}{line}" for line in lines)

    def scalar(self, indent: int) -> str:
        pick = self.pick
        if self.odds():
            kind = pick(["block", "single", "empty", "flow", "property", "plain", "double"])
        else:
            kind = pick(["plain", "plain", "double", "double", "single"])
        if kind == "empty":
            return pick(
                ["", '""', "''", "[]", "{}", "[ ]", "~", "null", "[] - x", "{} k: v", "[] x"]
            )
        if kind == "flow":
            return self.flow(2)
        if kind == "property":
            return pick(["&a ", "!!str ", "!t ", "*a", "!!binary "]) + self.scalar(indent)
        make = {
            "plain": self.plain,
            "double": self.double_quoted,
            "single": self.single_quoted,
            "block": self.block,
        }
        return make[kind](indent)

    def flow(self, depth: int) -> str:
        pick = self.pick
        kind = pick(["scalar", "seq", "map"]) if depth else "scalar"
        if kind == "scalar":
            word = pick(WORDS)
            return word if word.isalnum() else repr(word)
        items = [self.flow(depth - 1) for _ in range(pick(range(4)))]
        if kind == "seq":
            return "[" + ", ".join(items) + "]"
        return "{" + ", ".join(f"{pick(KEYS)}: {item}" for item in items) + "}"

    def key(self) -> str:
        return self.pick(ODD_KEYS) if self.odds() else self.pick(KEYS)

    def mapping(self, indent: int = 0, depth: int = 0, lead: str = "") -> str:
        pick, lines = self.pick, []
        for n in range(pick([1, 2, 3, 4, 5])):
            pad = lead if n == 0 and lead else " " * indent
            if self.odds():  # a bad indent
                pad += pick([" ", "\t", "   "])
            colon = pick([":\t", ":", " : ", ":  "]) if self.odds() else ": "
            kind = pick(["map", "seq", "scalar", "scalar", "scalar"]) if depth < 4 else "scalar"
            if kind == "map":
                after = pick([" ", " # c", "\t"]) if self.odds() else ""
                lines.append(f"{pad}{self.key()}:{after}")
                step = pick([1, 4, 0, 3]) if self.odds() else 2
                lines.append(self.mapping(indent + step, depth + 1))
            elif kind == "seq":
                lines.append(f"{pad}{self.key()}:")
                step = pick([1, 4, 3]) if self.odds() else pick([0, 2])
                lines.append(self.sequence(indent + step, depth + 1))
            else:
                lines.append(f"{pad}{self.key()}{colon}{self.scalar(indent + 2)}")
            if self.odds():
                lines.append(pick(["", "  ", "# comment", " " * indent + "# c", "\t"]))
        return "\n".join(lines)

    def sequence(self, indent: int, depth: int) -> str:
        pick, lines = self.pick, []
        for _ in range(pick([1, 2, 3, 4])):
            kind = pick(["map", "map", "seq", "scalar", "scalar"]) if depth < 4 else "scalar"
            if kind == "map":
                lines.append(self.mapping(indent + 2, depth + 1, lead=" " * indent + "- "))
            elif kind == "seq":
                lines.append(" " * indent + "- - " + self.scalar(indent + 4))
            else:
                dash = pick(["-  ", "-", "-\t"]) if self.odds() else "- "
                lines.append(" " * indent + dash + self.scalar(indent + 2))
        return "\n".join(lines)

    def document(self) -> str:
        pick = self.pick
        text = self.mapping()
        while self.odds():  # random edits
            at = pick(range(len(text) + 1))
            if pick([True, False]):
                text = text[:at] + pick(RISKY) + text[at:]
            else:
                text = text[:at] + text[at + 1 :]
        if self.odds():  # a complex key
            key = pick(["? k\n: v", "? k\n:v", "? - k\n: v", "? k", "? |\n  k\n: v"])
            text = f"{text}\n{key}"
        if self.odds():  # an anchor, and aliases to it
            text = f"base: &a {self.scalar(2) if self.odds() else 'x'}\n{text}\ncopy: *a"
        if self.odds():
            start = [
                "\ufeff",
                "--- ",
                "---\n",
                "%YAML 1.1\n---\n",
                "# c\n",
                "\n",
                "\n...\n",
                "...\n",
            ]
            text = pick(start) + text
        if self.odds():  # a document marker between two entries
            lines = text.split("\n")
            at = pick(range(len(lines) + 1))
            text = "\n".join([*lines[:at], pick(["...", "---", "--- x", "%x"]), *lines[at:]])
        if self.odds():
            text += pick(["\n", "\n\n", " ", "\n...", "\n---", "\n---\nb: 1", "\n# end"])
        if self.odds() and self.odds():
            text = text.replace("\n", "\r\n")
        if self.odds() and self.odds():  # deep
            depth = pick([10, 63, 64, 65, 70])
            text += "\ndeep:" + "".join(f"\n{'  ' * n}k{n}:" for n in range(1, depth)) + " v"
        return text


@st.composite
def documents(draw: st.DrawFn) -> str:
    return Documents(Draw(draw)).document()


# Printable text, as records hold it.
TEXT = st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"])
SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck))


@needs_fast_path
@settings(SETTINGS, max_examples=100)
@given(documents())
def test_the_fast_path_gives_the_references_value_or_hands_over(text: str) -> None:
    event(path_taken(text))


# A thousand documents a block: four in ``make quick``, fifty more in ``make test``.
BLOCKS = [
    *(pytest.param(n, id=f"quick{n}") for n in range(4)),
    *(pytest.param(n, marks=pytest.mark.slow, id=f"slow{n}") for n in range(4, 54)),
]


@needs_fast_path
@pytest.mark.parametrize("block", BLOCKS)
def test_the_same_on_random_documents(block: int) -> None:
    for seed in range(block * 1000, (block + 1) * 1000):
        assert_same(Documents(Seeded(seed)).document())


@needs_fast_path
@settings(SETTINGS, max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(KEYS) | st.text(TEXT, min_size=1, max_size=12),
        st.recursive(
            st.text(TEXT, max_size=100) | st.sampled_from(WORDS) | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(KEYS) | st.text(TEXT, max_size=8), inner, max_size=3
                )
            ),
            max_leaves=12,
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([None, "'", '"']),
    st.integers(20, 200),
)
def test_what_pyyaml_dumps_in_any_style_loads_the_same(
    value: dict[str, object], style: str | None, width: int
) -> None:
    text = yaml.safe_dump(value, allow_unicode=True, default_style=style, width=width)
    event(path_taken(text))


# Documents that the fast path must take: what the seed and the generated records are made of.
FAST = [
    "a: b",
    'title: "The two-year fight"\nquality: 56\npublished: true\nheat: 76',
    "n: 1e3\nm: -0\nk: 007\nh: 0x1F\nf: 1.10\ne: 1E+3\nd: 2020-06-12T16:05:00Z",
    "a: yes\nb: No\nc: ~\nd: Null\ne: True\nf: false\ng: 'null'\nh: \"\"",
    "images: []\nrelated: {}\ntopics:\n  - AI\n  - Computer Vision\n",
    'a: "AT&T <b> & \\"quoted\\" \\\\ ]]>"\nb: it\'s\nd: a # comment',
    "list:\n- - a\n  - b\n- k: v\n  l:\n    m: n\n",
    "a: plain\n  folded over\n\n  lines\nb: \"double\n  folded\"\nc: 'single\n\n  kept'\n",
    "dup: 1\ndup: 2\nother: 3\ndup: 4",
    "unicode: 日本語 — “curly” ’s \U0001f600 \u00a0 governmentâ€™s",
    "a: b # comment\n# comment\n\nc: d\n",
]
# Documents that the fast path must hand to the reference, and why.
FALLBACK = [
    "a: &x 1\nb: *x",  # anchors and aliases
    "a: !!str 1\nb: !t x",  # tags
    "a: 1\n---\nb: 2",  # two documents
    "- a\n- b",  # not a mapping
    "a:",  # an empty value: null in JSON, as is ``null``
    "a: null",
    "a: .NaN\nb: .inf\nc: -.Inf",  # written as ".nan", ".inf", "-.inf"
    "a: .5",  # written as 0.5
    "a: 5.",  # written as 5.0
    "a: [1, 2]",  # flow collections other than [] and {}
    "a: {b: c}",
    "a: |\n  text\n",  # block scalars
    "a: >-\n  text\n",
    'a: "\\u00e9"',  # escapes other than \\ and \"
    "a:\tb",  # tab
    "a: b\r\nc: d",  # CR
    "a: b\u2028c",  # LS (a line break in YAML 1.1)
    "a: \x85",  # NEL
    "\ufeffa: b",  # BOM
    "a: \x7f",  # DEL
    '"k": v',  # a quoted key
    "%YAML 1.1\n---\na: b",  # a directive
    'l:\n- "x" - y',  # ryml reads two items, libyaml refuses it
    'l:\n- "x" b: c',
    "l:\n- [] - y",
    "a: @x",  # libyaml refuses these as plain scalars
    "a: `x",
    "a: }",
    ": a",  # an empty key
    "k" * 1100 + ": v",  # a key longer than libyaml takes
    "? m\n: 1",  # a complex key
    'a:\n  h:\n  - "x"\n   e: 6',  # ryml reads " e" as a key, libyaml refuses it
    "a: b: c",  # a ryml error
    "a:\n" + "".join(" " * (2 * n) + f"k{n}:\n" for n in range(1, 80)) + "  " * 80 + "v: 1",
]


@needs_fast_path
@pytest.mark.parametrize("text", FAST)
def test_the_fast_path_takes_what_records_are_made_of(text: str) -> None:
    assert assert_same(text), "the fast path handed it over"


@needs_fast_path
@pytest.mark.parametrize("text", FALLBACK)
def test_the_fast_path_hands_over_what_it_cannot_be_sure_of(text: str) -> None:
    assert not assert_same(text), "the fast path took it"


@needs_fast_path
@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_are_the_same_on_both_paths(text: str) -> None:
    assert_same(text)


@needs_fast_path
def test_the_seed_and_generated_records_take_the_fast_path(tmp_path: Path) -> None:
    load_corpus().generate(tmp_path, 300, 7)
    files = [SEED, *sorted(tmp_path.rglob("*.txt")), *sorted(EXAMPLES.rglob("*.*"))]
    taken = [assert_same(split_front_matter(path.read_text(encoding="utf-8"))[0]) for path in files]
    assert all(taken), [str(path) for path, fast in zip(files, taken, strict=True) if not fast]


@needs_fast_path
def test_rapidyaml_prints_nothing_on_an_error(capfd: pytest.CaptureFixture[str]) -> None:
    for text in ["a: b: c", 'l:\n- "x" - y', "a: [1, 2"]:
        with pytest.raises(yaml.YAMLError):
            load_yaml(text)
    assert capfd.readouterr() == ("", "")
    assert yamlload._SILENCE is not None
    assert yamlload._SILENCE.pointer.value == yamlload._SILENCE.real


def test_everything_works_without_rapidyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "_RYML", None)
    seed = split_front_matter(SEED.read_text(encoding="utf-8"))[0]
    assert load_fast(seed) is None
    assert load_yaml(seed) == load_reference(seed)


def test_the_fast_path_is_off_where_rapidyaml_cannot_be_imported() -> None:
    code = (
        "import sys; sys.modules['ryml'] = None\n"
        "from feeds.yamlload import FAST_PATH, load_yaml\n"
        "assert not FAST_PATH\n"
        "print(load_yaml('a: [1, 2]\\nb: c'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "{'a': ['1', '2'], 'b': 'c'}\n"


NEVER = re.compile(rb"(?!)")
# Each check of the fast path, broken alone, and a document on which the fast path then gives
# another value than the reference, or a value where the reference refuses the document: what
# the check is there for, and proof that the comparison above sees it.
BROKEN = [
    ("_float", str, "a: .5"),  # the emitter's 0.5 taken for the text
    ("_NULL", NEVER, "a:"),  # an empty value read as None
    ("_TRUE", NEVER, "a: true"),  # read as True
    ("_ODD_STRING", NEVER, "a: .NaN"),  # the emitter's ".nan"
    ("_ODD_STRING", NEVER, "a: @x"),  # libyaml refuses it
    ("_ODD_STRING", NEVER, 'a:\n  h:\n  - "x"\n   e: 6'),  # ryml reads a key " e"
    ("_PLAIN_BYTES", bytes(range(256)), "\t\ne: c"),  # libyaml refuses the tab
    ("_C1", NEVER, "h: \x85"),  # a line break for libyaml: ""
    ("_ESCAPE", NEVER, 'a: "\\ud800"'),  # libyaml refuses a lone surrogate
    ("_LINE_START", NEVER, "\n...\na: b"),  # libyaml refuses what follows the end
    ("_LONG_LINE", NEVER, "a: b\n" + "k" * 1100 + ": v"),  # libyaml refuses a key that long
    ("_AFTER_QUOTE", (), 'l:\n- "x" - y'),  # two items for ryml, an error for libyaml
    ("_FLOW", (), "a: [inf]"),  # the emitter's ".inf", not after a space in a flow list
    ("_FLOW", (), "l:\n- [] - y"),
    ("_node_start", lambda data, char: False, "a: |\n  x"),  # "x\n" for ryml, "x" for libyaml
    ("_node_start", lambda data, char: False, "? m\n:1"),  # libyaml refuses ":1"
    ("_properties", lambda data: False, "& k: c"),  # libyaml refuses an empty anchor
    ("_properties", lambda data: False, "a: &x 1\nb: &x 2"),  # ... and a second one
]


@needs_fast_path
@pytest.mark.parametrize(("name", "broken", "text"), BROKEN)
def test_every_check_of_the_fast_path_is_needed(
    monkeypatch: pytest.MonkeyPatch, name: str, broken: object, text: str
) -> None:
    assert_same(text)
    monkeypatch.setattr(yamlload, name, broken)
    with pytest.raises(AssertionError, match="fast path differs"):
        assert_same(text)
