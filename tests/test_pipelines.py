"""Encode-and-predict: pipelines, CLI, vocabulary training, pretraining, collators."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import albert_model as A  # noqa: E402
from albert_model.pipelines import DEFAULT_MODEL, pipeline  # noqa: E402
from albert_tok import AlbertTokenizer, AlbertTokenizerFast  # noqa: E402
from albert_tok.collate import PaddingCollator  # noqa: E402

from .conftest import ROOT, SPIECE  # noqa: E402

TINY = dict(vocab_size=30000, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=512)
CONTEXT = ("The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
           "It is named after the engineer Gustave Eiffel, whose company designed and built the tower.")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    A.AlbertForMaskedLM(A.AlbertConfig(**TINY)).save_pretrained(d)
    AlbertTokenizerFast(SPIECE).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def ner_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ner")
    torch.manual_seed(0)
    A.AlbertForTokenClassification(A.AlbertConfig(**TINY).with_labels(["O", "B-LOC", "I-LOC"])).save_pretrained(d)
    AlbertTokenizerFast(SPIECE).save_pretrained(d)
    return d


MODELS = ["tiny"] + (["default"] if os.path.isdir(DEFAULT_MODEL) else [])


@pytest.fixture(params=MODELS)
def model_dir(request, tiny_dir):
    return tiny_dir if request.param == "tiny" else DEFAULT_MODEL


def test_fill_mask_structure_and_order(model_dir):
    fm = pipeline("fill-mask", model=model_dir, batch_size=2)
    one = fm("Paris is the [MASK] of France.", top_k=3)
    assert len(one) == 3 and set(one[0]) == {"score", "token", "token_str", "sequence"}
    assert one[0]["score"] >= one[1]["score"] >= one[2]["score"]
    texts = ["short [MASK].", "a much longer sentence with a [MASK] in the middle of it all", "[MASK]",
             "two [MASK] and [MASK]"]
    batch = fm(texts, top_k=2)
    for text, result in zip(texts, batch):  # batched (length-sorted) == one by one, in input order
        alone = fm(text, top_k=2)
        flat = lambda r: [a for group in (r if isinstance(r[0], list) else [r]) for a in group]  # noqa: E731
        assert [a["token"] for a in flat(result)] == [a["token"] for a in flat(alone)]
        assert [a["score"] for a in flat(result)] == pytest.approx([a["score"] for a in flat(alone)], rel=1e-4)
    assert isinstance(batch[3], list) and len(batch[3]) == 2 and len(batch[3][0]) == 2  # one list per mask
    assert fm([], top_k=2) == []
    with pytest.raises(ValueError, match="no mask token"):
        fm("nothing to fill")


def test_results_follow_input_order_not_length(tiny_dir):
    fm = pipeline("fill-mask", model=tiny_dir, batch_size=2)
    texts = [("word " * n) + "[MASK]" for n in (9, 1, 5, 3, 7)]
    batch = fm(texts, top_k=1)
    for text, result in zip(texts, batch):
        assert result[0]["token"] == fm(text, top_k=1)[0]["token"]
        assert result[0]["score"] == pytest.approx(fm(text, top_k=1)[0]["score"], rel=1e-4)


def test_feature_extraction(model_dir):
    fe = pipeline("feature-extraction", model=model_dir)
    out = fe(["hello world", "a longer text here"])
    hidden = A.AlbertConfig.from_json(Path(model_dir) / "config.json").hidden_size
    assert len(out) == 2 and len(out[0]) == 1 and len(out[0][0]) == 4 and len(out[0][0][0]) == hidden
    assert len(out[1][0]) == len(AlbertTokenizerFast(SPIECE).encode("a longer text here"))


def test_text_classification(model_dir):
    clf = pipeline("text-classification", model=model_dir)  # a fresh head on the checkpoint's encoder
    single = clf("good film")
    assert set(single) == {"label", "score"} and single["label"] in ("LABEL_0", "LABEL_1")
    both = clf(["good film", {"text": "a", "text_pair": "b"}], top_k=None)
    assert len(both) == 2 and len(both[0]) == 2 and sum(x["score"] for x in both[0]) == pytest.approx(1.0)


@pytest.mark.parametrize("which", ["ner"] + (["default"] if os.path.isdir(DEFAULT_MODEL) else []))
def test_token_classification(ner_dir, which):
    ner = pipeline("token-classification", model=ner_dir if which == "ner" else DEFAULT_MODEL)
    text = "John lives in New York City."
    for strategy in ("none", "simple", "first"):
        for entity in ner(text, aggregation_strategy=strategy, ignore_labels=()):
            assert text[entity["start"]:entity["end"]] == entity["word"]
    grouped = ner(text, aggregation_strategy="simple", ignore_labels=())
    assert {"entity_group", "score", "word", "start", "end"} == set(grouped[0])
    with pytest.raises(ValueError, match="aggregation_strategy"):
        ner(text, aggregation_strategy="max")


def test_question_answering_offsets_slice_context(model_dir):
    qa = pipeline("question-answering", model=model_dir)
    out = qa(question="Who designed the tower?", context=CONTEXT)
    assert set(out) == {"score", "start", "end", "answer"}
    assert CONTEXT[out["start"]:out["end"]] == out["answer"] and 0 <= out["score"] <= 1
    long_context = " ".join([CONTEXT] * 40)  # ~1600 tokens: read in windows
    outs = qa(question=["Where is it?", "Who?"], context=[long_context, CONTEXT], max_seq_len=128, doc_stride=32)
    assert len(outs) == 2
    for o, c in zip(outs, [long_context, CONTEXT]):
        assert c[o["start"]:o["end"]] == o["answer"]
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        qa(question=["a", "b"], context=[CONTEXT])


def test_multiple_choice(model_dir):
    mc = pipeline("multiple-choice", model=model_dir)
    out = mc({"question": "The sky is", "choices": ["blue", "green", "made of cheese"]})
    assert out["choice"] in ("blue", "green", "made of cheese") and len(out["scores"]) == 3
    assert sum(out["scores"]) == pytest.approx(1.0)


def test_pipeline_errors(tiny_dir):
    with pytest.raises(ValueError, match="unknown task 'summarization'"):
        pipeline("summarization", model=tiny_dir)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pipeline("fill-mask", model=tiny_dir / "missing")


# -- CLI ----------------------------------------------------------------------------------------------
def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "albert_model", *args], capture_output=True, text=True,
                          input=stdin, cwd=ROOT, timeout=300)


def test_cli_fill_mask(tiny_dir, tmp_path):
    ok = run_cli("fill-mask", "Plants create [MASK] through photosynthesis.", "--model", str(tiny_dir), "--top-k", "5")
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.strip().splitlines()) == 6  # the text, then five answers
    js = run_cli("fill-mask", "--model", str(tiny_dir), "--json", stdin="a [MASK] b\nc [MASK]\n")
    rows = [json.loads(line) for line in js.stdout.splitlines()]
    assert [r["input"] for r in rows] == ["a [MASK] b", "c [MASK]"] and len(rows[0]["result"]) == 5
    f = tmp_path / "in.txt"
    f.write_text("x [MASK]\ny [MASK]\n")
    assert run_cli("fill-mask", "--input", str(f), "--model", str(tiny_dir)).returncode == 0


@pytest.mark.parametrize("args, message", [
    (["fill-mask", "no mask here"], "no mask token"),
    (["fill-mask", "a [MASK]", "--model", "/no/such/dir"], "does not exist"),
    (["fill-mask", "--input", "/no/such/file.txt"], "does not exist"),
])
def test_cli_errors(tiny_dir, args, message):
    if "--model" not in args:
        args = [*args, "--model", str(tiny_dir)]
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cli_tokenize_and_help(tiny_dir):
    proc = run_cli("tokenize", "Hello world", "--model", str(tiny_dir))
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == "[CLS] ▁hello ▁world [SEP]"
    for command in ("fill-mask", "classify", "answer", "tokenize", "train-vocab", "pretrain"):
        assert run_cli(command, "--help").returncode == 0


# -- vocabulary training and pretraining -------------------------------------------------------------
def test_train_vocabulary_loads_in_both_tokenizers(tmp_path):
    from albert_tok.train import train_vocabulary

    corpus = tmp_path / "corpus.txt"
    words = ["alpha", "beta", "gamma", "delta", "Épsilon", "zeta", "1,000", "(eta)"]
    rng = np.random.default_rng(0)
    corpus.write_text("\n".join(" ".join(rng.choice(words, 8)) for _ in range(400)))
    train_vocabulary([corpus], tmp_path / "vocab", vocab_size=60)
    slow, fast = AlbertTokenizer.from_pretrained(tmp_path / "vocab"), AlbertTokenizerFast.from_pretrained(tmp_path / "vocab")
    assert slow.convert_ids_to_tokens([0, 1, 2, 3, 4]) == ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    text = "alpha [MASK] Épsilon 1,000 (eta) unknownword"
    assert slow.encode(text) == fast.encode(text)
    with pytest.raises(FileNotFoundError):
        train_vocabulary([tmp_path / "missing.txt"], tmp_path / "v2")


# -- collators ------------------------------------------------------------------------------------------
def test_padding_collator():
    collate = PaddingCollator(pad_token_id=0, pad_to_multiple_of=8)
    batch = collate([{"input_ids": [2, 5, 3], "labels": [1, 2, 3]}, {"input_ids": [2, 3], "labels": [4, 5]}])
    assert batch["input_ids"].shape == (2, 8) and batch["labels"][1, 2].item() == -100
    assert batch["attention_mask"].sum().item() == 5
