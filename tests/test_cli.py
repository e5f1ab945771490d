"""The command line as a user sees it: the tokenizer commands run where torch cannot be imported, the
model commands say how to install it, and every bad input is one line on stderr with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from albert_tok import AlbertTokenizer
from albert_tok.data import ShardedCorpus

from .conftest import ROOT, SPIECE

ALBERT_SCRIPT = Path(sys.executable).parent / "albert"  # the console script pyproject.toml installs

# Imported by every Python process started with this directory on PYTHONPATH (spawned workers too):
# torch then fails to import as if it were not installed.
BLOCK_TORCH = textwrap.dedent("""
    import sys

    class _NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _NoTorch())
""")


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory) -> dict[str, str]:
    """Environment variables under which ``import torch`` fails."""
    site = tmp_path_factory.mktemp("no_torch")
    (site / "sitecustomize.py").write_text(BLOCK_TORCH)
    return {"PYTHONPATH": str(site)}


def run(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def albert(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The ``albert`` entry point (``albert_model.cli:main``), as the installed script runs it."""
    if ALBERT_SCRIPT.exists():
        return run([str(ALBERT_SCRIPT), *args], env, stdin)
    return run(
        [sys.executable, "-c", "import sys; from albert_model.cli import main; sys.exit(main())", *args], env, stdin
    )


@pytest.fixture()
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(
        "Hello world.\n\nALBERT's 1,000 (canonical) ids.\ncafé ﬁ 中文 😀\na [MASK] b\n" * 5, encoding="utf-8"
    )
    return path


def test_the_blocker_blocks(no_torch):
    proc = run([sys.executable, "-c", "import torch"], no_torch)
    assert proc.returncode == 1 and "No module named 'torch'" in proc.stderr


def test_importing_the_command_does_not_import_torch(no_torch):
    code = (
        "import sys, albert_tok, albert_tok.data, albert_tok.cli, albert_model, albert_model.cli\n"
        "print('torch' in sys.modules, set(albert_model.__all__) <= set(dir(albert_model)))"
    )
    proc = run([sys.executable, "-c", code], no_torch)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_albert_model_names_resolve_on_first_use():
    code = (
        "import sys, albert_model\nassert 'torch' not in sys.modules\n"
        "from albert_model import AlbertConfig, pipeline, DEFAULT_MODEL\nimport albert_model.pipelines as p\n"
        "assert DEFAULT_MODEL == p.DEFAULT_MODEL and pipeline is p.pipeline\n"
        "assert all(hasattr(albert_model, n) for n in albert_model.__all__)\nprint(len(albert_model.__all__))"
    )
    proc = run([sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "19"  # every name in __all__ resolved


def test_tokenize_without_torch(no_torch):
    for command in ([str(ALBERT_SCRIPT)] if ALBERT_SCRIPT.exists() else [], [sys.executable, "-m", "albert_tok"]):
        if not command:
            continue
        proc = run([*command, "tokenize", "Hello world"], no_torch)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == ["[CLS] ▁hello ▁world [SEP]", "2 10975 126 3"]  # the shipped model's
    js = albert("tokenize", "--json", "--model", str(SPIECE.parent), env=no_torch, stdin="a b\nc\n")
    assert [json.loads(line)["input"] for line in js.stdout.splitlines()] == ["a b", "c"]


def test_train_vocab_without_torch(no_torch, tmp_path):
    text = tmp_path / "train.txt"
    text.write_text("\n".join(f"alpha beta gamma {i} delta epsilon" for i in range(300)), encoding="utf-8")
    proc = albert("train-vocab", str(text), "--output", str(tmp_path / "vocab"), "--vocab-size", "40", env=no_torch)
    assert proc.returncode == 0, proc.stderr
    assert AlbertTokenizer.from_pretrained(tmp_path / "vocab").convert_ids_to_tokens([0, 4]) == ["<pad>", "[MASK]"]


def test_train_vocab_says_when_the_text_is_too_small_for_the_size_asked(no_torch, tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text("a b c\nab bc\n", encoding="utf-8")
    proc = albert("train-vocab", str(text), "--output", str(tmp_path / "v"), "--vocab-size", "8000", env=no_torch)
    size = AlbertTokenizer.from_pretrained(tmp_path / "v").vocab_size
    assert proc.returncode == 0 and size < 8000
    assert f"albert train-vocab: warning: the text in {text} yields only {size} pieces, not the 8000" in proc.stderr


@pytest.mark.parametrize("entry", ["albert", "python -m albert_tok"])
def test_tokenize_corpus_without_torch(no_torch, corpus_file, tmp_path, entry):
    args = [
        "tokenize-corpus",
        str(corpus_file),
        "--out",
        str(tmp_path / "o"),
        "--tokenizer",
        str(SPIECE.parent),
        "--workers",
        "2",
        "--shard-lines",
        "10",
    ]
    proc = (
        albert(*args, env=no_torch) if entry == "albert" else run([sys.executable, "-m", "albert_tok", *args], no_torch)
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 25
    corpus = ShardedCorpus(tmp_path / "o")
    lines = corpus_file.read_text(encoding="utf-8").splitlines()
    assert [corpus[i]["input_ids"].tolist() for i in range(len(corpus))] == AlbertTokenizer(SPIECE)(
        lines, truncation=True
    )["input_ids"]


def test_help_lists_every_command_without_torch(no_torch):
    proc = albert("--help", env=no_torch)
    assert proc.returncode == 0, proc.stderr
    for command in ("fill-mask", "classify", "answer", "pretrain", "tokenize", "train-vocab", "tokenize-corpus"):
        assert command in proc.stdout
    for command in ("tokenize", "train-vocab", "tokenize-corpus"):
        assert albert(command, "--help", env=no_torch).returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ["fill-mask", "a [MASK] b"],
        ["classify", "text"],
        ["answer", "--question", "q", "--context", "c"],
        ["pretrain", "--help"],
        ["fill-mask", "--help"],
    ],
)
def test_model_commands_without_torch_say_how_to_install_it(no_torch, args):
    proc = albert(*args, env=no_torch)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "pip install torch==2.13.0" in proc.stderr
    assert proc.stderr.startswith(f"albert {args[0]}: error:")


def test_model_commands_with_torch_keep_working():
    proc = albert("pretrain", "--help")
    assert proc.returncode == 0 and "--max-tokens" in proc.stdout
    assert albert("fill-mask", "--help").returncode == 0


def _bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    good = tmp / "good.txt"
    good.write_text("hello\n")
    bad = tmp / "bad.txt"
    bad.write_bytes(b"fine\n\xc3\x28\n")
    empty = tmp / "empty.txt"
    empty.write_text("")
    blocker = tmp / "a-file"
    blocker.write_text("x")
    tok = str(SPIECE.parent)
    corpus = ["tokenize-corpus", str(good), "--tokenizer", tok]
    return [
        (["tokenize-corpus", str(tmp / "nope.txt"), "--out", str(tmp / "o1")], "does not exist or is not a file"),
        (["tokenize-corpus", str(tmp), "--out", str(tmp / "o2"), "--tokenizer", tok], "is not a file"),
        (["tokenize-corpus", str(bad), "--out", str(tmp / "o3"), "--tokenizer", tok], "invalid UTF-8 at byte offset 5"),
        ([*corpus, "--out", str(blocker)], "cannot write to output directory"),
        ([*corpus, "--out", str(blocker / "sub")], "cannot write to output directory"),
        ([*corpus, "--out", str(tmp / "o4"), "--max-length", "2"], "max_length must be an int >= 3"),
        ([*corpus, "--out", str(tmp / "o5"), "--workers", "0"], "workers must be a positive int"),
        ([*corpus, "--out", str(tmp / "o6"), "--shard-lines", "0"], "shard_lines must be a positive int"),
        ([*corpus, "--out", str(tmp / "o7"), "--shard-lines", "3", "--pair-sentences"], "even with pair_sentences"),
        ([*corpus, "--out", str(tmp / "o8"), "--workers", "many"], "invalid int value: 'many'"),
        ([*corpus, "--out", str(tmp / "o9"), "--format", "csv"], "invalid choice: 'csv'"),
        (["tokenize-corpus", "-", "-", "--out", str(tmp / "o10"), "--tokenizer", tok], "can be given only once"),
        (["tokenize-corpus", str(good), "--out", str(tmp / "o11"), "--tokenizer", str(tmp / "none")], "does not exist"),
        (
            ["tokenize-corpus", str(good), "--out", str(tmp / "o12"), "--tokenizer", str(tmp)],
            "not a tokenizer directory",
        ),
        (["tokenize-corpus", str(good)], "the following arguments are required: --out"),
        (["tokenize", "--input", str(tmp / "nope.txt"), "--model", tok], "does not exist"),
        (["tokenize", "--input", str(bad), "--model", tok], "is not UTF-8 (byte offset 5)"),
        (["tokenize", "x", "--model", str(tmp / "none")], "does not exist"),
        (["train-vocab", str(tmp / "nope.txt"), "--output", str(tmp / "v")], "does not exist"),
        (["train-vocab", str(bad), "--output", str(tmp / "v"), "--vocab-size", "20"], "not UTF-8 (byte offset 5)"),
        (["train-vocab", str(empty), "--output", str(tmp / "v")], "no text to train on"),
        (
            ["train-vocab", str(good), "--output", str(tmp / "v"), "--vocab-size", "3"],
            "vocab_size must be an int >= 10",
        ),
        (["no-such-command"], "invalid choice: 'no-such-command'"),
    ]


def test_every_bad_input_is_one_line_and_exit_2(no_torch, tmp_path):
    for args, message in _bad_inputs(tmp_path):
        proc = albert(*args, env=no_torch)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)


def test_a_rerun_with_other_settings_is_one_line_and_exit_2(no_torch, corpus_file, tmp_path):
    args = ["tokenize-corpus", str(corpus_file), "--out", str(tmp_path / "o"), "--tokenizer", str(SPIECE.parent)]
    assert run([sys.executable, "-m", "albert_tok", *args], no_torch).returncode == 0
    proc = run([sys.executable, "-m", "albert_tok", *args, "--max-length", "16"], no_torch)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "max_length: 512 there, 16 now" in proc.stderr


def test_a_data_parallel_job_that_cannot_start_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    """WORLD_SIZE=2 without a rendezvous address: a ``DistributedError``, reported as bad input, not a traceback."""
    from albert_model.cli import main

    for name in ("MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    corpus = tmp_path / "c.txt"
    corpus.write_text("One sentence here.\nAnother one.\n\nA second document.\nIt ends.\n" * 4)
    files = ["--tokenizer", str(SPIECE.parent), "--train", str(corpus), "--output", str(tmp_path / "o")]
    code = main(["pretrain", *files, "--steps", "1", "--batch-size", "2", "--max-seq-length", "16", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "MASTER_ADDR" in err
