"""bench/finetune_tuning.py's and bench/train_attn.py's data parts (the timed and trained runs are the benches')."""

from __future__ import annotations

import csv

import numpy as np

from bench import finetune_tuning as T
from bench import train_attn as W

from .conftest import SPIECE

# wikitext's layout: every line ends with a space, a blank line around each heading and paragraph
_LINES = [
    " = First = ",
    " The cat sat on the mat today . It was a very sunny day outside . The dog barked at the mailman twice . ",
    " = = Section = = ",
    " Rain fell all night over the hills . The river rose above its old banks . ",
    " = Second = ",
    " A ship sailed into the harbour at dawn . Its crew went ashore for fresh water . Nobody came back that night . ",
    " = Third = ",
    " The king built a tall tower of stone . His son climbed it every single morning . ",
]
WIKI = "".join(f"{line}\n \n" for line in _LINES)


def test_articles_are_paragraphs_of_sentences(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text(WIKI, encoding="utf-8")
    docs = T.articles(path)
    assert [len(d) for d in docs] == [2, 1, 1]  # a sub-heading does not start an article
    assert docs[0][0] == [
        "The cat sat on the mat today .",
        "It was a very sunny day outside .",
        "The dog barked at the mailman twice .",
    ]


def test_pairs_are_balanced_next_sentences_or_another_articles(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text(WIKI, encoding="utf-8")
    docs = T.articles(path)
    where = {s: (a, p, i) for a, doc in enumerate(docs) for p, par in enumerate(doc) for i, s in enumerate(par)}
    pairs = T.pairs(docs, 40, np.random.default_rng(0))
    assert sorted(label for _, _, label in pairs) == ["next"] * 20 + ["other"] * 20
    for first, second, label in pairs:
        (a, p, i), (b, q, j) = where[first], where[second]
        if label == "next":
            assert (a, p, j) == (b, q, i + 1)
        else:
            assert a != b


def test_task_files_read_as_albert_finetune_reads_them(tmp_path, monkeypatch):
    from albert_model.training._finetune_data import read_table

    path = tmp_path / "w.txt"
    path.write_text(WIKI * 3, encoding="utf-8")  # nine articles: training from the first six, dev from the rest
    monkeypatch.setattr(T, "WIKITEXT", path)
    train, dev = T.write_task(tmp_path, 12, 6, seed=1)
    rows = read_table(str(train), "sentence1", "sentence2", "label")
    assert len(rows) == 12 and {r.label for r in rows} == {"next", "other"}
    with open(dev, encoding="utf-8") as fh:
        assert len(list(csv.reader(fh, delimiter="\t"))) == 7


def test_attention_bench_batches_are_padded_as_the_loops_pad(monkeypatch, tmp_path):
    from albert_tok import AlbertTokenizerFast

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(f"line number {i} " + "word " * (i % 9) for i in range(200)) + "\n", encoding="utf-8")
    monkeypatch.setattr(W, "CORPORA", [corpus])
    tok = AlbertTokenizerFast(SPIECE)
    batches = W.finetuning_batches(tok, 8, 16, 3, seed=0)
    assert len(batches) == 3 and all(b["input_ids"].shape[0] == 8 for b in batches)
    for b in batches:
        lengths = b["attention_mask"].sum(1)
        assert b["input_ids"].shape[1] == int(lengths.max()) <= 16  # padded to the longest row of the batch
        assert (b["input_ids"][b["attention_mask"] == 0] == tok.pad_token_id).all()
    assert 0 < W._padding(batches) < 1
