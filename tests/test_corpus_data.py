"""Pretraining from tokenize-corpus shards (albert_model.training._corpus_data): what the directory must be, the
examples (the text path's chunks, never across documents, short sequences), the held-out split, whole-word
masks, and batches that do not depend on worker processes or pickling."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from albert_model.training._corpus_data import CorpusBatches, epoch_examples, open_corpus
from albert_model.training._pretraining_data import (
    PretrainingCollator,
    load_corpus,
    make_examples,
    whole_word_ngram_mask,
    word_start_table,
)
from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.data import CorpusError, tokenize_corpus

from .conftest import ROOT, SPIECE

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "under", "mat", "house", "river", "unbelievable", "quickly"]


def documents(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` documents of 1..6 sentences of 3..14 words (some split into several pieces)."""
    rng = np.random.default_rng(seed)
    return [
        [" ".join(rng.choice(WORDS, int(rng.integers(3, 15)))) + "." for _ in range(int(rng.integers(1, 7)))]
        for _ in range(n)
    ]


def write_text(path: Path, docs: list[list[str]]) -> Path:
    path.write_text("\n\n".join("\n".join(d) for d in docs) + "\n", encoding="utf-8")
    return path


def shards(tmp_path: Path, docs: list[list[str]], tok=None, name: str = "out", **kw) -> Path:
    text = write_text(tmp_path / f"{name}.txt", docs)
    kw.setdefault("shard_lines", 16)  # several shards, documents across their boundaries
    tokenize_corpus([str(text)], str(tmp_path / name), tok or _slow(), progress=False, workers=1, **kw)
    return tmp_path / name


_TOKENIZERS: dict[str, AlbertTokenizer] = {}


def _slow() -> AlbertTokenizer:
    return _TOKENIZERS.setdefault("slow", AlbertTokenizer(SPIECE))


def unswapped(example) -> list[int]:
    a, b, swapped = example
    return (np.concatenate([b, a]) if swapped else np.concatenate([a, b])).tolist()


# -- what the directory must be -----------------------------------------------------------------------------
def test_refuses_pairs_parquet_short_rows_another_tokenizer_and_a_missing_corpus(tmp_path):
    docs = documents(6)
    with pytest.raises(ValueError, match="--pair-sentences"):
        open_corpus(shards(tmp_path, docs, name="pairs", pair_sentences=True), _slow(), 32)
    with pytest.raises(ValueError, match="--format npy"):
        open_corpus(shards(tmp_path, docs, name="parquet", format="parquet"), _slow(), 32)
    short = shards(tmp_path, docs, name="short", max_length=30)
    with pytest.raises(ValueError, match=r"--max-length 30, .* --max-length 31 or more"):
        open_corpus(short, _slow(), 32)
    assert open_corpus(short, _slow(), 31).budget == 28  # rows of 30 keep 28 tokens: all an example holds
    other = AlbertTokenizer(ROOT / "fixtures" / "hub_layouts" / "spiece_only" / "spiece.model")
    with pytest.raises(ValueError, match="another tokenizer"):
        open_corpus(short, other, 31)
    with pytest.raises(CorpusError, match=r"manifest\.json"):
        open_corpus(tmp_path / "nowhere", _slow(), 32)
    with pytest.raises(ValueError, match=r"max_seq_length must be an int in \[5, 65538\]"):
        open_corpus(short, _slow(), 4)
    with pytest.raises(ValueError, match=r"max_seq_length must be an int in \[5, 65538\]"):
        open_corpus(short, _slow(), 65539)  # a chunk's counts are 16-bit


def test_a_fast_tokenizer_of_the_same_vocabulary_is_accepted(tmp_path):
    # tokenize-corpus loads the slow tokenizer of a directory with spiece.model (its hash covers the model
    # bytes); albert pretrain the fast one, which has no model bytes: the vocabulary digest decides
    _slow().save_pretrained(tmp_path / "tok")
    fast = AlbertTokenizerFast.from_pretrained(tmp_path / "tok")
    corpus = open_corpus(shards(tmp_path, documents(4)), fast, 32)
    assert corpus.rows > 0


def test_a_damaged_row_is_named(tmp_path):
    out = shards(tmp_path, documents(4), shard_lines=1000)
    ids = np.load(out / "shard-00000.ids.npy")
    ids[0] = 7  # no [CLS]
    np.save(out / "shard-00000.ids.npy", ids)
    with pytest.raises(ValueError, match=r"first row is not \[CLS\] \.\.\. \[SEP\]"):
        open_corpus(out, _slow(), 32)


# -- examples -------------------------------------------------------------------------------------------------
def test_the_chunks_and_the_heldout_split_are_those_of_the_text_path(tmp_path):
    """With short_seq_prob 0 the chunks (A and B together) are make_examples' from the same text, in the same
    order; the split points are drawn differently. The held-out documents are load_corpus's."""
    for docs, name in ((documents(30, seed=1), "many"), ([[line for d in documents(12, seed=2) for line in d]], "one")):
        corpus = open_corpus(shards(tmp_path, docs, name=name), _slow(), 24)
        train, held = corpus.split(0.2)
        text = load_corpus(_slow(), [str(tmp_path / f"{name}.txt")], 0.2)
        for rows, tokenized in ((train, text.train), (held, text.heldout)):
            ours = [unswapped(e) for e in corpus.examples(rows, np.random.default_rng(0))]
            theirs = [unswapped(e) for e in make_examples(tokenized, 24, np.random.default_rng(0))]
            assert ours == theirs and ours
        assert corpus.token_count(train) == text.train_tokens
        assert corpus.token_count(held) == text.heldout_tokens


def test_pairs_never_cross_documents_and_fit(tmp_path):
    docs = documents(40, seed=3)
    corpus = open_corpus(shards(tmp_path, docs), _slow(), 20)
    examples = corpus.examples(range(corpus.rows), np.random.default_rng(5), short_seq_prob=0.5)
    blank = {r for r in range(corpus.rows) if not len(corpus.sentence(r))}
    document_of = np.cumsum([r in blank for r in range(corpus.rows)])
    covered = []
    for (first, rows, a, size, swapped), example in zip(examples.table.tolist(), examples, strict=True):
        end = first + rows
        assert document_of[first] == document_of[end - 1] and not blank & set(range(first, end))
        a_ids, b_ids, label = example
        assert len(a_ids) and len(b_ids) and len(a_ids) + len(b_ids) == size <= 17
        assert label == swapped and len(b_ids if swapped else a_ids) == a
        assert unswapped(example) == corpus.tokens_of(first, end).tolist()
        covered += range(first, end)
    assert covered == sorted(set(range(corpus.rows)) - blank)  # every sentence once, in order


def test_examples_are_a_pure_function_of_seed_and_epoch(tmp_path):
    corpus = open_corpus(shards(tmp_path, documents(30, seed=4)), _slow(), 24)
    train, _ = corpus.split(0.1)
    a = epoch_examples(corpus, train, seed=3, epoch=1, short_seq_prob=0.1, batch_size=4)
    b = epoch_examples(corpus, train, seed=3, epoch=1, short_seq_prob=0.1, batch_size=4)
    c = epoch_examples(corpus, train, seed=3, epoch=2, short_seq_prob=0.1, batch_size=4)
    assert a[0].table.tobytes() == b[0].table.tobytes() and np.array_equal(a[1], b[1])
    assert a[0].table.tobytes() != c[0].table.tobytes()
    assert a[1].dtype == np.int32 and np.array_equal(a[1], np.random.default_rng([3, 1, 1]).permutation(len(a[0])))
    # what grows with the corpus is mapped from (temporary) files, like the shards, not held by the process
    assert isinstance(a[0].table, np.memmap) and isinstance(a[1], np.memmap)
    assert len(corpus.examples(range(0), np.random.default_rng(0))) == 0
    with pytest.raises(ValueError, match="need at least batch_size=100000"):
        epoch_examples(corpus, train, seed=3, epoch=1, short_seq_prob=0.1, batch_size=100_000)
    with pytest.raises(ValueError, match="short_seq_prob must be in"):
        corpus.examples(train, np.random.default_rng(0), short_seq_prob=1.5)


def _first_sizes(path: str, budget: int, n_docs: int, p: float, tmp_path: Path) -> np.ndarray:
    """The size of each document's first example, documents being ``budget`` one-token sentences."""
    if path == "text":
        doc, rng = [np.array([7], dtype=np.uint16)] * budget, np.random.default_rng(11)
        # one call per document with one generator: the draws of one call over all of them
        firsts = [make_examples([doc], budget + 3, rng, short_seq_prob=p)[0] for _ in range(n_docs)]
        return np.asarray([len(a) + len(b) for a, b, _ in firsts])
    out = tmp_path / "short"
    if not out.exists():
        shards(tmp_path, [["the"] * budget] * n_docs, name="short", shard_lines=1000)
    corpus = open_corpus(out, _slow(), budget + 3)
    assert len(corpus.sentence(0)) == 1
    table = corpus.examples(range(corpus.rows), np.random.default_rng(11), short_seq_prob=p).table
    return table["size"][np.isin(table["first"], np.arange(0, corpus.rows, budget + 1))]


@pytest.mark.parametrize("path", ["shards", "text"])
def test_short_sequences_follow_googles_rule(path, tmp_path):
    """Documents of one-token sentences, each as long as the budget: a document's first example is as long as
    its target, the budget or (with probability p) uniform in [2, budget]."""
    budget, n_docs, p = 13, 600, 0.3
    firsts = {p_: _first_sizes(path, budget, n_docs, p_, tmp_path) for p_ in (0.0, p, 1.0)}
    assert all(len(f) == n_docs for f in firsts.values())
    assert (firsts[0.0] == budget).all()
    share_uniform_below = (budget - 2) / (budget - 1)  # a uniform target in [2, budget] is below it this often
    for p_ in (p, 1.0):
        short = firsts[p_][firsts[p_] < budget]
        expected = p_ * share_uniform_below
        assert abs(len(short) / n_docs - expected) < 4 * np.sqrt(expected * (1 - expected) / n_docs) + 1e-9
        assert short.min() >= 2
    uniform = firsts[1.0]
    counts = np.bincount(uniform, minlength=budget + 1)[2:]
    assert counts.min() > 0 and abs(uniform.mean() - (2 + budget) / 2) < 0.5  # about uniform over [2, budget]


def test_the_text_path_without_short_sequences_makes_the_examples_it_made_before():
    rng = np.random.default_rng(7)
    docs = [
        [rng.integers(5, 100, int(rng.integers(0, 30))).astype(np.uint16) for _ in range(int(rng.integers(1, 9)))]
        for _ in range(200)
    ]
    digest = hashlib.sha256()
    for a, b, s in make_examples(docs, 24, np.random.default_rng(3)):
        digest.update(a.tobytes() + b"|" + b.tobytes() + b"|" + bytes([s]))
    # make_examples before short_seq_prob existed gave these examples (same random draws)
    assert digest.hexdigest() == "932523ede06b5b42b4f315b00688150a5e05a6dc837448fc6eb6ac2acb2d29e2"
    with pytest.raises(ValueError, match="short_seq_prob must be in"):
        make_examples(docs, 24, rng, short_seq_prob=-0.1)


# -- whole-word masks -------------------------------------------------------------------------------------------
@given(
    st.lists(st.booleans(), min_size=1, max_size=60),
    st.lists(st.booleans(), min_size=60, max_size=60),
    st.integers(1, 30),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_whole_word_masks_cover_whole_words_only(allowed, starts, budget, max_ngram, seed):
    length = len(allowed)
    candidates = np.flatnonzero(allowed)
    starts = np.asarray(starts[:length])
    mask = whole_word_ngram_mask(length, candidates, starts, budget, max_ngram, np.random.default_rng(seed))
    assert not mask[~np.asarray(allowed)].any() and mask.sum() <= budget
    word, words = -1, []  # the word of each candidate: a start or a gap opens a new one
    for i, p in enumerate(candidates):
        word += bool(i == 0 or starts[p] or candidates[i - 1] != p - 1)
        words.append(word)
    for w in set(words):
        members = mask[candidates[np.asarray(words) == w]]
        assert members.all() or not members.any()
    if candidates.size and budget >= candidates.size:
        assert mask.any()


def test_the_collator_masks_whole_words(tmp_path):
    tok = _slow()
    table = word_start_table(tok)
    assert table[tok.convert_tokens_to_ids("▁the")] and not table[tok.convert_tokens_to_ids("able")]
    corpus = open_corpus(shards(tmp_path, documents(30, seed=6)), tok, 40)
    examples = corpus.examples(range(corpus.rows), np.random.default_rng(0))
    collator = PretrainingCollator.for_tokenizer(tok, whole_word_mask=True, return_tensors="np", mlm_probability=0.3)
    batch = collator(list(examples), rng=np.random.default_rng(1))
    broken = 0
    for ids, labels, attention in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        original = np.where(labels != -100, labels, ids)[attention == 1]
        masked = (labels != -100)[attention == 1]
        begins = table[original] | (original < 5)  # special tokens end a word too
        word = np.cumsum(begins)
        for w in np.unique(word[masked]):
            broken += int(not masked[(word == w) & (original >= 5)].all())
    assert broken == 0 and (batch["labels"] != -100).any()
    with pytest.raises(ValueError, match="word_starts must be a 1-D boolean array"):
        PretrainingCollator.for_tokenizer(tok, word_starts=np.zeros(10, dtype=np.int64))


# -- batches, workers, pickling, resume -------------------------------------------------------------------------
def _batches(tmp_path, workers: int) -> list[dict[str, torch.Tensor]]:
    corpus = open_corpus(shards(tmp_path, documents(40, seed=7), name=f"w{workers}"), _slow(), 24)
    examples, order = epoch_examples(corpus, corpus.split(0.1)[0], seed=2, epoch=1, short_seq_prob=0.1, batch_size=4)
    collator = PretrainingCollator.for_tokenizer(_slow(), whole_word_mask=True, seed=2)
    dataset = CorpusBatches(examples, order, 4, 4, 2, 1, collator)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=workers)
    return list(loader)


def test_batches_are_the_same_with_and_without_worker_processes(tmp_path):
    here, workers = _batches(tmp_path, 0), _batches(tmp_path, 2)
    assert len(here) == len(workers) > 3
    for a, b in zip(here, workers, strict=True):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_pickles_as_its_directory_and_refuses_a_changed_corpus(tmp_path):
    out = shards(tmp_path, documents(20, seed=8))
    corpus = open_corpus(out, _slow(), 24)
    examples = corpus.examples(range(corpus.rows), np.random.default_rng(0))
    blob = pickle.dumps(corpus)
    assert len(blob) < 2000  # the directory and the digests, not the arrays
    again = pickle.loads(pickle.dumps(examples))
    assert [unswapped(e) for e in again] == [unswapped(e) for e in examples]
    assert [unswapped(e) for e in examples[2:5]] == [unswapped(examples[i]) for i in (2, 3, 4)]
    other = AlbertTokenizer(ROOT / "fixtures" / "hub_layouts" / "spiece_only" / "spiece.model")
    write_text(tmp_path / "again.txt", documents(20, seed=8))
    shutil.rmtree(out)
    tokenize_corpus([str(tmp_path / "again.txt")], str(out), other, progress=False, workers=1)
    with pytest.raises(ValueError, match="another tokenizer"):
        pickle.loads(blob)


def test_the_fingerprint_names_the_content_not_the_place(tmp_path):
    docs = documents(10, seed=9)
    a = open_corpus(shards(tmp_path, docs, name="a"), _slow(), 24).fingerprint()
    b = open_corpus(shards(tmp_path, docs, name="b"), _slow(), 24).fingerprint()
    c = open_corpus(shards(tmp_path, documents(10, seed=10), name="c"), _slow(), 24).fingerprint()
    assert {**a, "inputs": None} == {**b, "inputs": None} and a["inputs"][0]["sha256"] == b["inputs"][0]["sha256"]
    assert a["inputs"][0]["sha256"] != c["inputs"][0]["sha256"] and a["tokenizer_sha256"] == c["tokenizer_sha256"]
