"""Export any ALBERT class to ONNX (fp32, optionally int8), and the export cache beside a checkpoint.

    from albert_model.onnx._export import export_onnx
    export_onnx("my-albert", "my-albert.onnx", task="fill-mask")            # AlbertForMaskedLM, fp32
    export_onnx(model, "clf-int8.onnx", quantize="int8")                    # a model object, int8 weights

Graphs take ``input_ids``, ``attention_mask`` and ``token_type_ids`` (int64; ``(batch, sequence)``, or
``(batch, choices, sequence)`` for multiple choice) with dynamic batch and sequence axes, and return the
class's output fields under their names (``logits``, ``start_logits``, ...). The two masked-LM classes take
a fourth input, ``masked_index`` (int64, flat indices into ``batch * sequence``), and project only those
positions to the vocabulary, as ``masked_positions=`` does in PyTorch. The file's metadata holds the class
name, ``config.json`` and the head parameters the checkpoint lacked, so it can be used on its own; a graph
of the cache beside a checkpoint (:func:`cached_export`) also holds the sha256 of the checkpoint content it
was exported from (``albert.checkpoint_sha256``).

The TorchScript exporter (``dynamo=False``) is used: the dynamo exporter needs ``onnxscript`` and gives no
faster graph here; ONNX Runtime fuses the traced graph itself (``ORT_ENABLE_ALL``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import secrets
import shutil
import stat
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from albert_model._config import CONFIG_NAME
from albert_model._tasks import TASK_TABLE
from albert_model.checkpoints import FINE_TUNE_HINT, MissingHeadError, resolve_inside, weight_file
from albert_model.modeling import (
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertPreTrainedModel,
)
from albert_tok.api import MODEL_INPUT_NAMES
from albert_tok.io import (
    NotARegularFileError,
    atomic,
    hub_snapshot,
    read_json,
    regular_file,
    resolve_directory,
    sha256_of,
)

__all__ = [
    "CLASSES",
    "EXPORT_VERSION",
    "METADATA_PREFIX",
    "ONNX_INSTALL",
    "QUANTIZATIONS",
    "TASK_CLASSES",
    "cached_export",
    "export_onnx",
    "head_error",
    "input_names",
    "output_axes",
    "require_onnx",
    "resolve_class",
]

EXPORT_VERSION = 3  # bump when the graph layout changes: cached exports of older versions are redone
OPSET = 17
METADATA_PREFIX = "albert."
QUANTIZATIONS = (None, "int8")
CLASSES: dict[str, type[AlbertPreTrainedModel]] = {row.model_class: row.load_model_class() for row in TASK_TABLE}
"""The classes that export, by name: every class of :data:`albert_model._tasks.TASK_TABLE`."""
TASK_CLASSES: dict[str, str] = {name: row.model_class for row in TASK_TABLE for name in row.names}
"""Each task name and alias ``task=`` accepts, and the class it exports."""
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
        raise ImportError(
            f"the ONNX Runtime backend needs {' and '.join(missing)}, which cannot be imported; "
            f"install with: {ONNX_INSTALL}"
        )


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
        raise ValueError(
            f"task={task!r} is neither a task ({', '.join(sorted(TASK_CLASSES))}) nor an ALBERT "
            f"class ({', '.join(CLASSES)})"
        )
    return name


def output_axes(class_name: str, output: str) -> dict[int, str]:
    """The dynamic axes of ``output`` of ``class_name``'s graph."""
    return _LOGITS_AXES[class_name] if output == "logits" else _OUTPUT_AXES[output]


def input_names(class_name: str) -> list[str]:
    """The graph's inputs: :data:`~albert_tok.api._encoding.MODEL_INPUT_NAMES` in the order the traced
    ``_Graph.forward`` takes them (the order of every file exported so far), then ``masked_index`` for the
    masked-LM classes."""
    return [*_GRAPH_INPUTS, "masked_index"] if class_name in _MASKED else list(_GRAPH_INPUTS)


class _Graph(nn.Module):
    """What is traced: the model on the three id tensors; masked-LM classes gather ``masked_index`` rows first."""

    def __init__(self, model: AlbertPreTrainedModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        masked_index: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, ...]:
        model = self.model
        if isinstance(model, (AlbertForMaskedLM, AlbertForPreTraining)):
            out = model.albert(input_ids, attention_mask, token_type_ids, return_dict=True)
            hidden = out.last_hidden_state  # (B, T, H)
            picked = hidden.reshape(-1, hidden.shape[-1]).index_select(0, masked_index)  # (N, H)
            logits = model.predictions(picked)  # (N, V)
            if isinstance(model, AlbertForPreTraining):
                return logits, model.sop_classifier(out.pooler_output)
            return (logits,)
        out = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True)
        return tuple(out.values())


_GRAPH_INPUTS = [name for name in inspect.signature(_Graph.forward).parameters if name in MODEL_INPUT_NAMES]


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
    return {
        f"{METADATA_PREFIX}model_class": type(model).__name__,
        f"{METADATA_PREFIX}config": model.config.to_json_string(),
        f"{METADATA_PREFIX}missing_head": json.dumps(missing_head),
        f"{METADATA_PREFIX}export_version": str(EXPORT_VERSION),
    }


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
    seq_axes = (
        {0: "batch", 1: "choices", 2: "sequence"} if name == "AlbertForMultipleChoice" else {0: "batch", 1: "sequence"}
    )
    axes = {n: seq_axes for n in input_names(name)[:3]}
    if name in _MASKED:
        axes["masked_index"] = {0: "masked"}
    axes.update({n: output_axes(name, n) for n in outputs})
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            _Graph(model),
            inputs,
            path,
            dynamo=False,
            input_names=input_names(name),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )


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
    alias = {
        node.output[0]: node.input[0]
        for node in proto.graph.node
        if node.op_type == "Identity" and node.input[0] in weights
    }
    outputs = {o.name for o in proto.graph.output}
    for node in proto.graph.node:
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
    kept = [
        n
        for n in proto.graph.node
        if not (n.op_type == "Identity" and n.output[0] in alias and n.output[0] not in outputs)
    ]
    del proto.graph.node[:]
    proto.graph.node.extend(kept)
    return weights


def _encoder_weight_products(proto: Any, weights: set[str]) -> list[str]:
    """The encoder's matrix products with a weight (query, key, value, dense, ffn, ffn_output at every use,
    and the embedding mapping): nearly all of the compute. Left in float32: the attention products of two
    activations, the embedding tables and the task heads (cheap, and where int8 rounding would flip a close
    top-1 the most)."""
    return [
        node.name
        for node in proto.graph.node
        if node.op_type in ("MatMul", "Gemm") and "/encoder/" in node.name and node.input[1] in weights
    ]


def _quantize(source: str, target: str) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    proto = onnx.load(source)
    products = _encoder_weight_products(proto, _weights_without_identities(proto))
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # its advice to pre-process is for static (calibrated) quantization
    try:
        with _quiet():
            quantize_dynamic(
                proto,
                target,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul", "Gemm"],
                nodes_to_quantize=products,
            )
    finally:
        logging.disable(previous)


def _check_quantize(quantize: Any) -> None:
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be None (float32) or 'int8', got {quantize!r}")


def _load(source: Any, task: str | type | None) -> AlbertPreTrainedModel:
    if isinstance(source, AlbertPreTrainedModel):
        if task is not None and resolve_class(task) != type(source).__name__:
            raise ValueError(
                f"task={task!r} names {resolve_class(task)}, but the model is a "
                f"{type(source).__name__}; leave task out to export the model as it is"
            )
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"export_onnx takes a checkpoint directory or an ALBERT model, got {type(source).__name__}")
    directory = resolve_directory(source, what="model")  # a repo id: from the Hugging Face cache
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"checkpoint directory {directory!r} does not exist")
    name = resolve_class(task, _architecture(directory))
    with warnings.catch_warnings():  # a missing head is recorded in the file's metadata instead
        warnings.simplefilter("ignore")
        return CLASSES[name].from_pretrained(directory, device="cpu", dtype=torch.float32)


def _architecture(directory: str) -> str | None:
    """The class ``config.json`` names in ``architectures``, when it is one of ours."""
    from albert_model._config import AlbertConfig

    config = resolve_inside(directory, CONFIG_NAME, f"checkpoint directory {directory!r}")  # the loader's rule
    names = AlbertConfig.from_json(config).architectures or []
    return names[0] if names and names[0] in CLASSES else None


def _missing_head(model: AlbertPreTrainedModel) -> list[str]:
    report = getattr(model, "load_report", None)
    return list(report.missing_head) if report is not None else []


def export_onnx(
    model: str | os.PathLike[str] | AlbertPreTrainedModel,
    output_path: str | os.PathLike[str],
    task: str | type | None = None,
    quantize: str | None = None,
) -> str:
    """Export ``model`` (a checkpoint directory or a model object) to ``output_path``; return the path.

    ``task``: a task name (``"fill-mask"``, ``"question-answering"``, ...) or class name choosing the class
    to load from a directory (default: the checkpoint's ``architectures``, else ``AlbertModel``).
    ``quantize="int8"`` quantizes the weights of the encoder's matrix products to int8 (every layer, and the
    projection of the embeddings to the hidden size; ONNX Runtime's dynamic quantization, activations
    quantized per call); the embedding tables, the attention products and the task heads stay float32. The
    file is written atomically.

    The graph is traced on the CPU in float32 with dynamic batch and sequence axes (see the module
    docstring for its inputs and outputs); a model object is put back on its device, dtype, mode and
    attention implementation afterwards. Its metadata holds the class name, ``config.json`` and the head
    parameters the checkpoint lacked, so :class:`OnnxAlbertModel` can open the file on its own; a head
    initialised at random does not stop the export, but pipelines refuse the graph.

    Example:
        >>> from albert_model import DEFAULT_MODEL, OnnxAlbertModel, export_onnx
        >>> path = export_onnx(DEFAULT_MODEL, "fill-mask.onnx", task="fill-mask")  # doctest: +SKIP
        >>> OnnxAlbertModel.from_onnx(path)  # doctest: +SKIP
        OnnxAlbertModel(AlbertForMaskedLM, 'fill-mask.onnx')

    Args:
        model: a checkpoint directory (loaded on the CPU in float32, its head-missing warning silenced), a
            Hugging Face repo id (its snapshot in the standard cache, downloaded when allowed: see
            :func:`albert_tok.io.resolve_directory`) or a model object of any ALBERT class, exported as it is.
        output_path: the ``.onnx`` file to write, replaced if it exists; its folder must exist.
        task: the class to export from a directory: a task name or alias (``"fill-mask"``, ``"ner"``), a
            class name (``"AlbertForMaskedLM"``) or a class. None: the class in the checkpoint's
            ``architectures``, else :class:`AlbertModel`. With a model object, None or the object's own
            class.
        quantize: None (the default) writes float32 weights; ``"int8"`` writes int8 encoder weights (see
            above). Nothing else is accepted.

    Returns:
        ``output_path`` as a string.

    Raises:
        ValueError: ``quantize`` is not None or ``"int8"``, ``task`` names no task or ALBERT class or names
            another class than a model object's, ``output_path`` is a directory, or loading the checkpoint
            fails (a :class:`CheckpointError`, see ``from_pretrained``).
        TypeError: ``model`` is neither a directory path nor an ALBERT model, or ``task`` is of another type.
        FileNotFoundError: the checkpoint directory (when it is no repo id either), or the folder of
            ``output_path``, does not exist.
        ImportError: ``onnx`` or ``onnxruntime`` is not installed (``pip install 'albert[onnx]'``), or ``model``
            is a repo id and huggingface_hub is not (``pip install 'albert[hub]'``).
        OSError: ``model`` is a repo id that cannot be resolved (not in the cache while downloads are off, not
            on the hub, a failed download).
    """
    _check_quantize(quantize)
    require_onnx()
    loaded = _load(model, task)
    target = os.fspath(output_path)
    if os.path.isdir(target):
        raise ValueError(
            f"output_path {target!r} is a directory; give the file to write, such as "
            f"{os.path.join(target, 'model.onnx')!r}"
        )
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the folder of output_path {target!r} does not exist")
    with _scratch(folder) as scratch:
        fp32 = os.path.join(scratch, "model.onnx")
        _write_graph(loaded, fp32, quantize)
        os.replace(_final(fp32, quantize), target)
    return target


def _write_graph(
    model: AlbertPreTrainedModel, fp32_path: str, quantize: str | None, extra: dict[str, str] | None = None
) -> None:
    """The fp32 graph at ``fp32_path`` (and the int8 one at ``_final(fp32_path, "int8")``), with metadata
    (and the ``extra`` entries)."""
    was_training, device, dtype = model.training, model.device, model.dtype
    implementation = model.attn_implementation
    model.to(device="cpu", dtype=torch.float32).eval()
    model.set_attn_implementation("sdpa")  # the graph is traced: packing ("varlen") depends on the mask's values
    try:
        _trace(model, fp32_path)
    finally:
        model.to(device=device, dtype=dtype).train(was_training)
        model.set_attn_implementation(implementation)
    metadata = {**_metadata(model, _missing_head(model)), **(extra or {})}
    _set_metadata(fp32_path, metadata)
    if quantize == "int8":
        int8 = _final(fp32_path, quantize)
        _quantize(fp32_path, int8)
        _set_metadata(int8, {**metadata, f"{METADATA_PREFIX}quantize": "int8"})


def _final(fp32_path: str, quantize: str | None) -> str:
    return fp32_path if quantize is None else fp32_path[: -len(".onnx")] + f".{quantize}.onnx"


# -- the cache beside a checkpoint ------------------------------------------------------------------
# A cached graph is keyed on the content of the checkpoint's files: the sha256 of each, computed once per
# file version and kept in the graph's record with the file's identity (device, inode, size, modification
# and change times). ``cp -p``, ``tar`` and ``unzip`` put an old modification time back, but they cannot set
# the change time, and a file replaced by another has another inode, so any such change is a new version.
# A write within one tick of the file system's clock can leave every time as it was, so a hash taken less
# than _SETTLE_NS after the file last changed is not trusted on its identity: the file is hashed again on its
# next use (git's rule for "racily clean" files).
_SETTLE_NS = 2 * 10**9
_SCRATCH = ".onnx-export-"  # a running (locked) or killed (unlocked) export's folder
_STAGING = ".onnx-staging-"  # a scratch folder between its creation and its lock (mkdir, open, flock, rename)
_STALE_NS = 24 * 3600 * 10**9  # where locks do not work, a scratch folder this old is a killed export's
_KEY_METADATA = f"{METADATA_PREFIX}checkpoint_sha256"


def _now_ns() -> int:
    return time.time_ns()


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _hash_file(path: str, copy_to: str | None = None) -> dict[str, Any]:
    """``{"sha256", "identity", "hashed_at"}`` of the regular file ``path``, read once (and written to
    ``copy_to`` as it is read, so that the copy is exactly the bytes hashed). ``identity`` is None when the
    file changed while it was read: that hash is never trusted on the file's identity."""
    regular_file(path, "file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in meanwhile is refused, not waited on
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise NotARegularFileError(f"file {path!r} is not a regular file: give a file")
        hashed_at = _now_ns()
        with (
            open(fd, "rb", closefd=False) as fh,
            open(copy_to, "xb") if copy_to is not None else contextlib.nullcontext() as out,
        ):
            digest = sha256_of(fh, out)[0]
        after = os.fstat(fd)
    finally:
        os.close(fd)
    steady = _identity(before) == _identity(after)
    return {"sha256": digest, "identity": _identity(after) if steady else None, "hashed_at": hashed_at}


def _trusted(entry: Any, st: os.stat_result) -> bool:
    """Whether the hash in ``entry`` still holds for the file whose status is ``st``: same identity, and the
    file had not changed for _SETTLE_NS when it was hashed."""
    return (
        isinstance(entry, dict)
        and entry.get("identity") == _identity(st)
        and isinstance(entry.get("hashed_at"), int)
        and st.st_ctime_ns + _SETTLE_NS < entry["hashed_at"]
    )


def _current(path: str, entry: Any) -> dict[str, Any] | None:
    """``entry`` when it still holds for the file at ``path``, else the file hashed now; None when ``path``
    is not a regular file (any more)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if _trusted(entry, st):
        return entry
    try:
        return _hash_file(path)
    except (FileNotFoundError, NotARegularFileError):
        return None  # replaced meanwhile


def _checkpoint_key(hashes: dict[str, str]) -> str:
    """The sha256 naming a checkpoint's content: its files' names and sha256s."""
    digest = hashlib.sha256()
    for name in sorted(hashes):
        digest.update(f"{name}\0{hashes[name]}\n".encode())
    return digest.hexdigest()


def _weight_entry(directory: str) -> str:
    """The weight file a load of ``directory`` reads first, refused as the loader refuses it
    (:func:`~albert_model.checkpoints._weight_files.weight_file`)."""
    return weight_file(directory)[0]


def _shards(directory: str, index: str, read_from: str | None = None) -> list[str]:
    """The shard files the index ``directory/index`` names (read from ``read_from``, its copy, if given),
    relative to ``directory``; a name outside it raises. A malformed index gives none: loading the
    checkpoint then says what is wrong with it."""
    where = os.path.join(directory, index)
    try:
        data = read_json(read_from or where, "shard index")
    except (OSError, ValueError):
        return []
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        return []
    names = {name for name in weight_map.values() if isinstance(name, str) and name}
    root = os.path.abspath(directory)
    return sorted(os.path.relpath(resolve_inside(directory, name, where), root) for name in names)


def _checkpoint_files(directory: str) -> list[str]:
    """What a load of ``directory`` reads, relative to it: ``config.json``, the weight file, any shards."""
    entry = _weight_entry(directory)
    shards = _shards(directory, entry) if entry.endswith(".index.json") else []
    return [CONFIG_NAME, entry, *shards]


def _snapshot(source: str, target: str) -> dict[str, dict[str, Any]]:
    """Copy what a load of ``source`` reads into the new folder ``target``, hashing the bytes as they are
    copied; return each file's hash entry. The model is then loaded from the copy, so the graph exported
    and the hashes recorded for it describe the same bytes, whatever happens to ``source`` meanwhile."""
    os.makedirs(target)
    entries: dict[str, dict[str, Any]] = {}
    entry = _weight_entry(source)
    for name in (CONFIG_NAME, entry):
        entries[name] = _hash_file(os.path.join(source, name), os.path.join(target, name))
    if entry.endswith(".index.json"):
        for name in _shards(source, entry, read_from=os.path.join(target, entry)):  # those the copy names
            path = os.path.join(source, name)
            if name not in entries and os.path.isfile(path):  # one missing is named by the loader's error
                os.makedirs(os.path.dirname(os.path.join(target, name)), exist_ok=True)
                entries[name] = _hash_file(path, os.path.join(target, name))
    return entries


def _load_snapshot(name: str, snapshot: str, source: str) -> AlbertPreTrainedModel:
    """Class ``name`` from the copy ``snapshot`` of ``source``; errors name ``source``, not the copy."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a missing head is recorded in the graph's metadata
            return CLASSES[name].from_pretrained(snapshot, device="cpu", dtype=torch.float32)
    except (OSError, ValueError) as exc:
        message = str(exc)
        if snapshot not in message:
            raise
        try:
            renamed = type(exc)(message.replace(snapshot, source))
        except TypeError:  # an exception type that takes other arguments: keep it as it is
            raise exc from None
        raise renamed from None


def _user_cache() -> str:
    """``$XDG_CACHE_HOME/albert/onnx`` (default ``~/.cache/albert/onnx``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "albert", "onnx")


def _cache_folder(directory: str) -> str:
    """``DIR/onnx``, or a folder of the user's cache named by the checkpoint's path when ``DIR`` cannot be
    written (named by path, not content: the record inside says whether the content is still the same).

    A snapshot of the Hugging Face cache is never written into, writable or not: it is shared by every program
    that reads the cache, and a download may replace its files. Its exports go to
    ``$XDG_CACHE_HOME/albert/onnx/hub/models--OWNER--NAME/<commit>[/<subfolder>]``, keyed by the snapshot's
    commit (the record inside still checks the content, as for any directory)."""
    snapshot = hub_snapshot(directory)
    if snapshot is not None:
        repo, commit, subfolder = snapshot
        folder = os.path.join(_user_cache(), "hub", os.path.basename(repo), commit, subfolder)
        os.makedirs(folder, exist_ok=True)
        return folder
    beside = os.path.join(directory, "onnx")
    try:
        os.makedirs(beside, exist_ok=True)
        with tempfile.TemporaryFile(dir=beside):
            pass
        return beside
    except OSError:
        where = hashlib.sha256(os.path.realpath(directory).encode("utf-8", "surrogateescape")).hexdigest()[:32]
        fallback = os.path.join(_user_cache(), where)
        os.makedirs(fallback, exist_ok=True)
        return fallback


def _read_record(path: str) -> dict[str, Any] | None:
    try:
        data = read_json(path, "ONNX cache record")
    except (OSError, ValueError):
        return None  # absent, torn or not a file: the export is redone
    return data if isinstance(data, dict) else None


def _write_record(path: str, data: dict[str, Any]) -> None:
    # atomic.write_file gives the record the mode a new graph file gets (0666 less the umask), so whoever
    # can read the graph can read its record
    atomic.write_file(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def _verified(record: dict[str, Any], source: str, graph: str, record_path: str) -> str | None:
    """The checkpoint key when ``record`` describes the checkpoint's files as they are and the graph on disk;
    None when anything differs. Files hashed again and found unchanged (touched) are recorded anew."""
    files, graph_entry = record.get("files"), record.get("graph")
    if (
        record.get("export_version") != EXPORT_VERSION
        or not isinstance(files, dict)
        or not isinstance(graph_entry, dict)
    ):
        return None
    try:
        names = _checkpoint_files(source)
    except (OSError, ValueError):
        return None  # the export says what is wrong
    if sorted(names) != sorted(files):
        return None
    current: dict[str, dict[str, Any]] = {}
    for name in names:
        entry = _current(os.path.join(source, name), files[name])
        if entry is None or not isinstance(files[name], dict) or entry["sha256"] != files[name].get("sha256"):
            return None
        current[name] = entry
    now = _current(graph, graph_entry)
    if now is None or now["sha256"] != graph_entry.get("sha256"):
        return None
    key = _checkpoint_key({name: entry["sha256"] for name, entry in current.items()})
    if record.get("sha256") != key:
        return None
    if current != files or now != graph_entry:
        _write_record(record_path, {**record, "files": current, "graph": now})
    return key


def cached_export(
    directory: str | os.PathLike[str],
    task: str | type | None = None,
    quantize: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    require_head: bool = False,
) -> str:
    """The path of ``directory``'s ONNX export for ``task``, exported on first use.

    Exports live in ``DIR/onnx/<Class>[.int8].onnx`` (or ``cache_dir``; or the user's cache when ``DIR`` is
    read-only; for a Hugging Face cache snapshot, which is never written into,
    ``$XDG_CACHE_HOME/albert/onnx/hub/models--OWNER--NAME/<commit>/``), each with a ``.json`` record of the sha256
    of every checkpoint file it was exported from (``config.json``, the weights, every shard) and of the graph
    itself. A graph is used only while both still hold: each file is hashed once per version (a new inode, size,
    modification or change time is a new version, so ``cp -p``, ``tar`` or ``unzip`` over the weights is seen) and
    the export is redone when the content changed or the graph is not the one recorded. The weights are read once,
    into a copy that is hashed as it is written and exported from, so a checkpoint re-saved during an export is
    never recorded as the graph's source. Files are written to temporary names and renamed, the record last; a
    killed export's scratch folder is removed by the next use of the cache.

    ``require_head=True`` raises :class:`~albert_model.checkpoints._state_dict.MissingHeadError` when the class's
    task head is not in the checkpoint, before anything is exported (pipelines ask for it: they refuse such
    a graph).

    Args:
        directory: the checkpoint directory (``config.json`` and weights), or a Hugging Face repo id (its
            snapshot in the standard cache, downloaded when allowed); a save killed halfway in it is finished or
            undone first, as loading does.
        task: the class to export, as :func:`export_onnx` takes it (a task name or alias, a class name, a
            class); None is the class in the checkpoint's ``architectures``, else :class:`AlbertModel`. Each
            class has its own cached graph.
        quantize: None for the float32 graph, ``"int8"`` for the int8 one (cached apart from each other).
        cache_dir: the folder to keep the graphs and records in instead of ``DIR/onnx/`` (made when
            missing); None uses ``DIR/onnx/``, or ``$XDG_CACHE_HOME/albert/onnx/<hash of the path>`` (default
            ``~/.cache``) when ``DIR`` cannot be written.
        require_head: True refuses a class whose task head the checkpoint lacks; False (the default)
            exports it anyway and records the missing parameters in the graph's metadata.

    Returns:
        The path of the graph, ``<cache folder>/<Class>.onnx`` or ``<Class>.int8.onnx``.

    Raises:
        FileNotFoundError: ``directory`` does not exist (and is no repo id) or has no weight file.
        ValueError: ``quantize`` is not None or ``"int8"``, ``task`` names no task or ALBERT class, or the
            checkpoint cannot be loaded (a :class:`CheckpointError`, naming ``directory``).
        MissingHeadError: ``require_head=True`` and the class's task head is not in the checkpoint.
        ImportError: ``onnx`` or ``onnxruntime`` is not installed, or ``directory`` is a repo id and
            huggingface_hub is not.
        OSError: the cache folder cannot be written, or a repo id cannot be resolved (not in the cache while
            downloads are off, not on the hub, a failed download).
    """
    return _cached_export(directory, task, quantize, cache_dir, require_head=require_head)[0]


def _cached_export(
    directory: str | os.PathLike[str],
    task: str | type | None,
    quantize: str | None,
    cache_dir: str | os.PathLike[str] | None,
    *,
    require_head: bool = False,
) -> tuple[str, str, str]:
    """:func:`cached_export`, returning ``(graph path, checkpoint key, class name)``: the graph's metadata
    holds the key (``albert.checkpoint_sha256``), for a check that the file opened is the one verified."""
    _check_quantize(quantize)
    require_onnx()
    source = resolve_directory(directory, what="model")  # a repo id: its snapshot in the Hugging Face cache
    if not os.path.isdir(source):
        raise FileNotFoundError(f"checkpoint directory {source!r} does not exist")
    atomic.recover(source)  # as the loader does: a save killed halfway is finished or undone before reading
    weight_file(source)  # the loader's rule: missing weights, a link out, a directory, device or FIFO is an error
    name = resolve_class(task, _architecture(source))
    if cache_dir is None:
        folder = _cache_folder(source)
    else:
        folder = os.fspath(cache_dir)
        os.makedirs(folder, exist_ok=True)
    _sweep(folder)
    stem = os.path.join(folder, name if quantize is None else f"{name}.{quantize}")
    graph, record_path = stem + ".onnx", stem + ".json"
    record = _read_record(record_path)
    key = _verified(record, source, graph, record_path) if record is not None else None
    if record is not None and key is not None:
        if require_head and record.get("missing_head"):
            raise MissingHeadError(head_error(name, source, list(record["missing_head"])))
        return graph, key, name
    with _scratch(folder) as scratch:
        snapshot = os.path.join(scratch, "checkpoint")
        files = _snapshot(source, snapshot)
        key = _checkpoint_key({n: entry["sha256"] for n, entry in files.items()})
        model = _load_snapshot(name, snapshot, source)
        missing = _missing_head(model)
        if require_head and missing:
            raise MissingHeadError(head_error(name, source, missing))
        fp32 = os.path.join(scratch, "model.onnx")
        _write_graph(model, fp32, quantize, {_KEY_METADATA: key})
        final = _final(fp32, quantize)
        graph_entry = _hash_file(final)
        os.replace(final, graph)
        graph_entry["identity"] = _renamed_identity(graph, graph_entry["identity"])
        if graph_entry["identity"] is not None:
            # Written and hashed here, in a private scratch folder nobody else writes, so the settle rule (for
            # files others may have written in the same clock tick) does not apply: trusted from the rename on.
            graph_entry["hashed_at"] = graph_entry["identity"][4] + _SETTLE_NS + 1
    _write_record(
        record_path,
        {
            "export_version": EXPORT_VERSION,
            "sha256": key,
            "files": files,
            "graph": graph_entry,
            "model_class": name,
            "quantize": quantize,
            "torch": torch.__version__,
            "missing_head": missing,
        },
    )
    return graph, key, name


def _renamed_identity(path: str, identity: list[int] | None) -> list[int] | None:
    """The identity of the file renamed to ``path`` (a rename changes its change time), or None when the
    file there now is not the one renamed (another process's, renamed after ours)."""
    st = os.stat(path)
    if identity is None or [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns] != identity[:4]:
        return None
    return _identity(st)


# -- scratch folders --------------------------------------------------------------------------------
@contextmanager
def _scratch(folder: str) -> Iterator[str]:
    """A new folder inside ``folder`` for one export (same file system, so ``os.replace`` out of it is
    atomic), removed afterwards. It is locked (``flock``) while the export runs and named as a scratch
    folder only once locked, so when a killed export leaves it behind, :func:`_sweep` (the next export or
    cache check in ``folder``) can tell that nobody holds it and remove it."""
    _sweep(folder)
    staging = _new_folder(folder, _STAGING)
    fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(OSError):  # no locks on this file system: _sweep goes by age instead
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path = os.path.join(folder, _SCRATCH + os.path.basename(staging)[len(_STAGING) :])
        os.rename(staging, path)
        try:
            yield path
        finally:
            with contextlib.suppress(FileNotFoundError):  # gone with a checkpoint directory replaced meanwhile
                shutil.rmtree(path)
    finally:
        os.close(fd)  # the lock is held until the folder is gone


def _new_folder(folder: str, prefix: str) -> str:
    """A new folder ``folder/prefix<random>``, with the mode the umask gives (unlike ``mkdtemp``'s 0700, so
    that the users who share ``folder`` can remove it if its export is killed)."""
    for _ in range(100):
        path = os.path.join(folder, prefix + secrets.token_hex(8))
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"could not make a new scratch folder in {folder!r} (100 names taken)")


def _sweep(folder: str) -> None:
    """Remove the scratch folders killed exports left in ``folder``: those nobody holds the lock of."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        if name.startswith(_SCRATCH):
            _remove_if_abandoned(path)
        elif name.startswith(_STAGING):  # killed between its creation and its lock
            with contextlib.suppress(OSError):
                if time.time_ns() - os.lstat(path).st_mtime_ns > _STALE_NS:
                    shutil.rmtree(path)


def _remove_if_abandoned(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # gone meanwhile, or not a folder
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # an export is running in it
        except OSError:  # no locks on this file system: only an old folder is known to be abandoned
            if time.time_ns() - os.fstat(fd).st_mtime_ns < _STALE_NS:
                return
        # a folder another user's killed export left, which this user may not remove, stays for that user's
        # next use to remove; it is garbage, never read
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(fd)


def head_error(class_name: str, source: str, missing_head: list[str]) -> str:
    """The message for a checkpoint (or a graph exported from one) whose task head would be random."""
    return (
        f"{class_name} from {source} has no trained weights for its task head ({', '.join(missing_head)}): "
        f"its predictions would be noise; {FINE_TUNE_HINT}"
    )
