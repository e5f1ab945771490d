"""The server as a client sees it: a real ``python -m albert_model.serving`` process on 127.0.0.1 (a free
port) and a real HTTP client: every route, bad bytes on the wire, 64 concurrent clients whose answers equal
the offline pipeline's, and SIGTERM under load (each request gets its answer or a clean 503, and the server
answers every request it accepted). Loops are bounded in count and time; only loopback is used."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

import albert_model as A
from albert_model.pipelines import pipeline

from .conftest import ROOT
from .test_serve import offline_embeddings, save_tiny

START_TIMEOUT = 120  # seconds to load the model and listen, on a busy 2-core machine
TEXTS = [f"sentence number {i} of the load test, with {'more ' * (i % 7)}words" for i in range(64)]


class ServerProcess:
    """``python -m albert_model.serving ARGS --port 0`` with its output read on a thread."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "albert_model.serving", "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for("listening on ", START_TIMEOUT).split("listening on ")[1].split(" ")[0]
        with httpx.Client(base_url=self.url, timeout=10) as client:
            assert client.get("/health").status_code == 200

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def _wait_for(self, marker: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if marker in line:
                return line
        raise AssertionError(f"no {marker!r} from the server within {timeout}s; output:\n{''.join(self.output)}")

    def terminate(self, timeout: float = 60) -> tuple[int, str]:
        """SIGTERM, then the exit code and the shutdown line."""
        self.proc.send_signal(signal.SIGTERM)
        line = self._wait_for("stopped", timeout)
        return self.proc.wait(timeout), line

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("clf"), A.AlbertForSequenceClassification, ["neg", "neu", "pos"])


@pytest.fixture(scope="module")
def server(clf_dir):
    process = ServerProcess("--model", str(clf_dir), "--max-texts", "1000", "--max-chars", "100000")
    yield process
    process.kill()


def test_every_route_over_http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        info = client.get("/info").json()
        assert info["task"] == "text-classification" and info["threads"] >= 1
        assert len(client.post("/embed", json={"inputs": ["a", "b"]}).json()) == 2
        assert {p["label"] for p in client.post("/predict", json={"inputs": "good"}).json()} == {"neg", "neu", "pos"}
        assert client.post("/tokenize", json={"inputs": "good"}).json()[0][1]["text"] == "good"
        for route in ("/fill-mask", "/tag", "/answer"):  # another task's routes: a JSON 404
            response = client.post(route, json={"inputs": "a"})
            assert response.status_code == 404 and response.json()["error_type"] == "Validation"
        assert "albert_serve_requests_total" in client.get("/metrics").text
        assert "/embed" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("body", "status", "limit"),
    [
        (b'{"inputs": "caf\xe9"}', 400, None),  # invalid UTF-8 on the wire
        (b'{"inputs": [', 400, None),  # malformed JSON
        (b'{"inputs": [1]}', 422, None),  # wrong type
        (b'{"inputs": []}', 400, None),  # empty list
        (json.dumps({"inputs": ["a"] * 10_000}).encode(), 413, "max_texts"),  # 10,000 texts
        (json.dumps({"inputs": "a" * 1_000_000}).encode(), 413, "max_chars"),  # a 1 MB text
    ],
)
def test_bad_bytes_over_http(server, body, status, limit):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.post("/embed", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert response.json().get("limit") == limit and response.json()["error"]


def test_64_concurrent_clients_get_the_offline_answers(server, clf_dir):
    expected_vectors = offline_embeddings(clf_dir, TEXTS)
    classify = pipeline("text-classification", model=clf_dir)
    expected_labels = [{p["label"]: p["score"] for p in row} for row in classify(TEXTS, top_k=None)]

    def client_run(i: int) -> tuple[list[float], dict[str, float]]:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            vector = client.post("/embed", json={"inputs": TEXTS[i], "normalize": False}).json()[0]
            scores = client.post("/predict", json={"inputs": TEXTS[i]}).json()
        return vector, {p["label"]: p["score"] for p in scores}

    with ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(client_run, range(64), timeout=120))
    for i, (vector, scores) in enumerate(answers):
        np.testing.assert_allclose(vector, expected_vectors[i], rtol=1e-4, atol=1e-5)
        assert scores.keys() == expected_labels[i].keys()
        np.testing.assert_allclose([scores[k] for k in scores], [expected_labels[i][k] for k in scores], atol=1e-5)


def test_sigterm_under_load_loses_no_accepted_request(server, clf_dir):
    """Last in this file: it stops the module's server."""
    process = server
    with httpx.Client(base_url=process.url, timeout=30) as client:  # requests of the tests before, all answered
        metrics = client.get("/metrics").text
    before = int(float(re.search(r"^albert_serve_batch_size_sum (\S+)$", metrics, re.M).group(1)))
    expected = offline_embeddings(clf_dir, TEXTS)
    answered = threading.Event()
    stop = threading.Event()
    outcomes: list[tuple[str, int]] = []  # ("ok" | "503" | "refused", client)
    lock = threading.Lock()

    def client_loop(i: int) -> None:
        with httpx.Client(base_url=process.url, timeout=60) as client:
            for _ in range(50):  # bounded: at most 50 requests per client
                if stop.is_set():
                    return
                try:
                    response = client.post("/embed", json={"inputs": TEXTS[i], "normalize": False})
                except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                    kind = "refused"  # the server had stopped reading: never accepted
                else:
                    if response.status_code == 200:
                        np.testing.assert_allclose(response.json()[0], expected[i], rtol=1e-4, atol=1e-5)
                        kind = "ok"
                    else:
                        assert response.status_code == 503, response.text
                        assert response.json()["error_type"] == "Unhealthy"
                        kind = "503"
                with lock:
                    outcomes.append((kind, i))
                    if sum(k == "ok" for k, _ in outcomes) >= 64:
                        answered.set()
                if kind != "ok":
                    return

    try:
        with ThreadPoolExecutor(64) as pool:
            futures = [pool.submit(client_loop, i) for i in range(64)]
            assert answered.wait(120), "the server answered fewer than 64 requests in 120 s"
            code, line = process.terminate()
            for future in futures:
                future.result(timeout=120)  # re-raises a client's failed check
            stop.set()
    finally:
        stop.set()
    ok = sum(kind == "ok" for kind, _ in outcomes)
    accepted, done, cancelled = (int(word) for word in line.replace(",", "").split() if word.isdigit())
    assert accepted == done == before + ok and cancelled == 0, (line, before, ok)  # each answered, to its client
    assert code in (0, -signal.SIGTERM)
    assert {kind for kind, _ in outcomes} <= {"ok", "503", "refused"}
