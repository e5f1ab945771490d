"""Fortune cookies (Debian fortunes and fortunes-min, not fortunes-off): 8 per document."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..packages import Inputs, dpkg_files
from ..text import Doc, group, is_verse, norm_ws, prose_block

NAME = "fortunes"

FORTUNE_DIR = Path("/usr/share/games/fortunes")
FORTUNE_SKIP = {"ascii-art", "translate-me"}  # pictures; Latin / French


def documents(inputs: Inputs) -> Iterator[Doc]:
    return read(fortune_files(dpkg_files("fortunes") | dpkg_files("fortunes-min")))


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("fortunes"),
        package="debian:fortunes + debian:fortunes-min",
        version=f"{inputs.version('fortunes')} / {inputs.version('fortunes-min')}",
        licence="BSD-3-Clause (fortune-mod; data files distributed under the package terms)",
        origin=str(FORTUNE_DIR) + " (files of fortunes and fortunes-min only; not fortunes-off; "
        "ascii-art and translate-me skipped)",
        description="fortune cookies, 8 per document",
    )


def fortune_lines(text: str) -> list[str]:
    text = re.sub(r".\x08", "", text)  # overstrike (bold / underline)
    lines = [ln for ln in text.split("\n") if not re.match(r"^\s+--\s*\S", ln) and not re.match(r"^--\s", ln)]
    # paragraphs: a blank line, a line indented deeper than the cookie's base indentation, or a
    # "Speaker:" line starts a new one
    lines = [ln.expandtabs() for ln in lines]
    base = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    lines = [ln[base:] for ln in lines]
    paras: list[list[str]] = [[]]
    for ln in lines:
        if not ln.strip():
            paras.append([])
        elif paras[-1] and (
            (ln[:1].isspace() and (re.search(r"[.!?:\"')\]]\s*$", paras[-1][-1]) or len(paras[-1][-1].strip()) < 45))
            or re.match(r"^[A-Za-z][\w .'-]{0,20}:\s", ln)
        ):
            paras.append([ln])
        else:
            paras[-1].append(ln)
    out: list[str] = []
    if is_verse(lines):
        return [norm_ws(ln) for ln in lines if ln.strip()]
    for para in paras:
        out.extend(prose_block(para))
    return out


def read(files: Iterable[Path]) -> Iterator[Doc]:
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        cookies = [c for c in re.split(r"\n%\n", "\n" + text) if c.strip()]
        yield from group((fortune_lines(c) for c in cookies), 8)


def fortune_files(package_files: set[str]) -> list[Path]:
    out = []
    for p in sorted(FORTUNE_DIR.iterdir()):
        if p.suffix in (".dat", ".u8") or p.is_symlink() or p.name in FORTUNE_SKIP:
            continue
        if str(p) in package_files:
            out.append(p)
    return out
