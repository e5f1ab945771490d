"""The prediction server in process: every route against the offline pipelines, the request checks (never a
500), the batcher (token budget, operations kept apart, one bad input fails only its request, draining), the
bounded queue (429), shutting down (503), threads, metrics and the command's arguments. A real server process
and a real HTTP client are in test_serve_process.py; Ray Serve in test_serve_ray.py."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

import albert_model as A
from albert_model.pipelines import POOLINGS, pipeline
from albert_model.serving import Limits, ServeConfig, add_serve_parser, choose_threads, create_app
from albert_model.serving._batcher import Batcher, Closed, QueueFull
from albert_model.serving._command import config_from_args, main
from albert_model.serving._engine import Engine
from albert_model.serving._metrics import Metrics
from albert_tok import AlbertTokenizerFast

from .conftest import ROOT, SPIECE
from .strategies import long_text, numbers, plain_text
from .test_pipelines import TINY, save_tiny  # the tiny seeded checkpoints (save_tiny is used by test_serve_process)

TEXTS = ["I liked this film a lot.", "Dull.", "The plot, the cast and the music were all very good indeed.", "ok"]
CONTEXT = "The Eiffel Tower is a wrought-iron lattice tower in Paris. It is named after Gustave Eiffel."


def offline_embeddings(model: Path, texts: list[str], pooling: str = "mean") -> np.ndarray:
    """What /embed should answer without normalisation: the sentence-embedding pipeline, on the default torch
    settings."""
    return np.asarray(pipeline("sentence-embedding", model=model, pooling=pooling, normalize=False)(texts))


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("mlm"), A.AlbertForMaskedLM)


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("clf"), A.AlbertForSequenceClassification, ["neg", "neu", "pos"])


@pytest.fixture(scope="module")
def ner_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("ner"), A.AlbertForTokenClassification, ["O", "B-LOC", "I-LOC"])


@pytest.fixture(scope="module")
def qa_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("qa"), A.AlbertForQuestionAnswering)


def _client(model: Path, **options) -> TestClient:
    return TestClient(create_app(ServeConfig(model=str(model), threads=1, **options)))


@pytest.fixture(scope="module")
def clf(clf_dir):
    with _client(clf_dir) as client:
        yield client


@pytest.fixture(scope="module")
def mlm(mlm_dir):
    with _client(mlm_dir, limits=Limits(max_texts=64, max_chars=5000, max_body_bytes=200_000)) as client:
        yield client


def _error(response, status: int, limit: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"] and isinstance(body["error_type"], str)
    assert body.get("limit") == limit
    return body


# -- routes against the offline pipelines ---------------------------------------------------------------------
def test_openapi_lists_every_route(clf):
    paths = clf.get("/openapi.json").json()["paths"]
    for route in ("/embed", "/predict", "/tokenize", "/fill-mask", "/tag", "/answer"):
        assert "post" in paths[route] and "requestBody" in paths[route]["post"]
    for route in ("/health", "/info", "/metrics"):
        assert "get" in paths[route]
    assert {"400", "413", "422", "424", "429", "503"} <= set(paths["/embed"]["post"]["responses"])
    schema = paths["/embed"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"inputs", "normalize", "truncate"} <= set(schema["properties"])


def test_embed_equals_offline_and_normalizes(clf, clf_dir):
    expected = offline_embeddings(clf_dir, TEXTS)
    raw = np.array(clf.post("/embed", json={"inputs": TEXTS, "normalize": False}).json())
    assert raw.shape == expected.shape == (len(TEXTS), TINY["hidden_size"])
    np.testing.assert_allclose(raw, expected, rtol=1e-4, atol=1e-5)
    unit = np.array(clf.post("/embed", json={"inputs": TEXTS}).json())  # normalize defaults to true, as in TEI
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(unit, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-5)
    one = clf.post("/embed", json={"inputs": TEXTS[0], "normalize": False}).json()
    assert len(one) == 1  # a string is answered as a batch of one, as in TEI
    np.testing.assert_allclose(one[0], expected[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "max"])
def test_embed_pooling(clf_dir, pooling):
    with _client(clf_dir, pooling=pooling) as client:
        got = np.array(client.post("/embed", json={"inputs": TEXTS[:2], "normalize": False}).json())
        assert client.get("/info").json()["pooling"] == pooling
    np.testing.assert_allclose(got, offline_embeddings(clf_dir, TEXTS[:2], pooling), rtol=1e-4, atol=1e-5)


def test_predict_has_tei_shapes_and_offline_scores(clf, clf_dir):
    offline = pipeline("text-classification", model=clf_dir)
    single = clf.post("/predict", json={"inputs": TEXTS[0]}).json()
    assert [set(p) for p in single] == [{"label", "score"}] * 3  # every label, best first
    assert [p["score"] for p in single] == sorted((p["score"] for p in single), reverse=True)
    want = offline(TEXTS[0], top_k=None)
    assert [p["label"] for p in single] == [p["label"] for p in want]
    np.testing.assert_allclose([p["score"] for p in single], [p["score"] for p in want], rtol=1e-5)
    pair = clf.post("/predict", json={"inputs": ["a question", "an answer"]}).json()
    want_pair = offline({"text": "a question", "text_pair": "an answer"}, top_k=None)
    np.testing.assert_allclose([p["score"] for p in pair], [p["score"] for p in want_pair], rtol=1e-5)
    batch = clf.post("/predict", json={"inputs": [[TEXTS[0]], ["a question", "an answer"]]}).json()
    assert len(batch) == 2 and all(len(row) == 3 for row in batch)
    np.testing.assert_allclose(sorted(p["score"] for p in batch[1]), sorted(p["score"] for p in pair), rtol=1e-4)
    raw = clf.post("/predict", json={"inputs": TEXTS[0], "raw_scores": True}).json()
    logits = offline(TEXTS[0], top_k=None, function_to_apply="none")
    np.testing.assert_allclose([p["score"] for p in raw], [p["score"] for p in logits], rtol=1e-5)


def test_onnxruntime_backend_answers_as_torch(clf_dir, tmp_path):
    import shutil

    model = shutil.copytree(clf_dir, tmp_path / "clf")  # the export cache is written beside the checkpoint
    with _client(model, backend="onnxruntime") as client:
        info = client.get("/info").json()
        vectors = np.array(client.post("/embed", json={"inputs": TEXTS, "normalize": False}).json())
        scores = client.post("/predict", json={"inputs": TEXTS[0]}).json()
    assert info["backend"] == "onnxruntime" and info["attn_implementation"] is None and info["batch_size"] == 16
    assert info["weight_packing"] is False
    np.testing.assert_allclose(vectors, offline_embeddings(clf_dir, TEXTS), rtol=1e-3, atol=1e-4)
    want = {p["label"]: p["score"] for p in pipeline("text-classification", model=clf_dir)(TEXTS[0], top_k=None)}
    assert {p["label"]: pytest.approx(p["score"], abs=1e-4) for p in scores} == want


def test_tokenize_equals_the_tokenizer(clf):
    tokenizer = AlbertTokenizerFast(SPIECE)
    text = "Hello world, café!"
    tokens = clf.post("/tokenize", json={"inputs": [text, "ok"]}).json()
    assert [t["id"] for t in tokens[0]] == tokenizer(text)["input_ids"]
    assert tokens[0][0] == {"id": tokenizer.cls_token_id, "text": "[CLS]", "special": True, "start": None, "stop": None}
    assert all(not t["special"] and t["text"] == text[t["start"] : t["stop"]] for t in tokens[0][1:-1])
    bare = clf.post("/tokenize", json={"inputs": text, "add_special_tokens": False}).json()
    assert [t["id"] for t in bare[0]] == tokenizer(text, add_special_tokens=False)["input_ids"]


def test_fill_mask_equals_offline(mlm, mlm_dir):
    text = "The capital of France is [MASK]."
    got = mlm.post("/fill-mask", json={"inputs": text, "top_k": 3}).json()
    assert got == pipeline("fill-mask", model=mlm_dir)(text, top_k=3)  # a batch of one: the same computation
    two = mlm.post("/fill-mask", json={"inputs": [text, "[MASK] and [MASK]"], "top_k": 2}).json()
    assert len(two) == 2 and len(two[0]) == 2 and len(two[1]) == 2 and len(two[1][0]) == 2
    _error(mlm.post("/fill-mask", json={"inputs": "no mask here"}), 422)


def test_tag_and_answer_equal_offline(ner_dir, qa_dir):
    text = "Ann lives in Paris near the river."
    with _client(ner_dir) as client:
        got = client.post("/tag", json={"inputs": text, "aggregation_strategy": "simple"}).json()
        want = pipeline("token-classification", model=ner_dir)(text, aggregation_strategy="simple")
        assert got == want
        assert client.post("/tag", json={"inputs": [text]}).json() == [
            pipeline("token-classification", model=ner_dir)(text)
        ]
    with _client(qa_dir) as client:
        question = "Who is the tower named after?"
        got = client.post("/answer", json={"question": question, "context": CONTEXT}).json()
        want = pipeline("question-answering", model=qa_dir)(question=question, context=CONTEXT)
        assert got == want
        many = client.post("/answer", json={"inputs": [{"question": question, "context": CONTEXT}] * 2}).json()
        assert many == [want, want]
        _error(client.post("/answer", json={"question": " ", "context": CONTEXT}), 422)


def test_routes_of_another_task_answer_404(clf, mlm):
    body = _error(clf.post("/fill-mask", json={"inputs": "a [MASK]"}), 404)
    assert "fill-mask" in body["error"] and "text-classification" in body["error"]
    _error(mlm.post("/predict", json={"inputs": "a"}), 404)
    _error(mlm.post("/tag", json={"inputs": "a"}), 404)
    _error(mlm.post("/answer", json={"question": "a", "context": "b"}), 404)
    _error(mlm.get("/no-such-route"), 404)
    _error(mlm.get("/embed"), 405)


def test_health_info_metrics(clf):
    assert clf.get("/health").status_code == 200
    info = clf.get("/info").json()
    assert info["task"] == "text-classification" and info["backend"] == "torch"
    assert info["model_type"]["classifier"]["id2label"] == {"0": "neg", "1": "neu", "2": "pos"}
    assert info["threads"] == 1 and info["threads_reason"] == "--threads"
    assert info["attn_implementation"] == "varlen" and info["batch_size"] == 64  # padding skipped, not computed
    assert info["weight_packing"] is torch.backends.mkldnn.is_available()  # oneDNN on packed weights
    assert info["max_batch_tokens"] == 8192 and info["max_client_batch_size"] == 256 and info["version"]
    assert set(info["routes"]) == {"/embed", "/predict", "/tokenize"}
    before = _counter(clf.get("/metrics").text, 'route="embed",status="200"')
    clf.post("/embed", json={"inputs": "x"})
    clf.post("/embed", json={"inputs": []})
    text = clf.get("/metrics").text
    assert _counter(text, 'route="embed",status="200"') == before + 1
    assert _counter(text, 'route="embed",status="400"') >= 1
    _check_exposition(text)
    for name in ("queue_depth", "batch_size_bucket", "batch_tokens_bucket", "request_seconds_bucket", "draining"):
        assert f"albert_serve_{name}" in text


def _counter(text: str, labels: str) -> float:
    match = re.search(r"^albert_serve_requests_total\{" + re.escape(labels) + r"\} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]\w*="[^"\\]*",?)*\})? [-+]?(\d+(\.\d*)?(e[-+]?\d+)?|Inf)$')


def _check_exposition(text: str) -> None:
    """Every line is a HELP/TYPE comment or a sample; histogram buckets are cumulative, the +Inf bucket is the
    series' _count."""
    assert text.endswith("\n")
    samples = {}
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or _SAMPLE.match(line), line
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    buckets: dict[str, list[float]] = {}
    for name, value in samples.items():
        if "_bucket{" in name:
            series = re.sub(r',?le="[^"]*"', "", name).replace("_bucket", "_count").replace("{}", "")
            buckets.setdefault(series, []).append(value)
    assert buckets
    for series, counts in buckets.items():
        assert counts == sorted(counts) and counts[-1] == samples[series], series


# -- bad requests: 4xx JSON, never 500 -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "limit"),
    [
        (b'{"inputs": ', 400, None),  # malformed JSON
        (b'{"inputs": "caf\xe9"}', 400, None),  # Latin-1, not UTF-8
        (b"\xff\xfe\x00", 400, None),
        (b"", 400, None),
        (b"[1, 2]", 422, None),  # not an object
        (b'"text"', 422, None),
        (b"{}", 422, None),  # no inputs
        (b'{"inputs": 3}', 422, None),
        (b'{"inputs": null}', 422, None),
        (b'{"inputs": {"a": 1}}', 422, None),
        (b'{"inputs": [1, "a"]}', 422, None),
        (b'{"inputs": [["a"]]}', 422, None),
        (b'{"inputs": "a", "normalize": "yes"}', 422, None),
        (b'{"inputs": "a", "truncate": 1}', 422, None),
        (b'{"inputs": []}', 400, None),  # TEI's Empty
        (b'{"inputs": NaN}', 422, None),
        (b"[" * 100_000, 400, None),  # nested past Python's recursion limit
        (b'{"inputs": "a", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400, None),
        (b'{"inputs": "a", "truncate": ' + b"9" * 5000 + b"}", 400, None),  # past Python's int digits limit
    ],
)
def test_bad_embed_bodies(clf, body, status, limit):
    _error(clf.post("/embed", content=body, headers={"content-type": "application/json"}), status, limit)


def test_too_many_texts_a_long_text_and_a_big_body(mlm):
    body = _error(mlm.post("/embed", json={"inputs": ["a"] * 10_000}), 413, "max_texts")
    assert "10000" in body["error"] and "64" in body["error"]
    _error(mlm.post("/embed", json={"inputs": "a" * 1_000_000}), 413, "max_body_bytes")  # 1 MB: over 200 kB first
    _error(mlm.post("/embed", json={"inputs": ["b" * 5001]}), 413, "max_chars")
    _error(mlm.post("/tokenize", json={"inputs": "b" * 5001}), 413, "max_chars")

    def chunks():  # no Content-Length: refused while reading
        yield b'{"inputs": "'
        for _ in range(300):
            yield b"a" * 1000
        yield b'"}'

    _error(mlm.post("/embed", content=chunks()), 413, "max_body_bytes")
    long = "word " * 600  # over 512 tokens
    _error(mlm.post("/embed", json={"inputs": long}), 413, "max_input_length")
    assert len(mlm.post("/embed", json={"inputs": long, "truncate": True}).json()) == 1


@pytest.mark.parametrize("route", ["/embed", "/predict"])
def test_tei_options_the_server_lacks_are_refused_not_ignored(clf, route):
    assert (
        clf.post(route, json={"inputs": "a", "truncation_direction": "Right", "prompt_name": None}).status_code == 200
    )
    assert "Left" in _error(clf.post(route, json={"inputs": "a", "truncation_direction": "Left"}), 422)["error"]
    _error(clf.post(route, json={"inputs": "a", "truncation_direction": "up"}), 422)
    assert "query" in _error(clf.post(route, json={"inputs": "a", "prompt_name": "query"}), 422)["error"]


def test_a_pair_over_the_length_is_refused_as_one_input(clf):
    half = "word " * 300  # each text fits 512 tokens, the pair does not
    body = _error(clf.post("/predict", json={"inputs": [half, half]}), 413, "max_input_length")
    assert "inputs[0]" in body["error"]
    _error(clf.post("/predict", json={"inputs": [["ok"], [half, half]]}), 413, "max_input_length")
    assert len(clf.post("/predict", json={"inputs": [half, half], "truncate": True}).json()) == 3
    assert len(clf.post("/predict", json={"inputs": [half, "ok"]}).json()) == 3  # 300 + 1 + 3: fits


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/predict", {"inputs": ["a", "b", "c"]}),
        ("/predict", {"inputs": [["a", "b", "c"]]}),
        ("/predict", {"inputs": ["a", ["b"]]}),
        ("/predict", {"inputs": []}),
        ("/predict", {"inputs": "a", "raw_scores": "no"}),
        ("/tokenize", {"inputs": "a", "add_special_tokens": 0}),
    ],
)
def test_bad_predict_and_tokenize_bodies(clf, route, body):
    assert 400 <= clf.post(route, json=body).status_code < 500


@pytest.mark.parametrize(
    ("client", "route", "body"),
    [
        ("clf", "/embed", b'{"inputs": "a\\ud800b"}'),  # a lone surrogate, escaped: valid JSON, not text
        ("clf", "/embed", b'{"inputs": ["ok", "\\udfff"]}'),
        ("clf", "/predict", b'{"inputs": ["ok", "\\ud800"]}'),
        ("clf", "/tokenize", b'{"inputs": "\\ud800"}'),
        ("mlm", "/fill-mask", b'{"inputs": "[MASK] \\ud800"}'),
    ],
)
def test_a_lone_surrogate_answers_422_not_500(request, client, route, body):
    served = request.getfixturevalue(client)
    assert "surrogate U+D" in _error(served.post(route, content=body), 422)["error"]
    text = body.replace(b"\\ud800", b"\\u00e9").replace(b"\\udfff", b"\\u00e9")  # the same with a real character
    assert served.post(route, content=text).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"inputs": "a [MASK]", "top_k": 0}, {"inputs": "a [MASK]", "top_k": True}, {"inputs": "a [MASK]", "top_k": "3"}],
)
def test_bad_fill_mask_options(mlm, body):
    _error(mlm.post("/fill-mask", json=body), 422)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | plain_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["inputs", "top_k", "x"]), inner),
    max_leaves=8,
)


@given(
    route=st.sampled_from(["/embed", "/predict", "/tokenize", "/fill-mask"]),
    body=st.dictionaries(
        st.sampled_from(["inputs", "normalize", "truncate", "raw_scores", "top_k", "add_special_tokens", "x"]),
        _json_values,
    ),
)
def test_no_body_gets_a_500(mlm, route, body):
    response = mlm.post(route, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()) >= {"error", "error_type"}


@given(text=st.one_of(long_text, st.lists(numbers, min_size=100, max_size=300).map(" ".join), plain_text))
def test_token_counts_are_exact_where_the_length_check_reads_them(mlm, text):
    engine = mlm.app.state.server.engine
    limit = engine.max_length
    exact = len(engine.tokenizer(text, truncation=True, max_length=limit + 1)["input_ids"])  # capped at limit + 1
    (count,) = engine.count_tokens([text])
    assert (count > limit) == (exact > limit)
    if exact > limit - 16:
        assert count == exact


def test_a_big_body_is_counted_off_the_event_loop(mlm, monkeypatch):
    import threading

    engine = mlm.app.state.server.engine
    threads = []
    count = engine.count_tokens
    monkeypatch.setattr(engine, "count_tokens", lambda texts: (threads.append(threading.get_ident()), count(texts))[1])
    small = mlm.post("/embed", json={"inputs": ["one short text"]})
    big = mlm.post("/embed", json={"inputs": ["word " * 400] * 40})  # about 80 kB
    loop = mlm.post("/embed", json={"inputs": ["another short text"]})
    assert small.status_code == big.status_code == loop.status_code == 200
    assert threads[0] == threads[2] != threads[1]  # small bodies on the loop's thread, the big one elsewhere


# -- the batcher -----------------------------------------------------------------------------------------------
class _Gate:
    """A run function that records its batches and can hold the worker until released."""

    def __init__(self, hold: bool = False) -> None:
        self.batches: list[tuple[object, list]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, key, items):
        self.batches.append((key, list(items)))
        self.started.set()
        assert self.release.wait(10)
        if any(item == "bad" for item in items):
            raise ValueError("bad input")
        return [(key, item) for item in items]


@given(jobs=st.lists(st.tuples(st.sampled_from("ab"), st.integers(1, 40), st.integers(1, 3)), min_size=1, max_size=30))
def test_batcher_answers_each_job_with_its_own_results(jobs):
    gate = _Gate(hold=True)
    batcher = Batcher(gate, max_batch_tokens=50, max_wait_ms=0, max_queue=100)
    futures = [
        batcher.submit(key, [f"{n}-{i}" for i in range(size)], tokens) for n, (key, tokens, size) in enumerate(jobs)
    ]
    gate.release.set()
    for n, ((key, _, size), future) in enumerate(zip(jobs, futures, strict=True)):
        assert future.result(10) == [(key, f"{n}-{i}") for i in range(size)]
    assert batcher.close(10)
    cost = {f"{n}-{i}": tokens for n, (_, tokens, size) in enumerate(jobs) for i in range(size)}
    owner = {f"{n}-{i}": n for n, (_, _, size) in enumerate(jobs) for i in range(size)}
    for key, items in gate.batches:
        assert all(jobs[owner[item]][0] == key for item in items)  # one operation per batch
        members = {owner[item] for item in items}
        assert len(members) == 1 or sum(cost[f"{m}-0"] for m in members) <= 50  # within budget, or alone
    assert batcher.accepted == batcher.answered == len(jobs)


def test_one_bad_input_fails_only_its_request():
    gate = _Gate(hold=True)
    batcher = Batcher(gate, max_batch_tokens=100, max_wait_ms=0, max_queue=10)
    first = batcher.submit("k", ["x"], 1)  # the worker holds this one
    assert gate.started.wait(10)
    good, bad = batcher.submit("k", ["a"], 1), batcher.submit("k", ["bad"], 1)  # batched together
    gate.release.set()
    assert first.result(10) == [("k", "x")] and good.result(10) == [("k", "a")]
    with pytest.raises(ValueError, match="bad input"):
        bad.result(10)
    assert ("k", ["a", "bad"]) in gate.batches
    batcher.close(10)


def test_queue_full_and_closed_refuse_and_close_drains():
    gate = _Gate(hold=True)
    batcher = Batcher(gate, max_batch_tokens=10, max_wait_ms=0, max_queue=2)
    held = batcher.submit("k", ["x"], 1)
    assert gate.started.wait(10)
    queued = [batcher.submit("k", ["y"], 1), batcher.submit("k", ["z"], 1)]
    with pytest.raises(QueueFull, match="max_queue=2"):
        batcher.submit("k", ["w"], 1)
    batcher.stop_accepting()
    with pytest.raises(Closed):
        batcher.submit("k", ["v"], 1)
    gate.release.set()
    assert batcher.close(10)  # every accepted job was run before the worker stopped
    assert held.result(0) == [("k", "x")] and [f.result(0) for f in queued] == [[("k", "y")], [("k", "z")]]


def test_retry_after_is_the_time_to_run_the_waiting_jobs():
    gate = _Gate(hold=True)
    batcher = Batcher(gate, max_batch_tokens=1, max_wait_ms=0, max_queue=4)
    assert batcher.retry_after() == 1  # nothing run yet: the least a header says
    batcher.submit("k", ["x"], 1)
    assert gate.started.wait(10)
    for item in "abcd":
        batcher.submit("k", [item], 1)
    batcher._job_seconds = 1.6  # what the worker measured per job (a moving average of its batches)
    assert batcher.retry_after() == 7  # 4 waiting jobs of 1.6 s: 6.4 s
    batcher._job_seconds = 100.0
    assert batcher.retry_after() == 60  # at most a minute
    gate.release.set()
    assert batcher.close(10)
    assert 0 < batcher._job_seconds < 100.0  # measured again by the batches that ran


def test_a_lone_request_does_not_wait_and_an_arriving_one_is_waited_for():
    gate = _Gate()
    batcher = Batcher(gate, max_batch_tokens=100, max_wait_ms=60_000, max_queue=10)
    assert batcher.submit("k", ["alone"], 1).result(10) == [("k", "alone")]  # nothing on its way: no minute's wait
    with batcher.arriving():  # a request being read: the batch waits for it
        first = batcher.submit("k", ["a"], 1)
        second = batcher.submit("k", ["b"], 1)
    assert first.result(10) == [("k", "a")] and second.result(10) == [("k", "b")]
    assert gate.batches == [("k", ["alone"]), ("k", ["a", "b"])]
    assert batcher.close(10)


def test_a_cancelled_request_is_dropped_and_the_worker_keeps_answering():
    gate = _Gate(hold=True)
    batcher = Batcher(gate, max_batch_tokens=100, max_wait_ms=0, max_queue=10)
    held = batcher.submit("k", ["x"], 1)
    assert gate.started.wait(10)
    gone, kept = batcher.submit("k", ["gone"], 1), batcher.submit("k", ["kept"], 1)
    assert gone.cancel()  # its client went away while it was queued
    gate.release.set()
    assert held.result(10) == [("k", "x")] and kept.result(10) == [("k", "kept")]
    assert batcher.submit("k", ["after"], 1).result(10) == [("k", "after")]  # the worker is still alive
    assert all("gone" not in items for _, items in gate.batches)  # never run
    assert batcher.close(10)
    assert (batcher.accepted, batcher.answered, batcher.cancelled) == (4, 3, 1)


def test_a_failure_outside_the_model_call_fails_its_batch_not_the_worker():
    class Broken(Metrics):
        def observe(self, name, value, **labels):
            if name == "batch_size" and not hasattr(self, "broke"):
                self.broke = True
                raise RuntimeError("a bug in the metrics")
            super().observe(name, value, **labels)

    batcher = Batcher(_Gate(), max_batch_tokens=100, max_wait_ms=0, max_queue=10, metrics=Broken())
    with pytest.raises(RuntimeError, match="a bug in the metrics"):
        batcher.submit("k", ["a"], 1).result(10)
    assert batcher.submit("k", ["b"], 1).result(10) == [("k", "b")]
    assert batcher.close(10)


def test_batcher_checks_its_settings():
    with pytest.raises(ValueError, match="max_batch_tokens"):
        Batcher(_Gate(), max_batch_tokens=0, max_wait_ms=0, max_queue=1)


# -- the queue and shutting down, through the app -------------------------------------------------------------
def _hold(app) -> _Gate:
    """Hold the app's model worker at its next batch (the real run goes on once released)."""
    batcher = app.state.server.engine.batcher
    real = batcher._run
    gate = _Gate(hold=True)

    def held(key, items):
        gate.started.set()
        assert gate.release.wait(10)
        return real(key, items)

    batcher._run = held
    return gate


@contextlib.asynccontextmanager
async def _first_held(app):
    """An HTTP client of ``app`` (in process) and its first /embed request, held in the model worker: yields
    the client, the gate that releases the worker, and the first request's task."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        gate = _hold(app)
        first = asyncio.ensure_future(client.post("/embed", json={"inputs": "a"}))
        assert await asyncio.to_thread(gate.started.wait, 10)
        yield client, gate, first


def test_full_queue_answers_429_with_retry_after(clf_dir):
    app = create_app(ServeConfig(model=str(clf_dir), threads=1, max_queue=1))

    async def scenario():
        async with _first_held(app) as (client, gate, first):
            app.state.server.engine.batcher.submit(("embed",), ["b"], 3)  # the one place in the queue
            refused = await client.post("/embed", json={"inputs": "c"})
            gate.release.set()
            return refused, await first

    refused, first = asyncio.run(scenario())
    assert _error(refused, 429, "max_queue")["error_type"] == "Overloaded"
    assert refused.headers["retry-after"] == "1"  # one waiting job, no batch measured yet
    assert first.status_code == 200
    app.state.server.engine.batcher.close(10)


def test_a_cancelled_request_leaves_the_server_answering(clf_dir):
    app = create_app(ServeConfig(model=str(clf_dir), threads=1))
    batcher = app.state.server.engine.batcher

    async def scenario():
        async with _first_held(app) as (client, gate, first):
            gone = asyncio.ensure_future(client.post("/embed", json={"inputs": "b"}))
            for _ in range(10_000):  # bounded: until the request is queued
                if batcher.depth:
                    break
                await asyncio.sleep(0)
            assert batcher.depth == 1
            gone.cancel()  # as Ray Serve does when a client disconnects, or a timeout
            with pytest.raises(asyncio.CancelledError):
                await gone
            gate.release.set()
            return await first, await asyncio.wait_for(client.post("/embed", json={"inputs": "c"}), 30)

    first, after = asyncio.run(scenario())
    assert first.status_code == 200 and after.status_code == 200, after.text
    assert batcher.close(10) and batcher.cancelled == 1


def test_a_model_failure_answers_424(clf_dir):
    app = create_app(ServeConfig(model=str(clf_dir), threads=1))

    def fail(key, items):
        raise RuntimeError("out of memory")

    app.state.server.engine.batcher._run = fail
    with TestClient(app) as client:
        body = _error(client.post("/embed", json={"inputs": "a"}), 424)
    assert body["error_type"] == "Backend" and "out of memory" in body["error"]


def test_draining_answers_503_and_finishes_accepted(clf_dir):
    app = create_app(ServeConfig(model=str(clf_dir), threads=1))

    async def scenario():
        async with _first_held(app) as (client, gate, accepted):
            app.state.server.begin_shutdown()
            late = await client.post("/embed", json={"inputs": "b"})
            health = await client.get("/health")
            gate.release.set()
            return await accepted, late, health

    accepted, late, health = asyncio.run(scenario())
    assert accepted.status_code == 200 and len(accepted.json()) == 1
    assert _error(late, 503)["error_type"] == "Unhealthy"
    assert health.status_code == 503
    assert app.state.server.engine.batcher.close(10)


def test_concurrent_requests_are_batched_and_equal_offline(clf_dir):
    app = create_app(ServeConfig(model=str(clf_dir), threads=1, max_wait_ms=50))
    texts = [f"{TEXTS[i % len(TEXTS)]} {i}" for i in range(24)]
    expected = offline_embeddings(clf_dir, texts)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            replies = await asyncio.gather(
                *(client.post("/embed", json={"inputs": t, "normalize": False}) for t in texts)
            )
            return [r.json()[0] for r in replies], (await client.get("/metrics")).text

    got, metrics = asyncio.run(scenario())
    np.testing.assert_allclose(np.array(got), expected, rtol=1e-4, atol=1e-5)
    count = float(re.search(r"^albert_serve_batch_size_count (\S+)$", metrics, re.M).group(1))
    assert count < len(texts)  # fewer batches than requests: some were run together
    app.state.server.engine.batcher.close(10)


# -- threads, configuration, the command ---------------------------------------------------------------------
def test_choose_threads(monkeypatch, tmp_path):
    monkeypatch.setattr("albert_model._devices.CGROUP", str(tmp_path))  # no quota
    assert choose_threads(3) == (3, "--threads")
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert choose_threads(None) == (8, "cores // workers = 8 // 1, at least 1")
    assert choose_threads(None, workers=3)[0] == 2
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert choose_threads(None)[0] == 2  # a 2-core machine: the worker's threads, the event loop between them
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    assert choose_threads(None, workers=4)[0] == 1


def test_choose_threads_counts_a_containers_cpu_quota(monkeypatch, tmp_path):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)), raising=False)  # the host's cores
    v2 = tmp_path / "v2"
    v2.mkdir()
    monkeypatch.setattr("albert_model._devices.CGROUP", str(v2))
    (v2 / "cpu.max").write_text("200000 100000\n")  # docker --cpus 2, a pod's limits.cpu: 2
    threads, reason = choose_threads(None)
    assert threads == 1 and "cgroup" in reason  # under a quota a core's worth stays with the event loop
    (v2 / "cpu.max").write_text("250000 100000\n")  # 2.5 CPUs: 3 cores in use at once
    assert choose_threads(None)[0] == 2
    (v2 / "cpu.max").write_text("max 100000\n")  # no limit
    assert choose_threads(None)[0] == 64
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("400000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    monkeypatch.setattr("albert_model._devices.CGROUP", str(v1))
    assert choose_threads(None)[0] == 3
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert choose_threads(None)[0] == 64


def test_engine_sets_the_threads_it_reports(clf_dir):
    engine = Engine(ServeConfig(model=str(clf_dir), threads=2))
    try:
        assert engine.info()["threads"] == 2 and torch.get_num_threads() == 1  # the loop's thread runs no model
        got = []
        engine.batcher._run = lambda key, items: (got.append(torch.get_num_threads()), items)[1]
        engine.batcher.submit(("probe",), ["x"], 1).result(10)
        assert got == [2]  # the worker thread's own setting
    finally:
        engine.batcher.close(10)
        torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"int8": True}, "onnxruntime"),
        ({"task": "pretraining"}, "task"),
        ({"pooling": "sum"}, "pooling"),
        ({"max_batch_tokens": 0}, "max_batch_tokens"),
        ({"threads": 0}, "threads"),
        ({"backend": "tf"}, "backend"),
        ({"attn": "flash"}, "attn"),
    ],
)
def test_serve_config_refuses_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        ServeConfig(**options)


def test_limits_refuse_bad_values():
    with pytest.raises(ValueError, match="max_texts"):
        Limits(max_texts=0)


def test_serve_arguments():
    parser = argparse.ArgumentParser()
    serve = add_serve_parser(parser.add_subparsers(dest="command"))
    pooling = next(action for action in serve._actions if action.dest == "pooling")
    assert set(pooling.choices) == set(POOLINGS)  # written out in the command so that parsing imports no torch
    ns = parser.parse_args(
        ["serve", "--model", "m", "--max-batch-tokens", "100", "--max-wait-ms", "0", "--threads", "2"]
    )
    config = config_from_args(ns)
    assert (config.model, config.max_batch_tokens, config.max_wait_ms, config.threads) == ("m", 100, 0.0, 2)
    assert ns.host == "127.0.0.1"
    for bad in (["--max-queue", "0"], ["--max-wait-ms", "-1"], ["--threads", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", *bad])


def test_parsing_the_command_imports_neither_torch_nor_fastapi():
    code = (
        "import argparse, sys\n"
        "from albert_model.serving import add_serve_parser\n"
        "p = argparse.ArgumentParser(); add_serve_parser(p.add_subparsers())\n"
        "p.parse_args(['serve', '--port', '1'])\n"
        "assert 'torch' not in sys.modules and 'fastapi' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def test_bad_arguments_exit_2(capsys, tmp_path):
    assert main(["--int8"]) == 2
    assert "onnxruntime" in capsys.readouterr().err
    assert main(["--model", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_metrics_render():
    metrics = Metrics()
    metrics.describe_counter("c", "A counter.")
    metrics.describe_histogram("h", "A histogram.", (1.0, 2.0))
    metrics.gauge("g", "A gauge.", lambda: 3)
    metrics.inc("c", route="embed", status="200")
    for value in (0.5, 1.5, 7):
        metrics.observe("h", value, route="embed")
    text = metrics.render()
    assert 'albert_serve_c{route="embed",status="200"} 1' in text
    assert 'albert_serve_h_bucket{route="embed",le="1"} 1' in text
    assert 'albert_serve_h_bucket{route="embed",le="+Inf"} 3' in text
    assert 'albert_serve_h_count{route="embed"} 3' in text and "albert_serve_g 3" in text
    _check_exposition(text)
    assert json.dumps(metrics.counter_value("c", route="embed", status="200")) == "1.0"


@pytest.mark.parametrize(
    ("cls", "task"),
    [
        (A.AlbertForPreTraining, "fill-mask"),  # no pipeline of its own: its masked-LM head fills masks
        (A.AlbertForMaskedLM, "fill-mask"),
        (A.AlbertForTokenClassification, "token-classification"),
    ],
)
def test_the_served_task_is_the_one_the_checkpoint_was_saved_for(tmp_path, cls, task):
    from albert_model.serving._engine import served_task

    directory = save_tiny(tmp_path, cls)
    assert served_task(ServeConfig(model=str(directory)), str(directory)) == task
