"""The documentation runs: every ```python block of README.md and docs/*.md, and the output it shows.

Conventions (CONTRIBUTING.md, "Documentation"):

* The ``python`` blocks of one file run in order, in one namespace, as a user would paste them: in a
  temporary directory (one per file) that holds a ``fixtures`` link to the repository's ``fixtures/``, so
  ``"fixtures/spiece.model"`` works and whatever a block saves (``"my-albert"``) is thrown away.
* ``<!-- skip: REASON -->`` on the line before a block: the block is not run and its test is skipped with
  REASON (a GPU, the network, a cluster, a large download).
* ``EXPR  # -> REPR`` at the end of a statement: ``repr(EXPR)`` must equal REPR.
* ``<!-- output -->`` before a ```text block right after a code block: what the code block prints must be
  exactly that text. For a ```bash block, its last command must be an ``albert`` command; it runs in-process
  (``albert_model.cli.main``) and its standard output is compared.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\S*)\s*$")
SKIP = re.compile(r"^<!--\s*skip:\s*(.+?)\s*-->$")
OUTPUT = "<!-- output -->"
ARROW = "# -> "


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None = None
    output: str | None = None

    @property
    def where(self) -> str:
        name = self.path.relative_to(ROOT).as_posix() if self.path.is_relative_to(ROOT) else self.path.name
        return f"{name}:{self.line}"


def parse(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with their skip reason and the output shown after them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        start, lang = i, m.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            raise ValueError(f"{path.name}:{start + 1}: a ```{lang} block is never closed")
        before = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        skip = SKIP.match(before)
        block = Block(path, start + 1, lang, "\n".join(lines[start + 1 : end]) + "\n", skip.group(1) if skip else None)
        if before == OUTPUT:  # an output block: it belongs to the code block before it
            if not blocks or lang != "text":
                raise ValueError(f"{path.name}:{start + 1}: {OUTPUT} must precede a ```text block after a code block")
            blocks[-1].output = block.code
        else:
            blocks.append(block)
        i = end + 1
    return blocks


BLOCKS = [b for path in DOCS for b in parse(path) if b.lang == "python" or (b.lang == "bash" and b.output)]


@dataclass
class FileRun:
    """The state of one file's blocks: they run in order, in one namespace and one directory."""

    directory: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"})
    done: set[int] = field(default_factory=set)
    failed: str | None = None


RUNS: dict[Path, FileRun] = {}


def checked_statements(block: Block) -> tuple[ast.Module, dict[int, str]]:
    """The block's syntax tree and its ``# -> REPR`` comments by line (1-based, within the block)."""
    tree = ast.parse(block.code, filename=block.where)
    arrows = {
        tok.start[0]: tok.string[len(ARROW) :].strip()
        for tok in tokenize.generate_tokens(io.StringIO(block.code).readline)
        if tok.type == tokenize.COMMENT and tok.string.startswith(ARROW)
    }
    for stmt in tree.body:
        end = stmt.end_lineno or stmt.lineno
        if end in arrows and not isinstance(stmt, ast.Expr):
            raise ValueError(f"{block.where}: line {end} has '{ARROW}' after a statement that is not an expression")
    lone = set(arrows) - {stmt.end_lineno for stmt in tree.body}
    if lone:
        raise ValueError(f"{block.where}: '{ARROW}' on line(s) {sorted(lone)} does not end a statement")
    return tree, arrows


def run_python(block: Block, namespace: dict[str, Any]) -> str:
    """Run a block statement by statement; check ``# ->`` comments; return what it printed."""
    tree, arrows = checked_statements(block)
    offset = block.line  # the code starts on the line after the fence: tracebacks name the Markdown line
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for stmt in tree.body:
            ast.increment_lineno(stmt, offset)
            expected = arrows.get((stmt.end_lineno or stmt.lineno) - offset)
            if expected is None:
                code = compile(ast.Module([stmt], []), str(block.path), "exec")
                exec(code, namespace)
                continue
            assert isinstance(stmt, ast.Expr)
            value = eval(compile(ast.Expression(stmt.value), str(block.path), "eval"), namespace)
            assert repr(value) == expected, f"{block.path.name}:{stmt.lineno}: {value!r} != {expected}"
    return out.getvalue()


def run_bash(block: Block) -> str:
    """The standard output of the block's last command, an ``albert`` command run in-process."""
    from albert_model.cli import main

    command = block.code.strip().splitlines()[-1].split("&&")[-1]
    argv = shlex.split(command)
    assert argv and argv[0] == "albert", f"{block.where}: the command before {OUTPUT} must be an albert command"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv[1:]) == 0, f"{block.where}: {command} failed"
    return out.getvalue()


def run(block: Block) -> None:
    if block.lang == "bash":
        printed = run_bash(block)
    else:
        state = RUNS[block.path]
        printed = run_python(block, state.namespace)
    if block.output is not None:
        assert printed.rstrip() == block.output.rstrip(), f"{block.where} printed:\n{printed}"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_block_runs(block: Block, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.skip:
        pytest.skip(f"{block.where}: {block.skip}")
    if block.path not in RUNS:
        directory = tmp_path_factory.mktemp(block.path.stem)
        (directory / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
        RUNS[block.path] = FileRun(directory)
    state = RUNS[block.path]
    monkeypatch.chdir(state.directory)
    # the blocks before this one in the same file first (they ran already unless this test was selected alone)
    for earlier in [b for b in BLOCKS if b.path == block.path and b.line < block.line]:
        if earlier.skip or earlier.line in state.done or earlier.lang != "python":
            continue
        if state.failed:
            pytest.fail(f"{block.where} needs {state.failed}, which failed")
        try:
            run(earlier)
        except BaseException:
            state.failed = earlier.where
            raise
        state.done.add(earlier.line)
    if state.failed:
        pytest.fail(f"{block.where} needs {state.failed}, which failed")
    try:
        run(block)
    except BaseException:
        if block.lang == "python":
            state.failed = block.where
        raise
    state.done.add(block.line)


# -- the conventions themselves ---------------------------------------------------------------------------


def test_parse_reads_skips_outputs_and_arrows(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "x\n<!-- skip: needs a GPU -->\n```python\nimport torch\n```\n\n```python\nprint(1 + 1)\n"
        "len('ab')  # -> 2\n```\n<!-- output -->\n```text\n2\n```\n```bash\nls\n```\n",
        encoding="utf-8",
    )
    skipped, shown, bash = parse(page)
    assert (skipped.line, skipped.skip, skipped.code) == (3, "needs a GPU", "import torch\n")
    assert (shown.line, shown.skip, shown.output) == (7, None, "2\n")
    assert (bash.lang, bash.output) == ("bash", None)
    assert run_python(shown, {}) == "2\n"


def test_a_wrong_arrow_or_output_fails(tmp_path: Path) -> None:
    block = Block(tmp_path / "p.md", 1, "python", "len('abc')  # -> 2\n")
    with pytest.raises(AssertionError, match="3 != 2"):
        run_python(block, {})
    with pytest.raises(ValueError, match="not an expression"):
        run_python(Block(tmp_path / "p.md", 1, "python", "x = 3  # -> 3\n"), {})
    printing = Block(tmp_path / "p.md", 1, "python", "print('a')\n", output="b\n")
    RUNS[printing.path] = FileRun(tmp_path)
    try:
        with pytest.raises(AssertionError, match="printed"):
            run(printing)
    finally:
        del RUNS[printing.path]


def prose(path: Path) -> str:
    """A Markdown file without its fenced blocks."""
    return re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL | re.MULTILINE)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    heads = re.findall(r"^#+ (.+)$", prose(path), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_readme_is_a_front_door_that_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for page in (ROOT / "docs").glob("*.md"):
        assert f"](docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


def test_links_and_anchors_resolve() -> None:
    for path in DOCS:
        for target, anchor in re.findall(r"\]\(([^)#:\s]*)(?:#([^)\s]*))?\)", prose(path)):
            linked = (path.parent / target) if target else path
            assert linked.exists(), f"{path.name} links {target}, which does not exist"
            if anchor:
                assert anchor in anchors(linked), f"{path.name} links {target}#{anchor}: no such heading"


def test_no_issue_numbers_in_the_docs() -> None:
    """Docs say what is, not which ticket made it so (code and inline code may hold '#1', as MRPC's columns do)."""
    for path in DOCS:
        for line in re.sub(r"`[^`]*`", "", prose(path)).splitlines():
            assert not re.search(r"(?<![\w&/])#\d+\b|\bissue \d", line, flags=re.IGNORECASE), f"{path.name}: {line}"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci in (ROOT / "README.md").read_text(encoding="utf-8")
