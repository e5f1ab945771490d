"""The server as a Ray Serve deployment on a local Ray instance (2 CPUs, loopback): the same routes answer
the same as the offline pipelines through Ray's HTTP proxy; the deployment's options are checked up front."""

from __future__ import annotations

import socket

import numpy as np
import pytest

import albert_model as A
from albert_model.integrations import DEFAULT_AUTOSCALING, albert_deployment, serve_app
from albert_model.serving import ServeConfig

from .test_serve import offline_embeddings, save_tiny


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_deployment_options_are_checked():
    with pytest.raises(ValueError, match="not both"):
        albert_deployment(num_replicas=2, autoscaling_config=DEFAULT_AUTOSCALING)
    with pytest.raises(ValueError, match="num_replicas"):
        albert_deployment(num_replicas=0)
    with pytest.raises(ValueError, match="unknown arguments"):
        serve_app({"modle": "x"})


def test_serve_run_builder_reads_its_arguments():
    from ray.serve import Application

    app = serve_app({"model": "m", "num_replicas": "3", "threads": "2", "cpus_per_replica": "4"})
    assert isinstance(app, Application)
    deployment = app._bound_deployment
    assert deployment.num_replicas == 3 and deployment.ray_actor_options["num_cpus"] == 4
    scaled = serve_app({"max_replicas": "6"})._bound_deployment
    assert scaled._deployment_config.autoscaling_config.max_replicas == 6


def test_serve_run_builder_takes_the_servers_options(monkeypatch):
    seen = []
    monkeypatch.setattr("albert_model.integrations._ray_serve.albert_deployment", lambda c, **kw: seen.append(c))
    serve_app({"max_texts": "8", "max_chars": "100", "max_body_bytes": "4096", "attn": "sdpa", "batch_size": "4"})
    (config,) = seen
    assert (config.limits.max_texts, config.limits.max_chars, config.limits.max_body_bytes) == (8, 100, 4096)
    assert config.attn == "sdpa" and config.batch_size == 4
    with pytest.raises(ValueError, match="max_chars must be a whole number, got 'many'"):
        serve_app({"max_chars": "many"})
    with pytest.raises(ValueError, match=r"Limits\.max_texts must be an int >= 1"):
        serve_app({"max_texts": "0"})
    with pytest.raises(ValueError, match="attn"):
        serve_app({"attn": "flash"})


def test_ray_serve_answers_like_the_offline_pipeline(tmp_path):
    import httpx
    import ray
    from ray import serve

    model = save_tiny(tmp_path / "clf", A.AlbertForSequenceClassification, ["neg", "pos"])
    port = _free_port()
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        serve.start(http_options={"host": "127.0.0.1", "port": port})
    except Exception as exc:  # the sandbox may forbid what a Ray cluster needs (shared memory, sockets)
        ray.shutdown()
        pytest.skip(f"a local Ray cluster could not start here: {type(exc).__name__}: {exc}")
    try:
        app = albert_deployment(ServeConfig(model=str(model)), num_replicas=1, cpus_per_replica=1)
        serve.run(app, name="albert", route_prefix="/", blocking=False)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            info = client.get("/info").json()
            assert info["task"] == "text-classification" and info["threads"] == 1
            texts = ["a short one", "and a somewhat longer sentence"]
            got = client.post("/embed", json={"inputs": texts, "normalize": False}).json()
            np.testing.assert_allclose(np.array(got), offline_embeddings(model, texts), rtol=1e-4, atol=1e-5)
            scores = client.post("/predict", json={"inputs": texts[0]}).json()
            assert {p["label"] for p in scores} == {"neg", "pos"}
            bad = client.post("/embed", content=b'{"inputs": [')
            assert bad.status_code == 400 and bad.json()["error_type"] == "Validation"
    finally:
        serve.shutdown()
        ray.shutdown()
