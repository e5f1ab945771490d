"""Ray Serve: the ``albert serve`` app as a deployment, with replicas and autoscaling.

Each replica builds the same FastAPI app as ``albert serve`` (:func:`albert_model.serving.create_app`, via
``serve.ingress`` with a builder, so the model is loaded on the replica, not pickled from the driver) and
batches the requests Ray routes to it by its token budget; Ray spreads requests over replicas and adds or
removes replicas by their ongoing requests. On a cluster::

    serve run albert_model.integrations:serve_app model=/models/albert task=fill-mask num_replicas=4

or from Python::

    from ray import serve
    from albert_model.integrations import albert_deployment
    from albert_model.serving import ServeConfig

    serve.run(albert_deployment(ServeConfig(model="/models/albert"), autoscaling_config={"min_replicas": 1,
              "max_replicas": 8, "target_ongoing_requests": 32}))
"""

from __future__ import annotations

from typing import Any

from albert_model.serving import Limits, ServeConfig, create_app

__all__ = ["DEFAULT_AUTOSCALING", "albert_deployment", "serve_app"]

DEFAULT_AUTOSCALING: dict[str, Any] = {
    "min_replicas": 1,
    "max_replicas": 4,
    "target_ongoing_requests": 32,
    "upscale_delay_s": 10,
    "downscale_delay_s": 120,
}
"""The autoscaling :func:`serve_app` uses without ``num_replicas``: a replica batches well with a few dozen
requests in flight, so Ray adds one when each holds more than 32 and removes one after two quiet minutes."""


def albert_deployment(
    config: ServeConfig | None = None,
    *,
    num_replicas: int | None = None,
    autoscaling_config: dict[str, Any] | None = None,
    cpus_per_replica: float = 2,
    gpus_per_replica: float = 0,
    max_ongoing_requests: int = 256,
    name: str = "albert",
) -> Any:
    """The server as a bound Ray Serve deployment, ready for ``serve.run``.

    Args:
        config: What each replica serves (None: the shipped model); its ``threads`` left as None become
            ``cpus_per_replica`` (rounded down, at least 1), so replicas on one node do not oversubscribe it.
        num_replicas: A fixed number of replicas; None autoscales with ``autoscaling_config``.
        autoscaling_config: Ray Serve's autoscaling settings (None: :data:`DEFAULT_AUTOSCALING`); not with
            ``num_replicas``.
        cpus_per_replica: CPUs Ray reserves for each replica.
        gpus_per_replica: GPUs Ray reserves for each replica (set ``config.device="cuda"`` too).
        max_ongoing_requests: Requests Ray sends one replica at once; the replica's own queue
            (``config.max_queue``) answers 429 beyond that.
        name: The deployment's name.

    Returns:
        A ``ray.serve.Application``.

    Raises:
        ValueError: Both ``num_replicas`` and ``autoscaling_config``, or a count below 1.
        ImportError: Ray Serve is not installed (``pip install "albert[ray]"``).
    """
    if num_replicas is not None and autoscaling_config is not None:
        raise ValueError("give num_replicas or autoscaling_config, not both")
    if num_replicas is not None and num_replicas < 1:
        raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
    if max_ongoing_requests < 1:
        raise ValueError(f"max_ongoing_requests must be >= 1, got {max_ongoing_requests}")
    try:
        from ray import serve
    except ImportError as exc:
        raise ImportError(f"Ray Serve is not installed: pip install 'albert[ray]' ({exc})") from None
    config = config or ServeConfig()
    if config.threads is None:
        from dataclasses import replace

        config = replace(config, threads=max(1, int(cpus_per_replica)))

    def build() -> Any:  # a plain function: Ray Serve calls it on each replica (a partial would be taken for an app)
        return create_app(config)

    @serve.ingress(build)
    class AlbertServe:
        """One replica: the app's routes, served by Ray's HTTP proxy."""

    scaling: dict[str, Any] = (
        {"num_replicas": num_replicas}
        if num_replicas is not None
        else {"autoscaling_config": autoscaling_config or DEFAULT_AUTOSCALING}
    )
    actor: dict[str, Any] = {"num_cpus": cpus_per_replica}
    if gpus_per_replica:
        actor["num_gpus"] = gpus_per_replica
    deployment: Any = serve.deployment(
        AlbertServe, name=name, ray_actor_options=actor, max_ongoing_requests=max_ongoing_requests, **scaling
    )
    return deployment.bind()


def serve_app(args: dict[str, str]) -> Any:
    """The builder ``serve run albert_model.integrations:serve_app key=value ...`` calls.

    Args:
        args: ``model``, ``task``, ``backend``, ``int8``, ``pooling``, ``max_batch_tokens``, ``max_wait_ms``,
            ``max_queue``, ``threads``, ``batch_size``, ``attn``, ``max_texts``, ``max_chars``,
            ``max_body_bytes`` (the request limits), ``num_replicas``, ``min_replicas``, ``max_replicas``,
            ``cpus_per_replica``, ``gpus_per_replica``, ``device``, as strings: the options of
            ``albert serve`` of the same names.

    Returns:
        A ``ray.serve.Application``.

    Raises:
        ValueError: An unknown key or a value of the wrong form.
    """
    known = {
        "model",
        "task",
        "backend",
        "int8",
        "pooling",
        "max_batch_tokens",
        "max_wait_ms",
        "max_queue",
        "threads",
        "batch_size",
        "attn",
        "max_texts",
        "max_chars",
        "max_body_bytes",
        "num_replicas",
        "min_replicas",
        "max_replicas",
        "cpus_per_replica",
        "gpus_per_replica",
        "device",
    }
    unknown = set(args) - known
    if unknown:
        raise ValueError(f"unknown arguments {', '.join(sorted(unknown))}; accepted: {', '.join(sorted(known))}")
    options: dict[str, Any] = {
        k: _int(args, k) for k in ("max_batch_tokens", "max_queue", "threads", "batch_size") if k in args
    }
    limits = {k: _int(args, k) for k in ("max_texts", "max_chars", "max_body_bytes") if k in args}
    if "attn" in args:
        options["attn"] = args["attn"]
    config = ServeConfig(
        model=args.get("model"),
        task=args.get("task"),
        backend=args.get("backend", "torch"),
        int8=args.get("int8", "false").lower() in ("1", "true", "yes"),
        pooling=args.get("pooling", "mean"),
        max_wait_ms=float(args.get("max_wait_ms", 2.0)),
        device=args.get("device"),
        limits=Limits(**limits),
        **options,
    )
    autoscaling = None
    if "num_replicas" not in args:
        bounds: dict[str, Any] = {k: int(args[k]) for k in ("min_replicas", "max_replicas") if k in args}
        autoscaling = {**DEFAULT_AUTOSCALING, **bounds}
    return albert_deployment(
        config,
        num_replicas=int(args["num_replicas"]) if "num_replicas" in args else None,
        autoscaling_config=autoscaling,
        cpus_per_replica=float(args.get("cpus_per_replica", 2)),
        gpus_per_replica=float(args.get("gpus_per_replica", 0)),
    )


def _int(args: dict[str, str], key: str) -> int:
    try:
        return int(args[key])
    except ValueError:
        raise ValueError(f"{key} must be a whole number, got {args[key]!r}") from None
