"""What every pipeline shares: loading (torch or ONNX Runtime), device parsing, batching, input checks.

A pipeline loads its task class from a checkpoint directory and refuses one whose task head is missing
from the checkpoint (it would answer with a random head). A call reads its inputs a window at a time
(:attr:`Pipeline.WINDOW_BATCHES` batches): the window is tokenized, sorted by length, run in batches padded
only as far as each batch needs, and turned into results before the next window is read, so the memory a
call needs beyond its results does not grow with the number of inputs. Results come back in input order.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeVar

import torch

from albert_model._devices import unavailable
from albert_model.checkpoints import DEFAULT_MODEL, FINE_TUNE_HINT, HeadInitializedWarning, MissingHeadError
from albert_model.modeling import AlbertModel, AlbertPreTrainedModel
from albert_tok import AlbertTokenizerFast
from albert_tok.io import resolve_directory
from albert_tok.rules import pad_batch

__all__ = ["BACKENDS", "Pipeline", "as_batch", "check_positive_int", "check_text", "resolve_device"]

BACKENDS = ("torch", "onnxruntime")
_Item = TypeVar("_Item")
_DEVICE_HELP = "accepted: None, 'cpu', 'cuda', 'cuda:N', 'mps', a torch.device, or an int (-1: CPU, N >= 0: cuda:N)"


def resolve_device(device: Any) -> torch.device | None:
    """``device`` as transformers' pipelines take it (``-1`` is the CPU, ``N >= 0`` is ``cuda:N``), checked
    against what this machine has. None stays None (the model's own device, or the CPU).

    Args:
        device: None, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, a ``torch.device``, or an int (``-1``
            the CPU, ``N >= 0`` ``cuda:N``).

    Returns:
        The ``torch.device``, or None when ``device`` is None.

    Raises:
        TypeError: ``device`` is not a str, an int or a ``torch.device`` (a bool is refused).
        ValueError: ``device`` names no device, an int below -1, a device type other than cpu, cuda and mps,
            or a device this machine does not have (no CUDA, a CUDA index beyond the GPUs, no MPS).
    """
    if device is None:
        return None
    if isinstance(device, bool) or not isinstance(device, (int, str, torch.device)):
        raise TypeError(f"device must be a str, an int or a torch.device, got {type(device).__name__}; {_DEVICE_HELP}")
    if isinstance(device, int):
        if device < -1:
            raise ValueError(f"device={device} is not a device; {_DEVICE_HELP}")
        parsed = torch.device("cpu") if device == -1 else torch.device("cuda", device)
    else:
        try:
            parsed = torch.device(device)
        except RuntimeError:
            raise ValueError(f"device={device!r} is not a device; {_DEVICE_HELP}") from None
    reason = unavailable(parsed)
    if reason is not None:
        raise ValueError(f"device={device!r}: {reason}; {_DEVICE_HELP}")
    return parsed


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Check an int option of a pipeline (``batch_size``, ``top_k``...).

    Args:
        name: The option's name, for the message.
        value: The value given.
        minimum: The smallest value accepted (1 by default).

    Returns:
        ``value``.

    Raises:
        ValueError: ``value`` is a bool, not an int, or below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_text(name: str, value: Any, *, allow_empty: bool = True) -> str:
    """Check a text input of a pipeline.

    Args:
        name: The input's name, for the message (``inputs[3]``).
        value: The value given.
        allow_empty: False refuses an empty or all-whitespace string (True by default).

    Returns:
        ``value``.

    Raises:
        TypeError: ``value`` is not a str.
        ValueError: ``allow_empty`` is False and ``value`` is empty or whitespace only.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def as_batch(inputs: Any, name: str = "inputs", item: tuple[type, ...] = (str,)) -> tuple[list[Any], bool]:
    """``(items, batched)``: one input (an instance of ``item``) or a list/tuple of them.

    Args:
        inputs: One input or a list or tuple of inputs.
        name: The argument's name, for the message (``"inputs"`` by default).
        item: The types one input may have (``str`` by default).

    Returns:
        The inputs as a list, and whether they came as a list (the result is then a list too).

    Raises:
        TypeError: ``inputs`` is neither an ``item`` nor a list or tuple.
    """
    if isinstance(inputs, item):
        return [inputs], False
    if isinstance(inputs, (list, tuple)):
        return list(inputs), True
    kinds = " or ".join(t.__name__ for t in item)
    raise TypeError(f"{name} must be a {kinds} or a list of them, got {type(inputs).__name__}")


def _model_path(source: str | os.PathLike[str], backend: str, hub: dict[str, Any]) -> str:
    """The local path of ``model=``: a directory or file as it is, a repo id resolved in the Hugging Face cache
    (downloaded when allowed). With ONNX Runtime a name ending in ``.onnx`` is a file, never an id."""
    path = os.fspath(source)
    if backend == "onnxruntime" and path.endswith(".onnx"):
        return path
    return resolve_directory(source, what="model", **hub)


def _onnx_file_tokenizer(path: str) -> str:
    """The tokenizer directory for an ``.onnx`` file: its own folder, or, for a graph of the export cache
    (``DIR/onnx/<Class>.onnx`` in a checkpoint ``DIR``), that checkpoint. No other folder above the file is
    looked at: a tokenizer that happens to be there need not be the graph's."""
    folder = os.path.dirname(os.path.abspath(path))
    parent = os.path.dirname(folder)
    candidates = [folder]
    if os.path.basename(folder) == "onnx" and os.path.isfile(os.path.join(parent, "config.json")):
        candidates.append(parent)
    for candidate in candidates:
        if os.path.isfile(os.path.join(candidate, "spiece.model")) or os.path.isfile(
            os.path.join(candidate, "tokenizer.json")
        ):
            return candidate
    raise ValueError(
        f"no tokenizer beside {path} (looked for spiece.model or tokenizer.json in "
        f"{' and '.join(candidates)}); pass tokenizer=DIR"
    )


_SIGNATURES: dict[type, inspect.Signature] = {}


def _signature(cls: type) -> inspect.Signature:
    """The signature of ``cls.predict`` (with ``self``), computed once per class: calls bind to it."""
    found = _SIGNATURES.get(cls)
    if found is None:
        found = _SIGNATURES[cls] = inspect.signature(cls.predict)  # type: ignore[attr-defined]
    return found


class Pipeline:
    """Loading, batching and ordering. Subclasses set ``task`` and ``model_class`` and implement
    ``predict``; calling the pipeline calls ``predict`` with the keyword defaults given to the pipeline
    (``pipeline("ner", aggregation_strategy="simple")``) under the call's own keywords.

    ``window`` (None: ``WINDOW_BATCHES * batch_size``) is how many inputs a call reads, tokenizes and runs
    before it turns them into results and reads the next ones. It changes no answer beyond float rounding
    (rows are batched with other neighbours), and none with ``batch_size=1``. Each batch is padded by
    :func:`albert_tok.rules.pad_batch`, only as far as its longest row.

    :func:`~albert_model.pipelines.pipeline` builds one from a task name; the arguments are the same.

    Args:
        model: A checkpoint directory with a trained head for the task, or a Hugging Face repo id
            (``"albert/albert-base-v2"``, resolved in the standard cache and downloaded when allowed, see
            :func:`albert_tok.io.resolve_directory`; None: :data:`DEFAULT_MODEL`); a model object of the task's
            class (``tokenizer=`` is then required); or, with ``backend="onnxruntime"``, an ``.onnx`` file or an
            ``OnnxAlbertModel``.
        tokenizer: A tokenizer directory, a repo id or an :class:`AlbertTokenizerFast`; None uses ``model``'s
            directory or repo id (for an ``.onnx`` file, its folder, or the checkpoint above a cache's ``onnx/``
            folder).
        device: Where the model runs: None (a directory is loaded on the CPU, a model object stays where it
            is) or any device :func:`resolve_device` accepts.
        dtype: The dtype to load or cast the torch model to (``torch.bfloat16``); None keeps float32 for a
            directory and the object's own dtype for a model object. ONNX Runtime takes None or float32 only.
        batch_size: Inputs per forward pass, a positive int (32 by default; a call's ``batch_size=``
            overrides it).
        backend: ``"torch"`` (the default) or ``"onnxruntime"`` (an ``OnnxAlbertModel`` selects it by itself).
        quantize: With ``backend="onnxruntime"`` and a directory, ``"int8"`` runs int8 encoder weights; None
            runs float32. Not accepted by the torch backend.
        threads: With ``backend="onnxruntime"``, ONNX Runtime's intra-op threads; None is the default of
            :mod:`albert_model.onnx`. Not accepted by the torch backend.
        torch_dtype: The older name of ``dtype``, as transformers' ``pipeline()`` takes it; give one of the two
            (both, differing, raise ``ValueError``).
        revision: With a repo id, the branch, tag or commit to load (None: ``"main"``), for the model and the
            tokenizer.
        token: With a repo id, the Hugging Face token for a private or gated repository (None: ``HF_TOKEN`` or
            the saved login; False: none).
        cache_dir: With a repo id, the Hugging Face cache to read and download into (None: ``HF_HUB_CACHE``).
        local_files_only: True never downloads: a repo id must be in the cache (as with ``HF_HUB_OFFLINE=1``).
        force_download: True downloads a repo id's files again even when they are cached.
        **defaults: Keyword arguments of ``predict`` used by every call unless the call gives them.

    Raises:
        ValueError: An unknown ``backend`` or ``device``, a ``batch_size`` below 1, ``quantize``/``threads``
            with the torch backend, ``dtype`` and ``torch_dtype`` that disagree, a ``dtype`` other than float32
            with ONNX Runtime, a torch model object or an ``.onnx`` file with the wrong backend, or no
            tokenizer given or found.
        TypeError: ``model`` is of an unsupported type or a model object of another class than the task's,
            or a keyword in ``**defaults`` is not an argument of ``predict``.
        MissingHeadError: The checkpoint or model object has no trained weights for the task's head.
        FileNotFoundError: The model directory or file does not exist (and is no repo id either).
        OSError: A repo id not in the cache while downloads are off, not on the hub, or whose download failed.
        ImportError: A repo id without huggingface_hub installed (``pip install "albert[hub]"``).
    """

    task: ClassVar[str] = "feature-extraction"
    model_class: ClassVar[type[AlbertPreTrainedModel]] = AlbertModel
    WINDOW_BATCHES: ClassVar[int] = 16
    """Batches per window: enough rows to sort by length, few enough that a window's encodings are small."""

    def __init__(
        self,
        model: str | os.PathLike[str] | Any = None,
        tokenizer: str | os.PathLike[str] | AlbertTokenizerFast | None = None,
        device: str | int | torch.device | None = None,
        dtype: torch.dtype | None = None,
        batch_size: int = 32,
        backend: str = "torch",
        quantize: str | None = None,
        threads: int | None = None,
        *,
        torch_dtype: torch.dtype | None = None,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_files_only: bool = False,
        force_download: bool = False,
        **defaults: Any,
    ) -> None:
        from albert_model.onnx import OnnxAlbertModel

        if torch_dtype is not None:
            if dtype is not None and dtype != torch_dtype:
                raise ValueError(
                    f"dtype={dtype!r} and torch_dtype={torch_dtype!r} disagree; pass one (torch_dtype is the "
                    f"older name of dtype)"
                )
            dtype = torch_dtype
        hub: dict[str, Any] = {
            "revision": revision,
            "token": token,
            "cache_dir": cache_dir,
            "local_files_only": local_files_only,
            "force_download": force_download,
        }
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.window: int | None = None
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
        if isinstance(model, OnnxAlbertModel):
            backend = "onnxruntime"
        if backend == "torch" and (quantize is not None or threads is not None):
            raise ValueError("quantize= and threads= are options of backend='onnxruntime'")
        if backend == "onnxruntime" and dtype not in (None, torch.float32):
            raise ValueError(
                f"backend='onnxruntime' runs float32 graphs (or int8 weights with quantize='int8'), got dtype={dtype!r}"
            )
        try:
            inspect.signature(self.predict).bind_partial(**defaults)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) "
                f"{', '.join(sorted(defaults))}; accepted: {self._parameters()}"
            ) from None
        self._check_defaults(defaults)  # bad option values fail before the model loads
        self.defaults = defaults
        self.backend = backend
        wanted = resolve_device(device)
        source = DEFAULT_MODEL if model is None else model
        self.model: Any
        if isinstance(source, OnnxAlbertModel):
            self._check_object(source.model_class == self.model_class.__name__, source.model_class, source.missing_head)
            self.model = source
        elif isinstance(source, AlbertPreTrainedModel):
            if backend != "torch":
                raise ValueError(
                    "backend='onnxruntime' takes a checkpoint directory, an .onnx file or an "
                    "OnnxAlbertModel, not a torch model object"
                )
            report = getattr(source, "load_report", None)  # only models from from_pretrained have one
            self._check_object(
                isinstance(source, self.model_class),
                type(source).__name__,
                list(report.missing_head) if report is not None else [],
            )
            self.model = source.to(device=wanted, dtype=dtype).eval()
        elif isinstance(source, (str, os.PathLike)):
            path = _model_path(source, backend, hub)
            self.model = self._load(path, backend, wanted, dtype, quantize, threads)
        else:
            raise TypeError(
                f"model must be a checkpoint directory, an .onnx file or a model object, got {type(source).__name__}"
            )
        if tokenizer is None:
            if not isinstance(source, (str, os.PathLike)):
                raise ValueError("pass tokenizer= when model is a model object")
            if os.path.isfile(path):
                tokenizer = _onnx_file_tokenizer(path)
            else:  # the model's directory, or its repo id (the cache first: the model's download brought it)
                tokenizer = path if path == os.fspath(source) else os.fspath(source)
        self.tokenizer = (
            tokenizer
            if isinstance(tokenizer, AlbertTokenizerFast)
            else AlbertTokenizerFast.from_pretrained(tokenizer, **hub)
        )
        self.device = self.model.device
        # the longest row the model takes: the tokenizer's limit, within the position table
        self.max_length = min(self.tokenizer.model_max_length, self.model.config.max_position_embeddings)

    def _load(
        self,
        path: str,
        backend: str,
        device: torch.device | None,
        dtype: torch.dtype | None,
        quantize: str | None,
        threads: int | None,
    ) -> Any:
        if not os.path.exists(path):
            raise FileNotFoundError(f"model directory {path!r} does not exist")
        if backend == "onnxruntime":
            from albert_model.onnx import DEFAULT_THREADS, load_onnx_model

            try:  # the head is checked before anything is exported
                return load_onnx_model(
                    path,
                    self.model_class,
                    quantize=quantize,
                    threads=DEFAULT_THREADS if threads is None else threads,
                    device=device,
                    require_head=True,
                )
            except MissingHeadError as exc:
                raise MissingHeadError(f"pipeline({self.task!r}): {exc}") from None
        if not os.path.isdir(path):
            raise ValueError(
                f"{path!r} is a file: the torch backend loads checkpoint directories (an .onnx file "
                f"needs backend='onnxruntime')"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HeadInitializedWarning)  # raised below as an error instead
            model = self.model_class.from_pretrained(path, device=device, dtype=dtype)
        report = model.load_report
        if report.head_missing:
            kind = f" (saved as {model.config.architectures[0]})" if model.config.architectures else ""
            raise MissingHeadError(
                f"pipeline({self.task!r}) needs {self.model_class.__name__} with a trained task "
                f"head, but {path}{kind} has no weights for {', '.join(report.missing_head)}; "
                f"{FINE_TUNE_HINT}"
            )
        return model

    def _check_object(self, task_class: bool, class_name: str, missing_head: list[str]) -> None:
        """A model object must be the task's class, with its task head loaded (not initialised at random)."""
        if not task_class:
            raise TypeError(f"pipeline({self.task!r}) needs a {self.model_class.__name__}, got a {class_name}")
        if missing_head:
            raise MissingHeadError(
                f"pipeline({self.task!r}) needs {class_name} with a trained task head, but the "
                f"model given has no loaded weights for {', '.join(missing_head)}; "
                f"{FINE_TUNE_HINT}"
            )

    @classmethod
    def _check_defaults(cls, defaults: dict[str, Any]) -> None:
        """Check the values of the keyword defaults given to the pipeline; a task whose options can be checked
        on their own overrides it (the calls check them again)."""

    @classmethod
    def _parameters(cls) -> str:
        names = [p for p in inspect.signature(cls.predict).parameters if p != "self"]
        return ", ".join(names)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run :meth:`predict` on the inputs, with the pipeline's keyword defaults under the call's own.

        Args:
            *args: The inputs (and any other positional arguments) of the task's ``predict``.
            **kwargs: Keyword arguments of the task's ``predict``; they override the pipeline's defaults.

        Returns:
            What the task's ``predict`` returns: one result for one input, a list in input order for a list.

        Raises:
            TypeError: The arguments do not fit ``predict``'s signature (the message lists what it accepts).
        """
        params = {**self.defaults, **kwargs}
        try:
            bound = _signature(type(self)).bind(self, *args, **params)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}: {exc}; accepted: {self._parameters()}") from None
        return self.predict(*bound.args[1:], **bound.kwargs)

    def predict(self, *args: Any, **kwargs: Any) -> Any:
        """The task's prediction; each task's pipeline defines it (its inputs, options and results).

        Args:
            *args: The task's inputs.
            **kwargs: The task's options.

        Returns:
            The task's results.

        Raises:
            NotImplementedError: Always, on this base class.
        """
        raise NotImplementedError

    def _batch_size(self, batch_size: int | None) -> int:
        return self.batch_size if batch_size is None else check_positive_int("batch_size", batch_size)

    def _stream(
        self,
        items: Sequence[_Item],
        encode: Callable[[list[_Item], int], list[dict[str, Any]]],
        step: Callable[[dict[str, torch.Tensor]], list[Any]],
        finish: Callable[[list[_Item], list[dict[str, Any]], list[Any]], Iterable[Any]],
        batch_size: int | None = None,
    ) -> list[Any]:
        """The results of ``items``, a window at a time: ``encode(window, index of its first item)`` gives
        the window's rows (unpadded encodings; extra keys ride along), :meth:`_run` runs ``step`` over them,
        and ``finish(window, rows, step's per-row outputs)`` gives one result per item. Only the results
        outlive a window."""
        size = self._batch_size(batch_size)
        span = size * self.WINDOW_BATCHES if self.window is None else check_positive_int("window", self.window)
        results: list[Any] = []
        for begin in range(0, len(items), span):
            chunk = list(items[begin : begin + span])
            rows = encode(chunk, begin)
            results.extend(finish(chunk, rows, self._run(rows, step, size)))
        return results

    def _run(
        self,
        rows: Sequence[dict[str, Any]],
        step: Callable[[dict[str, torch.Tensor]], list[Any]],
        batch_size: int | None = None,
    ) -> list[Any]:
        """Run ``step`` over ``rows`` (one unpadded encoding each) in length-sorted, per-batch padded
        batches; return its per-row results in the original order."""
        size = self._batch_size(batch_size)
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
        results: list[Any] = [None] * len(rows)
        pad = self.tokenizer.pad_token_id
        for begin in range(0, len(order), size):
            picked = order[begin : begin + size]
            chunk = [rows[i] for i in picked]
            fields = {"input_ids": [row["input_ids"] for row in chunk]}
            # rows are unpadded: a row without token types is all type 0, one without a mask attends everywhere
            for name, made in (("token_type_ids", 0), ("attention_mask", 1)):
                fields[name] = [row[name] if name in row else [made] * len(row["input_ids"]) for row in chunk]
            padded = pad_batch(fields, pad)
            batch = {name: torch.from_numpy(array).to(self.device) for name, array in padded.items()}
            with torch.inference_mode():
                outs = step(batch)
            for j, i in enumerate(picked):
                results[i] = outs[j]
        return results

    def _encode(self, texts: list[str], pairs: list[str | None] | None = None, **options: Any) -> list[dict[str, Any]]:
        """Per-row encodings (unpadded), truncated to the model's length; texts with a pair and texts without
        are tokenized in two batches."""
        rows: list[dict[str, Any]] = [{} for _ in texts]
        pairs = pairs or [None] * len(texts)
        for paired in (False, True):
            chosen = [i for i, p in enumerate(pairs) if (p is not None) == paired]
            if not chosen:
                continue
            second = [str(pairs[i]) for i in chosen] if paired else None
            enc = self.tokenizer(
                [texts[i] for i in chosen], second, truncation=True, max_length=self.max_length, **options
            )
            for j, i in enumerate(chosen):
                rows[i] = {k: enc[k][j] for k in enc}
        return rows
