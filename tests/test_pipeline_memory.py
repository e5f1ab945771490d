"""Pipelines read their inputs a window at a time: the tokenizer and the model never see more than one window,
the memory a call needs beyond its results does not grow with the number of inputs, nothing of a call is
kept after it, and the answers are the same whatever the window (in input order)."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.pipelines._factory import pipeline

from .strategies import plain_text
from .test_pipelines import CONTEXT, save_tiny

CLASSES = {
    "fill-mask": (A.AlbertForMaskedLM, None),
    "feature-extraction": (A.AlbertForMaskedLM, None),
    "text-classification": (A.AlbertForSequenceClassification, ["neg", "pos"]),
    "token-classification": (A.AlbertForTokenClassification, ["O", "B-LOC", "I-LOC"]),
    "question-answering": (A.AlbertForQuestionAnswering, None),
}


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return {task: save_tiny(tmp_path_factory.mktemp(task), cls, labels) for task, (cls, labels) in CLASSES.items()}


def inputs(task: str, n: int) -> list:
    """``n`` inputs of varied lengths for ``task``."""
    texts = [f"text number {i} " + "with more words " * (i % 7) for i in range(n)]
    if task == "fill-mask":
        return [t + "and a [MASK]." for t in texts]
    if task == "question-answering":
        return [{"question": f"what is {i}?", "context": t + CONTEXT[: 40 * (i % 5)]} for i, t in enumerate(texts)]
    return texts


class Watch:
    """Records how many texts each tokenizer call of ``pipe`` gets, the batch of each forward, and weak
    references to every tensor the model took and gave."""

    def __init__(self, pipe, monkeypatch) -> None:
        self.texts: list[int] = []
        self.batches: list[int] = []
        self.tensors: list[weakref.ref] = []
        tok, real_call = pipe.tokenizer, type(pipe.tokenizer).__call__

        def call(this, text, *args, **kwargs):
            if this is tok:
                self.texts.append(len(text) if isinstance(text, (list, tuple)) else 1)
            return real_call(this, text, *args, **kwargs)

        real_forward = pipe.model.forward

        def forward(**batch):
            out = real_forward(**batch)
            self.batches.append(len(batch["input_ids"]))
            self.tensors += [
                weakref.ref(t) for t in (*batch.values(), *vars(out).values()) if isinstance(t, torch.Tensor)
            ]
            return out

        monkeypatch.setattr(type(tok), "__call__", call)
        monkeypatch.setattr(pipe.model, "forward", forward)


@pytest.mark.parametrize("task", list(CLASSES))
def test_a_call_tokenizes_and_runs_one_window_at_a_time(dirs, monkeypatch, task):
    pipe = pipeline(task, model=dirs[task], batch_size=2)
    pipe.window = 5
    before = dict(vars(pipe))
    watch = Watch(pipe, monkeypatch)
    out = pipe(inputs(task, 23))
    assert len(out) == 23
    assert watch.texts and max(watch.texts) <= 5  # never the whole input at once
    assert max(watch.batches) <= 2
    del out
    gc.collect()
    assert [r for r in watch.tensors if r() is not None] == []  # no batch, logits or hidden state outlives the call
    assert vars(pipe).keys() == before.keys() and all(
        vars(pipe)[k] is v for k, v in before.items() if k not in ("model",)
    )


def test_the_default_window_is_a_few_batches(dirs, monkeypatch):
    pipe = pipeline("text-classification", model=dirs["text-classification"], batch_size=3)
    watch = Watch(pipe, monkeypatch)
    pipe(inputs("text-classification", 200))
    assert max(watch.texts) == 3 * pipe.WINDOW_BATCHES < 200


def _overhead(pipe, texts) -> tuple[int, int]:
    """(bytes of Python objects a call held at its peak beyond its results, bytes of its results)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = pipe(texts, top_k=1)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(out) == len(texts)
    return peak - held, held - base


def test_memory_beyond_the_results_does_not_grow_with_the_input(dirs):
    pipe = pipeline("fill-mask", model=dirs["fill-mask"], batch_size=4)
    pipe.window = 8
    pipe(inputs("fill-mask", 16))  # first-call set-up (imports, caches) out of the way
    small, small_results = _overhead(pipe, inputs("fill-mask", 100))
    large, large_results = _overhead(pipe, inputs("fill-mask", 1600))
    assert large_results > 5 * small_results  # the results do grow with the input ...
    assert large < 2 * small + 64 * 1024, (small, large)  # ... what the call needs on top of them does not


def test_returned_tensors_own_only_their_row(dirs):
    fe = pipeline("feature-extraction", model=dirs["feature-extraction"], batch_size=4)
    for t in fe(inputs("feature-extraction", 9), return_tensors=True):
        assert t.untyped_storage().nbytes() == t.numel() * t.element_size()  # not a view of a padded batch


# -- the same answers, in input order, whatever the window ------------------------------------------------
def _run(pipe, window, items, **kwargs):
    pipe.window = window
    try:
        return pipe(items, **kwargs)
    finally:
        pipe.window = None


@pytest.fixture(scope="module")
def one_by_one(dirs):
    """Pipelines with batches of one: each row runs alone, so any window gives bit-identical answers."""
    return {task: pipeline(task, model=directory, batch_size=1) for task, directory in dirs.items()}


words = st.lists(
    st.sampled_from(["the", "Paris", "tower", "1,000", "café", "a", "zz", "中文"]), min_size=1, max_size=8
).map(" ".join)


@settings(max_examples=12)
@given(parts=st.lists(st.tuples(plain_text, plain_text, st.booleans()), max_size=7), window=st.integers(1, 4))
def test_fill_mask_answers_do_not_depend_on_the_window(one_by_one, parts, window):
    texts = [f"{a} [MASK] {b}" + (" [MASK]" if two else "") for a, b, two in parts]
    assert _run(one_by_one["fill-mask"], window, texts, top_k=2) == _run(one_by_one["fill-mask"], 1000, texts, top_k=2)


@settings(max_examples=15)
@given(texts=st.lists(words, max_size=7), window=st.integers(1, 4))
def test_classification_answers_do_not_depend_on_the_window(one_by_one, texts, window):
    for task, kwargs in (
        ("text-classification", {"top_k": None}),
        ("token-classification", {"aggregation_strategy": "simple", "ignore_labels": []}),
    ):
        assert _run(one_by_one[task], window, texts, **kwargs) == _run(one_by_one[task], 1000, texts, **kwargs)


@settings(max_examples=15)
@given(pairs=st.lists(st.tuples(words, words), max_size=5), window=st.integers(1, 3))
def test_question_answering_answers_do_not_depend_on_the_window(one_by_one, pairs, window):
    items = [{"question": q, "context": c * 3} for q, c in pairs]
    kwargs = {"top_k": 2, "max_seq_len": 24, "doc_stride": 4, "max_question_len": 8}  # several rows per example
    assert _run(one_by_one["question-answering"], window, items, **kwargs) == _run(
        one_by_one["question-answering"], 1000, items, **kwargs
    )


@pytest.fixture(scope="module")
def batched_fe(dirs):
    return {size: pipeline("feature-extraction", model=dirs["feature-extraction"], batch_size=size) for size in (2, 3)}


@settings(max_examples=15)
@given(texts=st.lists(words, max_size=7), window=st.integers(1, 4), batch_size=st.integers(2, 3))
def test_batched_features_do_not_depend_on_the_window(batched_fe, texts, window, batch_size):
    fe = batched_fe[batch_size]
    small, whole = _run(fe, window, texts, return_tensors=True), _run(fe, 1000, texts, return_tensors=True)
    assert len(small) == len(whole) == len(texts)
    for a, b in zip(small, whole, strict=False):  # other batch-mates, other padding: equal up to float rounding
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_an_error_names_the_input_by_its_place_in_the_whole_call(one_by_one):
    texts = ["a [MASK]"] * 7 + ["no mask here"]
    with pytest.raises(ValueError, match=r"no mask token .* found in input 7"):
        _run(one_by_one["fill-mask"], 3, texts)
