"""Sentence embeddings: ``pipeline("sentence-embedding")`` and feature extraction's ``pooling=``: shapes and dtype,
each pooling against transformers' AlbertModel pooled as sentence-transformers pools, independence from the
batch, torch against ONNX Runtime, the options' errors, and the Ray Data predictor (on a local Ray instance in
test_pipelines.py's Ray test, which starts Ray once for both tasks)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.checkpoints._shipped import DEFAULT_MODEL
from albert_model.integrations._ray import PredictBatch
from albert_model.onnx._runtime import OnnxAlbertModel
from albert_model.pipelines._factory import pipeline
from albert_model.pipelines._sentence_embedding import POOLINGS, SentenceEmbeddingPipeline

from .strategies import plain_text
from .test_pipelines import save_tiny

HIDDEN = 32  # save_tiny's hidden_size
TEXTS = [
    "hello world",
    "A somewhat longer text, with punctuation and 1,000 digits.",
    "",
    "short",
    "word " * 600,  # longer than the model: truncated to 512 tokens, as every pipeline does
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("embed"), A.AlbertForMaskedLM)


@pytest.fixture(scope="module")
def embed(tiny_dir):
    return pipeline("sentence-embedding", model=tiny_dir)


def reference(directory, texts: list[str], pooling: str, normalize: bool) -> np.ndarray:
    """transformers' AlbertModel and canonical tokenizer, one padded batch, pooled as sentence-transformers'
    ``Pooling`` and ``Normalize`` modules do."""
    tokenizer = transformers.AlbertTokenizer.from_pretrained(str(directory))
    model = transformers.AlbertModel.from_pretrained(str(directory)).eval()
    enc = tokenizer(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).expand(hidden.size()).float()
    if pooling == "cls":
        vectors = hidden[:, 0]
    elif pooling == "mean":
        vectors = (hidden * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
    else:
        vectors = torch.where(mask == 0, torch.full_like(hidden, -1e9), hidden).max(1).values
    if normalize:
        vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
    return vectors.numpy()


# -- what comes back ----------------------------------------------------------------------------------
def test_shapes_and_dtype(embed):
    many = embed(["hello world", "a longer text here"])
    assert isinstance(many, np.ndarray) and many.dtype == np.float32 and many.shape == (2, HIDDEN)
    one = embed("hello world")
    assert isinstance(one, np.ndarray) and one.dtype == np.float32 and one.shape == (HIDDEN,)
    empty = embed([])
    assert empty.dtype == np.float32 and empty.shape == (0, HIDDEN)
    assert embed(("hello world",)).shape == (1, HIDDEN)
    np.testing.assert_allclose(one, many[0], atol=1e-6)
    assert isinstance(embed, SentenceEmbeddingPipeline) and embed.task == "sentence-embedding"


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_each_pooling_is_sentence_transformers_on_transformers_model(embed, tiny_dir, pooling, normalize):
    got = embed(TEXTS, pooling=pooling, normalize=normalize)
    want = reference(tiny_dir, TEXTS, pooling, normalize)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_defaults_are_mean_and_normalized(embed):
    vectors = embed(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    raw = embed(TEXTS, pooling="mean", normalize=False)
    np.testing.assert_allclose(vectors, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)  # the raw mean is not a unit vector
    pinned = pipeline("sentence-embedding", model=embed.model, tokenizer=embed.tokenizer, pooling="cls")
    np.testing.assert_array_equal(pinned(TEXTS), embed(TEXTS, pooling="cls"))  # pipeline defaults apply


def test_the_shipped_model_embeds():
    vectors = pipeline("sentence-embedding")(["The cat sat on the mat.", "A cat was sitting on a mat."])
    hidden = A.AlbertConfig.from_json(os.path.join(DEFAULT_MODEL, "config.json")).hidden_size
    assert vectors.shape == (2, hidden) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


# -- independent of the batch -------------------------------------------------------------------------
@settings(max_examples=15)
@given(
    text=plain_text,
    others=st.lists(st.text(alphabet="abcdefgh ,.", min_size=20, max_size=300), min_size=1, max_size=5),
    batch_size=st.integers(1, 4),
    pooling=st.sampled_from(POOLINGS),
    normalize=st.booleans(),
)
def test_a_text_alone_equals_it_in_a_batch(embed, text, others, batch_size, pooling, normalize):
    """Padding, the batch's other texts, the batch size and the length sorting change nothing beyond rounding."""
    alone = embed(text, pooling=pooling, normalize=normalize, batch_size=1)
    batch = embed([*others, text, *others], pooling=pooling, normalize=normalize, batch_size=batch_size)
    scale = 1.0 if normalize else max(1.0, float(np.abs(alone).max()))
    np.testing.assert_allclose(batch[len(others)], alone, atol=1e-5 * scale, rtol=0)
    np.testing.assert_allclose(batch[-1], embed(others[-1], pooling=pooling, normalize=normalize), atol=1e-5 * scale)


def test_windows_change_nothing(tiny_dir):
    pipe = pipeline("sentence-embedding", model=tiny_dir, batch_size=2)
    texts = [f"text {i} " + "more words " * (i % 5) for i in range(11)]
    whole = pipe(texts)
    pipe.window = 3
    np.testing.assert_allclose(pipe(texts), whole, atol=1e-6)


# -- feature extraction with pooling -----------------------------------------------------------------
def test_feature_extraction_pools_when_asked(tiny_dir, embed):
    fe = pipeline("feature-extraction", model=tiny_dir)
    for pooling in POOLINGS:
        np.testing.assert_array_equal(fe(TEXTS, pooling=pooling), embed(TEXTS, pooling=pooling))
        np.testing.assert_array_equal(
            fe(TEXTS, pooling=pooling, normalize=False), embed(TEXTS, pooling=pooling, normalize=False)
        )
    one = fe("hello world", pooling="mean")
    assert one.shape == (HIDDEN,) and one.dtype == np.float32
    tensor = fe(["hello world"], pooling="max", return_tensors=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (1, HIDDEN) and tensor.dtype == torch.float32
    assert fe([], pooling="cls").shape == (0, HIDDEN)
    pooled = pipeline("feature-extraction", model=tiny_dir, pooling="cls", normalize=False)
    np.testing.assert_array_equal(pooled(TEXTS), embed(TEXTS, pooling="cls", normalize=False))
    tokens = fe("hello world")  # without pooling: the token vectors, as before
    assert len(tokens) == 1 and len(tokens[0]) == 4 and len(tokens[0][0]) == HIDDEN
    assert fe("hello world", normalize=False) == tokens


# -- errors -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "task, kwargs, error, message",
    [
        ("sentence-embedding", {"pooling": "sum"}, ValueError, "must be one of .cls., .mean., .max., got .sum."),
        ("sentence-embedding", {"pooling": "pooler"}, ValueError, r"got 'pooler' \(ALBERT's pooler output is not"),
        ("sentence-embedding", {"pooling": None}, ValueError, "pooling must be one of"),
        ("sentence-embedding", {"pooling": ["mean"]}, ValueError, "pooling must be one of"),
        ("sentence-embedding", {"normalize": "yes"}, TypeError, "normalize must be True or False, got 'yes'"),
        ("feature-extraction", {"pooling": "MEAN"}, ValueError, "pooling must be one of 'cls', 'mean', 'max'"),
        ("feature-extraction", {"normalize": True}, ValueError, "normalize=True applies to pooled vectors"),
        ("feature-extraction", {"pooling": "mean", "normalize": 1}, TypeError, "normalize must be True or False"),
    ],
)
def test_bad_options_are_refused_when_built_and_when_called(tiny_dir, task, kwargs, error, message):
    with pytest.raises(error, match=message):
        pipeline(task, model=tiny_dir, **kwargs)
    with pytest.raises(error, match=message):
        pipeline(task, model=tiny_dir)("hello", **kwargs)


def test_bad_inputs_are_refused(embed):
    with pytest.raises(TypeError, match="inputs must be a str"):
        embed(42)
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a str"):
        embed(["a", None])
    with pytest.raises(ValueError, match="batch_size must be"):
        embed(["a"], batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be"):
        embed([], batch_size=0)
    with pytest.raises(TypeError, match=r"unexpected keyword.*accepted: inputs, pooling, normalize, batch_size"):
        pipeline("sentence-embedding", model=embed.model, tokenizer=embed.tokenizer, top_k=3)


# -- ONNX Runtime -------------------------------------------------------------------------------------
def test_onnxruntime_gives_the_same_vectors(tiny_dir, embed):
    on_ort = pipeline("sentence-embedding", model=tiny_dir, backend="onnxruntime", threads=1)
    assert isinstance(on_ort.model, OnnxAlbertModel)
    for pooling in POOLINGS:
        for normalize in (True, False):
            got = on_ort(TEXTS, pooling=pooling, normalize=normalize)
            assert got.dtype == np.float32 and got.shape == (len(TEXTS), HIDDEN)
            np.testing.assert_allclose(got, embed(TEXTS, pooling=pooling, normalize=normalize), atol=1e-4, rtol=1e-4)
    assert on_ort([]).shape == (0, HIDDEN) and on_ort("x").shape == (HIDDEN,)
    fe = pipeline("feature-extraction", model=tiny_dir, backend="onnxruntime", threads=1)  # the same cached graph
    np.testing.assert_allclose(fe(TEXTS, pooling="mean"), embed(TEXTS), atol=1e-4)


def test_int8_weights_give_nearly_the_same_directions(tiny_dir, embed):
    int8 = pipeline("sentence-embedding", model=tiny_dir, backend="onnxruntime", quantize="int8", threads=1)
    got = int8(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), HIDDEN)
    cosine = np.sum(got * embed(TEXTS), axis=1)
    assert cosine.min() > 0.99, cosine


# -- Ray Data -----------------------------------------------------------------------------------------
def test_predict_batch_gives_float32_vectors(tiny_dir, embed):
    predict = PredictBatch("sentence-embedding", model=str(tiny_dir), device="cpu", batch_size=2, pooling="cls")
    batch = {"text": np.array(["a b", "the cat", "x y z"], dtype=object), "id": np.arange(3)}
    out = predict(batch)
    assert list(out["id"]) == [0, 1, 2]
    assert out["prediction"].dtype == np.float32 and out["prediction"].shape == (3, HIDDEN)
    np.testing.assert_allclose(out["prediction"], embed(list(batch["text"]), pooling="cls"), atol=1e-6)
    assert predict({"text": np.array([], dtype=object)})["prediction"].shape == (0, HIDDEN)
    pooled = PredictBatch("feature-extraction", model=str(tiny_dir), pooling="max", normalize=False)(batch)
    np.testing.assert_allclose(pooled["prediction"], embed(list(batch["text"]), pooling="max", normalize=False))
    tokens = PredictBatch("feature-extraction", model=str(tiny_dir))(batch)  # no pooling: JSON text, as before
    assert len(json.loads(tokens["prediction"][0])[0]) == 4
    with pytest.raises(ValueError, match="pooling must be one of"):
        PredictBatch("sentence-embedding", model=str(tiny_dir), pooling="sum")  # in the constructor


# -- other dtypes and devices -------------------------------------------------------------------------
def test_a_bfloat16_model_gives_float32_vectors(tiny_dir, embed):
    low = pipeline("sentence-embedding", model=tiny_dir, dtype=torch.bfloat16)
    got = low(TEXTS, pooling="mean")
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), HIDDEN)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)  # normalised in float32
    cosine = np.sum(got * embed(TEXTS), axis=1)
    assert cosine.min() > 0.99, cosine


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_the_gpu_the_vectors_are_the_cpus(tiny_dir, embed):
    gpu = pipeline("sentence-embedding", model=tiny_dir, device="cuda")
    for pooling in POOLINGS:
        np.testing.assert_allclose(gpu(TEXTS, pooling=pooling), embed(TEXTS, pooling=pooling), atol=1e-4)
