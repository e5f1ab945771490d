"""``OnnxAlbertModel``: an exported ALBERT graph run by ONNX Runtime, called like the PyTorch class.

    from albert_model.onnx._runtime import OnnxAlbertModel
    model = OnnxAlbertModel.from_pretrained("my-albert", "fill-mask")   # exported into my-albert/onnx/ once
    model = OnnxAlbertModel.from_onnx("my-albert.onnx")                # or a file written by export_onnx
    out = model(input_ids=ids, attention_mask=mask, masked_positions=ids == 4)
    out.logits                                                         # a torch.Tensor, as from the torch class

Inputs are torch tensors or numpy arrays; outputs are the torch class's ``ModelOutput`` with CPU float32
torch tensors (shared with ONNX Runtime's buffers, no copy), so code written for the torch classes runs
unchanged. What the graph does not compute is refused: ``labels`` (losses), ``output_attentions``,
``output_hidden_states``, ``position_ids`` and ``inputs_embeds``. The session runs with 2 intra-op threads
(``threads=``, 1 to :data:`MAX_THREADS`; they sleep when idle rather than spin) and ``ORT_ENABLE_ALL`` graph
optimisations, on CPU (or CUDA when ONNX Runtime has it).

A graph is checked when it is opened, not at its first call: its metadata must name one of the ALBERT
classes, hold a valid ``config.json`` and list its missing head parameters as JSON, and its inputs and
outputs must be that class's. A graph from a checkpoint's export cache must also name the checkpoint
content its record was verified against (``albert.checkpoint_sha256``), or it is exported again.
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

import numpy as np
import torch

from albert_model._config import AlbertConfig
from albert_model.modeling import (
    AlbertForPreTrainingOutput,
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from albert_model.onnx._export import (
    CLASSES,
    METADATA_PREFIX,
    QUANTIZATIONS,
    _cached_export,
    head_error,
    input_names,
    require_onnx,
    resolve_class,
)
from albert_tok.io import load_json, resolve_directory

__all__ = ["DEFAULT_THREADS", "MAX_THREADS", "OnnxAlbertModel", "load", "session_options"]

DEFAULT_THREADS = 2
# ONNX Runtime starts every thread it is asked for when a session opens: 100000 of them never finished
# starting. One forward gains nothing from more threads than cores; 256 covers the largest CPUs.
MAX_THREADS = 256
_OUTPUTS: dict[str, type[ModelOutput]] = {
    "AlbertModel": BaseModelOutputWithPooling,
    "AlbertForPreTraining": AlbertForPreTrainingOutput,
    "AlbertForMaskedLM": MaskedLMOutput,
    "AlbertForSequenceClassification": SequenceClassifierOutput,
    "AlbertForMultipleChoice": MultipleChoiceModelOutput,
    "AlbertForTokenClassification": TokenClassifierOutput,
    "AlbertForQuestionAnswering": QuestionAnsweringModelOutput,
}
_UNSUPPORTED = ("position_ids", "inputs_embeds", "labels", "start_positions", "end_positions", "sentence_order_label")


def session_options(threads: int = DEFAULT_THREADS) -> Any:
    """ONNX Runtime session options: ``threads`` intra-op threads that sleep rather than spin when idle, all
    graph optimisations.

    Spinning is off because pipelines and servers share their cores (with tokenization, other requests,
    other processes): an idle thread that spins keeps a core busy that a running thread needs, so on a loaded
    machine spinning slows small forwards down and does not speed up large ones. All it saves is a sleeping
    thread's wake-up, which is small against a forward pass.

    Args:
        threads: intra-op threads, an int from 1 to :data:`MAX_THREADS`.

    Returns:
        A new ``onnxruntime.SessionOptions``.

    Raises:
        ValueError: ``threads`` is not an int in that range.
    """
    import onnxruntime as ort

    _check_threads(threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def _check_threads(threads: Any) -> None:
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= MAX_THREADS:
        raise ValueError(
            f"threads must be an int from 1 to {MAX_THREADS}, got {threads!r}: the ONNX Runtime "
            f"threads one forward runs on (default {DEFAULT_THREADS}); more than this machine's "
            f"{os.cpu_count()} cores only slows it down"
        )


def _providers(device: Any) -> list[str]:
    """ONNX Runtime execution providers for ``device`` (a torch.device, already validated)."""
    import onnxruntime as ort

    if device is None or torch.device(device).type == "cpu":
        return ["CPUExecutionProvider"]
    if torch.device(device).type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ValueError(
                f"device={device!r} needs ONNX Runtime's CUDA provider, which this onnxruntime lacks "
                f"(available: {', '.join(ort.get_available_providers())}); install onnxruntime-gpu "
                f"or use device='cpu'"
            )
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
    name), ``missing_head`` (head parameters the checkpoint lacked: predictions are noise when not
    empty), ``quantize`` and ``checkpoint_sha256`` (the checkpoint content a cached export came from; None
    for a file from :func:`~albert_model.onnx._export.export_onnx`) come from the file's metadata.

    Open a graph with :meth:`from_onnx` (a file) or :meth:`from_pretrained` (a checkpoint directory, exported
    on first use); the constructor is :meth:`from_onnx`'s. The graph is checked when it is opened (see the
    module docstring). The ``device`` attribute is always the CPU: inputs are read from it and outputs land
    there, whatever provider runs the graph.

    Args:
        path: an ``.onnx`` file written by :func:`~albert_model.onnx._export.export_onnx` or the export cache.
        threads: ONNX Runtime intra-op threads, an int from 1 to :data:`MAX_THREADS` (default 2); they sleep
            when idle rather than spin. More than the machine's cores only slows a forward down.
        device: where ONNX Runtime runs the graph: None or ``"cpu"`` (a ``torch.device`` too) for the CPU,
            ``"cuda"``/``"cuda:N"`` for ONNX Runtime's CUDA provider (with the CPU as fallback), which needs
            ``onnxruntime-gpu``.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: ONNX Runtime cannot load the file, its metadata was not written by the export (or names
            no ALBERT class, or holds an invalid config), its inputs or outputs are not those of the class
            it names, ``threads`` is out of range, or ``device`` is not the CPU or an available CUDA provider.
        ImportError: ``onnx`` or ``onnxruntime`` is not installed.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, threads: int = DEFAULT_THREADS, device: str | torch.device | None = None
    ) -> None:
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
        self._read_metadata(self.session.get_modelmeta().custom_metadata_map)
        self._inputs = input_names(self.model_class)
        self._outputs = [o.name for o in self.session.get_outputs()]
        self._check_signature()
        self.device = torch.device("cpu")  # where inputs are read from and outputs land, whatever the provider

    def _read_metadata(self, meta: dict[str, str]) -> None:
        """The class, config, missing head, quantization and checkpoint key from the file's metadata, each
        checked: a file that cannot be run as what it claims is refused here, not at its first call."""

        def entry(name: str) -> str | None:
            return meta.get(f"{METADATA_PREFIX}{name}")

        where = f"{self.path}: metadata {METADATA_PREFIX}"
        model_class = entry("model_class")
        if model_class is None:
            raise ValueError(
                f"{self.path} was not written by albert_model.onnx._export.export_onnx (its metadata "
                f"lacks {METADATA_PREFIX}model_class)"
            )
        if model_class not in CLASSES:
            raise ValueError(
                f"{where}model_class names {model_class!r}, which is not an ALBERT class (one of {', '.join(CLASSES)})"
            )
        self.model_class: str = model_class
        config = entry("config")
        if config is None:
            raise ValueError(f"{self.path}: its metadata lacks {METADATA_PREFIX}config (the model's config.json)")
        try:
            self.config = AlbertConfig.from_dict(load_json(config, f"{where}config"))
        except (TypeError, ValueError) as exc:
            if str(exc).startswith(where):
                raise
            raise ValueError(f"{where}config is not a valid ALBERT config: {exc}") from None
        missing = load_json(entry("missing_head") or "[]", f"{where}missing_head")
        if not isinstance(missing, list) or not all(isinstance(k, str) for k in missing):
            raise ValueError(
                f"{where}missing_head must be a JSON list of parameter names, got {entry('missing_head')!r:.80}"
            )
        self.missing_head: list[str] = missing
        quantize = entry("quantize")
        if quantize not in QUANTIZATIONS:
            raise ValueError(f"{where}quantize is {quantize!r}; accepted: absent or 'int8'")
        self.quantize: str | None = quantize
        self.checkpoint_sha256: str | None = entry("checkpoint_sha256")

    def _check_signature(self) -> None:
        """The graph's inputs and outputs are those of the class its metadata names."""
        got = [i.name for i in self.session.get_inputs()]
        if got != self._inputs:
            raise ValueError(
                f"{self.path}: its inputs are {', '.join(got)}, but an {self.model_class} graph "
                f"takes {', '.join(self._inputs)} (its metadata names the wrong class)"
            )
        allowed = [f.name for f in fields(_OUTPUTS[self.model_class])]  # type: ignore[arg-type]
        if not self._outputs or any(name not in allowed for name in self._outputs):
            raise ValueError(
                f"{self.path}: its outputs are {', '.join(self._outputs) or 'none'}, but an "
                f"{self.model_class} graph returns some of {', '.join(allowed)} (its metadata "
                f"names the wrong class)"
            )

    @classmethod
    def from_onnx(
        cls, path: str | os.PathLike[str], *, threads: int = DEFAULT_THREADS, device: str | torch.device | None = None
    ) -> OnnxAlbertModel:
        """Open a file written by :func:`~albert_model.onnx._export.export_onnx`.

        Args:
            path: the ``.onnx`` file (float32 or int8).
            threads: ONNX Runtime intra-op threads, an int from 1 to :data:`MAX_THREADS` (default 2).
            device: None or ``"cpu"`` for the CPU, ``"cuda"``/``"cuda:N"`` for ONNX Runtime's CUDA provider.

        Returns:
            The opened model; its class, config and missing head come from the file's metadata.

        Raises:
            FileNotFoundError, ValueError, ImportError: as the class documents.
        """
        return cls(path, threads=threads, device=device)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | os.PathLike[str],
        task: str | type | None = None,
        *,
        quantize: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        threads: int = DEFAULT_THREADS,
        device: str | torch.device | None = None,
        revision: str | None = None,
        token: str | bool | None = None,
        local_files_only: bool = False,
        subfolder: str = "",
        force_download: bool = False,
    ) -> OnnxAlbertModel:
        """The checkpoint directory's class for ``task`` (a task name, class or class name; default: the
        checkpoint's ``architectures``), exported into ``DIR/onnx/`` on first use and reused while the
        weights are unchanged (see :func:`~albert_model.onnx._export.cached_export`).

        ``directory`` may be a Hugging Face repo id: its snapshot in the standard cache (downloaded when allowed,
        see :func:`albert_tok.io.resolve_directory`). A snapshot is shared and never written into: its export
        goes to ``$XDG_CACHE_HOME/albert/onnx/hub/models--OWNER--NAME/<commit>/`` (default ``~/.cache``), keyed
        by the snapshot's commit, unless ``cache_dir`` says otherwise. ``cache_dir`` here is where the export is
        kept, as for a directory; the Hugging Face cache read is ``HF_HUB_CACHE``.

        Example:
            >>> from albert_model import DEFAULT_MODEL, OnnxAlbertModel
            >>> model = OnnxAlbertModel.from_pretrained(DEFAULT_MODEL, "fill-mask")  # doctest: +SKIP
            >>> model.model_class  # doctest: +SKIP
            'AlbertForMaskedLM'

        Args:
            directory: the checkpoint directory.
            task: a task name or alias (``"fill-mask"``), a class name or a class; None is the class in the
                checkpoint's ``architectures``, else :class:`AlbertModel`.
            quantize: None for float32 weights, ``"int8"`` for int8 encoder weights.
            cache_dir: where to keep the export instead of ``DIR/onnx/``; None uses ``DIR/onnx/`` (or the user's
                cache when ``DIR`` is read-only).
            threads: ONNX Runtime intra-op threads, an int from 1 to :data:`MAX_THREADS` (default 2).
            device: None or ``"cpu"`` for the CPU, ``"cuda"``/``"cuda:N"`` for ONNX Runtime's CUDA provider.
                ``threads`` and ``device`` are checked before anything is exported.
            revision: with a repo id, the branch, tag or commit to load (None: ``"main"``).
            token: with a repo id, the token for a private or gated repository (None: ``HF_TOKEN`` or the saved
                login; False: none).
            local_files_only: True never downloads (as ``HF_HUB_OFFLINE=1``): a repo id must be in the cache.
            subfolder: the folder of the repository or directory that holds the checkpoint (``""``: the top).
            force_download: True downloads a repo id's files again even when they are cached.

        Returns:
            The opened model. A head the checkpoint lacks is not refused here: see :attr:`head_missing` and
            :meth:`require_head`.

        Raises:
            FileNotFoundError: ``directory`` does not exist (and is no repo id) or has no weights.
            OSError: a repo id not in the cache while downloads are off, not on the hub, or whose download
                failed; or the cached graph kept being replaced by another process while it was opened.
            ValueError: a bad ``task``, ``quantize``, ``threads`` or ``device``, or a checkpoint that cannot be
                loaded.
            ImportError: ``onnx`` or ``onnxruntime`` is not installed, or ``directory`` is a repo id and
                huggingface_hub is not.
        """
        _check_threads(threads)  # a bad thread count or device is refused before anything is downloaded
        _providers(device)
        source = resolve_directory(
            directory,
            what="model",
            revision=revision,
            token=token,
            local_files_only=local_files_only,
            subfolder=subfolder,
            force_download=force_download,
        )
        return _open_cached(source, task, quantize, cache_dir, threads=threads, device=device)

    @property
    def dtype(self) -> torch.dtype:
        """``torch.float32``: the dtype of the outputs, for int8 graphs too."""
        return torch.float32

    @property
    def head_missing(self) -> bool:
        """True when the checkpoint lacked the task head, which the export initialised at random: predictions
        are noise."""
        return bool(self.missing_head)

    def require_head(self) -> None:
        """Raise :class:`~albert_model.checkpoints.MissingHeadError` if the task head was initialised at random.

        Raises:
            MissingHeadError: :attr:`missing_head` is not empty; the message names the class, the file and the
                parameters.
        """
        from albert_model.checkpoints import MissingHeadError

        if self.missing_head:
            raise MissingHeadError(head_error(self.model_class, self.path, self.missing_head))

    def eval(self) -> OnnxAlbertModel:
        """Do nothing: a graph only runs inference. Here so that code calling ``model.eval()`` runs unchanged.

        Returns:
            This model.
        """
        return self  # inference only; here so that code calling model.eval() runs unchanged

    def __repr__(self) -> str:
        quant = f", quantize={self.quantize!r}" if self.quantize else ""
        return f"OnnxAlbertModel({self.model_class}, {self.path!r}{quant})"

    def __call__(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        inputs_embeds: Any = None,
        *,
        masked_positions: Any = None,
        return_dict: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **unsupported: Any,
    ) -> Any:
        """The torch class's forward on the graph: same arguments (the first five positional, as there), same
        output class (torch tensors).

        Args:
            input_ids: token ids, a torch tensor or NumPy array (or nested lists) of integers, shape
                ``(batch, sequence)`` (``(batch, choices, sequence)`` for multiple choice), values in
                ``[0, vocab_size)``, sequence no longer than ``max_position_embeddings``. Required.
            attention_mask: 1 for tokens to attend to, 0 for padding, the shape of ``input_ids``; None attends
                to every token.
            token_type_ids: segment ids in ``[0, type_vocab_size)``, the shape of ``input_ids``; None is all 0.
            position_ids: not supported: anything but None raises ``ValueError``.
            inputs_embeds: not supported: anything but None raises ``ValueError``.
            masked_positions: masked-LM classes only: a bool tensor (or array) of ``input_ids``' shape; the
                vocabulary projection then runs at those positions only and ``logits`` (or
                ``prediction_logits``) is ``(number of True, vocab_size)``. None projects every position,
                ``(batch, sequence, vocab_size)``.
            return_dict: False returns the output's tuple of tensors, True its dataclass; None follows
                ``config.return_dict``.
            output_attentions: the graph does not compute attentions: True raises ``ValueError``.
            output_hidden_states: the graph does not compute hidden states: True raises ``ValueError``.
            **unsupported: the torch class's ``labels``, ``start_positions``, ``end_positions`` and
                ``sentence_order_label`` (losses) are accepted only as None; any other keyword raises
                ``TypeError``.

        Returns:
            The torch class's output dataclass (``MaskedLMOutput``, ``SequenceClassifierOutput``, ...) with
            float32 CPU torch tensors sharing ONNX Runtime's buffers, and no loss, attentions or hidden
            states; its tuple with ``return_dict=False``.

        Raises:
            ValueError: ``input_ids`` missing or of the wrong rank, too long, ids or token types out of range,
                a mask or token types of another shape, ``masked_positions`` not bool or of another shape, or
                an unsupported feature asked for (see above).
            TypeError: ids or masks that do not hold integers, ``masked_positions`` for a class without a
                masked-LM head, or an unknown keyword.
        """
        given = {"position_ids": position_ids, "inputs_embeds": inputs_embeds, **unsupported}
        for name, value in given.items():
            if name not in _UNSUPPORTED:
                raise TypeError(f"{self.model_class} (onnxruntime) got an unexpected keyword argument {name!r}")
            if value is not None:
                raise ValueError(
                    f"{name}= is not supported by the onnxruntime backend (the graph computes "
                    f"predictions only); use the torch model for it"
                )
        if output_attentions or output_hidden_states:
            raise ValueError(
                "output_attentions/output_hidden_states are not supported by the onnxruntime "
                "backend; use the torch model for them"
            )
        feed = self._feed(input_ids, attention_mask, token_type_ids, masked_positions)
        values = self.session.run(self._outputs, feed)
        fields = {name: torch.from_numpy(v) for name, v in zip(self._outputs, values, strict=False)}
        if masked_positions is None and self.model_class in ("AlbertForMaskedLM", "AlbertForPreTraining"):
            name = "logits" if self.model_class == "AlbertForMaskedLM" else "prediction_logits"
            fields[name] = fields[name].view(*feed["input_ids"].shape, -1)  # every position: (B, T, V)
        output = _OUTPUTS[self.model_class](**fields)
        if return_dict is False or (return_dict is None and not self.config.return_dict):
            return output.to_tuple()
        return output

    forward = __call__

    def _feed(
        self, input_ids: Any, attention_mask: Any, token_type_ids: Any, masked_positions: Any
    ) -> dict[str, np.ndarray]:
        cfg = self.config
        ids = _as_int64("input_ids", input_ids)
        if ids is None:
            raise ValueError("input_ids is required (inputs_embeds is not supported by the onnxruntime backend)")
        rank = 3 if self.model_class == "AlbertForMultipleChoice" else 2
        if ids.ndim != rank:
            wanted = "(batch, num_choices, sequence)" if rank == 3 else "(batch, sequence)"
            raise ValueError(f"input_ids must have shape {wanted}, got {ids.shape}")
        if ids.shape[-1] > cfg.max_position_embeddings:
            raise ValueError(
                f"sequence length {ids.shape[-1]} exceeds max_position_embeddings "
                f"({cfg.max_position_embeddings}); truncate the input (e.g. truncation=True)"
            )
        feed = {"input_ids": ids}
        for name, value, upper, default in (
            ("attention_mask", attention_mask, None, 1),
            ("token_type_ids", token_type_ids, cfg.type_vocab_size, 0),
        ):
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
                where = (
                    masked_positions.detach().cpu().numpy()
                    if isinstance(masked_positions, torch.Tensor)
                    else np.asarray(masked_positions)
                )
                if where.dtype != np.bool_ or where.shape != ids.shape:
                    raise ValueError(
                        f"masked_positions must be a bool tensor of shape {tuple(ids.shape)}, got "
                        f"{where.dtype} {tuple(where.shape)}"
                    )
                feed["masked_index"] = np.flatnonzero(where).astype(np.int64)
        elif masked_positions is not None:
            raise TypeError(f"masked_positions= is for the masked-LM classes, not {self.model_class}")
        return feed


def _check_range(name: str, array: np.ndarray, upper: int) -> None:
    if array.size:
        lo, hi = int(array.min()), int(array.max())
        if lo < 0 or hi >= upper:
            raise ValueError(f"{name} holds values in [{lo}, {hi}] but must be in [0, {upper - 1}]")


def load(
    path_or_directory: str | os.PathLike[str],
    task: str | type | None,
    *,
    quantize: str | None = None,
    threads: int = DEFAULT_THREADS,
    device: str | torch.device | None = None,
    require_head: bool = False,
) -> OnnxAlbertModel:
    """An ``.onnx`` file as it is, or a checkpoint directory's cached export for ``task``. ``require_head``:
    raise :class:`~albert_model.checkpoints._state_dict.MissingHeadError` for a task head the checkpoint lacked (checked
    before exporting a directory).

    What pipelines call with ``backend="onnxruntime"``.

    Args:
        path_or_directory: an ``.onnx`` file (opened as it is) or a checkpoint directory (its cached export,
            made on first use; see :func:`~albert_model.onnx._export.cached_export`).
        task: the class wanted: a task name or alias, a class name or a class. For a file, the graph must be
            of that class (None accepts any); for a directory, None is the checkpoint's ``architectures``.
        quantize: None or ``"int8"``. For a directory, which export to use; for a file, None accepts the file
            as it is and ``"int8"`` requires an int8 graph.
        threads: ONNX Runtime intra-op threads, an int from 1 to :data:`MAX_THREADS` (default 2).
        device: None or ``"cpu"`` for the CPU, ``"cuda"``/``"cuda:N"`` for ONNX Runtime's CUDA provider.
        require_head: True raises when the task head was initialised at random; False returns the model
            anyway (see :attr:`OnnxAlbertModel.head_missing`).

    Returns:
        The opened :class:`OnnxAlbertModel`.

    Raises:
        ValueError: a file whose graph is of another class than ``task`` or a float32 graph with
            ``quantize="int8"``, or a bad ``task``, ``quantize``, ``threads`` or ``device``.
        MissingHeadError: ``require_head=True`` and the task head is missing.
        FileNotFoundError: ``path_or_directory`` does not exist, or the directory has no weights.
        ImportError: ``onnx`` or ``onnxruntime`` is not installed.
    """
    require_onnx()
    path = os.fspath(path_or_directory)
    if not os.path.isfile(path):
        return _open_cached(path, task, quantize, None, threads=threads, device=device, require_head=require_head)
    model = OnnxAlbertModel.from_onnx(path, threads=threads, device=device)
    if quantize not in (None, model.quantize):
        raise ValueError(
            f"{path} is a {model.quantize or 'float32'} graph; quantize={quantize!r} applies to "
            f"exports from a checkpoint directory (or export_onnx(..., quantize=...))"
        )
    if task is not None and model.model_class != resolve_class(task):
        raise ValueError(
            f"{path} holds an exported {model.model_class}, but {resolve_class(task)} is needed; "
            f"export it with export_onnx(DIR, OUT, task={task!r})"
        )
    if require_head:
        model.require_head()
    return model


def _open_cached(
    directory: str | os.PathLike[str],
    task: str | type | None,
    quantize: str | None,
    cache_dir: str | os.PathLike[str] | None,
    *,
    threads: int,
    device: str | torch.device | None,
    require_head: bool = False,
) -> OnnxAlbertModel:
    """The checkpoint's cached export, opened, and checked to be the graph its record was verified against:
    a graph replaced between that check and the opening is seen by the checkpoint key in its metadata, and
    the cache is checked (and the graph exported) again."""
    _check_threads(threads)  # a bad thread count or device is refused before anything is exported
    _providers(device)
    for _ in range(3):
        path, key, name = _cached_export(directory, task, quantize, cache_dir, require_head=require_head)
        model = OnnxAlbertModel(path, threads=threads, device=device)
        if (model.checkpoint_sha256, model.model_class, model.quantize) == (key, name, quantize):
            return model
    raise OSError(
        f"{path} was replaced after every check of it, three times: another process keeps rewriting "
        f"the export cache of {os.fspath(directory)}; stop it or pass cache_dir="
    )
