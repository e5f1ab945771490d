"""Write a benchmark's table into docs/benchmarks.md between its markers (shared by the bench scripts).

``--write-readme`` in every bench script ends here. ``README`` is the page the tables go into; tests point it
at a temporary file.
"""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_table(name: str, table: str) -> None:
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    text = README.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise SystemExit(f"{README.name} lacks the markers {begin} ... {end}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{begin}\n{table.rstrip()}\n{end}{tail}", encoding="utf-8")
