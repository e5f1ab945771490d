"""The ASGI app: text-embeddings-inference's routes, the task routes, health, info and metrics.

Routes (JSON in, JSON out; errors as ``{"error", "error_type"}``, plus ``"limit"`` when a limit refused):

- ``POST /embed`` ``{"inputs": str | [str], "normalize": true, "truncate": false}`` -> ``[[float]]``
- ``POST /predict`` ``{"inputs": str | [str, str] | [[str] | [str, str], ...], "raw_scores": false,
  "truncate": false}`` -> ``[{"label", "score"}]`` for one input, ``[[...]]`` for a batch (every label, best first)
- ``POST /tokenize`` ``{"inputs": str | [str], "add_special_tokens": true}`` ->
  ``[[{"id", "text", "special", "start", "stop"}]]``
- ``POST /fill-mask`` ``{"inputs": str | [str], "top_k": 5}``, ``POST /tag`` ``{"inputs": str | [str],
  "aggregation_strategy": "none"}``, ``POST /answer`` ``{"question": str, "context": str, "top_k": 1}`` or
  ``{"inputs": [{"question", "context"}, ...]}``: the pipelines' results as JSON
- ``GET /health`` (200, or 503 while shutting down), ``GET /info``, ``GET /metrics`` (Prometheus text)

The request body is read and checked (size, UTF-8, JSON, types, limits) before anything is queued; the model
work of every request goes through the engine's batcher and is awaited without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, MutableMapping
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from albert_model.serving._batcher import Closed, QueueFull
from albert_model.serving._engine import Engine, ServeConfig
from albert_model.serving._limits import (
    ApiError,
    check_count,
    check_str,
    option,
    parse_json,
    positive,
    read_body,
    text_list,
)
from albert_model.serving._metrics import LATENCY_BUCKETS, Metrics

__all__ = ["VERSION", "create_app"]

_PREPARE_INLINE_BYTES = 64 * 1024
"""Bodies up to this size are checked and counted on the event loop (cheaper than a thread hop); bigger ones
in the thread pool, so that counting megabytes of text does not hold other requests back."""

VERSION = "0.1.0"
AGGREGATIONS = ("none", "simple", "first", "average", "max")
ROUTES = ("embed", "predict", "tokenize", "fill-mask", "tag", "answer", "health", "info", "metrics")
_MAX_TOP_K = 100
_MAX_ANSWER_TOP_K = 20
_Prepared = tuple[Hashable, list[Any], int, Callable[[list[Any]], Any]]
"""What a route makes of a checked body: the batcher's operation, its items, their tokens, and the function
that turns the items' results into the answer."""


# -- the request bodies, for the OpenAPI schema (bodies are checked by hand: see _limits) ----------------------
class EmbedRequest(BaseModel):
    """Sentence embeddings, as text-embeddings-inference's /embed takes them."""

    inputs: str | list[str] = Field(examples=["What is Deep Learning?"])
    normalize: bool = Field(True, description="L2-normalise each vector")
    truncate: bool = Field(False, description="cut texts over max_input_length tokens instead of refusing them")


class PredictRequest(BaseModel):
    """Text classification, as text-embeddings-inference's /predict takes it."""

    inputs: str | list[str] | list[list[str]] = Field(
        description="a text, a pair [text, text_pair], or a batch of [text] and [text, text_pair]",
        examples=["I like you."],
    )
    raw_scores: bool = Field(False, description="the logits instead of probabilities")
    truncate: bool = False


class TokenizeRequest(BaseModel):
    """Tokens of texts, as text-embeddings-inference's /tokenize takes them."""

    inputs: str | list[str] = Field(examples=["What is Deep Learning?"])
    add_special_tokens: bool = True


class FillMaskRequest(BaseModel):
    """Fill each ``[MASK]`` of the texts."""

    inputs: str | list[str] = Field(examples=["The capital of France is [MASK]."])
    top_k: int = Field(5, ge=1, le=_MAX_TOP_K)


class TagRequest(BaseModel):
    """Token classification (named entities)."""

    inputs: str | list[str] = Field(examples=["Ann lives in Paris."])
    aggregation_strategy: str = Field("none", description="none, simple, first, average or max")


class AnswerRequest(BaseModel):
    """Extractive question answering: one question and context, or a list of them as ``inputs``."""

    question: str | None = Field(None, examples=["Where does Ann live?"])
    context: str | None = Field(None, examples=["Ann lives in Paris."])
    inputs: list[dict[str, str]] | None = None
    top_k: int = Field(1, ge=1, le=_MAX_ANSWER_TOP_K)


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str
    error_type: str = Field(description="Validation, Empty, Overloaded, Unhealthy or Backend")
    limit: str | None = Field(None, description="the limit that refused the request, when one did")


def _doc(model: type[BaseModel], summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "openapi_extra": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}
        },
        "responses": {code: {"model": ErrorBody} for code in (400, 404, 413, 422, 424, 429, 503)},
    }


def _json(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class _Recorder:
    """Pure ASGI middleware: counts every answer by route and status and times it (no per-request task)."""

    def __init__(self, app: Callable[..., Awaitable[None]], metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = scope["path"].strip("/")
        route = name if name in ROUTES else "other"
        started = time.perf_counter()
        status = [500]

        async def record(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            self.metrics.inc("requests_total", route=route, status=str(status[0]))
            self.metrics.observe("request_seconds", time.perf_counter() - started, route=route)


class Server:
    """The state behind the routes: the engine, whether the server is draining, the metrics."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.limits = engine.config.limits
        self.draining = False

    def begin_shutdown(self) -> None:
        """Answer 503 to new requests from now on; accepted ones still get their answers."""
        self.draining = True
        self.engine.batcher.stop_accepting()

    async def body(self, request: Request, route: str) -> dict[str, Any]:
        if self.draining:
            raise ApiError(503, "the server is shutting down", kind="Unhealthy")
        problem = self.engine.needs(route)
        if problem is not None:
            raise ApiError(404, problem)
        raw = await read_body(request.stream(), request.headers.get("content-length"), self.limits.max_body_bytes)
        request.state.body_bytes = len(raw)
        return parse_json(raw)

    async def run(self, request: Request, route: str, prepare: Callable[[dict[str, Any]], _Prepared]) -> Response:
        """Read and check the request (``prepare`` turns its body into the batcher's work and a function that
        shapes the results), queue it, await its batch. While it is read and checked, the request counts as
        arriving, so a batch being formed waits for it."""
        with self.engine.batcher.arriving():
            body = await self.body(request, route)
            if request.state.body_bytes > _PREPARE_INLINE_BYTES:
                # a big body's texts are counted off the event loop, which other requests share
                key, items, tokens, finish = await run_in_threadpool(prepare, body)
            else:
                key, items, tokens, finish = prepare(body)
            future = self.enqueue(key, items, tokens)
        return _json(finish(await self.result(future)))

    def enqueue(self, key: Hashable, items: list[Any], tokens: int) -> Future[list[Any]]:
        try:
            return self.engine.batcher.submit(key, items, tokens)
        except QueueFull as exc:
            raise ApiError(
                429,
                f"overloaded: {exc}; retry later",
                kind="Overloaded",
                limit="max_queue",
                headers={"Retry-After": str(self.engine.batcher.retry_after())},
            ) from None
        except Closed:
            raise ApiError(503, "the server is shutting down", kind="Unhealthy") from None

    async def result(self, future: Future[list[Any]]) -> list[Any]:
        try:
            return await asyncio.wrap_future(future)
        except (ValueError, TypeError) as exc:  # an input the pipeline refuses
            raise ApiError(422, str(exc)) from None
        except Exception as exc:  # the model failed (out of memory, a runtime error): TEI's 424
            raise ApiError(424, f"the model failed: {type(exc).__name__}: {exc}", kind="Backend") from None

    def tokens(self, texts: list[str], truncate: bool) -> int:
        """The batch cost of ``texts``; without ``truncate`` a text over the model's length is refused."""
        return self.check_lengths(self.engine.count_tokens(texts), truncate)

    def check_lengths(self, counts: list[int], truncate: bool) -> int:
        """The batch cost of inputs of ``counts`` tokens; without ``truncate`` one over the model's length is
        refused (413)."""
        limit = self.engine.max_length
        if not truncate:
            for i, n in enumerate(counts):
                if n > limit:
                    raise ApiError(
                        413,
                        f"inputs[{i}] has more than {limit} tokens, the model's max_input_length; "
                        f'send "truncate": true to cut it',
                        limit="max_input_length",
                    )
        return sum(min(n, limit) for n in counts)


def create_app(config: ServeConfig | None = None, engine: Engine | None = None) -> FastAPI:
    """The server's ASGI app, with its model loaded.

    Args:
        config: What to serve (None: the shipped model with the defaults of :class:`ServeConfig`).
        engine: An engine already loaded (tests and Ray Serve replicas share one); None loads ``config``.

    Returns:
        A FastAPI app; ``app.state.server.begin_shutdown()`` makes it refuse new requests (503) while the
        accepted ones finish, and its lifespan's end drains the queue.
    """
    engine = engine or Engine(config or ServeConfig())
    server = Server(engine)
    metrics = engine.metrics
    metrics.describe_counter("requests_total", "HTTP answers by route and status.")
    metrics.describe_histogram("request_seconds", "Time from a request's arrival to its answer.", LATENCY_BUCKETS)
    metrics.gauge("draining", "1 while the server shuts down.", lambda: float(server.draining))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        server.begin_shutdown()
        await run_in_threadpool(engine.batcher.close)

    app = FastAPI(
        title="albert serve",
        version=VERSION,
        description="ALBERT predictions over HTTP: text-embeddings-inference's routes plus fill-mask, tag, answer.",
        lifespan=lifespan,
    )
    app.state.server = server
    app.add_middleware(_Recorder, metrics=metrics)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _json(exc.body(), exc.status, exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _json({"error": str(exc.detail), "error_type": "Validation"}, exc.status_code, exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:  # a bug: still JSON, still said
        return _json({"error": f"internal error: {type(exc).__name__}: {exc}", "error_type": "Backend"}, 500)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _json({"error": str(exc.errors()), "error_type": "Validation"}, 422)

    @app.post("/embed", **_doc(EmbedRequest, "Sentence embeddings (text-embeddings-inference's /embed)"))
    async def embed(request: Request) -> Response:
        def prepare(body: dict[str, Any]) -> _Prepared:
            texts, _ = text_list(body, server.limits)
            normalize = option(body, "normalize", bool, True)
            tokens = server.tokens(texts, _truncate(body))
            return ("embed",), texts, tokens, lambda vectors: [_vector(v, normalize) for v in vectors]

        return await server.run(request, "embed", prepare)

    @app.post("/predict", **_doc(PredictRequest, "Text classification (text-embeddings-inference's /predict)"))
    async def predict(request: Request) -> Response:
        def prepare(body: dict[str, Any]) -> _Prepared:
            items, batched = _predict_inputs(body, server)
            raw = option(body, "raw_scores", bool, False)
            texts = [t for item in items for t in ((item,) if isinstance(item, str) else item.values())]
            counts = iter(engine.count_tokens(texts))
            # a pair is one input: [CLS] a [SEP] b [SEP], one special token fewer than its texts counted apart
            lengths = [next(counts) if isinstance(item, str) else next(counts) + next(counts) - 1 for item in items]
            tokens = server.check_lengths(lengths, _truncate(body))
            return ("predict", raw), items, tokens, _shape(batched)

        return await server.run(request, "predict", prepare)

    @app.post("/tokenize", **_doc(TokenizeRequest, "Tokens of texts (text-embeddings-inference's /tokenize)"))
    async def tokenize(request: Request) -> Response:
        body = await server.body(request, "tokenize")
        texts, _ = text_list(body, server.limits)
        special = option(body, "add_special_tokens", bool, True)
        return _json(await run_in_threadpool(_tokens, engine, texts, special))

    @app.post("/fill-mask", **_doc(FillMaskRequest, "Fill the [MASK] tokens"))
    async def fill_mask(request: Request) -> Response:
        def prepare(body: dict[str, Any]) -> _Prepared:
            texts, batched = text_list(body, server.limits)
            mask = engine.tokenizer.mask_token
            for i, text in enumerate(texts):
                if mask not in text:
                    raise ApiError(
                        422, f"inputs[{i}] has no {mask} token" if batched else f"inputs has no {mask} token"
                    )
            top_k = positive(body, "top_k", 5, _MAX_TOP_K)
            return ("fill-mask", top_k), texts, server.tokens(texts, True), _shape(batched)

        return await server.run(request, "fill-mask", prepare)

    @app.post("/tag", **_doc(TagRequest, "Token classification (named entities)"))
    async def tag(request: Request) -> Response:
        def prepare(body: dict[str, Any]) -> _Prepared:
            texts, batched = text_list(body, server.limits)
            strategy = option(body, "aggregation_strategy", str, "none", AGGREGATIONS)
            return ("tag", strategy), texts, server.tokens(texts, True), _shape(batched)

        return await server.run(request, "tag", prepare)

    @app.post("/answer", **_doc(AnswerRequest, "Extractive question answering"))
    async def answer(request: Request) -> Response:
        def prepare(body: dict[str, Any]) -> _Prepared:
            examples, batched = _qa_inputs(body, server)
            top_k = positive(body, "top_k", 1, _MAX_ANSWER_TOP_K)
            texts = [text for example in examples for text in (example["question"], example["context"])]
            return ("answer", top_k), examples, server.tokens(texts, True), _shape(batched)

        return await server.run(request, "answer", prepare)

    @app.get("/health", summary="200 while serving, 503 while shutting down")
    async def health() -> Response:
        if server.draining:
            return _json({"error": "the server is shutting down", "error_type": "Unhealthy"}, 503)
        return Response(status_code=200)

    @app.get("/info", summary="The model and how it runs")
    async def info() -> Response:
        return _json({**engine.info(), "version": VERSION, "draining": server.draining})

    @app.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=PlainTextResponse)
    async def prometheus() -> Response:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def _truncate(body: dict[str, Any]) -> bool:
    """TEI's ``truncate``, with the options around it that this server does not have refused rather than
    ignored: ``truncation_direction`` ``"Left"`` (texts are cut on the right) and a ``prompt_name`` (the
    model has no prompts)."""
    direction = option(body, "truncation_direction", str, "Right", ("Right", "right", "Left", "left"))
    if direction.lower() == "left":
        raise ApiError(422, 'truncation_direction "Left" is not supported: texts over the length are cut on the right')
    prompt = option(body, "prompt_name", str, None)
    if prompt is not None:
        raise ApiError(422, f"prompt_name {prompt!r}: this model has no prompts; send the text with its prompt")
    truncate: bool = option(body, "truncate", bool, False)
    return truncate


def _vector(vector: np.ndarray, normalize: bool) -> list[float]:
    if normalize:
        norm = float(np.linalg.norm(vector))
        vector = vector / norm if norm > 0 else vector
    out: list[float] = vector.tolist()
    return out


def _shape(batched: bool) -> Callable[[list[Any]], Any]:
    """The results as sent: the list for a list of inputs, the one result for one input."""
    return (lambda results: results) if batched else (lambda results: results[0])


def _predict_inputs(body: dict[str, Any], server: Server) -> tuple[list[str | dict[str, str]], bool]:
    """TEI's /predict inputs: a string, ``[text]``/``[text, pair]`` (one input), or ``[[text] | [text, pair],
    ...]`` (a batch). Returns the pipeline's inputs and whether it was a batch."""
    limits = server.limits
    if "inputs" not in body:
        raise ApiError(422, "missing field 'inputs': a string, a pair [text, text_pair] or a batch of them")
    value = body["inputs"]

    def sequence(name: str, parts: Any) -> str | dict[str, str]:
        if not isinstance(parts, list) or not 1 <= len(parts) <= 2:
            raise ApiError(422, f"{name} must be [text] or [text, text_pair]")
        texts = [check_str(f"{name}[{j}]", part, limits) for j, part in enumerate(parts)]
        return texts[0] if len(texts) == 1 else {"text": texts[0], "text_pair": texts[1]}

    if isinstance(value, str):
        return [check_str("inputs", value, limits)], False
    if not isinstance(value, list):
        raise ApiError(422, "inputs must be a string, a pair [text, text_pair] or a batch [[text], ...]")
    check_count("inputs", len(value), limits)
    if all(isinstance(v, list) for v in value):
        return [sequence(f"inputs[{i}]", v) for i, v in enumerate(value)], True
    if any(isinstance(v, list) for v in value):
        raise ApiError(422, "inputs mixes strings and lists: send [text, text_pair] or a batch [[text], ...]")
    return [sequence("inputs", value)], False


def _qa_inputs(body: dict[str, Any], server: Server) -> tuple[list[dict[str, str]], bool]:
    limits = server.limits
    if "inputs" in body:
        value = body["inputs"]
        if not isinstance(value, list):
            raise ApiError(422, "inputs must be a list of {question, context} objects")
        check_count("inputs", len(value), limits)
        examples = [_example(f"inputs[{i}]", item, server) for i, item in enumerate(value)]
        return examples, True
    return [_example("the body", body, server, extra=("top_k",))], False


def _example(name: str, item: Any, server: Server, extra: tuple[str, ...] = ()) -> dict[str, str]:
    if not isinstance(item, dict) or "question" not in item or "context" not in item:
        raise ApiError(422, f"{name} must hold 'question' and 'context' strings")
    unknown = set(item) - {"question", "context", *extra}
    if unknown:
        raise ApiError(422, f"{name} has unknown fields {', '.join(sorted(unknown))}")
    example = {key: check_str(f"{name}.{key}", item[key], server.limits) for key in ("question", "context")}
    for key, text in example.items():
        if not text.strip():
            raise ApiError(422, f"{name}.{key} must not be empty")
    return example


def _tokens(engine: Engine, texts: list[str], special: bool) -> list[list[dict[str, Any]]]:
    tokenizer = engine.tokenizer
    enc = tokenizer(texts, add_special_tokens=special, return_offsets_mapping=True, return_special_tokens_mask=special)
    out = []
    for row, (text, ids) in enumerate(zip(texts, enc["input_ids"], strict=True)):
        pieces = tokenizer.convert_ids_to_tokens(ids)
        masks = enc["special_tokens_mask"][row] if special else [0] * len(ids)
        offsets = enc["offset_mapping"][row]
        out.append(
            [
                {
                    "id": int(i),
                    "text": piece if m else text[span[0] : span[1]],
                    "special": bool(m),
                    "start": None if m else int(span[0]),
                    "stop": None if m else int(span[1]),
                }
                for i, piece, m, span in zip(ids, pieces, masks, offsets, strict=True)
            ]
        )
    return out
