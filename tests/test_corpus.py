"""Data pipelines: corpus shards (resume, errors), DataLoader workers, Ray Data."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from albert_tok import AlbertTokenizerFast
from albert_tok.corpus import CorpusError, ShardedCorpus, tokenize_corpus

from .conftest import ROOT, SHARED, SPIECE

LINES = ["Hello world.", "", "ALBERT's 1,000 (canonical) ids.", "café ﬁ 中文 😀", "a [MASK] b", "x666 bbb"] * 7


@pytest.fixture(scope="module")
def tok():
    return AlbertTokenizerFast(SPIECE)


@pytest.fixture()
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def rows(out_dir):
    corpus = ShardedCorpus(out_dir)
    return [corpus[i]["input_ids"].tolist() for i in range(len(corpus))]


@pytest.mark.parametrize("workers, fmt", [(1, "npy"), (2, "npy"), (1, "parquet")])
def test_shards_equal_direct_tokenization(tok, corpus_file, tmp_path, workers, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    manifest = tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, workers=workers, shard_lines=8,
                               format=fmt, progress=False)
    assert manifest["rows"] == len(LINES) and manifest["shards"] == 6
    assert rows(tmp_path / "out") == tok(LINES, truncation=True)["input_ids"]


def test_pair_sentences(tok, corpus_file, tmp_path):
    tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, pair_sentences=True, shard_lines=8, progress=False)
    corpus = ShardedCorpus(tmp_path / "out")
    expected = tok(LINES[0::2], LINES[1::2], truncation=True)
    assert len(corpus) == len(LINES) // 2
    for i in range(len(corpus)):
        assert corpus[i]["input_ids"].tolist() == expected["input_ids"][i]
        assert corpus[i]["token_type_ids"].tolist() == expected["token_type_ids"][i]


def test_crash_mid_shard_then_resume(tok, corpus_file, tmp_path, monkeypatch):
    import albert_tok.corpus as C

    real = C._save_json
    calls = {"n": 0}

    def crash(path, data):
        if path.endswith(".json") and "shard-" in path:
            calls["n"] += 1
            if calls["n"] == 3:  # the third shard's data files are written, its record is not
                raise KeyboardInterrupt("killed")
        real(path, data)

    monkeypatch.setattr(C, "_save_json", crash)
    with pytest.raises(KeyboardInterrupt):
        tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, workers=1, shard_lines=8, progress=False)
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(CorpusError, match="no manifest.json"):
        ShardedCorpus(tmp_path / "out")
    monkeypatch.setattr(C, "_save_json", real)
    done_before = sorted(p.name for p in (tmp_path / "out").glob("shard-*.json"))
    assert done_before == ["shard-00000.json", "shard-00001.json"]
    mtimes = {p: os.path.getmtime(tmp_path / "out" / p) for p in done_before}
    tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, workers=1, shard_lines=8, progress=False)
    assert {p: os.path.getmtime(tmp_path / "out" / p) for p in done_before} == mtimes  # skipped, not redone
    assert rows(tmp_path / "out") == tok(LINES, truncation=True)["input_ids"]  # no duplicates, no losses


def test_rerun_with_other_settings_refused(tok, corpus_file, tmp_path):
    tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, shard_lines=8, progress=False)
    with pytest.raises(CorpusError, match="other settings"):
        tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, shard_lines=8, max_length=16, progress=False)


def test_input_errors(tok, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert tokenize_corpus([str(empty)], str(tmp_path / "e"), tok, progress=False)["rows"] == 0
    assert len(ShardedCorpus(tmp_path / "e")) == 0
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(CorpusError, match=r"bad.txt: invalid UTF-8 at byte offset 14"):
        tokenize_corpus([str(bad)], str(tmp_path / "b"), tok, progress=False)
    tokenize_corpus([str(bad)], str(tmp_path / "r"), tok, errors="replace", progress=False)
    assert len(ShardedCorpus(tmp_path / "r")) == 2
    with pytest.raises(CorpusError, match="does not exist"):
        tokenize_corpus([str(tmp_path / "missing.txt")], str(tmp_path / "m"), tok, progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CorpusError, match="cannot write to output directory"):
        tokenize_corpus([str(empty)], str(blocker / "sub"), tok, progress=False)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "albert_model", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_cli_tokenize_corpus(corpus_file, tmp_path):
    pytest.importorskip("torch")
    ok = run_cli("tokenize-corpus", str(corpus_file), "--out", str(tmp_path / "o"), "--tokenizer", str(SPIECE.parent),
                 "--workers", "2", "--shard-lines", "10")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rows"] == len(LINES)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xc3\x28\n")
    proc = run_cli("tokenize-corpus", str(bad), "--out", str(tmp_path / "b"), "--tokenizer", str(SPIECE.parent))
    assert proc.returncode == 2 and "byte offset 0" in proc.stderr
    proc = run_cli("tokenize-corpus", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "n"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_dataloader_with_two_workers(tok, corpus_file, tmp_path):
    torch = pytest.importorskip("torch")
    from albert_tok.collate import PaddingCollator

    tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, shard_lines=8, progress=False)
    loader = torch.utils.data.DataLoader(ShardedCorpus(tmp_path / "out"), batch_size=5, num_workers=2,
                                         collate_fn=PaddingCollator(pad_token_id=tok.pad_token_id))
    seen = [row[mask.bool()].tolist() for batch in loader for row, mask in zip(batch["input_ids"], batch["attention_mask"])]
    assert seen == tok(LINES, truncation=True)["input_ids"]


class _TextDataset:
    def __init__(self, tokenizer, lines):
        self.tokenizer, self.lines = tokenizer, lines

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, i):  # tokenizes inside the worker process: the tokenizer was pickled there
        return {"input_ids": self.tokenizer(self.lines[i])["input_ids"]}


def test_pickled_tokenizer_in_dataloader_workers(tok):
    torch = pytest.importorskip("torch")
    from albert_tok.collate import PaddingCollator

    loader = torch.utils.data.DataLoader(_TextDataset(tok, LINES), batch_size=4, num_workers=2,
                                         multiprocessing_context="spawn", collate_fn=PaddingCollator())
    seen = [row[mask.bool()].tolist() for batch in loader for row, mask in zip(batch["input_ids"], batch["attention_mask"])]
    assert seen == tok(LINES)["input_ids"]


def test_ray_data_tokenizes_like_one_process(tok, tmp_path):
    ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")
    from albert_tok.ray_data import TokenizeBatch

    lines = [line for line in LINES if line]
    if (SHARED / "corpora" / "botchan.txt").exists():
        lines += (SHARED / "corpora" / "botchan.txt").read_text(encoding="utf-8").split("\n")[:500]
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        ds = ray.data.from_items([{"text": line, "row": i} for i, line in enumerate(lines)])
        ds = ds.map_batches(TokenizeBatch, fn_constructor_kwargs={"tokenizer": str(SPIECE.parent)}, concurrency=2,
                            batch_size=64, batch_format="numpy")
        result = sorted(ds.take_all(), key=lambda r: r["row"])
    finally:
        ray.shutdown()
    assert [r["input_ids"].tolist() for r in result] == tok(lines)["input_ids"]
