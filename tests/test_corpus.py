"""Data pipelines: corpus shards (resume, errors), DataLoader workers, Ray Data.

Reliability cases (kill -9 and resume, stale inputs, offset validation, long lines) are in
test_data_reliability.py; the command line in test_cli.py.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from albert_tok import AlbertTokenizerFast
from albert_tok.data import CorpusError, ShardedCorpus, tokenize_corpus

from .conftest import SHARED, SPIECE

LINES = ["Hello world.", "", "ALBERT's 1,000 (canonical) ids.", "café ﬁ 中文 😀", "a [MASK] b", "x666 bbb"] * 7


@pytest.fixture(scope="module")
def tok():
    return AlbertTokenizerFast(SPIECE)


@pytest.fixture(scope="module")
def slow():
    from albert_tok import AlbertTokenizer

    return AlbertTokenizer(SPIECE)


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
    manifest = tokenize_corpus(
        [str(corpus_file)], str(tmp_path / "out"), tok, workers=workers, shard_lines=8, format=fmt, progress=False
    )
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
    import albert_tok.data._corpus as C

    real = C.write_json
    calls = {"n": 0}

    def crash(path, data):
        if path.endswith(".json") and "shard-" in path:
            calls["n"] += 1
            if calls["n"] == 3:  # the third shard's data files are written, its record is not
                raise KeyboardInterrupt("killed")
        real(path, data)

    monkeypatch.setattr(C, "write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, workers=1, shard_lines=8, progress=False)
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(CorpusError, match=r"no manifest.json"):
        ShardedCorpus(tmp_path / "out")
    monkeypatch.setattr(C, "write_json", real)
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
    with pytest.raises(TypeError, match="inputs must be a list of paths"):
        tokenize_corpus(str(empty), str(tmp_path / "s"), tok, progress=False)  # not one input per character
    with pytest.raises(ValueError, match="workers must be a positive int"):
        tokenize_corpus([str(empty)], str(tmp_path / "w"), tok, workers=0, progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CorpusError, match="cannot write to output directory"):
        tokenize_corpus([str(empty)], str(blocker / "sub"), tok, progress=False)


def test_dataloader_with_two_workers(tok, corpus_file, tmp_path):
    import torch

    from albert_tok.data import PaddingCollator

    tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, shard_lines=8, progress=False)
    loader = torch.utils.data.DataLoader(
        ShardedCorpus(tmp_path / "out"),
        batch_size=5,
        num_workers=2,
        collate_fn=PaddingCollator(pad_token_id=tok.pad_token_id),
    )
    seen = [
        row[mask.bool()].tolist()
        for batch in loader
        for row, mask in zip(batch["input_ids"], batch["attention_mask"], strict=False)
    ]
    assert seen == tok(LINES, truncation=True)["input_ids"]


class _TextDataset:
    def __init__(self, tokenizer, lines):
        self.tokenizer, self.lines = tokenizer, lines

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, i):  # tokenizes inside the worker process: the tokenizer was pickled there
        return {"input_ids": self.tokenizer(self.lines[i])["input_ids"]}


def test_pickled_tokenizer_in_dataloader_workers(tok):
    import torch

    from albert_tok.data import PaddingCollator

    loader = torch.utils.data.DataLoader(
        _TextDataset(tok, LINES),
        batch_size=4,
        num_workers=2,
        multiprocessing_context="spawn",
        collate_fn=PaddingCollator(),
    )
    seen = [
        row[mask.bool()].tolist()
        for batch in loader
        for row, mask in zip(batch["input_ids"], batch["attention_mask"], strict=False)
    ]
    assert seen == tok(LINES)["input_ids"]


def test_tokenize_batch_called_directly(tok, slow):
    from albert_tok.data import TokenizeBatch

    lines = [line for line in LINES if line]
    batch = {"text": np.array(lines, dtype=object), "row": np.arange(len(lines))}
    for tokenizer in (tok, slow, str(SPIECE.parent)):
        out = TokenizeBatch(tokenizer, max_length=8)(batch)
        expected = tok(lines, truncation=True, max_length=8)
        for name in ("input_ids", "token_type_ids", "attention_mask"):
            assert [row.tolist() for row in out[name]] == expected[name]
            assert all(row.dtype == np.int32 for row in out[name])
        assert out["row"] is batch["row"]  # other columns pass through
    pairs = TokenizeBatch(tok, pair_column="b")({"text": ["a question"], "b": ["a context"]})
    assert pairs["input_ids"][0].tolist() == tok("a question", "a context")["input_ids"]
    assert pairs["token_type_ids"][0].tolist() == tok("a question", "a context")["token_type_ids"]


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ({"other": ["x"]}, KeyError, "no column 'text'"),
        ({"text": ["ok", None]}, TypeError, "row 1 is NoneType"),
        ({"text": [b"bytes"]}, TypeError, "row 0 is bytes"),
    ],
)
def test_tokenize_batch_rejects_what_is_not_text(tok, bad, error, match):
    from albert_tok.data import TokenizeBatch

    with pytest.raises(error, match=match):
        TokenizeBatch(tok)(bad)


def test_tokenize_batch_arguments_checked_early(tok, tmp_path):
    from albert_tok.data import TokenizeBatch

    with pytest.raises(ValueError, match="max_length must be an int >= 3"):
        TokenizeBatch(tok, max_length=2)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TokenizeBatch(tmp_path / "missing")
    with pytest.raises(TypeError, match="directory or an albert_tok tokenizer"):
        TokenizeBatch(42)


def test_ray_data_tokenizes_like_one_process(tok):
    """A local Ray (one CPU, one actor) over a small dataset: the ids of one process, in order."""
    import ray

    from albert_tok.data import TokenizeBatch

    lines = [line for line in LINES if line]
    if (SHARED / "corpora" / "botchan.txt").exists():
        lines += (SHARED / "corpora" / "botchan.txt").read_text(encoding="utf-8").split("\n")[:300]
    ray.init(num_cpus=1, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        ds = ray.data.from_items([{"text": line, "row": i} for i, line in enumerate(lines)])
        ds = ds.map_batches(
            TokenizeBatch,
            fn_constructor_kwargs={"tokenizer": str(SPIECE.parent)},
            concurrency=1,
            batch_size=64,
            batch_format="numpy",
        )
        result = sorted(ds.take_all(), key=lambda r: r["row"])
    finally:
        ray.shutdown()
    assert [r["input_ids"].tolist() for r in result] == tok(lines)["input_ids"]


def test_data_pipeline_names_live_only_in_albert_tok_data():
    """One place for each name: the pipeline names come from albert_tok.data; no top-level module re-exports
    them and no module points to names that moved (a 0.1 package moves its importers instead)."""
    import importlib.util

    import albert_tok.data
    import albert_tok.data._collate

    assert sorted(albert_tok.data.__all__) == [
        "CorpusError",
        "CorpusSettings",
        "PaddingCollator",
        "ShardedCorpus",
        "TokenizeBatch",
        "load_tokenizer",
        "tokenize_corpus",
        "tokenizer_hash",
        "vocabulary_hash",
    ]
    for name in albert_tok.data.__all__:
        assert getattr(albert_tok.data, name).__module__.startswith("albert_tok.data."), name
    for old in ("albert_tok.corpus", "albert_tok.ray_data", "albert_tok.collate"):
        assert importlib.util.find_spec(old) is None, old
    for name in ("PretrainingCollator", "ngram_mask"):
        with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
            getattr(albert_tok.data._collate, name)


def test_sharded_corpus_in_spawned_dataloader_workers(tok, corpus_file, tmp_path):
    """Spawned workers get the corpus by its directory (memory maps do not pickle)."""
    import pickle

    import torch

    from albert_tok.data import PaddingCollator

    tokenize_corpus([str(corpus_file)], str(tmp_path / "out"), tok, shard_lines=8, progress=False)
    corpus = ShardedCorpus(tmp_path / "out")
    assert len(pickle.dumps(corpus)) < 1000
    loader = torch.utils.data.DataLoader(
        corpus,
        batch_size=5,
        num_workers=2,
        multiprocessing_context="spawn",
        collate_fn=PaddingCollator(pad_token_id=tok.pad_token_id),
    )
    seen = [
        row[mask.bool()].tolist()
        for batch in loader
        for row, mask in zip(batch["input_ids"], batch["attention_mask"], strict=False)
    ]
    assert seen == tok(LINES, truncation=True)["input_ids"]
