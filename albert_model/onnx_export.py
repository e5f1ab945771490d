"""Export any ALBERT class to ONNX (fp32, optionally int8), and the export cache beside a checkpoint.

    from albert_model.onnx_export import export_onnx
    export_onnx("my-albert", "my-albert.onnx", task="fill-mask")            # AlbertForMaskedLM, fp32
    export_onnx(model, "clf-int8.onnx", quantize="int8")                    # a model object, int8 weights

Graphs take ``input_ids``, ``attention_mask`` and ``token_type_ids`` (int64; ``(batch, sequence)``, or
``(batch, choices, sequence)`` for multiple choice) with dynamic batch and sequence axes, and return the
class's output fields under their names (``logits``, ``start_logits``, ...). The two masked-LM classes take
a fourth input, ``masked_index`` (int64, flat indices into ``batch * sequence``), and project only those
positions to the vocabulary, as ``masked_positions=`` does in PyTorch. The file's metadata holds the class
name, ``config.json`` and the head parameters the checkpoint lacked, so it can be used on its own.

The TorchScript exporter (``dynamo=False``) is used: the dynamo exporter needs ``onnxscript`` and gives no
faster graph here; ONNX Runtime fuses the traced graph itself (``ORT_ENABLE_ALL``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from .checkpoint import FINE_TUNE_HINT, MissingHeadError
from .heads import (
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForQuestionAnswering,
    AlbertForSequenceClassification,
    AlbertForTokenClassification,
)
from .modeling import AlbertModel, AlbertPreTrainedModel

__all__ = ["CLASSES", "EXPORT_VERSION", "METADATA_PREFIX", "ONNX_INSTALL", "QUANTIZATIONS", "TASK_CLASSES",
           "cached_export", "export_onnx", "head_error", "input_names", "output_axes", "require_onnx", "resolve_class"]

EXPORT_VERSION = 2  # bump when the graph layout changes: cached exports of older versions are redone
OPSET = 17
METADATA_PREFIX = "albert."
QUANTIZATIONS = (None, "int8")
CLASSES: dict[str, type[AlbertPreTrainedModel]] = {cls.__name__: cls for cls in (
    AlbertModel, AlbertForPreTraining, AlbertForMaskedLM, AlbertForSequenceClassification, AlbertForMultipleChoice,
    AlbertForTokenClassification, AlbertForQuestionAnswering)}
TASK_CLASSES: dict[str, str] = {
    "feature-extraction": "AlbertModel",
    "pretraining": "AlbertForPreTraining",
    "fill-mask": "AlbertForMaskedLM",
    "text-classification": "AlbertForSequenceClassification",
    "sentiment-analysis": "AlbertForSequenceClassification",
    "multiple-choice": "AlbertForMultipleChoice",
    "token-classification": "AlbertForTokenClassification",
    "ner": "AlbertForTokenClassification",
    "question-answering": "AlbertForQuestionAnswering",
}
# Dynamic axes of each output (the rest are fixed by the config: hidden size, labels, vocabulary).
_OUTPUT_AXES: dict[str, dict[int, str]] = {
    "last_hidden_state": {0: "batch", 1: "sequence"},
    "pooler_output": {0: "batch"},
    "prediction_logits": {0: "masked"},
    "sop_logits": {0: "batch"},
    "start_logits": {0: "batch", 1: "sequence"},
    "end_logits": {0: "batch", 1: "sequence"},
}
_LOGITS_AXES: dict[str, dict[int, str]] = {
    "AlbertForMaskedLM": {0: "masked"},
    "AlbertForSequenceClassification": {0: "batch"},
    "AlbertForMultipleChoice": {0: "batch"},
    "AlbertForTokenClassification": {0: "batch", 1: "sequence"},
}
_MASKED = ("AlbertForMaskedLM", "AlbertForPreTraining")
ONNX_INSTALL = "pip install 'albert[onnx]'"


def require_onnx() -> None:
    """Raise ``ImportError`` naming what to install when ``onnx`` or ``onnxruntime`` cannot be imported (they
    are an optional extra: checked here, before any work, rather than failing halfway through an export)."""
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"the ONNX Runtime backend needs {' and '.join(missing)}, which cannot be imported; "
                          f"install with: {ONNX_INSTALL}")


def resolve_class(task: str | type | None, default: str | None = None) -> str:
    """The class name for ``task``: a task name (``"fill-mask"``), a class name, a class, or None (``default``)."""
    if task is None:
        task = default or "AlbertModel"
    if isinstance(task, type):
        task = task.__name__
    if not isinstance(task, str):
        raise TypeError(f"task must be a task name, an ALBERT class or its name, got {type(task).__name__}")
    name = TASK_CLASSES.get(task, task)
    if name not in CLASSES:
        raise ValueError(f"task={task!r} is neither a task ({', '.join(sorted(TASK_CLASSES))}) nor an ALBERT "
                         f"class ({', '.join(CLASSES)})")
    return name


def output_axes(class_name: str, output: str) -> dict[int, str]:
    """The dynamic axes of ``output`` of ``class_name``'s graph."""
    return _LOGITS_AXES[class_name] if output == "logits" else _OUTPUT_AXES[output]


def input_names(class_name: str) -> list[str]:
    names = ["input_ids", "attention_mask", "token_type_ids"]
    return names + ["masked_index"] if class_name in _MASKED else names


class _Graph(nn.Module):
    """What is traced: the model on the three id tensors; masked-LM classes gather ``masked_index`` rows first."""

    def __init__(self, model: AlbertPreTrainedModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor,
                masked_index: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        model = self.model
        if isinstance(model, (AlbertForMaskedLM, AlbertForPreTraining)):
            out = model.albert(input_ids, attention_mask, token_type_ids, return_dict=True)
            hidden = out.last_hidden_state  # (B, T, H)
            picked = hidden.reshape(-1, hidden.shape[-1]).index_select(0, masked_index)  # (N, H)
            logits = model.predictions(picked)  # (N, V)
            if isinstance(model, AlbertForPreTraining):
                return logits, model.sop_classifier(out.pooler_output)
            return (logits,)
        out = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                    return_dict=True)
        return tuple(out.values())


def _sample_inputs(model: AlbertPreTrainedModel) -> tuple[torch.Tensor, ...]:
    """Small inputs with one padded row; their sizes differ so that no axis is mistaken for another."""
    cfg = model.config
    shape: tuple[int, ...] = (2, 3, 7) if isinstance(model, AlbertForMultipleChoice) else (2, 7)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, shape, generator=gen)
    mask = torch.ones(shape, dtype=torch.long)
    mask[0, ..., 4:] = 0
    types = torch.zeros(shape, dtype=torch.long)
    if type(model).__name__ in _MASKED:
        return ids, mask, types, torch.tensor([1, 3, 8, 12])
    return ids, mask, types


@contextmanager
def _quiet() -> Iterator[None]:
    """Tracing warns about Python ints taken from tensors (the input checks): harmless for the graph."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _metadata(model: AlbertPreTrainedModel, missing_head: list[str]) -> dict[str, str]:
    return {f"{METADATA_PREFIX}model_class": type(model).__name__,
            f"{METADATA_PREFIX}config": model.config.to_json_string(),
            f"{METADATA_PREFIX}missing_head": json.dumps(missing_head),
            f"{METADATA_PREFIX}export_version": str(EXPORT_VERSION)}


def _set_metadata(path: str, metadata: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(path)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)


def _trace(model: AlbertPreTrainedModel, path: str) -> None:
    """Export ``model`` (fp32, on CPU) to ``path`` with dynamic batch, sequence and masked axes."""
    name = type(model).__name__
    inputs = _sample_inputs(model)
    with torch.inference_mode():
        sample = _Graph(model)(*inputs)
    outputs = _output_names(model, len(sample))
    seq_axes = {0: "batch", 1: "choices", 2: "sequence"} if name == "AlbertForMultipleChoice" else \
        {0: "batch", 1: "sequence"}
    axes = {n: seq_axes for n in input_names(name)[:3]}
    if name in _MASKED:
        axes["masked_index"] = {0: "masked"}
    axes.update({n: output_axes(name, n) for n in outputs})
    with _quiet(), torch.no_grad():
        torch.onnx.export(_Graph(model), inputs, path, dynamo=False, input_names=input_names(name),
                          output_names=outputs, dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)


def _output_names(model: AlbertPreTrainedModel, count: int) -> list[str]:
    name = type(model).__name__
    if name == "AlbertModel":
        return ["last_hidden_state", "pooler_output"][:count]
    if name == "AlbertForPreTraining":
        return ["prediction_logits", "sop_logits"]
    if name == "AlbertForQuestionAnswering":
        return ["start_logits", "end_logits"]
    return ["logits"]


def _weights_without_identities(proto: Any) -> set[str]:
    """Point every use of a shared weight at the weight itself, and return the weights' names.

    ALBERT runs one layer's weights ``num_hidden_layers`` times; the exporter keeps one copy and feeds the
    later uses through ``Identity`` nodes. ONNX Runtime's quantizer sees those as activations and would leave
    every use but the first in float32 (int8 would then cover 1 of 12 layers of albert-base)."""
    weights = {init.name for init in proto.graph.initializer}
    alias = {node.output[0]: node.input[0] for node in proto.graph.node
             if node.op_type == "Identity" and node.input[0] in weights}
    outputs = {o.name for o in proto.graph.output}
    for node in proto.graph.node:
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
    kept = [n for n in proto.graph.node if not (n.op_type == "Identity" and n.output[0] in alias
                                                 and n.output[0] not in outputs)]
    del proto.graph.node[:]
    proto.graph.node.extend(kept)
    return weights


def _encoder_weight_products(proto: Any, weights: set[str]) -> list[str]:
    """The encoder's matrix products with a weight (query, key, value, dense, ffn, ffn_output at every use,
    and the embedding mapping): nearly all of the compute. Left in float32: the attention products of two
    activations, the embedding tables and the task heads (cheap, and where int8 rounding would flip a close
    top-1 the most)."""
    return [node.name for node in proto.graph.node
            if node.op_type in ("MatMul", "Gemm") and "/encoder/" in node.name and node.input[1] in weights]


def _quantize(source: str, target: str) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    proto = onnx.load(source)
    products = _encoder_weight_products(proto, _weights_without_identities(proto))
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its advice to pre-process is for static (calibrated) quantization
    try:
        with _quiet():
            quantize_dynamic(proto, target, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"],
                             nodes_to_quantize=products)
    finally:
        logging.disable(previous)


def _check_quantize(quantize: Any) -> None:
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be None (float32) or 'int8', got {quantize!r}")


def _load(source: Any, task: str | type | None) -> AlbertPreTrainedModel:
    if isinstance(source, AlbertPreTrainedModel):
        if task is not None and resolve_class(task) != type(source).__name__:
            raise ValueError(f"task={task!r} names {resolve_class(task)}, but the model is a "
                             f"{type(source).__name__}; leave task out to export the model as it is")
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"export_onnx takes a checkpoint directory or an ALBERT model, got {type(source).__name__}")
    directory = os.fspath(source)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"checkpoint directory {directory!r} does not exist")
    name = resolve_class(task, _architecture(directory))
    with warnings.catch_warnings():  # a missing head is recorded in the file's metadata instead
        warnings.simplefilter("ignore")
        return CLASSES[name].from_pretrained(directory, device="cpu", dtype=torch.float32)


def _architecture(directory: str) -> str | None:
    """The class ``config.json`` names in ``architectures``, when it is one of ours."""
    from .config import AlbertConfig

    names = AlbertConfig.from_json(os.path.join(directory, "config.json")).architectures or []
    return names[0] if names and names[0] in CLASSES else None


def _missing_head(model: AlbertPreTrainedModel) -> list[str]:
    report = getattr(model, "load_report", None)
    return list(report.missing_head) if report is not None else []


def export_onnx(model: str | os.PathLike[str] | AlbertPreTrainedModel, output_path: str | os.PathLike[str],
                task: str | type | None = None, quantize: str | None = None) -> str:
    """Export ``model`` (a checkpoint directory or a model object) to ``output_path``; return the path.

    ``task``: a task name (``"fill-mask"``, ``"question-answering"``, ...) or class name choosing the class
    to load from a directory (default: the checkpoint's ``architectures``, else ``AlbertModel``).
    ``quantize="int8"`` quantizes the weights of the matrix products and embeddings to int8 (ONNX
    Runtime's dynamic quantization; activations are quantized per call). The file is written atomically.
    """
    _check_quantize(quantize)
    require_onnx()
    loaded = _load(model, task)
    target = os.fspath(output_path)
    if os.path.isdir(target):
        raise ValueError(f"output_path {target!r} is a directory; give the file to write, such as "
                         f"{os.path.join(target, 'model.onnx')!r}")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the folder of output_path {target!r} does not exist")
    with _scratch(folder) as scratch:
        fp32 = os.path.join(scratch, "model.onnx")
        _write_graph(loaded, fp32, quantize)
        os.replace(_final(fp32, quantize), target)
    return target


def _write_graph(model: AlbertPreTrainedModel, fp32_path: str, quantize: str | None) -> None:
    """The fp32 graph at ``fp32_path`` (and the int8 one at ``_final(fp32_path, "int8")``), with metadata."""
    was_training, device, dtype = model.training, model.device, model.dtype
    implementation = model.attn_implementation
    model.to(device="cpu", dtype=torch.float32).eval()
    model.set_attn_implementation("sdpa")  # the graph is traced: packing ("varlen") depends on the mask's values
    try:
        _trace(model, fp32_path)
    finally:
        model.to(device=device, dtype=dtype).train(was_training)
        model.set_attn_implementation(implementation)
    metadata = _metadata(model, _missing_head(model))
    _set_metadata(fp32_path, metadata)
    if quantize == "int8":
        int8 = _final(fp32_path, quantize)
        _quantize(fp32_path, int8)
        _set_metadata(int8, {**metadata, f"{METADATA_PREFIX}quantize": "int8"})


def _final(fp32_path: str, quantize: str | None) -> str:
    return fp32_path if quantize is None else fp32_path[: -len(".onnx")] + f".{quantize}.onnx"


@contextmanager
def _scratch(folder: str) -> Iterator[str]:
    """A temporary folder inside ``folder`` (same file system, so ``os.replace`` out of it is atomic)."""
    with tempfile.TemporaryDirectory(prefix=".onnx-export-", dir=folder) as scratch:
        yield scratch


# -- the cache beside a checkpoint ------------------------------------------------------------------
def _weight_files(directory: str) -> list[str]:
    """``config.json`` and every weight file (shards and indexes included) of a checkpoint directory."""
    names = sorted(n for n in os.listdir(directory)
                   if n == "config.json" or (n.startswith(("model", "pytorch_model"))
                                             and n.endswith((".safetensors", ".bin", ".index.json"))))
    return [os.path.join(directory, n) for n in names]


def _stats(files: list[str]) -> list[list[Any]]:
    return [[os.path.basename(f), os.stat(f).st_size, os.stat(f).st_mtime_ns] for f in files]


def _sha256(files: list[str]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _cache_folder(directory: str, files: list[str]) -> str:
    """``DIR/onnx``, or a per-checkpoint folder of the user's cache (named by the weights' sha256) when
    ``DIR`` cannot be written."""
    beside = os.path.join(directory, "onnx")
    try:
        os.makedirs(beside, exist_ok=True)
        with tempfile.TemporaryFile(dir=beside):
            pass
        return beside
    except OSError:
        root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        fallback = os.path.join(root, "albert", "onnx", _sha256(files)[:32])
        os.makedirs(fallback, exist_ok=True)
        return fallback


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None  # absent or torn: the export is redone
    return data if isinstance(data, dict) else None


def _write_json(path: str, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def cached_export(directory: str | os.PathLike[str], task: str | type | None = None, quantize: str | None = None,
                  cache_dir: str | os.PathLike[str] | None = None, *, require_head: bool = False) -> str:
    """The path of ``directory``'s ONNX export for ``task``, exported on first use.

    Exports live in ``DIR/onnx/<Class>[.int8].onnx`` (or ``cache_dir``; or the user's cache when ``DIR`` is
    read-only), each with a ``.json`` record of the checkpoint files it came from (sizes, modification
    times, sha256) and the export version. A record whose sizes and times match is trusted; otherwise the
    files are hashed, and the export is redone only when their content changed. Files are written to
    temporary names and renamed, the record last, so a crash or a concurrent export never leaves a
    half-written graph under the final name.

    ``require_head=True`` raises :class:`~albert_model.checkpoint.MissingHeadError` when the class's task head
    is not in the checkpoint, before anything is exported (pipelines ask for it: they refuse such a graph).
    """
    _check_quantize(quantize)
    require_onnx()
    source = os.fspath(directory)
    if not os.path.isdir(source):
        raise FileNotFoundError(f"checkpoint directory {source!r} does not exist")
    files = _weight_files(source)
    if not any(os.path.basename(f) != "config.json" for f in files):
        raise FileNotFoundError(f"{source!r} holds no model weights (model.safetensors, pytorch_model.bin or "
                                f"their sharded index)")
    name = resolve_class(task, _architecture(source))
    stats = _stats(files)
    sha: str | None = None
    if cache_dir is None:
        folder = _cache_folder(source, files)
    else:
        folder = os.fspath(cache_dir)
        os.makedirs(folder, exist_ok=True)
    stem = os.path.join(folder, name if quantize is None else f"{name}.{quantize}")
    graph, record_path = stem + ".onnx", stem + ".json"
    record = _read_json(record_path)
    if record is not None and record.get("export_version") == EXPORT_VERSION and os.path.isfile(graph):
        fresh = record.get("files") == stats
        if not fresh:
            sha = _sha256(files)
            fresh = record.get("sha256") == sha
            if fresh:
                _write_json(record_path, {**record, "files": stats})  # same content, touched: trust the new times
        if fresh:
            if require_head and record.get("missing_head"):
                raise MissingHeadError(head_error(name, source, list(record["missing_head"])))
            return graph
    sha = sha or _sha256(files)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing head is recorded in the graph's metadata
        model = CLASSES[name].from_pretrained(source, device="cpu", dtype=torch.float32)
    if require_head and _missing_head(model):
        raise MissingHeadError(head_error(name, source, _missing_head(model)))
    with _scratch(folder) as scratch:
        fp32 = os.path.join(scratch, "model.onnx")
        _write_graph(model, fp32, quantize)
        os.replace(_final(fp32, quantize), graph)
    _write_json(record_path, {"export_version": EXPORT_VERSION, "files": stats, "sha256": sha, "model_class": name,
                              "quantize": quantize, "torch": torch.__version__,
                              "missing_head": _missing_head(model)})
    return graph


def head_error(class_name: str, source: str, missing_head: list[str]) -> str:
    """The message for a checkpoint (or a graph exported from one) whose task head would be random."""
    return (f"{class_name} from {source} has no trained weights for its task head ({', '.join(missing_head)}): "
            f"its predictions would be noise; {FINE_TUNE_HINT}")
