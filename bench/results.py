"""Writes a benchmark's table into bench/RESULTS.md between its markers, keeping the rest."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def record(name: str, heading: str, lines: list[str], path: Path = RESULTS) -> None:
    """Replace the block between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``path``
    (bench/RESULTS.md unless told), or add it under ``heading`` at the end."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, *lines, end])
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text += f"\n## {heading}\n\n{block}\n"
    path.write_text(text)
    print(block)
