"""GPU benchmark: CUDA parity, bf16/fp16 agreement, forward throughput and fill-mask pipelines against transformers.

    python -m bench.gpu [--out bench/results/gpu.json] [--write-readme] [--dry-run] [--device cuda]
                       [--budget-seconds 420] [--no-compile] [--from-json FILE]

Tasks, in this order (each one a section of the JSON, which is rewritten whenever a result arrives):

- ``parity``: the 7 classes with albert-base-v2 shapes and random weights, the same inputs (labels included)
  in float32 on ``--device`` and on the CPU with TF32 off: max abs diff of every output field, once on the
  sdpa path and once with hidden states and attentions (the eager path). Passes at <= 1e-4.
- ``dtype_agreement``: the shipped model's fill-mask top-1 in bf16 and fp16 against fp32 on ``--device``.
- ``throughput:<dtype>`` (bf16, fp16, fp32): ``AlbertModel`` forward against transformers' ``AlbertModel``
  (``attn_implementation="sdpa"``) loaded from the same weights, for b32·L128, b8·L512 and 64 sequences of
  16..512 tokens padded to the longest: ms per forward (median after warm-up), sequences/s, peak CUDA memory.
- ``pipeline:<dtype>`` (bf16, fp16): ``albert_model.pipeline("fill-mask")`` against transformers'
  fill-mask pipeline (with its SentencePiece ``AlbertTokenizer``) on the same sentences; top-1 agreement.
- ``varlen:<dtype>`` (bf16, fp16): the same batches through ``AlbertModel`` padded and with
  ``attn_implementation="varlen"`` (real tokens packed, FlashAttention's varlen kernel), against transformers'
  sdpa: ms, peak memory, and the largest difference between packed and padded outputs on real tokens.
- ``compile:<dtype>``: ``torch.compile(AlbertModel)`` on the same shapes, with its compile time.

The measuring runs in a worker process that this script watches: a task past its cap or past the global
budget (``--budget-seconds``) is killed and recorded as ``timeout``, a task that raises is recorded with its
error, and a new worker takes the remaining tasks; tasks the budget cannot fit are recorded as ``skipped``.
The script never waits on anything without a time limit. ``--dry-run`` runs every task with tiny shapes on
the CPU (the shipped model where the task uses it) in well under a minute; its JSON goes to
bench/out/gpu-dry-run.json unless ``--out`` is given. Exit status 1 when parity fails, else 0. Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import importlib.metadata
import itertools
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._timing import repeated, timed

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_OUT = ROOT / "bench" / "results" / "gpu.json"
DRY_RUN_OUT = ROOT / "bench" / "out" / "gpu-dry-run.json"
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
TOLERANCE = 1e-4
CLASSES = (
    "AlbertModel",
    "AlbertForPreTraining",
    "AlbertForMaskedLM",
    "AlbertForSequenceClassification",
    "AlbertForMultipleChoice",
    "AlbertForTokenClassification",
    "AlbertForQuestionAnswering",
)
DTYPES = ("bfloat16", "float16", "float32")  # the headline dtypes first: the budget may not reach the last
HALF_DTYPES = ("bfloat16", "float16")
TINY: dict[str, Any] = {
    "vocab_size": 30000,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
}
STARTUP_CAP = 180.0  # seconds a worker may spend importing torch (and between tasks) before it counts as hung
POLL_S = 0.2
# Everything the workers load is local: no hub look-up may wait on a network that the GPU machine lacks.
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONUNBUFFERED": "1",
}
BUILTIN_SENTENCES = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris.",
    "It is named after the engineer Gustave Eiffel, whose company designed and built the tower.",
    "Plants create energy through a process known as photosynthesis.",
    "The river flows from the mountains through the valley and into the sea.",
    "She opened the window to let the cool evening air into the room.",
    "The committee will meet again next week to discuss the budget.",
    "Water boils at one hundred degrees at sea level.",
    "He wrote the letter by hand and posted it the next morning.",
    "The museum holds one of the largest collections of ancient coins in the world.",
    "After the storm, the fishermen repaired their nets on the beach.",
    "The train to the capital leaves every hour from the central station.",
    "Children learn to read by listening to stories and sounding out words.",
    "The old bridge was closed for repairs during the summer.",
    "A good teacher explains difficult ideas in simple language.",
    "The city council approved the plan for a new public library.",
    "Bees carry pollen from one flower to another as they collect nectar.",
    "The orchestra played a symphony that the composer wrote in his youth.",
    "Heavy rain caused the river to rise above its banks.",
    "The doctor advised him to rest for a few days and drink plenty of water.",
    "The village lies at the foot of a hill covered with vineyards.",
    "Scientists measured the temperature of the ocean at different depths.",
    "The novel tells the story of a family over three generations.",
    "Farmers harvest the wheat at the end of the summer.",
    "The company announced that it would open a factory in the north of the country.",
    "The cat slept in the sun on the kitchen floor all afternoon.",
    "Mountains cover most of the island, and its coast is lined with small harbours.",
    "The students asked the professor to repeat the last part of the lecture.",
    "The king ruled the country for forty years until his death.",
    "Light travels faster than sound, which is why we see lightning before we hear thunder.",
    "The market sells fresh fish, fruit and vegetables every Saturday.",
    "The ship sailed across the ocean in less than two weeks.",
    "Many birds fly south for the winter and return in the spring.",
)


# -- the plan and its settings ---------------------------------------------------------------------------


def plan(dry_run: bool, compile_: bool) -> list[dict[str, Any]]:
    """The tasks in order: ``name``, ``cap`` (seconds before the watchdog kills it) and ``need`` (seconds of
    budget below which it is skipped rather than started)."""
    # every dtype runs the same code: a dry run takes one, bf16, to stay well under a minute
    dtypes, halves = (("bfloat16",), ("bfloat16",)) if dry_run else (DTYPES, HALF_DTYPES)
    tasks = [("parity", 120, 15), ("dtype_agreement", 60, 10)]
    tasks += [(f"throughput:{d}", 90, 15) for d in dtypes]
    tasks += [(f"varlen:{d}", 75, 15) for d in halves]
    tasks += [(f"pipeline:{d}", 75, 15) for d in halves]
    if compile_:
        tasks += [(f"compile:{d}", 150, 40) for d in dtypes]
    return [{"name": n, "cap": float(cap), "need": 0.0 if dry_run else float(need)} for n, cap, need in tasks]


def settings(args: argparse.Namespace, deadline: float, weights: str) -> dict[str, Any]:
    """What a worker needs besides its task list (plain JSON: it travels in a file)."""
    dry = args.dry_run
    return {
        "device": args.device,
        "dry_run": dry,
        "deadline": deadline,
        "weights": weights,
        "corpora": args.corpora,
        "backend": args.compile_backend or ("eager" if dry else "inductor"),
        "warmup": 1 if dry else 5,
        "repeat": 2 if dry else 20,
        "rounds": 1 if dry else 2,
        "agreement_sentences": 8 if dry else 256,
        "pipeline_sentences": 8 if dry else 512,
        "pipeline_repeat": 1 if dry else 3,
        "compile_guard": 0.0 if dry else 25.0,
    }


# -- the supervisor: runs workers, kills what hangs, records everything ------------------------------------


class Recorder:
    """The results document, updated from worker events and rewritten atomically after each change, so
    that a run killed from outside still leaves everything measured until then."""

    def __init__(self, path: Path, header: dict[str, Any], start: float) -> None:
        self.path, self.start = path, start
        self.doc: dict[str, Any] = {**header, "finished": False, "elapsed_s": 0.0, "env": {}, "sections": {}}

    def section(self, name: str) -> dict[str, Any]:
        return self.doc["sections"].setdefault(name, {"status": "pending", "rows": [], "errors": []})

    def write(self) -> None:
        self.doc["elapsed_s"] = round(time.time() - self.start, 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def log(self, message: str) -> None:
        print(f"[{time.time() - self.start:6.1f}s] {message}", flush=True)

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "env":
            self.doc["env"] = {k: v for k, v in event.items() if k not in ("event", "task")}
            self.log(
                f"worker on {self.doc['env'].get('device_name')}, torch {self.doc['env'].get('torch')}, "
                f"transformers {self.doc['env'].get('transformers')}"
            )
            return
        name = str(event.get("task"))
        sec = self.section(name)
        if kind == "start":
            sec["status"] = "running"
            self.log(f"{name}: start")
        elif kind == "row":
            row = {k: v for k, v in event.items() if k not in ("event", "task")}
            sec["rows"].append(row)
            self.log(f"{name}: {summary(row)}")
        elif kind == "error":
            sec["errors"].append(event.get("error"))
            self.log(f"{name}: ERROR {event.get('error')}")
        elif kind == "skip":
            self.finish(name, "skipped", str(event.get("reason")))
        elif kind == "end":
            sec["seconds"] = event.get("seconds")
            status = "ok" if not sec["errors"] else "partial" if sec["rows"] else "error"
            self.finish(name, status, None)

    def finish(self, name: str, status: str, reason: str | None, log_tail: str | None = None) -> None:
        sec = self.section(name)
        sec["status"] = status
        if reason is not None:
            sec["reason"] = reason
        if log_tail:
            sec["log_tail"] = log_tail
        self.log(f"{name}: {status}" + (f" ({reason})" if reason else ""))


def summary(row: dict[str, Any]) -> str:
    """One line for the progress log."""
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in row.items()
        if not isinstance(v, (dict, list))
    )


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    rows: Path  # JSON lines the worker appends, one event each
    log: Path  # its stdout and stderr


class EventReader:
    """New complete JSON lines of a file that another process is appending to."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.partial = path, 0, b""

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else ""


def kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the worker and everything it started (torch.compile's compile workers): its own process group."""
    with contextlib.suppress(ProcessLookupError):  # it has exited on its own meanwhile
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def watch(
    worker: Worker, pending: list[dict[str, Any]], deadline: float, recorder: Recorder
) -> tuple[dict[str, Any] | None, str | None, list[dict[str, Any]]]:
    """Follow one worker until it exits, killing it past the running task's cap (``"cap"``), past
    ``deadline`` (``"budget"``) or when it is slow to begin a task (``"startup"``). Returns the task it was
    in, why it was killed (None: it exited) and the tasks it did not finish or skip."""
    reader = EventReader(worker.rows)
    current: dict[str, Any] | None = None
    since = time.time()
    killed: str | None = None
    while True:
        exited = worker.proc.poll() is not None
        events = reader.read()  # after poll(): what an exited worker wrote is all there
        for event in events:
            recorder.apply(event)
            if event.get("event") == "start":
                current, since = next(t for t in pending if t["name"] == event["task"]), time.time()
            elif event.get("event") in ("end", "skip"):
                pending = [t for t in pending if t["name"] != event["task"]]
                current, since = None, time.time()
        if events:
            recorder.write()
        if exited:
            return current, killed, pending
        now = time.time()
        if now > min(deadline, since + (current["cap"] if current else STARTUP_CAP)):
            killed = "budget" if now > deadline else "cap" if current else "startup"
            kill(worker.proc)  # then one more turn reads what it wrote until then
        else:
            time.sleep(POLL_S)


def supervise(
    tasks: list[dict[str, Any]], deadline: float, spawn: Callable[[list[dict[str, Any]]], Worker], recorder: Recorder
) -> None:
    """Run ``tasks`` in worker processes made by ``spawn(remaining tasks)``. A task past its ``cap``, or
    anything past ``deadline``, is killed with its worker; a worker that dies inside a task costs that task
    only (a new worker takes the rest); one that dies or hangs outside any task fails the rest (it would
    again); tasks the budget cannot fit are skipped."""
    pending = list(tasks)
    while pending and deadline - time.time() >= pending[0]["need"]:
        worker = spawn(pending)
        current, killed, pending = watch(worker, pending, deadline, recorder)
        if current is not None:
            reason = {
                "budget": "the global budget ran out during this task",
                "cap": f"killed after its cap of {current['cap']:.0f} s",
            }.get(killed or "", f"the worker exited with status {worker.proc.returncode} during this task")
            recorder.finish(current["name"], "timeout" if killed else "crashed", reason, tail(worker.log))
            pending = [t for t in pending if t is not current]
        elif pending and killed in (None, "startup"):
            reason = (
                f"no task began within {STARTUP_CAP:.0f} s"
                if killed
                else f"the worker exited with status {worker.proc.returncode} outside any task"
            )
            log_tail = tail(worker.log)
            for task in pending:
                recorder.finish(task["name"], "failed", reason, log_tail)
            pending = []
        recorder.write()
        if killed == "budget":
            break
    for task in pending:
        recorder.finish(task["name"], "skipped", "the global budget (--budget-seconds) ran out")
    recorder.write()


def spawner(base: dict[str, Any], tmp: Path) -> Callable[[list[dict[str, Any]]], Worker]:
    """``spawn`` for :func:`supervise`: this module in ``--worker`` mode, in its own process group."""
    counter = itertools.count(1)

    def spawn(tasks: list[dict[str, Any]]) -> Worker:
        n = next(counter)
        rows, log, spec = tmp / f"worker{n}.jsonl", tmp / f"worker{n}.log", tmp / f"worker{n}.json"
        spec.write_text(json.dumps({**base, "tasks": tasks, "rows": str(rows)}), encoding="utf-8")
        with open(log, "wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.gpu", "--worker", str(spec)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, **WORKER_ENV},
                start_new_session=True,
            )
        return Worker(proc, rows, log)

    return spawn


# -- the worker: measures, one event per line ------------------------------------------------------------


class Out:
    """A task's channel to the supervisor."""

    def __init__(self, path: str, task: str) -> None:
        self.path, self.task = path, task

    def emit(self, event: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**event, "task": self.task}) + "\n")

    def row(self, row: dict[str, Any]) -> None:
        self.emit({"event": "row", **row})

    def error(self, message: str) -> None:
        self.emit({"event": "error", "error": message})


class Context:
    """Settings and the inputs the tasks share, built on first use."""

    def __init__(self, spec: dict[str, Any]) -> None:
        import torch

        self.spec = spec
        self.dry = bool(spec["dry_run"])
        self.device = torch.device(spec["device"])
        self.cuda = self.device.type == "cuda"

    def config(self) -> Any:
        from albert_model import AlbertConfig

        return AlbertConfig(**TINY) if self.dry else AlbertConfig.base()

    def weights(self) -> str:
        """Random albert-base weights (seed 0) saved once, so that both implementations load the same file."""
        import torch

        from albert_model import AlbertModel

        directory = Path(self.spec["weights"])
        if not (directory / "config.json").exists():
            torch.manual_seed(0)
            AlbertModel(self.config()).save_pretrained(directory)
        return str(directory)

    @functools.cache  # noqa: B019 -- one Context per worker process
    def batches(self) -> list[tuple[str, Any, Any]]:
        """(label, input_ids, attention_mask) on the device: two fixed shapes with one half-padded row, as
        real batches have, and a batch of lengths drawn uniformly, padded to the longest."""
        import torch

        g = torch.Generator().manual_seed(0)
        vocab = self.config().vocab_size
        out = []
        for b, t in ((2, 16), (2, 32)) if self.dry else ((32, 128), (8, 512)):
            ids = torch.randint(5, vocab, (b, t), generator=g)
            mask = torch.ones(b, t, dtype=torch.long)
            mask[0, t // 2 :] = 0
            out.append((f"b{b}·L{t}", ids, mask))
        n, lo, hi = (4, 4, 32) if self.dry else (64, 16, 512)
        lengths = torch.randint(lo, hi + 1, (n,), generator=g)
        mask = (torch.arange(int(lengths.max()))[None, :] < lengths[:, None]).long()
        ids = torch.randint(5, vocab, mask.shape, generator=g) * mask  # pad id 0
        out.append((f"var{n}·L{lo}-{hi}", ids, mask))
        return [(label, ids.to(self.device), mask.to(self.device)) for label, ids, mask in out]

    @functools.cache  # noqa: B019 -- one Context per worker process
    def tokenizer(self) -> Any:
        """The shipped model's tokenizer, loaded once for the tasks that share it."""
        from albert_model import DEFAULT_MODEL
        from albert_tok import AlbertTokenizerFast

        return AlbertTokenizerFast.from_pretrained(DEFAULT_MODEL)

    def sync(self) -> None:
        import torch

        if self.cuda:
            torch.cuda.synchronize(self.device)

    def measure(self, fn: Callable[[], Any], batch: int, model: Any) -> dict[str, Any]:
        """Median ms of ``repeat`` calls after ``warmup``. Memory (CUDA only): ``activation_peak_mb``, the most
        allocated during the calls above what was allocated before them, and ``peak_mb``, that plus
        ``model``'s own weights: what the forward needs on its own, though other models share the process."""
        import torch

        with torch.inference_mode():
            for _ in range(self.spec["warmup"]):
                fn()
            self.sync()
            if self.cuda:
                torch.cuda.reset_peak_memory_stats(self.device)
                base = torch.cuda.memory_allocated(self.device)
            times, _ = repeated(fn, self.spec["repeat"], sync=self.sync)
        ms = statistics.median(times) * 1e3
        result = {
            "ms": ms,
            "ms_min": min(times) * 1e3,
            "sequences_per_s": batch * 1e3 / ms,
            "peak_mb": None,
            "activation_peak_mb": None,
            "weights_mb": None,
        }
        if self.cuda:
            weights = sum(t.numel() * t.element_size() for t in itertools.chain(model.parameters(), model.buffers()))
            activations = torch.cuda.max_memory_allocated(self.device) - base
            result.update(
                peak_mb=(weights + activations) / 1e6, activation_peak_mb=activations / 1e6, weights_mb=weights / 1e6
            )
        return result


def masked_sentences(count: int, seed: int, corpora: str | None) -> tuple[list[str], str]:
    """``count`` sentences of varied length with one ``[MASK]`` (a word of letters) each: lines of the corpora
    when there are enough (the filter of bench/pipeline.py), else joins of 1..6 built-in sentences."""
    import numpy as np

    rng = np.random.default_rng(seed)
    files = sorted(Path(corpora).glob("*.txt")) if corpora and Path(corpora).is_dir() else []
    lines = [line.strip() for p in files for line in p.read_text(encoding="utf-8").split("\n")]
    lines = [line for line in lines if 4 <= len(line.split()) <= 60 and "<unk>" not in line and "[" not in line]
    if len(lines) >= count:
        picked = [lines[i] for i in rng.choice(len(lines), count, replace=False)]
        source = "corpora: " + ", ".join(p.name for p in files)
    else:
        picked = [
            " ".join(
                BUILTIN_SENTENCES[j] for j in rng.choice(len(BUILTIN_SENTENCES), int(rng.integers(1, 7)), replace=False)
            )
            for _ in range(count)
        ]
        source = f"built-in sentences (1..6 joined; no corpora at {corpora})"
    out = []
    for text in picked:
        words = text.split()
        where = [i for i, w in enumerate(words) if w.isalpha()] or list(range(len(words)))
        words[where[int(rng.integers(len(where)))]] = "[MASK]"
        out.append(" ".join(words))
    return out, source


def max_abs_diff(a: Any, b: Any) -> float:
    """Over a tensor or a tuple of them (hidden states, attentions); shapes must match."""
    import torch

    if isinstance(a, torch.Tensor):
        if a.shape != b.shape:
            raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
        return (a.detach().float().cpu() - b.detach().float().cpu()).abs().max().item() if a.numel() else 0.0
    return max((max_abs_diff(x, y) for x, y in zip(a, b, strict=True)), default=0.0)


def parity_inputs(name: str, config: Any, length: int) -> dict[str, Any]:
    """Inputs and labels (so that ``loss`` is compared too) for class ``name``: a padded row, two segments."""
    import torch

    g = torch.Generator().manual_seed(0)
    shape = (2, 3, length) if name == "AlbertForMultipleChoice" else (2, length)
    ids = torch.randint(5, config.vocab_size, shape, generator=g)
    mask = torch.ones(shape, dtype=torch.long)
    mask[1, ..., length // 2 :] = 0
    types = torch.zeros(shape, dtype=torch.long)
    types[..., length // 4 :] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    mlm = torch.full(shape, -100)
    mlm[:, 1:4] = ids[:, 1:4]
    labels: dict[str, dict[str, Any]] = {
        "AlbertModel": {},
        "AlbertForPreTraining": {"labels": mlm, "sentence_order_label": torch.tensor([0, 1])},
        "AlbertForMaskedLM": {"labels": mlm},
        "AlbertForSequenceClassification": {"labels": torch.tensor([0, 1])},
        "AlbertForMultipleChoice": {"labels": torch.tensor([0, 2])},
        "AlbertForTokenClassification": {
            "labels": torch.randint(0, 2, shape, generator=g).masked_fill(mask == 0, -100)
        },
        "AlbertForQuestionAnswering": {"start_positions": torch.tensor([1, 3]), "end_positions": torch.tensor([5, 4])},
    }
    return {**inputs, **labels[name]}


def task_parity(ctx: Context, out: Out, _dtype: str, _deadline: float) -> None:
    import torch

    import albert_model

    config = ctx.config()
    length = 16 if ctx.dry else 64
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        for name in CLASSES:
            torch.manual_seed(0)
            reference = getattr(albert_model, name)(config).eval()
            model = copy.deepcopy(reference).to(ctx.device)
            inputs = parity_inputs(name, config, length)
            diffs = {}
            for prefix, flags in (("", {}), ("eager:", {"output_hidden_states": True, "output_attentions": True})):
                with torch.inference_mode():
                    want = reference(**inputs, **flags)
                    got = model(**{k: v.to(ctx.device) for k, v in inputs.items()}, **flags)
                if list(want.keys()) != list(got.keys()):
                    raise ValueError(f"{name}: output fields differ: {list(want.keys())} vs {list(got.keys())}")
                diffs.update({prefix + key: max_abs_diff(want[key], got[key]) for key in want})
            worst = max(diffs.values())
            out.row({"class": name, "max_abs_diff": worst, "pass": worst <= TOLERANCE, "fields": diffs})
            del model, reference
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def task_dtype_agreement(ctx: Context, out: Out, _dtype: str, _deadline: float) -> None:
    import torch

    from albert_model import DEFAULT_MODEL, AlbertForMaskedLM

    texts, source = masked_sentences(ctx.spec["agreement_sentences"], 2, ctx.spec["corpora"])
    tok = ctx.tokenizer()
    logits: dict[str, Any] = {}
    for name in ("float32", *HALF_DTYPES):
        model = AlbertForMaskedLM.from_pretrained(DEFAULT_MODEL, dtype=getattr(torch, name), device=ctx.device)
        parts = []
        for start in range(0, len(texts), 64):
            enc = tok(texts[start : start + 64], padding=True, truncation=True, return_tensors="pt")
            batch = {k: v.to(ctx.device) for k, v in enc.items()}
            with torch.inference_mode():
                parts.append(
                    model(**batch, masked_positions=batch["input_ids"] == tok.mask_token_id).logits.float().cpu()
                )
        logits[name] = torch.cat(parts)
        del model
    for name in HALF_DTYPES:
        agree = (logits[name].argmax(-1) == logits["float32"].argmax(-1)).float().mean().item()
        out.row(
            {
                "dtype": name,
                "masks": len(logits[name]),
                "top1_agreement_with_float32": agree,
                "max_abs_logit_diff": max_abs_diff(logits[name], logits["float32"]),
                "text": source,
            }
        )


def hf_dtype(dtype: Any) -> dict[str, Any]:
    """transformers >= 4.56 takes ``dtype=``, older versions ``torch_dtype=``."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype" if (major, minor) >= (4, 56) else "torch_dtype": dtype}


def task_throughput(ctx: Context, out: Out, dtype_name: str, _deadline: float) -> None:
    import torch
    import transformers

    from albert_model import AlbertModel

    dtype = getattr(torch, dtype_name)
    ours = AlbertModel.from_pretrained(ctx.weights(), dtype=dtype, device=ctx.device).eval()
    ref = (
        transformers.AlbertModel.from_pretrained(ctx.weights(), attn_implementation="sdpa", **hf_dtype(dtype))
        .to(ctx.device)
        .eval()
    )
    for label, ids, mask in ctx.batches():
        with torch.inference_mode():
            a = ours(input_ids=ids, attention_mask=mask).last_hidden_state
            b = ref(input_ids=ids, attention_mask=mask).last_hidden_state
        keep = mask.bool()  # padded positions hold nothing anyone reads
        diff = max_abs_diff(a[keep], b[keep])
        best: dict[str, dict[str, Any]] = {}
        for _ in range(ctx.spec["rounds"]):  # alternating, best median kept: neither side always runs first
            for impl, model in (("albert_model", ours), ("transformers", ref)):
                m = ctx.measure(functools.partial(model, input_ids=ids, attention_mask=mask), len(ids), model)
                if impl not in best or m["ms"] < best[impl]["ms"]:
                    best[impl] = m
        out.row(
            {
                "shape": label,
                "batch": len(ids),
                "padded_length": ids.shape[1],
                "tokens": int(mask.sum()),
                **best,
                "speedup_vs_transformers": best["transformers"]["ms"] / best["albert_model"]["ms"],
                "time_ratio_ours_over_transformers": best["albert_model"]["ms"] / best["transformers"]["ms"],
                "max_abs_diff_vs_transformers": diff,
            }
        )
    del ours, ref
    if ctx.cuda:
        torch.cuda.empty_cache()


def task_varlen(ctx: Context, out: Out, dtype_name: str, _deadline: float) -> None:
    """The same batches through ``AlbertModel`` padded (sdpa) and packed (``attn_implementation="varlen"``,
    FlashAttention over the real tokens where the kernel exists), and transformers' sdpa."""
    import torch
    import transformers

    from albert_model import AlbertModel
    from albert_model.modeling._unpadded import varlen_kernel

    dtype = getattr(torch, dtype_name)
    ours = AlbertModel.from_pretrained(ctx.weights(), dtype=dtype, device=ctx.device).eval()
    ref = (
        transformers.AlbertModel.from_pretrained(ctx.weights(), attn_implementation="sdpa", **hf_dtype(dtype))
        .to(ctx.device)
        .eval()
    )
    kernel = varlen_kernel() is not None and ctx.cuda and dtype in (torch.float16, torch.bfloat16)
    for label, ids, mask in ctx.batches():
        keep = mask.bool()
        with torch.inference_mode():
            ours.set_attn_implementation("sdpa")
            padded = ours(input_ids=ids, attention_mask=mask).last_hidden_state
            ours.set_attn_implementation("varlen")
            packed = ours(input_ids=ids, attention_mask=mask).last_hidden_state
        best: dict[str, dict[str, Any]] = {}
        for _ in range(ctx.spec["rounds"]):
            for impl in ("padded", "varlen", "transformers"):
                if impl != "transformers":
                    ours.set_attn_implementation("sdpa" if impl == "padded" else impl)
                model = ref if impl == "transformers" else ours
                m = ctx.measure(functools.partial(model, input_ids=ids, attention_mask=mask), len(ids), model)
                if impl not in best or m["ms"] < best[impl]["ms"]:
                    best[impl] = m
        out.row(
            {
                "shape": label,
                "dtype": dtype_name,
                "tokens": int(mask.sum()),
                "positions": mask.numel(),
                "flash_varlen_kernel": kernel,
                **best,
                "varlen_speedup_vs_padded": best["padded"]["ms"] / best["varlen"]["ms"],
                "varlen_speedup_vs_transformers": best["transformers"]["ms"] / best["varlen"]["ms"],
                "max_abs_diff_varlen_vs_padded": max_abs_diff(packed[keep], padded[keep]),
            }
        )
    del ours, ref
    if ctx.cuda:
        torch.cuda.empty_cache()


def task_compile(ctx: Context, out: Out, dtype_name: str, deadline: float) -> None:
    import torch

    from albert_model import AlbertModel

    model = AlbertModel.from_pretrained(ctx.weights(), dtype=getattr(torch, dtype_name), device=ctx.device).eval()
    backend = ctx.spec["backend"]
    compiled = torch.compile(model, backend=backend, dynamic=False)
    failed = None
    for label, ids, mask in ctx.batches():
        left = deadline - time.time()
        if failed or left < ctx.spec["compile_guard"]:
            why = failed or f"time guard: {left:.0f} s left, a compile may take {ctx.spec['compile_guard']:.0f} s"
            out.row({"shape": label, "skipped": why})
            continue
        fn = functools.partial(compiled, input_ids=ids, attention_mask=mask)

        def first_call(fn: Callable[[], Any] = fn) -> Any:
            with torch.inference_mode():
                return fn().last_hidden_state

        try:
            compile_s, got = timed(first_call, sync=ctx.sync)
        # a compiler failure is a finding to record, not a reason to lose the rest of the run
        except Exception as exc:
            failed = f"not attempted after the compile error on {label}"
            out.error(f"torch.compile(backend={backend!r}) on {label}: {type(exc).__name__}: {str(exc)[:1500]}")
            continue
        with torch.inference_mode():
            want = model(input_ids=ids, attention_mask=mask).last_hidden_state
        keep = mask.bool()
        out.row(
            {
                "shape": label,
                "backend": backend,
                "compile_s": compile_s,
                "albert_model_compiled": ctx.measure(fn, len(ids), model),
                "max_abs_diff_vs_eager": max_abs_diff(got[keep], want[keep]),
            }
        )


def task_pipeline(ctx: Context, out: Out, dtype_name: str, _deadline: float) -> None:
    import warnings

    import torch
    import transformers

    from albert_model import DEFAULT_MODEL, pipeline

    dtype = getattr(torch, dtype_name)
    texts, source = masked_sentences(ctx.spec["pipeline_sentences"], 1, ctx.spec["corpora"])
    # the shipped model and its own tokenizer (the object the agreement task loaded, when it ran)
    ours: Any = pipeline("fill-mask", tokenizer=ctx.tokenizer(), device=ctx.device, dtype=dtype, batch_size=32)
    # the canonical (SentencePiece) tokenizer, as transformers' pipeline needs one of its own objects
    tok = transformers.AlbertTokenizer(vocab_file=os.path.join(DEFAULT_MODEL, "spiece.model"), model_max_length=512)
    transformers.logging.set_verbosity_error()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "use a dataset on GPU": the sentences are the same for both
        ref = transformers.pipeline(
            "fill-mask",
            model=DEFAULT_MODEL,
            tokenizer=tok,
            device=(ctx.device.index or 0) if ctx.cuda else -1,
            **hf_dtype(dtype),
        )

        def best(fn: Callable[[], list[Any]]) -> tuple[float, list[Any]]:
            # a warm-up on the whole set: every padded width the timed runs see
            times, result = repeated(fn, ctx.spec["pipeline_repeat"], warmup=1)
            return min(times), result or []

        t_ours, r_ours = best(lambda: ours(texts, top_k=5))
        t_ref, r_ref = best(lambda: ref(texts, batch_size=32, top_k=5))
    agree = sum(a[0]["token"] == b[0]["token"] for a, b in zip(r_ours, r_ref, strict=True)) / len(texts)
    out.row(
        {
            "dtype": dtype_name,
            "sentences": len(texts),
            "albert_model_s": t_ours,
            "transformers_s": t_ref,
            "albert_model_per_s": len(texts) / t_ours,
            "transformers_per_s": len(texts) / t_ref,
            "speedup_vs_transformers": t_ref / t_ours,
            "top1_agreement": agree,
            "batch_size": 32,
            "top_k": 5,
            "transformers_tokenizer": f"{type(tok).__module__}.{type(tok).__name__}",
            "text": source,
        }
    )


TASKS: dict[str, Callable[[Context, Out, str, float], None]] = {
    "parity": task_parity,
    "dtype_agreement": task_dtype_agreement,
    "throughput": task_throughput,
    "compile": task_compile,
    "pipeline": task_pipeline,
    "varlen": task_varlen,
}


def environment(device: str) -> dict[str, Any]:
    import torch

    try:
        hf: str | None = importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        hf = None
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    cuda = torch.cuda.is_available()
    name = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") and cuda else machine
    return {
        "device_name": name,
        "torch": torch.__version__,
        "transformers": hf,
        "cuda_runtime": torch.version.cuda,
        "cuda_available": cuda,
        "python": platform.python_version(),
        "machine": machine,
    }


def worker(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    env = environment(spec["device"])
    Out(spec["rows"], "").emit({"event": "env", **env})
    if spec["device"].startswith("cuda") and not env["cuda_available"]:
        print(
            f"--device {spec['device']}: torch {env['torch']} sees no CUDA device (torch.cuda.is_available() is "
            f"False); use a CUDA build of torch on a GPU machine, or --device cpu",
            file=sys.stderr,
        )
        return 2
    ctx = Context(spec)
    for task in spec["tasks"]:
        out = Out(spec["rows"], task["name"])
        left = spec["deadline"] - time.time()
        if left < task["need"]:
            out.emit({"event": "skip", "reason": f"budget: {left:.0f} s left, {task['need']:.0f} s needed"})
            continue
        out.emit({"event": "start"})
        t0 = time.time()
        kind, _, dtype = task["name"].partition(":")
        try:
            TASKS[kind](ctx, out, dtype, min(spec["deadline"], t0 + task["cap"]))
        # one task's failure is recorded with its traceback; the others still run
        except Exception as exc:
            out.error(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-2500:]}")
        out.emit({"event": "end", "seconds": round(time.time() - t0, 2)})
    return 0


# -- the table -------------------------------------------------------------------------------------------


def _f(value: Any, spec: str = ".1f", suffix: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


def _status(sec: dict[str, Any]) -> str:
    return str(sec.get("status", "not run")) + (f": {sec['reason']}" if sec.get("reason") else "")


def render(doc: dict[str, Any]) -> str:
    """The docs/benchmarks.md table from a results document (complete or partial)."""
    sections: dict[str, Any] = doc.get("sections", {})
    env: dict[str, Any] = doc.get("env", {})
    device = doc.get("device", "cuda")
    lines = (
        ["**Dry run**: tiny shapes on the CPU; this checks the script and measures nothing.", ""]
        if doc.get("dry_run")
        else []
    )
    parity = sections.get("parity", {})
    lines += [
        (f"| class (float32, {device} vs cpu, TF32 off) | max abs diff, every output field | <= {TOLERANCE:g} |"),
        "|---|---:|:---:|",
    ]
    lines += [
        f"| {r['class']} | {r['max_abs_diff']:.1e} | {'yes' if r['pass'] else '**no**'} |"
        for r in parity.get("rows", [])
    ] or [f"| parity {_status(parity)} | — | — |"]
    agreement = sections.get("dtype_agreement", {})
    rows = agreement.get("rows", [])
    lines += [
        "",
        "Fill-mask top-1 agreement with float32, shipped model on "
        + device
        + ": "
        + (
            ", ".join(f"{r['dtype']} {r['top1_agreement_with_float32']:.1%}" for r in rows)
            + f" of {rows[0]['masks']} masked sentences."
            if rows
            else _status(agreement) + "."
        ),
        "",
    ]
    lines += [
        (
            "| shape (dtype) | albert_model ms | compiled ms (compile s) | transformers sdpa ms | sequences/s "
            "(ours / transformers) | speed vs transformers (eager / compiled) | peak MB (ours / compiled / "
            "transformers) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for dtype in DTYPES:
        thr, comp = sections.get(f"throughput:{dtype}", {}), sections.get(f"compile:{dtype}", {})
        compiled = {r["shape"]: r for r in comp.get("rows", [])}
        if not thr.get("rows"):
            lines.append(f"| {dtype}: {_status(thr)} | — | — | — | — | — | — |")
        for r in thr.get("rows", []):
            ours, ref = r["albert_model"], r["transformers"]
            c = compiled.get(r["shape"], {})
            cm = c.get("albert_model_compiled", {})
            c_cell = (
                f"{cm['ms']:.2f} ({c['compile_s']:.0f})"
                if cm
                else ("skipped" if c.get("skipped") else comp.get("status", "not run"))
            )
            c_speed = f"{ref['ms'] / cm['ms']:.2f}x" if cm else "—"
            lines.append(
                f"| {r['shape']} ({dtype}) | {ours['ms']:.2f} | {c_cell} | {ref['ms']:.2f} | "
                f"{ours['sequences_per_s']:.0f} / {ref['sequences_per_s']:.0f} | "
                f"{r['speedup_vs_transformers']:.2f}x / {c_speed} | {_f(ours['peak_mb'], '.0f')} / "
                f"{_f(cm.get('peak_mb'), '.0f')} / {_f(ref['peak_mb'], '.0f')} |"
            )
    lines += [
        "",
        (
            "| shape (dtype), real tokens / positions | padded ms | varlen ms | transformers sdpa ms | varlen "
            "speed vs padded / vs transformers | peak MB (padded / varlen) | max abs diff varlen vs padded |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for dtype in HALF_DTYPES:
        sec = sections.get(f"varlen:{dtype}", {})
        lines += [
            f"| {r['shape']} ({dtype}{'' if r['flash_varlen_kernel'] else ', no varlen kernel'}), "
            f"{r['tokens']} / {r['positions']} | {r['padded']['ms']:.2f} | {r['varlen']['ms']:.2f} | "
            f"{r['transformers']['ms']:.2f} | {r['varlen_speedup_vs_padded']:.2f}x / "
            f"{r['varlen_speedup_vs_transformers']:.2f}x | {_f(r['padded']['peak_mb'], '.0f')} / "
            f"{_f(r['varlen']['peak_mb'], '.0f')} | {r['max_abs_diff_varlen_vs_padded']:.1e} |"
            for r in sec.get("rows", [])
        ] or [f"| varlen {dtype}: {_status(sec)} | — | — | — | — | — | — |"]
    lines += [
        "",
        (
            "| fill-mask pipeline (top-5, batch 32) | albert_model s | transformers s | sentences/s "
            "(ours / transformers) | speed vs transformers | top-1 agreement |"
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    for dtype in HALF_DTYPES:
        sec = sections.get(f"pipeline:{dtype}", {})
        lines += [
            f"| {r['dtype']}, {r['sentences']} sentences | {r['albert_model_s']:.2f} | {r['transformers_s']:.2f} | "
            f"{r['albert_model_per_s']:.0f} / {r['transformers_per_s']:.0f} | "
            f"{r['speedup_vs_transformers']:.2f}x | {r['top1_agreement']:.1%} |"
            for r in sec.get("rows", [])
        ] or [f"| {dtype}: {_status(sec)} | — | — | — | — | — |"]
    settings_ = doc.get("settings", {})
    notes = [
        (
            f"{env.get('device_name', 'device unknown')}, torch {env.get('torch')}, transformers "
            f"{env.get('transformers')}, same run. Parity and throughput: albert-base-v2 shapes, random weights "
            f"(transformers loads ours from save_pretrained); agreement and pipelines: the shipped model. "
            f"Forward time: median of {settings_.get('repeat')} after {settings_.get('warmup')} warm-up forwards, "
            f"best of {settings_.get('rounds')} alternating rounds; peak MB: the model's weights plus the most "
            f"torch.cuda.max_memory_allocated rose during the timed forwards; float32 without TF32 (PyTorch's "
            f"default); torch.compile backend "
            f"{settings_.get('backend')}, dynamic=False."
        )
    ]
    missing = [f"{name} ({_status(sec)})" for name, sec in sections.items() if sec.get("status") != "ok"]
    if missing:
        notes.append("Not complete: " + "; ".join(missing) + ".")
    return "\n".join([*lines, "", *notes])


def write_readme(table: str) -> bool:
    """Write the table between docs/benchmarks.md's ``bench:gpu`` markers; without them, say so and go on."""
    from bench import _readme

    text = _readme.README.read_text(encoding="utf-8")
    if "<!-- bench:gpu:begin -->" not in text or "<!-- bench:gpu:end -->" not in text:
        print(f"{_readme.README} has no <!-- bench:gpu:begin --> ... <!-- bench:gpu:end --> markers; table not written")
        return False
    _readme.write_table("gpu", table)
    return True


# -- entry point ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gpu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"results JSON (default {DEFAULT_OUT.relative_to(ROOT)}; dry run: {DRY_RUN_OUT.relative_to(ROOT)})",
    )
    parser.add_argument("--device", default=None, help="cuda, cuda:N or cpu (default cuda; dry run: cpu)")
    parser.add_argument("--dry-run", action="store_true", help="tiny shapes on the CPU: checks the script")
    parser.add_argument("--budget-seconds", type=float, default=420.0, help="for everything (default 420)")
    parser.add_argument("--no-compile", action="store_true", help="leave out the torch.compile tasks")
    parser.add_argument("--compile-backend", default=None, help="default inductor (dry run: eager)")
    parser.add_argument(
        "--corpora", default=str(DEFAULT_CORPORA), help="folder of .txt files for the sentences (else built-in ones)"
    )
    parser.add_argument("--write-readme", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument(
        "--from-json", type=Path, default=None, help="render the table of an earlier run's JSON instead of measuring"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device is None:
        args.device = "cpu" if args.dry_run else "cuda"
    if args.device != "cpu" and not (
        args.device == "cuda" or (args.device.startswith("cuda:") and args.device[5:].isdigit())
    ):
        parser.error(f"--device must be cpu, cuda or cuda:N, got {args.device!r}")
    if not args.budget_seconds > 0:
        parser.error(f"--budget-seconds must be > 0, got {args.budget_seconds}")
    if args.write_readme and args.dry_run:
        parser.error("--write-readme with --dry-run would put a dry run's table into docs/benchmarks.md")
    if args.from_json is not None and not args.from_json.is_file():
        parser.error(f"--from-json {args.from_json}: no such file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if args.from_json is not None:
        doc = json.loads(args.from_json.read_text(encoding="utf-8"))
        if doc.get("dry_run") and args.write_readme:
            raise SystemExit(f"{args.from_json} is a dry run; its table does not go into docs/benchmarks.md")
        table = render(doc)
        print(table)
        if args.write_readme:
            write_readme(table)
        return 0
    start = time.time()
    out = args.out or (DRY_RUN_OUT if args.dry_run else DEFAULT_OUT)
    tasks = plan(args.dry_run, not args.no_compile)
    with tempfile.TemporaryDirectory(prefix="albert-gpu-bench-") as tmp:
        base = settings(args, start + args.budget_seconds, str(Path(tmp) / "weights"))
        header = {
            "benchmark": "bench/gpu.py",
            "argv": sys.argv[1:],
            "dry_run": args.dry_run,
            "device": args.device,
            "budget_seconds": args.budget_seconds,
            "tolerance": TOLERANCE,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(start)),
            "settings": {k: v for k, v in base.items() if k not in ("deadline", "weights")},
        }
        recorder = Recorder(out, header, start)
        for task in tasks:
            recorder.section(task["name"])
        recorder.write()
        supervise(tasks, start + args.budget_seconds, spawner(base, Path(tmp)), recorder)
    parity = recorder.doc["sections"]["parity"]
    parity["passed"] = len(parity["rows"]) == len(CLASSES) and all(r["pass"] for r in parity["rows"])
    recorder.doc["finished"] = True
    recorder.doc["table"] = render(recorder.doc)
    recorder.write()
    print(recorder.doc["table"])
    print(
        f"results: {out} ({recorder.doc['elapsed_s']:.0f} s); parity "
        f"{'passed' if parity['passed'] else 'FAILED or incomplete'}"
    )
    if args.write_readme:
        write_readme(recorder.doc["table"])
    return 0 if parity["passed"] or parity["status"] != "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
