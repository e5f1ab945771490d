"""``albert serve``: the arguments, and uvicorn running the app until SIGTERM or Ctrl-C.

Parsing imports neither torch nor FastAPI (``albert --help`` stays fast); running imports both. On SIGTERM
(or SIGINT) the server first answers 503 to every new request, then uvicorn stops listening, waits for the
requests it accepted, and the app's lifespan drains the batch queue: each accepted request gets its answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["add_serve_parser", "config_from_args", "main", "run_serve"]


_DESCRIPTION = (
    "Serve a checkpoint over HTTP: /embed, /predict, /tokenize, /fill-mask, /tag, /answer, /health, /info, "
    "/metrics (docs/serving.md). Requests are batched by a token budget; a full queue answers 429. SIGTERM: new "
    "requests get 503, accepted ones their answers, then the server exits."
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected milliseconds >= 0, got {value}")
    return value


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to an ``argparse`` sub-command set.

    Args:
        subparsers: What ``parser.add_subparsers()`` returned.

    Returns:
        The ``serve`` parser; its ``run`` default is :func:`run_serve`.
    """
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="serve predictions over HTTP (text-embeddings-inference's routes, micro-batched)",
        description=_DESCRIPTION,
    )
    _add_arguments(p)
    p.set_defaults(run=run_serve)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="checkpoint directory or Hugging Face repo id (default: the shipped model)")
    p.add_argument(
        "--task",
        help="fill-mask, text-classification, token-classification, question-answering or feature-extraction "
        "(default: the task the checkpoint was saved for); /embed and /tokenize are always served",
    )
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch")
    p.add_argument("--int8", action="store_true", help="int8 encoder weights (with --backend onnxruntime)")
    # the sentence-embedding pipeline's POOLINGS, written out: parsing imports no torch (ServeConfig checks it)
    p.add_argument("--pooling", choices=("mean", "cls", "max"), default="mean", help="how /embed pools (mean)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument(
        "--max-batch-tokens", type=_positive, default=8192, metavar="N", help="token budget of a batch (8192)"
    )
    p.add_argument(
        "--max-wait-ms", type=_milliseconds, default=2.0, metavar="MS", help="how long a batch waits for more (2)"
    )
    p.add_argument("--max-queue", type=_positive, default=512, metavar="N", help="waiting requests before 429 (512)")
    p.add_argument(
        "--threads",
        type=_positive,
        metavar="N",
        help="intra-op threads of the model (default: the cores; under a cgroup CPU quota, one fewer)",
    )
    p.add_argument(
        "--batch-size", type=_positive, metavar="N", help="texts per forward pass (64 on torch, 16 on onnxruntime)"
    )
    p.add_argument(
        "--attn",
        choices=("varlen", "sdpa"),
        default="varlen",
        help="torch attention: varlen skips padding in every projection (default), sdpa runs padded batches",
    )
    p.add_argument("--device", help="cpu, cuda, cuda:N, mps (default: cpu)")
    p.add_argument("--max-texts", type=_positive, default=256, metavar="N", help="texts per request (256)")
    p.add_argument("--max-chars", type=_positive, default=20_000, metavar="N", help="characters per text (20000)")
    p.add_argument(
        "--max-body-bytes", type=_positive, default=4 * 1024 * 1024, metavar="N", help="bytes per request body (4 MiB)"
    )
    p.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to finish accepted requests after SIGTERM (30)",
    )
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"))


def config_from_args(ns: argparse.Namespace) -> Any:
    """The :class:`~albert_model.serving._engine.ServeConfig` of parsed arguments.

    Args:
        ns: The parsed ``serve`` arguments.

    Returns:
        The server configuration.

    Raises:
        ValueError: An option out of range or that the backend does not take.
    """
    from albert_model.serving._engine import ServeConfig
    from albert_model.serving._limits import Limits

    return ServeConfig(
        model=ns.model,
        task=ns.task,
        backend=ns.backend,
        int8=ns.int8,
        pooling=ns.pooling,
        max_batch_tokens=ns.max_batch_tokens,
        max_wait_ms=ns.max_wait_ms,
        max_queue=ns.max_queue,
        threads=ns.threads,
        batch_size=ns.batch_size,
        attn=ns.attn,
        device=ns.device,
        limits=Limits(ns.max_texts, ns.max_chars, ns.max_body_bytes),
    )


def run_serve(ns: argparse.Namespace) -> None:
    """Load the model, then serve until SIGTERM or Ctrl-C; print one line when listening and one when done.

    Args:
        ns: The parsed ``serve`` arguments.

    Raises:
        ValueError: An option out of range, or a model that cannot be served (see :func:`pipeline`).
        UsageError: FastAPI or uvicorn is missing (``pip install "albert[serve]"``), or ONNX Runtime with
            ``--backend onnxruntime``.
    """
    from albert_tok.cli import UsageError

    try:
        import uvicorn

        from albert_model.serving._app import create_app
    except ImportError as exc:
        raise UsageError(f"albert serve needs FastAPI and uvicorn: pip install 'albert[serve]' ({exc})") from None
    config = config_from_args(ns)
    try:
        app = create_app(config)
    except ImportError as exc:  # --backend onnxruntime without the onnx extra
        raise UsageError(str(exc)) from None
    server_state = app.state.server

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            server_state.begin_shutdown()  # new requests: 503 from now on
            super().handle_exit(sig, frame)

        async def shutdown(self, sockets: Any = None) -> None:
            await super().shutdown(sockets)  # ends with the app's lifespan, which drains the queue
            batcher = server_state.engine.batcher
            print(
                f"albert serve: stopped; accepted {batcher.accepted} requests, answered {batcher.answered}, "
                f"cancelled by their clients {batcher.cancelled}",
                flush=True,
            )

    uv_config = uvicorn.Config(
        app,
        host=ns.host,
        port=ns.port,
        log_level=ns.log_level,
        timeout_graceful_shutdown=ns.graceful_timeout,
        access_log=False,
    )
    server = _Server(uv_config)

    async def announce() -> None:  # the port, once listening (a test or a script reads it when --port 0)
        import asyncio

        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        sockets = [s for srv in server.servers for s in srv.sockets]
        host, port = sockets[0].getsockname()[:2]
        info = app.state.server.engine.info()
        print(
            f"albert serve: listening on http://{host}:{port} ({info['task']}, {info['backend']}, "
            f"{info['threads']} threads)",
            flush=True,
        )

    import asyncio

    async def serve() -> None:
        waiter = asyncio.ensure_future(announce())
        await server.serve()
        await waiter

    asyncio.run(serve())  # after SIGTERM uvicorn raises the signal again once shut down: exit code 143


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m albert_model.serving``: the ``serve`` command on its own.

    Args:
        argv: The arguments without the program name (None: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 after a clean shutdown, 2 for bad input.
    """
    from albert_tok.cli import ArgumentParser, run

    parser = ArgumentParser(prog="albert serve", description=_DESCRIPTION)
    _add_arguments(parser)
    parser.set_defaults(run=run_serve, command="serve")
    ns = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    return run(ns, "albert", errors=(TypeError,))
