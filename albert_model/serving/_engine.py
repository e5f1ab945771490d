"""One served model: its pipelines, their operations, token counts, threads and the batcher in front of them.

The server runs one checkpoint for one task (``--task``, or the task its ``config.json`` architecture was
saved for) plus sentence embeddings on the same encoder: with torch the embedding pipeline runs the head
model's own encoder (``model.albert``: one copy of the weights), with ONNX Runtime a second graph (the
export cache holds both). Every model call of the server goes through one :class:`~._batcher.Batcher`,
so one worker thread owns the model and its intra-op threads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from albert_model._devices import usable_cores
from albert_model._tasks import TASK_TABLE, lookup
from albert_model.pipelines import DEFAULT_MODEL, POOLINGS, Pipeline, pipeline
from albert_model.serving._batcher import Batcher
from albert_model.serving._limits import Limits
from albert_model.serving._metrics import Metrics

__all__ = ["SERVED_TASKS", "Engine", "ServeConfig", "choose_threads"]

SERVED_TASKS = ("fill-mask", "text-classification", "token-classification", "question-answering", "feature-extraction")
"""The tasks ``albert serve --task`` runs (with their aliases); every one also answers /embed and /tokenize."""
_COUNT_MARGIN = 16  # tokens below the model's length from which a count is made again exactly
_DIGIT_COMMA = re.compile(r"\d,")
_ROUTE_TASK = {"predict": "text-classification", "tag": "token-classification", "answer": "question-answering"}


@dataclass(frozen=True)
class ServeConfig:
    """What ``albert serve`` runs and how: the model, the batching and the limits.

    Args:
        model: A checkpoint directory or a Hugging Face repo id (None: the shipped model).
        task: The task to serve, one of :data:`SERVED_TASKS` or an alias (None: from the checkpoint's
            ``architectures``).
        backend: ``"torch"`` or ``"onnxruntime"``.
        int8: Run int8 encoder weights (ONNX Runtime only).
        pooling: How /embed pools token vectors: ``"mean"``, ``"cls"`` or ``"max"``.
        max_batch_tokens: The token budget of one batch.
        max_wait_ms: How long a batch waits for more requests after its oldest one arrived.
        max_queue: Requests that may wait; one more is answered 429.
        threads: Intra-op threads of the model worker (None: :func:`choose_threads`).
        batch_size: Texts per forward pass inside one batch (None: 64 on torch, whose ``"varlen"`` attention
            skips padding; 16 on ONNX Runtime, whose length-sorted batches are padded to their longest row).
        attn: The torch model's ``attn_implementation``: ``"varlen"`` (no projection or feed-forward runs on
            a padding position) or ``"sdpa"``. ONNX Runtime runs its exported graph.
        device: Where the model runs (None: the CPU).
        limits: The per-request limits.
        model_id: The name /info reports (None: ``model``, or the shipped model's path).

    Raises:
        ValueError: A value out of range or an option the backend does not take.
    """

    model: str | None = None
    task: str | None = None
    backend: str = "torch"
    int8: bool = False
    pooling: str = "mean"
    max_batch_tokens: int = 8192
    max_wait_ms: float = 2.0
    max_queue: int = 512
    threads: int | None = None
    batch_size: int | None = None
    attn: str = "varlen"
    device: str | None = None
    limits: Limits = field(default_factory=Limits)
    model_id: str | None = None

    def __post_init__(self) -> None:
        if self.task is not None and (lookup(self.task) is None or lookup(self.task).name not in SERVED_TASKS):  # type: ignore[union-attr]
            raise ValueError(f"task must be one of {', '.join(SERVED_TASKS)} (or an alias), got {self.task!r}")
        if self.backend not in ("torch", "onnxruntime"):
            raise ValueError(f"backend must be 'torch' or 'onnxruntime', got {self.backend!r}")
        if self.int8 and self.backend != "onnxruntime":
            raise ValueError("int8 weights run on ONNX Runtime: add --backend onnxruntime")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if self.attn not in ("varlen", "sdpa"):
            raise ValueError(f"attn must be 'varlen' or 'sdpa', got {self.attn!r}")
        for name in ("max_batch_tokens", "max_queue", "batch_size"):
            value = getattr(self, name)
            if name == "batch_size" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {self.max_wait_ms!r}")
        if self.threads is not None and (isinstance(self.threads, bool) or not 1 <= self.threads <= 256):
            raise ValueError(f"threads must be an int from 1 to 256, got {self.threads!r}")


def choose_threads(threads: int | None, workers: int = 1) -> tuple[int, str]:
    """The intra-op threads of each model worker, and why.

    Workers that share cores oversubscribe them: torch's default (every core per caller) turns a few
    milliseconds of work into hundreds when many callers run at once. Here each model has one worker, which
    gets ``cores // workers`` threads, at least one; the event loop (HTTP, JSON, counting tokens) runs between
    them (on a 2-core machine, two threads gave 1.3-1.6x the throughput of one at 1, 8 and 64 clients, and
    a lower p99: ``bench/serve.py --also-threads 1``). Under a container's cgroup CPU quota, which stalls the whole
    container for the rest of a period once it runs over, the worker gets ``(cores - 1) // workers``, keeping
    a core's worth for the event loop. The cores are those this process may run on, fewer where the quota
    allows fewer (a pod limited to 2 CPUs on a 64-core node has 2). ``threads`` overrides.

    Args:
        threads: The threads asked for (``--threads``), or None to choose.
        workers: Model workers sharing this process's cores.

    Returns:
        The thread count and a short reason, as /info reports it.
    """
    if threads is not None:
        return threads, "--threads"
    cores, limited = usable_cores()
    workers = max(1, workers)
    if limited:
        chosen = max(1, (cores - 1) // workers)
        return chosen, f"(cores - 1) // workers = ({cores} (the cgroup CPU quota) - 1) // {workers}, at least 1"
    return max(1, cores // workers), f"cores // workers = {cores} // {workers}, at least 1"


def served_task(config: ServeConfig, path: str) -> str:
    """The canonical task to serve: ``config.task``, else the one the checkpoint was saved for."""
    if config.task is not None:
        row = lookup(config.task)
        assert row is not None  # checked in ServeConfig
        return row.name
    from albert_model import AlbertConfig

    architectures = AlbertConfig.from_pretrained(path).architectures or []
    by_class = {row.model_class: row.name for row in TASK_TABLE}
    for arch in architectures:
        if arch == "AlbertForPreTraining":  # no pipeline of its own: its masked-LM head answers fill-mask
            return "fill-mask"
        name = by_class.get(arch)
        if name in SERVED_TASKS:
            return name
    return "feature-extraction"


class Engine:
    """The loaded pipelines of one :class:`ServeConfig`, the batcher that runs them, and their metrics.

    Args:
        config: What to load and how to batch.
        metrics: Where the batcher records its figures (None: a new :class:`Metrics`).
    """

    def __init__(self, config: ServeConfig, metrics: Metrics | None = None) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.threads, self.threads_reason = choose_threads(config.threads)
        # The model runs on the batcher's thread, with its own thread team (set in its setup). This thread
        # (the event loop's) runs no model: one thread here, or its idle team takes cores from the worker's.
        torch.set_num_threads(1)
        source = config.model if config.model is not None else DEFAULT_MODEL
        self.model_id = config.model_id or (config.model if config.model is not None else "albert-default")
        local = os.path.isdir(source)
        self.task = served_task(config, source if local else _resolve(source))
        self.batch_size = config.batch_size or (16 if config.backend == "onnxruntime" else 64)
        options: dict[str, Any] = {"batch_size": self.batch_size, "backend": config.backend}
        if config.backend == "onnxruntime":
            options.update(quantize="int8" if config.int8 else None, threads=self.threads)
        else:
            options["device"] = config.device
        self.head: Pipeline | None = None
        if self.task != "feature-extraction":
            self.head = pipeline(self.task, model=source, **options)
        self.embedder = self._embedder(source, options)
        if config.backend == "torch":
            for pipe in (self.head, self.embedder):
                if pipe is not None:
                    pipe.model.set_attn_implementation(config.attn)
                    # The server owns this model and never changes its weights: float32 CPU inference may
                    # run on weights packed once for oneDNN (albert_model.modeling._linear).
                    pipe.model.set_weight_packing(True)
        self.tokenizer = self.embedder.tokenizer
        self.max_length: int = self.embedder.max_length
        self.batcher = Batcher(
            self.run,
            config.max_batch_tokens,
            config.max_wait_ms,
            config.max_queue,
            setup=lambda: torch.set_num_threads(self.threads),
            metrics=self.metrics,
        )

    def _embedder(self, source: str, options: dict[str, Any]) -> Pipeline:
        """Sentence embeddings on the head's encoder (torch) or the checkpoint's base graph (ONNX Runtime)."""
        model: Any = source
        extra: dict[str, Any] = {}
        if self.head is not None and self.config.backend == "torch":
            model = self.head.model.albert
            extra["tokenizer"] = self.head.tokenizer
            options = {k: v for k, v in options.items() if k != "device"}
        return pipeline(
            "sentence-embedding", model=model, pooling=self.config.pooling, normalize=False, **extra, **options
        )

    def run(self, key: Hashable, items: list[Any]) -> Sequence[Any]:
        """The results of operation ``key`` on ``items``, in order (what the batcher runs).

        Args:
            key: ``("embed",)``, ``("predict", raw_scores)``, ``("fill-mask", top_k)``,
                ``("tag", aggregation_strategy)`` or ``("answer", top_k)``.
            items: The inputs of that operation.

        Returns:
            One result per item.

        Raises:
            ValueError: An unknown operation, or what the pipeline raises for an input.
        """
        assert isinstance(key, tuple)
        op = key[0]
        if op == "embed":
            return self._embed(items)
        head = self.head
        if head is None:
            raise ValueError(f"this server runs no head for {op!r}")
        if op == "predict":
            return list(head(items, top_k=None, function_to_apply="none" if key[1] else None))
        if op == "fill-mask":
            return list(head(items, top_k=key[1]))
        if op == "tag":
            return list(head(items, aggregation_strategy=key[1]))
        if op == "answer":
            return list(head(items, top_k=key[1]))
        raise ValueError(f"unknown operation {op!r}")

    def _embed(self, texts: list[str]) -> list[np.ndarray]:
        return list(np.asarray(self.embedder(texts), dtype=np.float32))

    def needs(self, route: str) -> str | None:
        """Why this server cannot answer ``route`` (a head route of another task), or None."""
        wanted = _ROUTE_TASK.get(route, route)
        if wanted in ("embed", "tokenize") or wanted == self.task:
            return None
        return (
            f"/{route} needs a {wanted} model; this server runs {self.task} "
            f"(start one with albert serve --model DIR --task {wanted})"
        )

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens of each text with ``[CLS]`` and ``[SEP]``, counted up to one more than the model takes (a
        count over :attr:`max_length` means too long).

        The Rust tokenizer counts (a few times cheaper than a full call; it can differ from the canonical ids
        by a piece around digit commas), and a text it counts near the model's length is counted again
        exactly (as is a long one with digit commas, where the difference adds up), so the length check is
        exact and the batch budget close.
        """
        specials = self.tokenizer.num_special_tokens_to_add()
        encodings = self.tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False)
        counts = [len(e.ids) + specials for e in encodings]
        limit = self.max_length
        near = [
            i
            for i, n in enumerate(counts)
            if n > limit - _COUNT_MARGIN or (n > limit // 2 and _DIGIT_COMMA.search(texts[i]) is not None)
        ]
        if near:
            enc = self.tokenizer([texts[i] for i in near], truncation=True, max_length=self.max_length + 1)
            for i, ids in zip(near, enc["input_ids"], strict=True):
                counts[i] = len(ids)
        return counts

    def info(self) -> dict[str, Any]:
        """What /info reports about the model and how it runs."""
        head = self.head
        model_type: dict[str, Any]
        config = (head or self.embedder).model.config
        if self.task in ("text-classification", "token-classification"):
            id2label = {str(k): v for k, v in config.id2label.items()}
            model_type = {"classifier": {"id2label": id2label, "label2id": {v: int(k) for k, v in id2label.items()}}}
        else:
            model_type = {"embedding": {"pooling": self.config.pooling}}
        return {
            "model_id": self.model_id,
            "model_sha": None,
            "model_dtype": "int8" if self.config.int8 else "float32",
            "model_type": model_type,
            "task": self.task,
            "routes": sorted(
                ["/embed", "/tokenize"]
                + [f"/{r}" for r in ("predict", "fill-mask", "tag", "answer") if self.needs(r) is None]
            ),
            "backend": self.config.backend,
            "device": str(self.embedder.device),
            "pooling": self.config.pooling,
            "max_input_length": self.max_length,
            "max_batch_tokens": self.config.max_batch_tokens,
            "max_wait_ms": self.config.max_wait_ms,
            "max_queue": self.config.max_queue,
            "max_concurrent_requests": self.config.max_queue,
            "max_client_batch_size": self.config.limits.max_texts,
            "max_chars": self.config.limits.max_chars,
            "max_body_bytes": self.config.limits.max_body_bytes,
            "batch_size": self.batch_size,
            "attn_implementation": self.config.attn if self.config.backend == "torch" else None,
            "weight_packing": self.config.backend == "torch"
            and self.embedder.device.type == "cpu"
            and torch.backends.mkldnn.is_available(),
            "threads": self.threads,
            "threads_reason": self.threads_reason,
            "workers": 1,
            "auto_truncate": False,
        }


def _resolve(source: str) -> str:
    from albert_tok.io import resolve_directory

    return resolve_directory(source, what="model")
