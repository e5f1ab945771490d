"""``OnnxAlbertModel``: an exported ALBERT graph run by ONNX Runtime, called like the PyTorch class.

    from albert_model.onnx_runtime import OnnxAlbertModel
    model = OnnxAlbertModel.from_pretrained("my-albert", "fill-mask")   # exported into my-albert/onnx/ once
    model = OnnxAlbertModel.from_onnx("my-albert.onnx")                # or a file written by export_onnx
    out = model(input_ids=ids, attention_mask=mask, masked_positions=ids == 4)
    out.logits                                                         # a torch.Tensor, as from the torch class

Inputs are torch tensors or numpy arrays; outputs are the torch class's ``ModelOutput`` with CPU float32
torch tensors (shared with ONNX Runtime's buffers, no copy), so code written for the torch classes runs
unchanged. What the graph does not compute is refused: ``labels`` (losses), ``output_attentions``,
``output_hidden_states``, ``position_ids`` and ``inputs_embeds``. The session runs with 2 intra-op threads
(``threads=``; they sleep when idle rather than spin) and ``ORT_ENABLE_ALL`` graph optimisations, on CPU
(or CUDA when ONNX Runtime has it).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch

from .config import AlbertConfig
from .onnx_export import (
    METADATA_PREFIX,
    cached_export,
    head_error,
    input_names,
    require_onnx,
    resolve_class,
)
from .outputs import (
    AlbertForPreTrainingOutput,
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

__all__ = ["DEFAULT_THREADS", "OnnxAlbertModel", "load", "session_options"]

DEFAULT_THREADS = 2
_OUTPUTS: dict[str, type[ModelOutput]] = {
    "AlbertModel": BaseModelOutputWithPooling,
    "AlbertForPreTraining": AlbertForPreTrainingOutput,
    "AlbertForMaskedLM": MaskedLMOutput,
    "AlbertForSequenceClassification": SequenceClassifierOutput,
    "AlbertForMultipleChoice": MultipleChoiceModelOutput,
    "AlbertForTokenClassification": TokenClassifierOutput,
    "AlbertForQuestionAnswering": QuestionAnsweringModelOutput,
}
_UNSUPPORTED = ("position_ids", "inputs_embeds", "labels", "start_positions", "end_positions",
                "sentence_order_label")


def session_options(threads: int = DEFAULT_THREADS) -> Any:
    """ONNX Runtime session options: ``threads`` intra-op threads that sleep rather than spin when idle, all
    graph optimisations.

    Spinning is off because pipelines and servers share their cores (with tokenization, other requests,
    other processes): measured here on a loaded 2-core machine, spinning threads made a b1·L16 forward 1.7-2x
    slower (their spinning takes the cores the running threads need), and b8·L128 no faster. The wake-up
    it saves is microseconds against forwards of milliseconds."""
    import onnxruntime as ort

    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def _providers(device: Any) -> list[str]:
    """ONNX Runtime execution providers for ``device`` (a torch.device, already validated)."""
    import onnxruntime as ort

    if device is None or torch.device(device).type == "cpu":
        return ["CPUExecutionProvider"]
    if torch.device(device).type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ValueError(f"device={device!r} needs ONNX Runtime's CUDA provider, which this onnxruntime lacks "
                             f"(available: {', '.join(ort.get_available_providers())}); install onnxruntime-gpu "
                             f"or use device='cpu'")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    raise ValueError(f"the onnxruntime backend runs on 'cpu' or 'cuda', got device={device!r}")


def _as_int64(name: str, value: Any) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() or value.is_complex():
            raise TypeError(f"{name} must hold integers, got dtype {value.dtype}")
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


class OnnxAlbertModel:
    """An exported ALBERT class run by ONNX Runtime. ``config``, ``model_class`` (the exported class's
    name) and ``missing_head`` (head parameters the checkpoint lacked: predictions are noise when not
    empty) come from the file's metadata."""

    def __init__(self, path: str | os.PathLike[str], *, threads: int = DEFAULT_THREADS,
                 device: str | torch.device | None = None) -> None:
        require_onnx()
        import onnxruntime as ort

        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"ONNX file {self.path!r} does not exist")
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

        try:
            self.session = ort.InferenceSession(self.path, session_options(threads), providers=_providers(device))
        except (ort_errors.Fail, ort_errors.InvalidGraph, ort_errors.InvalidProtobuf) as exc:
            raise ValueError(f"{self.path} is not an ONNX model ONNX Runtime can load: {exc}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if f"{METADATA_PREFIX}model_class" not in meta:
            raise ValueError(f"{self.path} was not written by albert_model.onnx_export.export_onnx (its metadata "
                             f"lacks {METADATA_PREFIX}model_class)")
        self.model_class: str = meta[f"{METADATA_PREFIX}model_class"]
        self.config = AlbertConfig.from_dict(json.loads(meta[f"{METADATA_PREFIX}config"]))
        self.missing_head: list[str] = json.loads(meta.get(f"{METADATA_PREFIX}missing_head", "[]"))
        self.quantize: str | None = meta.get(f"{METADATA_PREFIX}quantize")
        self._inputs = input_names(self.model_class)
        self._outputs = [o.name for o in self.session.get_outputs()]
        self.device = torch.device("cpu")  # where inputs are read from and outputs land, whatever the provider

    @classmethod
    def from_onnx(cls, path: str | os.PathLike[str], *, threads: int = DEFAULT_THREADS,
                  device: str | torch.device | None = None) -> OnnxAlbertModel:
        """Open a file written by :func:`~albert_model.onnx_export.export_onnx`."""
        return cls(path, threads=threads, device=device)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], task: str | type | None = None, *,
                        quantize: str | None = None, cache_dir: str | os.PathLike[str] | None = None,
                        threads: int = DEFAULT_THREADS, device: str | torch.device | None = None) -> OnnxAlbertModel:
        """The checkpoint directory's class for ``task`` (a task name, class or class name; default: the
        checkpoint's ``architectures``), exported into ``DIR/onnx/`` on first use and reused while the
        weights are unchanged (see :func:`~albert_model.onnx_export.cached_export`)."""
        return cls(cached_export(directory, task, quantize, cache_dir), threads=threads, device=device)

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    @property
    def head_missing(self) -> bool:
        return bool(self.missing_head)

    def require_head(self) -> None:
        """Raise :class:`~albert_model.checkpoint.MissingHeadError` if the task head was initialised at random."""
        from .checkpoint import MissingHeadError

        if self.missing_head:
            raise MissingHeadError(head_error(self.model_class, self.path, self.missing_head))

    def eval(self) -> OnnxAlbertModel:
        return self  # inference only; here so that code calling model.eval() runs unchanged

    def __repr__(self) -> str:
        quant = f", quantize={self.quantize!r}" if self.quantize else ""
        return f"OnnxAlbertModel({self.model_class}, {self.path!r}{quant})"

    def __call__(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                 position_ids: Any = None, inputs_embeds: Any = None, *, masked_positions: Any = None,
                 return_dict: bool | None = None, output_attentions: bool | None = None,
                 output_hidden_states: bool | None = None, **unsupported: Any) -> Any:
        """The torch class's forward on the graph: same arguments (the first five positional, as there), same
        output class (torch tensors)."""
        given = {"position_ids": position_ids, "inputs_embeds": inputs_embeds, **unsupported}
        for name, value in given.items():
            if name not in _UNSUPPORTED:
                raise TypeError(f"{self.model_class} (onnxruntime) got an unexpected keyword argument {name!r}")
            if value is not None:
                raise ValueError(f"{name}= is not supported by the onnxruntime backend (the graph computes "
                                 f"predictions only); use the torch model for it")
        if output_attentions or output_hidden_states:
            raise ValueError("output_attentions/output_hidden_states are not supported by the onnxruntime "
                             "backend; use the torch model for them")
        feed = self._feed(input_ids, attention_mask, token_type_ids, masked_positions)
        values = self.session.run(self._outputs, feed)
        fields = {name: torch.from_numpy(v) for name, v in zip(self._outputs, values)}
        if masked_positions is None and self.model_class in ("AlbertForMaskedLM", "AlbertForPreTraining"):
            name = "logits" if self.model_class == "AlbertForMaskedLM" else "prediction_logits"
            fields[name] = fields[name].view(*feed["input_ids"].shape, -1)  # every position: (B, T, V)
        output = _OUTPUTS[self.model_class](**fields)
        if return_dict is False or (return_dict is None and not self.config.return_dict):
            return output.to_tuple()
        return output

    forward = __call__

    def _feed(self, input_ids: Any, attention_mask: Any, token_type_ids: Any,
              masked_positions: Any) -> dict[str, np.ndarray]:
        cfg = self.config
        ids = _as_int64("input_ids", input_ids)
        if ids is None:
            raise ValueError("input_ids is required (inputs_embeds is not supported by the onnxruntime backend)")
        rank = 3 if self.model_class == "AlbertForMultipleChoice" else 2
        if ids.ndim != rank:
            wanted = "(batch, num_choices, sequence)" if rank == 3 else "(batch, sequence)"
            raise ValueError(f"input_ids must have shape {wanted}, got {ids.shape}")
        if ids.shape[-1] > cfg.max_position_embeddings:
            raise ValueError(f"sequence length {ids.shape[-1]} exceeds max_position_embeddings "
                             f"({cfg.max_position_embeddings}); truncate the input (e.g. truncation=True)")
        feed = {"input_ids": ids}
        for name, value, upper, default in (("attention_mask", attention_mask, None, 1),
                                            ("token_type_ids", token_type_ids, cfg.type_vocab_size, 0)):
            array = _as_int64(name, value)
            if array is None:
                array = np.full(ids.shape, default, dtype=np.int64)
            elif array.shape != ids.shape:
                raise ValueError(f"{name} has shape {array.shape} but input_ids has shape {ids.shape}; they must match")
            feed[name] = np.ascontiguousarray(array)
            if upper is not None:
                _check_range(name, array, upper)
        _check_range("input_ids", ids, cfg.vocab_size)
        feed["input_ids"] = np.ascontiguousarray(ids)
        if "masked_index" in self._inputs:
            if masked_positions is None:
                feed["masked_index"] = np.arange(ids.size, dtype=np.int64)
            else:
                where = masked_positions.detach().cpu().numpy() if isinstance(masked_positions, torch.Tensor) \
                    else np.asarray(masked_positions)
                if where.dtype != np.bool_ or where.shape != ids.shape:
                    raise ValueError(f"masked_positions must be a bool tensor of shape {tuple(ids.shape)}, got "
                                     f"{where.dtype} {tuple(where.shape)}")
                feed["masked_index"] = np.flatnonzero(where).astype(np.int64)
        elif masked_positions is not None:
            raise TypeError(f"masked_positions= is for the masked-LM classes, not {self.model_class}")
        return feed


def _check_range(name: str, array: np.ndarray, upper: int) -> None:
    if array.size:
        lo, hi = int(array.min()), int(array.max())
        if lo < 0 or hi >= upper:
            raise ValueError(f"{name} holds values in [{lo}, {hi}] but must be in [0, {upper - 1}]")


def load(path_or_directory: str | os.PathLike[str], task: str | type | None, *, quantize: str | None = None,
         threads: int = DEFAULT_THREADS, device: str | torch.device | None = None,
         require_head: bool = False) -> OnnxAlbertModel:
    """An ``.onnx`` file as it is, or a checkpoint directory's cached export for ``task``. ``require_head``:
    raise :class:`~albert_model.checkpoint.MissingHeadError` for a task head the checkpoint lacked (checked
    before exporting a directory)."""
    require_onnx()
    path = os.fspath(path_or_directory)
    if not os.path.isfile(path):
        _providers(device)  # a device ONNX Runtime cannot use is refused before exporting
        return OnnxAlbertModel(cached_export(path, task, quantize, require_head=require_head), threads=threads,
                               device=device)
    model = OnnxAlbertModel.from_onnx(path, threads=threads, device=device)
    if quantize not in (None, model.quantize):
        raise ValueError(f"{path} is a {model.quantize or 'float32'} graph; quantize={quantize!r} applies to "
                         f"exports from a checkpoint directory (or export_onnx(..., quantize=...))")
    if task is not None and model.model_class != resolve_class(task):
        raise ValueError(f"{path} holds an exported {model.model_class}, but {resolve_class(task)} is needed; "
                         f"export it with export_onnx(DIR, OUT, task={task!r})")
    if require_head:
        model.require_head()
    return model
