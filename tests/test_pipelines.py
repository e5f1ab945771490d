"""Encode-and-predict: pipelines (shapes, errors, missing heads, devices), Ray prediction, CLI, vocabulary
training, pretraining, collators. Parity with transformers' pipelines is in test_pipeline_compat.py; the
ONNX Runtime backend in test_onnx.py."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.checkpoints._shipped import DEFAULT_MODEL
from albert_model.checkpoints._state_dict import MissingHeadError
from albert_model.pipelines._base import resolve_device
from albert_model.pipelines._factory import pipeline
from albert_model.pipelines._question_answering import _best_spans
from albert_tok import AlbertTokenizer, AlbertTokenizerFast
from albert_tok.data import PaddingCollator

from .conftest import ROOT, SPIECE
from .strategies import plain_text

TINY = {
    "vocab_size": 30000,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 512,
}
CONTEXT = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower."
)
HEADS = {
    "text-classification": "classifier",
    "question-answering": "qa_outputs",
    "token-classification": "classifier",
    "multiple-choice": "classifier",
}


def save_tiny(directory: Path, cls: type, labels: list[str] | None = None) -> Path:
    torch.manual_seed(0)
    config = A.AlbertConfig(**TINY)
    cls(config.with_labels(labels) if labels else config).save_pretrained(directory)
    AlbertTokenizerFast(SPIECE).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("tiny"), A.AlbertForMaskedLM)


@pytest.fixture(scope="module")
def ner_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("ner"), A.AlbertForTokenClassification, ["O", "B-LOC", "I-LOC"])


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("clf"), A.AlbertForSequenceClassification, ["neg", "neu", "pos"])


@pytest.fixture(scope="module")
def qa_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("qa"), A.AlbertForQuestionAnswering)


@pytest.fixture(scope="module")
def mc_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("mc"), A.AlbertForMultipleChoice)


MODELS = ["tiny"] + (["default"] if os.path.isdir(DEFAULT_MODEL) else [])


@pytest.fixture(params=MODELS)
def model_dir(request, tiny_dir):
    return tiny_dir if request.param == "tiny" else DEFAULT_MODEL


@pytest.fixture(scope="module")
def fill_mask(tiny_dir):
    return pipeline("fill-mask", model=tiny_dir, batch_size=2)


@pytest.fixture(scope="module")
def qa(qa_dir):
    return pipeline("question-answering", model=qa_dir, batch_size=2)


# -- fill-mask --------------------------------------------------------------------------------------
def _flat(result):
    return [a for group in (result if isinstance(result[0], list) else [result]) for a in group]


def test_fill_mask_structure_and_order(model_dir):
    fm = pipeline("fill-mask", model=model_dir, batch_size=2)
    one = fm("Paris is the [MASK] of France.", top_k=3)
    assert len(one) == 3 and set(one[0]) == {"score", "token", "token_str", "sequence"}
    assert one[0]["score"] >= one[1]["score"] >= one[2]["score"]
    texts = [
        "short [MASK].",
        "a much longer sentence with a [MASK] in the middle of it all",
        "[MASK]",
        "two [MASK] and [MASK]",
    ]
    batch = fm(texts, top_k=2)
    for text, result in zip(texts, batch, strict=False):  # batched (length-sorted) == one by one, in input order
        alone = fm(text, top_k=2)
        assert [a["token"] for a in _flat(result)] == [a["token"] for a in _flat(alone)]
        assert [a["score"] for a in _flat(result)] == pytest.approx([a["score"] for a in _flat(alone)], rel=1e-4)
    assert isinstance(batch[3], list) and len(batch[3]) == 2 and len(batch[3][0]) == 2  # one list per mask
    assert fm([], top_k=2) == []
    assert len(fm(["one [MASK]"])) == 1 and isinstance(fm(["one [MASK]"])[0], list)  # a list in, a list out
    with pytest.raises(ValueError, match="no mask token"):
        fm("nothing to fill")


@settings(max_examples=20)
@given(st.lists(st.tuples(plain_text, plain_text), min_size=1, max_size=5))
def test_fill_mask_batched_equals_one_by_one(fill_mask, parts):
    texts = [f"{a} [MASK] {b}" for a, b in parts]
    batch = fill_mask(texts, top_k=2)
    assert len(batch) == len(texts)
    for text, result in zip(texts, batch, strict=False):
        alone = fill_mask(text, top_k=2)
        assert [a["token"] for a in _flat(result)] == [a["token"] for a in _flat(alone)]
        assert [a["score"] for a in _flat(result)] == pytest.approx([a["score"] for a in _flat(alone)], abs=1e-6)
        for answer in _flat(result):
            assert 0 <= answer["score"] <= 1


def test_fill_mask_targets(fill_mask):
    vocab = fill_mask.tokenizer.get_vocab()
    out = fill_mask("Paris is the [MASK] of France.", targets=["\u2581city", "\u2581capital"], top_k=5)
    assert len(out) == 2 and {a["token"] for a in out} == {vocab["\u2581city"], vocab["\u2581capital"]}
    every = {a["token"]: a["score"] for a in fill_mask("Paris is the [MASK] of France.", top_k=30000)}
    for answer in out:  # scores stay probabilities over the whole vocabulary, as in transformers
        assert answer["score"] == pytest.approx(every[answer["token"]], rel=1e-5)
    with pytest.warns(UserWarning, match="not in the vocabulary"):
        assert fill_mask("a [MASK]", targets="photosynthesis")[0]["token"] == vocab["\u2581photos"]  # first piece
    with pytest.raises(TypeError, match="targets"):
        fill_mask("a [MASK]", targets=[3])


def test_fill_mask_mask_cut_off_by_truncation(fill_mask):
    long_tail = "a [MASK] " + "word " * 700  # the mask survives truncation: answered
    assert len(fill_mask(long_tail, top_k=1)) == 1
    late = "word " * 600 + "the [MASK] here"
    with pytest.raises(ValueError, match=r"input 1 .*\[MASK\] at token \d+ lies beyond the maximum length \(512"):
        fill_mask(["a [MASK]", late])
    with pytest.raises(ValueError, match=r"the input is .* beyond the maximum length"):
        fill_mask(late)


# -- feature extraction -----------------------------------------------------------------------------
def test_feature_extraction(model_dir):
    fe = pipeline("feature-extraction", model=model_dir)
    out = fe(["hello world", "a longer text here"])
    hidden = A.AlbertConfig.from_json(Path(model_dir) / "config.json").hidden_size
    assert len(out) == 2 and len(out[0]) == 1 and len(out[0][0]) == 4 and len(out[0][0][0]) == hidden
    assert len(out[1][0]) == len(AlbertTokenizerFast(SPIECE).encode("a longer text here"))
    assert fe("hello world", return_tensors=True).shape == (1, 4, hidden)


# -- text classification ---------------------------------------------------------------------------
def test_text_classification_shapes(clf_dir):
    clf = pipeline("text-classification", model=clf_dir)
    single = clf("good film")  # transformers: a list of one dict for one text
    assert isinstance(single, list) and len(single) == 1 and set(single[0]) == {"label", "score"}
    assert isinstance(clf({"text": "a", "text_pair": "b"}), dict)  # ... but the dict itself for one pair
    both = clf(["good film", {"text": "a", "text_pair": "b"}])
    assert [set(x) for x in both] == [{"label", "score"}] * 2
    every = clf(["good film", "bad"], top_k=None)
    for ranked in every:
        assert [x["score"] for x in ranked] == sorted((x["score"] for x in ranked), reverse=True)
        assert {x["label"] for x in ranked} == {"neg", "neu", "pos"} and sum(
            x["score"] for x in ranked
        ) == pytest.approx(1.0)
    assert clf("good film", top_k=2) == every[0][:2]
    assert clf("good film", top_k=1) == every[0][:1]
    with pytest.warns(UserWarning, match="return_all_scores is deprecated"):
        in_order = clf("good film", return_all_scores=True)[0]  # legacy: every label, in label order
    assert [x["label"] for x in in_order] == ["neg", "neu", "pos"]
    model = A.AlbertForSequenceClassification.from_pretrained(clf_dir)
    with torch.inference_mode():
        logits = model(**clf.tokenizer("good film", return_tensors="pt")).logits[0]
    raw = {x["label"]: x["score"] for x in clf("good film", top_k=None, function_to_apply="none")}
    assert [raw[label] for label in ("neg", "neu", "pos")] == pytest.approx(logits.tolist(), abs=1e-5)
    sig = {x["label"]: x["score"] for x in clf("good film", top_k=None, function_to_apply="sigmoid")}
    assert [sig[label] for label in ("neg", "neu", "pos")] == pytest.approx(logits.sigmoid().tolist(), abs=1e-6)


# -- token classification --------------------------------------------------------------------------
def test_token_classification(ner_dir):
    ner = pipeline("token-classification", model=ner_dir)
    text = "John lives in New York City, near the Eiffel Tower."
    tokens = ner(text, ignore_labels=[])  # default: aggregation_strategy="none", one entry per token
    enc = ner.tokenizer(text, return_offsets_mapping=True)
    assert [t["index"] for t in tokens] == list(range(1, len(enc["input_ids"]) - 1))
    for t in tokens:
        assert t["word"] == ner.tokenizer.convert_ids_to_tokens(enc["input_ids"][t["index"]])
        assert (t["start"], t["end"]) == tuple(enc["offset_mapping"][t["index"]])
    for strategy in ("simple", "first", "average", "max"):
        groups = ner(text, aggregation_strategy=strategy, ignore_labels=[])
        assert all(set(g) == {"entity_group", "score", "word", "start", "end"} for g in groups)
        assert [g["start"] for g in groups] == sorted(g["start"] for g in groups)
        assert groups[0]["start"] == 0 and groups[-1]["end"] == len(text)
        for g in groups:  # a group's word is its pieces decoded (spaces between words kept)
            assert g["word"] == " ".join(text[g["start"] : g["end"]].lower().split()) or "eiffel" in g["word"]
    assert all(g["entity_group"] != "O" for g in ner(text, aggregation_strategy="simple"))  # ignore_labels=["O"]
    with pytest.raises(ValueError, match="aggregation_strategy"):
        ner(text, aggregation_strategy="longest")


def test_token_classification_words_start_at_word_start_pieces(ner_dir):
    """ "Eiffel" is ``▁ e iff el``: one word for first/average/max (transformers' heuristic splits it)."""
    ner = pipeline("ner", model=ner_dir)
    words = ner("the Eiffel", aggregation_strategy="first", ignore_labels=[])
    covered = [(g["start"], g["end"]) for g in words]
    assert covered[-1][1] == len("the Eiffel") and all(s != 5 for s, _ in covered[1:])


def test_pipeline_keyword_defaults(ner_dir):
    ner = pipeline("ner", model=ner_dir, aggregation_strategy="simple", ignore_labels=[])
    assert "entity_group" in ner("John lives in Paris")[0]
    assert "entity" in ner("John lives in Paris", aggregation_strategy="none")[0]  # the call's keyword wins
    with pytest.raises(TypeError, match=r"unexpected keyword argument.*aggregation"):
        pipeline("fill-mask", model=ner_dir, aggregation_strategy="simple")
    with pytest.raises(TypeError, match="top_kk"):
        ner("x", top_kk=3)


# -- question answering ----------------------------------------------------------------------------
def test_question_answering_offsets_slice_context(qa):
    out = qa(question="Who designed the tower?", context=CONTEXT)
    assert set(out) == {"score", "start", "end", "answer"}
    assert CONTEXT[out["start"] : out["end"]] == out["answer"] and 0 <= out["score"] <= 1
    assert qa({"question": "Who designed the tower?", "context": CONTEXT}) == out
    assert qa("Who designed the tower?", CONTEXT) == out
    assert qa([{"question": "Who designed the tower?", "context": CONTEXT}]) == [out]  # a list in, a list out
    long_context = " ".join([CONTEXT] * 40)  # ~1600 tokens: read in windows
    outs = qa(question=["Where is it?", "Who?"], context=[long_context, CONTEXT], max_seq_len=128, doc_stride=32)
    assert len(outs) == 2
    for o, c in zip(outs, [long_context, CONTEXT], strict=False):
        assert c[o["start"] : o["end"]] == o["answer"]
    shared = qa(question=["Where is it?", "Who?"], context=CONTEXT)  # several questions, one context
    assert shared == [qa(question="Where is it?", context=CONTEXT), qa(question="Who?", context=CONTEXT)]
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        qa(question=["a", "b"], context=[CONTEXT])


def test_question_answering_top_k_and_impossible(qa):
    top = qa(question="Who designed the tower?", context=CONTEXT, top_k=5)
    assert len(top) == 5 and [a["score"] for a in top] == sorted((a["score"] for a in top), reverse=True)
    assert len({a["answer"].lower() for a in top}) == 5  # spans giving the same answer are merged
    assert all(len(qa.tokenizer.tokenize(a["answer"])) <= 15 for a in top)
    short = qa(question="Who designed the tower?", context=CONTEXT, top_k=5, max_answer_len=1)
    assert all(len(a["answer"].split()) == 1 for a in short)
    with_null = qa(question="Who designed the tower?", context=CONTEXT, top_k=300, handle_impossible_answer=True)
    null = [a for a in with_null if a["answer"] == ""]
    assert len(null) == 1 and (null[0]["start"], null[0]["end"]) == (0, 0) and 0 < null[0]["score"] < 1
    assert "" not in {a["answer"] for a in qa(question="Who designed the tower?", context=CONTEXT, top_k=300)}


@settings(max_examples=25)
@given(
    question=plain_text.filter(str.strip),
    context=plain_text.filter(str.strip),
    top_k=st.integers(1, 4),
    align=st.booleans(),
)
def test_question_answering_answers_are_context_slices(qa, question, context, top_k, align):
    if not (qa.tokenizer.tokenize(question) and qa.tokenizer.tokenize(context)):
        with pytest.raises(ValueError, match="has no tokens once normalised"):
            qa(question=question, context=context)
        return
    # max_question_len=16 leaves 13 context tokens per window: more than doc_stride (a long question would
    # otherwise leave 8, which the pipeline rightly refuses as windows that do not advance)
    out = qa(
        question=question,
        context=context,
        top_k=top_k,
        align_to_words=align,
        max_seq_len=32,
        doc_stride=8,
        max_question_len=16,
    )
    answers = out if isinstance(out, list) else [out]
    assert 1 <= len(answers) <= top_k
    assert [a["score"] for a in answers] == sorted((a["score"] for a in answers), reverse=True)
    for a in answers:
        assert 0 <= a["start"] <= a["end"] <= len(context) and context[a["start"] : a["end"]] == a["answer"]
        assert a["answer"] == a["answer"].lstrip() and 0 <= a["score"] <= 1 + 1e-6


@settings(max_examples=40)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n),
            st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n),
        )
    ),
    st.integers(1, 20),
    st.integers(1, 6),
)
def test_best_spans_are_the_best_allowed_spans(probs, k, max_len):
    p_start, p_end = (np.array(p, dtype=np.float32) for p in probs)
    n = len(p_start)
    allowed = sorted(
        ((float(p_start[s] * p_end[e]), s, e) for s in range(n) for e in range(s, min(n, s + max_len))), reverse=True
    )
    got = _best_spans(p_start, p_end, k, max_len)
    assert len(got) == min(k, len(allowed))
    assert [score for _, _, score in got] == pytest.approx([score for score, _, _ in allowed[: len(got)]])
    assert all(s <= e < s + max_len for s, e, _ in got)


# -- multiple choice --------------------------------------------------------------------------------
def test_multiple_choice(mc_dir):
    mc = pipeline("multiple-choice", model=mc_dir)
    out = mc({"question": "The sky is", "choices": ["blue", "green", "made of cheese"]})
    assert out["choice"] in ("blue", "green", "made of cheese") and len(out["scores"]) == 3
    assert sum(out["scores"]) == pytest.approx(1.0) and out["score"] == max(out["scores"])
    assert mc([{"question": "The sky is", "choices": ["blue", "green", "made of cheese"]}]) == [out]


# -- no silent random heads (#8.6) -------------------------------------------------------------------
@pytest.mark.parametrize("task", sorted(HEADS))
@pytest.mark.parametrize("which", ["tiny"] + (["default"] if os.path.isdir(DEFAULT_MODEL) else []))
def test_missing_task_head_is_an_error(tiny_dir, task, which):
    """A masked-LM checkpoint has no classifier/QA head: the pipeline refuses instead of answering with noise."""
    directory = tiny_dir if which == "tiny" else DEFAULT_MODEL
    with pytest.raises(MissingHeadError, match=rf"{HEADS[task]}\.weight.*point at a fine-tuned directory"):
        pipeline(task, model=directory)
    assert issubclass(MissingHeadError, ValueError)


def test_model_objects_without_their_head_are_refused(tiny_dir, clf_dir):
    with pytest.warns(UserWarning, match="initialised at random"):
        headless = A.AlbertForSequenceClassification.from_pretrained(tiny_dir)
    with pytest.raises(MissingHeadError, match=r"the model given has no loaded weights for .*classifier\.weight"):
        pipeline("text-classification", model=headless, tokenizer=tiny_dir)
    with pytest.raises(TypeError, match=r"needs a AlbertForSequenceClassification, got a AlbertForMaskedLM"):
        pipeline("text-classification", model=A.AlbertForMaskedLM.from_pretrained(tiny_dir), tokenizer=tiny_dir)
    trained = A.AlbertForSequenceClassification.from_pretrained(clf_dir)
    assert pipeline("text-classification", model=trained, tokenizer=clf_dir)("good") == pipeline(
        "text-classification", model=clf_dir
    )("good")
    built = A.AlbertForSequenceClassification(trained.config)  # built in code, not loaded: the caller's choice
    assert len(pipeline("text-classification", model=built, tokenizer=clf_dir)("good")) == 1


def test_head_checkpoints_load_without_complaint(clf_dir, recwarn):
    pipeline("text-classification", model=clf_dir)
    assert not [w for w in recwarn if "initialised at random" in str(w.message)]


# -- clear errors (#8.9, #8.10) ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda p: p["qa"](question="", context=CONTEXT), ValueError, "question must be a non-empty string"),
        (lambda p: p["qa"](question="Who?", context="  \n "), ValueError, "context must be a non-empty string"),
        (lambda p: p["qa"](question=["Who?", " "], context=CONTEXT), ValueError, r"question\[1\] must be a non-empty"),
        (lambda p: p["qa"]({"question": "Who?"}), ValueError, "keys 'question' and 'context'"),
        (lambda p: p["qa"](question="Who?", context="\u0301"), ValueError, "context .* has no tokens once normalised"),
        (
            lambda p: p["qa"](question="Who designed the tower in the end?", context=CONTEXT, max_seq_len=4),
            ValueError,
            "max_seq_len=4 is too small for question",
        ),
        (
            lambda p: p["qa"](question="Who?", context=CONTEXT, max_seq_len=10, doc_stride=6),
            ValueError,
            "doc_stride=6 must be smaller",
        ),
        (lambda p: p["qa"](question="Who?", context=CONTEXT, max_answer_len=0), ValueError, "max_answer_len must be"),
        (lambda p: p["qa"](question="Who?", context=CONTEXT, top_k=0), ValueError, "top_k must be"),
        (lambda p: p["qa"](question="Who?", context=CONTEXT, max_seq_len=600), ValueError, "exceeds the model's"),
        (lambda p: p["clf"]("good", top_k=-1), ValueError, r"top_k must be None \(every label\) or an int >= 1"),
        (lambda p: p["clf"]("good", top_k=0), ValueError, "top_k must be None"),
        (lambda p: p["clf"]("good", function_to_apply="tanh"), ValueError, "function_to_apply must be"),
        (lambda p: p["clf"]({"text": "a", "pair": "b"}), ValueError, "'text' and optionally 'text_pair'"),
        (lambda p: p["clf"]([["a", "b"]]), TypeError, "text pair as"),
        (lambda p: p["mc"]({"question": "Q", "choices": "abc"}), TypeError, "list of strings, got str"),
        (lambda p: p["mc"]({"question": "Q", "choices": []}), ValueError, "is empty"),
        (lambda p: p["fm"]("a [MASK]", top_k=0), ValueError, "top_k must be"),
        (lambda p: p["fm"](42), TypeError, "inputs must be a str"),
        (lambda p: p["fm"](["a [MASK]", None]), TypeError, "inputs.1. must be a str"),
    ],
)
def test_bad_arguments_are_refused(tiny_dir, clf_dir, qa, mc_dir, call, error, message):
    pipes = {
        "qa": qa,
        "clf": pipeline("text-classification", model=clf_dir),
        "mc": pipeline("multiple-choice", model=mc_dir),
        "fm": pipeline("fill-mask", model=tiny_dir),
    }
    with pytest.raises(error, match=message):
        call(pipes)


@pytest.mark.parametrize(
    "device, error, message",
    [
        ("gpu", ValueError, "'gpu' is not a device"),
        (-2, ValueError, "-2 is not a device"),
        (1.5, TypeError, "device must be"),
        (True, TypeError, "device must be"),
        ("xpu", ValueError, "not supported"),
        ("tpu", ValueError, "not a device"),
    ],
)
def test_bad_devices_are_refused(tiny_dir, device, error, message):
    with pytest.raises(error, match=message):
        pipeline("fill-mask", model=tiny_dir, device=device)


def test_devices_as_transformers_takes_them(tiny_dir):
    assert resolve_device(-1) == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")
    assert pipeline("fill-mask", model=tiny_dir, device=-1).device == torch.device("cpu")
    if not torch.cuda.is_available():
        for device in (0, "cuda", "cuda:0", torch.device("cuda")):
            with pytest.raises(ValueError, match="CUDA"):
                pipeline("fill-mask", model=tiny_dir, device=device)
    else:
        assert resolve_device(0) == torch.device("cuda", 0)


def test_pipeline_errors(tiny_dir):
    with pytest.raises(ValueError, match="unknown task 'summarization'"):
        pipeline("summarization", model=tiny_dir)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pipeline("fill-mask", model=tiny_dir / "missing")
    with pytest.raises(ValueError, match="backend must be one of"):
        pipeline("fill-mask", model=tiny_dir, backend="tensorflow")
    with pytest.raises(ValueError, match="batch_size must be"):
        pipeline("fill-mask", model=tiny_dir, batch_size=0)
    with pytest.raises(ValueError, match="options of backend='onnxruntime'"):
        pipeline("fill-mask", model=tiny_dir, quantize="int8")


# -- Ray Data ---------------------------------------------------------------------------------------
def test_predict_batch_callable(tiny_dir):
    from albert_model.integrations._ray import PredictBatch

    predict = PredictBatch("fill-mask", model=str(tiny_dir), device="cpu", batch_size=2, top_k=2)
    batch = {"text": np.array(["a [MASK] b", "the [MASK]", "x y [MASK]"], dtype=object), "id": np.arange(3)}
    out = predict(batch)
    assert list(out["id"]) == [0, 1, 2] and len(out["prediction"]) == 3
    fm = pipeline("fill-mask", model=tiny_dir)
    for text, prediction in zip(batch["text"], out["prediction"], strict=False):
        assert [a["token"] for a in json.loads(prediction)] == [a["token"] for a in fm(text, top_k=2)]
    assert len(predict({"text": np.array([], dtype=object)})["prediction"]) == 0
    with pytest.raises(KeyError, match="sentence"):
        PredictBatch("fill-mask", model=str(tiny_dir), text_column="sentence")(batch)


def test_predict_batch_in_ray_data(tiny_dir):
    import ray

    from albert_model.integrations._ray import PredictBatch

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_items([{"text": f"item {i} is [MASK]"} for i in range(6)])
        rows = ds.map_batches(
            PredictBatch,
            fn_constructor_kwargs={"task": "fill-mask", "model": str(tiny_dir), "top_k": 1},
            concurrency=1,
            batch_size=3,
        ).take_all()
        # sentence embeddings in the same Ray session: a float32 vector per row
        texts = [f"item {i} " + "word " * i for i in range(5)]
        embedded = (
            ray.data.from_items([{"text": t} for t in texts])
            .map_batches(
                PredictBatch,
                fn_constructor_kwargs={"task": "sentence-embedding", "model": str(tiny_dir), "normalize": False},
                concurrency=1,
                batch_size=2,
            )
            .take_all()
        )
    finally:
        ray.shutdown()
    assert sorted(r["text"] for r in rows) == sorted(f"item {i} is [MASK]" for i in range(6))
    assert all(len(json.loads(r["prediction"])) == 1 for r in rows)
    got = {r["text"]: r["prediction"] for r in embedded}
    assert sorted(got) == sorted(texts)
    want = pipeline("sentence-embedding", model=tiny_dir)(texts, normalize=False)
    for text, vector in zip(texts, want, strict=True):
        assert got[text].dtype == np.float32 and got[text].shape == (TINY["hidden_size"],)
        np.testing.assert_allclose(got[text], vector, atol=1e-5)


# -- CLI ----------------------------------------------------------------------------------------------
def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "albert_model", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_cli_fill_mask(tiny_dir, tmp_path, capsys, monkeypatch):
    ok = run_cli("fill-mask", "Plants create [MASK] through photosynthesis.", "--model", str(tiny_dir), "--top-k", "5")
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.strip().splitlines()) == 6  # the text, then five answers
    # the other ways in, in this process (the process itself is checked above)
    monkeypatch.setattr("sys.stdin", io.StringIO("a [MASK] b\nc [MASK]\n"))
    code, out, _ = cli(capsys, "fill-mask", "--model", str(tiny_dir), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["input"] for r in rows] == ["a [MASK] b", "c [MASK]"] and len(rows[0]["result"]) == 5
    f = tmp_path / "in.txt"
    f.write_text("x [MASK]\ny [MASK]\n")
    code, out, _ = cli(capsys, "fill-mask", "--input", str(f), "--model", str(tiny_dir))
    assert code == 0 and "x [MASK]" in out and "y [MASK]" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["fill-mask", "no mask here"], "no mask token"),
        (["fill-mask", "a [MASK]", "--model", "/no/such/dir"], "does not exist"),
        (["fill-mask", "--input", "/no/such/file.txt"], "does not exist"),
    ],
)
def test_cli_errors(tiny_dir, capsys, args, message):
    if "--model" not in args:
        args = [*args, "--model", str(tiny_dir)]
    code, out, err = cli(capsys, *args)  # in this process; tests/test_cli.py runs bad inputs as processes
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_tokenize_and_help(tiny_dir, capsys):
    proc = run_cli("tokenize", "Hello world", "--model", str(tiny_dir))
    assert proc.returncode == 0 and proc.stdout.splitlines()[0] == "[CLS] ▁hello ▁world [SEP]"
    from albert_model.cli import main

    for command in ("fill-mask", "classify", "tag", "answer", "export-onnx", "tokenize", "train-vocab", "pretrain"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0 and capsys.readouterr().out.startswith(f"usage: albert {command}")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """``albert ARGS`` in this process (no torch start-up per call): exit code, stdout, stderr."""
    from albert_model.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


COMMANDS = {
    "classify": ("classifier", ["good film"]),
    "tag": ("classifier", ["John lives in Paris"]),
    "answer": ("qa_outputs", ["--question", "Who?", "--context", CONTEXT]),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("which", ["shipped", "tiny"] if os.path.isdir(DEFAULT_MODEL) else ["tiny"])
def test_cli_refuses_a_missing_task_head(capsys, tiny_dir, command, which):
    """#8.6: classify/tag/answer on a masked-LM checkpoint stop with one line and exit 2, never a random head."""
    head, args = COMMANDS[command]
    model = [] if which == "shipped" else ["--model", str(tiny_dir)]
    code, out, err = cli(capsys, command, *args, *model)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    if which == "shipped":
        assert "the shipped model is a masked language model without a" in err and "pass --model DIR" in err
        assert "fine-tune it" in err
    else:
        assert f"{head}.weight" in err and str(tiny_dir) in err and "point at a fine-tuned directory" in err


def test_cli_predictions_are_the_pipelines(capsys, clf_dir, ner_dir, qa_dir):
    code, out, _ = cli(capsys, "classify", "good film", "bad", "--model", str(clf_dir), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["result"] for r in rows] == pipeline("text-classification", model=clf_dir)(
        ["good film", "bad"]
    )
    for aggregation in ("none", "simple", "max"):
        code, out, _ = cli(
            capsys, "tag", "John lives in New York", "--model", str(ner_dir), "--json", "--aggregation", aggregation
        )
        want = pipeline("ner", model=ner_dir)("John lives in New York", aggregation_strategy=aggregation)
        assert code == 0 and json.loads(out)["result"] == want  # JSON keeps floats exactly
    code, out, _ = cli(capsys, "tag", "John lives in New York", "--model", str(ner_dir))
    assert code == 0 and out.splitlines()[0] == "John lives in New York" and len(out.splitlines()) > 1
    code, out, _ = cli(
        capsys,
        "answer",
        "--question",
        "Who designed it?",
        "--context",
        CONTEXT,
        "--model",
        str(qa_dir),
        "--top-k",
        "3",
        "--json",
        "--device",
        "-1",
    )
    want = pipeline("question-answering", model=qa_dir)(question="Who designed it?", context=CONTEXT, top_k=3)
    assert code == 0 and json.loads(out)["result"] == want  # JSON keeps floats exactly
    code, out, _ = cli(capsys, "answer", "--question", "Who designed it?", "--context", CONTEXT, "--model", str(qa_dir))
    best = pipeline("question-answering", model=qa_dir)(question="Who designed it?", context=CONTEXT)
    assert code == 0 and out == f"{best['answer']}\t(score {best['score']:.4f}, chars {best['start']}-{best['end']})\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["fill-mask", "a [MASK]", "--quantize", "int8"], "--quantize is an option of --backend onnxruntime"),
        (["fill-mask", "a [MASK]", "--threads", "2"], "--threads is an option of --backend onnxruntime"),
        (["fill-mask", "a [MASK]", "--device", "gpu"], "'gpu' is not a device"),
        (["fill-mask", "a [MASK]", "--batch-size", "0"], "batch_size must be an int >= 1"),
        (["answer", "--question", "", "--context", CONTEXT], "question must be a non-empty string"),
    ],
)
def test_cli_bad_options(capsys, tiny_dir, qa_dir, args, message):
    code, _, err = cli(capsys, *args, "--model", str(qa_dir if args[0] == "answer" else tiny_dir))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


# -- vocabulary training and pretraining -------------------------------------------------------------
def test_train_vocabulary_loads_in_both_tokenizers(tmp_path):
    from albert_tok.api._train import train_vocabulary

    corpus = tmp_path / "corpus.txt"
    words = ["alpha", "beta", "gamma", "delta", "Épsilon", "zeta", "1,000", "(eta)"]
    rng = np.random.default_rng(0)
    corpus.write_text("\n".join(" ".join(rng.choice(words, 8)) for _ in range(400)))
    train_vocabulary([corpus], tmp_path / "vocab", vocab_size=60)
    slow = AlbertTokenizer.from_pretrained(tmp_path / "vocab")
    fast = AlbertTokenizerFast.from_pretrained(tmp_path / "vocab")
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
