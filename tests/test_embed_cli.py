"""``albert embed``: JSON lines on standard output, ``.npy`` and ``.jsonl`` files written whole, the same vectors
as ``pipeline("sentence-embedding")``, and bad input as one line with exit code 2."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest

import albert_model as A
from albert_model.cli import MODEL_COMMANDS
from albert_model.pipelines._factory import pipeline

from .test_cli import albert
from .test_pipelines import cli, save_tiny

TEXTS = ["hello world", "A longer text, café 中文.", "short"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("embed_cli"), A.AlbertForMaskedLM)


@pytest.fixture(scope="module")
def embed(tiny_dir):
    return pipeline("sentence-embedding", model=tiny_dir)


def rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_stdout_is_one_json_line_per_text(capsys, tiny_dir, embed):
    code, out, err = cli(capsys, "embed", *TEXTS, "--model", str(tiny_dir))
    assert code == 0, err
    got = rows(out)
    assert [r["text"] for r in got] == TEXTS and all(set(r) == {"text", "embedding"} for r in got)
    # JSON keeps the float32 values exactly
    np.testing.assert_array_equal(np.array([r["embedding"] for r in got], dtype=np.float32), embed(TEXTS))


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_pooling_and_no_normalize(capsys, tiny_dir, embed, pooling):
    code, out, _ = cli(capsys, "embed", *TEXTS, "--model", str(tiny_dir), "--pooling", pooling, "--no-normalize")
    assert code == 0
    got = np.array([r["embedding"] for r in rows(out)], dtype=np.float32)
    np.testing.assert_array_equal(got, embed(TEXTS, pooling=pooling, normalize=False))


def test_npy_and_jsonl_files(capsys, tiny_dir, embed, tmp_path):
    npy = tmp_path / "vectors.npy"
    code, out, _ = cli(capsys, "embed", *TEXTS, "--model", str(tiny_dir), "--output", str(npy))
    assert code == 0 and out == f"{npy}\n"
    matrix = np.load(npy, allow_pickle=False)
    assert matrix.dtype == np.float32 and matrix.shape == (3, 32)
    np.testing.assert_array_equal(matrix, embed(TEXTS))
    jsonl = tmp_path / "vectors.jsonl"
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")  # blank lines skipped, as --input does
    code, out, _ = cli(capsys, "embed", "--input", str(source), "--model", str(tiny_dir), "--output", str(jsonl))
    assert code == 0 and out == f"{jsonl}\n"
    got = rows(jsonl.read_text(encoding="utf-8"))
    assert [r["text"] for r in got] == TEXTS
    np.testing.assert_array_equal(np.array([r["embedding"] for r in got], dtype=np.float32), embed(TEXTS))
    assert sorted(os.listdir(tmp_path)) == ["in.txt", "vectors.jsonl", "vectors.npy"]  # no temporaries left


def test_standard_input_and_an_empty_file(capsys, tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("first\n\nsecond\n"))
    code, out, _ = cli(capsys, "embed", "--model", str(tiny_dir))
    assert code == 0 and [r["text"] for r in rows(out)] == ["first", "second"]
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    npy = tmp_path / "none.npy"
    code, _, _ = cli(capsys, "embed", "--input", str(empty), "--model", str(tiny_dir), "--output", str(npy))
    assert code == 0 and np.load(npy).shape == (0, 32)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pooling", "sum"], "pooling must be one of 'cls', 'mean', 'max', got 'sum'"),
        (["--output", "{tmp}/vectors.txt"], "--output must end with .npy or .jsonl"),
        (["--output", "{tmp}/missing/vectors.npy"], "does not exist"),
        (["--threads", "2"], "--threads is an option of --backend onnxruntime"),
        (["--model", "{tmp}/no-model"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tiny_dir, tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    model = [] if "--model" in args else ["--model", str(tiny_dir)]
    code, out, err = cli(capsys, "embed", "hello", *model, *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert not any(p.suffix in (".npy", ".txt") for p in tmp_path.iterdir())


def test_embed_is_a_model_command():
    assert "embed" in MODEL_COMMANDS
    proc = albert("embed", "--help")
    assert proc.returncode == 0 and "--pooling" in proc.stdout and "--no-normalize" in proc.stdout


def test_onnxruntime_backend(capsys, tiny_dir, embed):
    code, out, _ = cli(capsys, "embed", *TEXTS, "--model", str(tiny_dir), "--backend", "onnxruntime", "--threads", "1")
    assert code == 0
    got = np.array([r["embedding"] for r in rows(out)], dtype=np.float32)
    np.testing.assert_allclose(got, embed(TEXTS), atol=1e-4)
