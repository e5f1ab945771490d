"""``AlbertPreTrainedModel``: what every ALBERT class shares, with transformers' ``PreTrainedModel`` API.

Weight initialisation and tying, ``from_pretrained``/``save_pretrained``, embeddings access and resizing,
parameter counts and gradient checkpointing. Each task class declares its ``head_modules`` (the checkpoint
key prefixes of its head), which is how loading tells a missing head from a broken checkpoint: loading
(:mod:`albert_model.checkpoints._state_dict`, which this module imports and which imports no model class) asks the class
being loaded, never any other.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from albert_model._config import LIMITS, AlbertConfig, format_bytes
from albert_model._devices import unavailable
from albert_model.checkpoints import load_into, save_model
from albert_model.modeling._linear import set_packing
from albert_model.modeling._unpadded import ATTN_IMPLEMENTATIONS
from albert_tok.io import resolve_directory

__all__ = ["AlbertPreTrainedModel", "check_fits", "physical_memory"]


def physical_memory() -> int | None:
    """Bytes of memory this machine has, or None where the platform does not say (no ``os.sysconf``)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(config: AlbertConfig, name: str) -> None:
    """Refuse, before a byte is allocated, a model whose parameters alone exceed the machine's memory."""
    if torch.get_default_device().type != "cpu":  # meta (nothing allocated) or an accelerator: not RAM
        return
    memory = physical_memory()
    dtype = torch.get_default_dtype()
    count = config.parameter_count()
    need = count * dtype.itemsize
    if memory is not None and need > memory:
        raise ValueError(
            f"{name}: the config makes a model of about {count:.3g} parameters ({format_bytes(need)} "
            f"in {str(dtype).removeprefix('torch.')}), more than the {format_bytes(memory)} of memory "
            f"this machine has; check config.vocab_size, embedding_size, hidden_size, "
            f"intermediate_size, num_hidden_groups and inner_group_num"
        )


def _check_attn_implementation(value: str) -> None:
    if value not in ATTN_IMPLEMENTATIONS:
        raise ValueError(
            f"attn_implementation must be one of {', '.join(map(repr, ATTN_IMPLEMENTATIONS))}, got {value!r}"
        )


_DEVICE_MAP_HELP = "'auto', 'cpu', 'cuda', 'cuda:N', an int N (cuda:N) or a torch.device"


def _device_of_map(device_map: Any, device: Any) -> torch.device:
    """The one device transformers' ``device_map`` names for the whole model, checked against this machine and
    against ``device`` when both are given."""
    if isinstance(device_map, dict):
        raise ValueError(
            f"device_map={device_map!r:.80} places parts of the model on different devices; only whole-model "
            f"placement is supported here: pass {_DEVICE_MAP_HELP}"
        )
    if isinstance(device_map, bool) or not isinstance(device_map, (str, int, torch.device)):
        raise ValueError(f"device_map must be {_DEVICE_MAP_HELP}, got {device_map!r:.80}")
    if isinstance(device_map, int):
        if device_map < 0:
            raise ValueError(f"device_map={device_map} is no GPU index; pass {_DEVICE_MAP_HELP}")
        wanted = torch.device("cuda", device_map)
    elif device_map == "auto":
        wanted = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    else:
        try:
            wanted = torch.device(device_map)
        except RuntimeError:
            raise ValueError(f"device_map={device_map!r} is no device; pass {_DEVICE_MAP_HELP}") from None
    reason = unavailable(wanted)
    if reason is not None:
        raise ValueError(f"device_map={device_map!r}: {reason}")
    given = torch.device(device) if device is not None else None
    if given is not None and (given.type, given.index or 0) != (wanted.type, wanted.index or 0):
        raise ValueError(f"device={device!r} and device_map={device_map!r} disagree; pass one of them")
    return wanted


class AlbertPreTrainedModel(nn.Module):
    """Weight initialisation, checkpoint loading and saving shared by every ALBERT class.

    Not used directly: build one of its subclasses (:class:`AlbertModel`, the ``AlbertFor...`` task classes)
    from a config, whose weights are then initialised at random, or load one with :meth:`from_pretrained`.

    Args:
        config: the model's hyper-parameters; kept as ``self.config`` and shared (not copied).

    Raises:
        TypeError: ``config`` is not an :class:`AlbertConfig`.
        ValueError: the model's parameters alone would need more memory than this machine has (checked on the
            CPU before anything is allocated).
    """

    config_class = AlbertConfig
    base_model_prefix = "albert"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    # Parameters tied to another one: {alias: source}. The alias is not written to checkpoints.
    tied_weights: ClassVar[dict[str, str]] = {}
    # Submodules that make up this class's task head (checkpoint key prefixes), and whether the head reads
    # the pooler: a checkpoint without them loads, loudly, with these parts initialised at random.
    head_modules: ClassVar[tuple[str, ...]] = ()
    head_uses_pooler = False

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        if not isinstance(config, AlbertConfig):
            raise TypeError(f"config must be an AlbertConfig, got {type(config).__name__}")
        self._check_fits(config)
        self.config = config
        # "sdpa" and "eager" run the same padded path (attention weights always come from the eager one);
        # "varlen" packs padded batches to their real tokens (albert_model.modeling._unpadded)
        self.attn_implementation = "sdpa"

    @classmethod
    def _check_fits(cls, config: AlbertConfig) -> None:
        """Refuse, before a byte is allocated, a config whose model of this class exceeds the machine's memory
        (:func:`check_fits`); loading asks it before reading the weights."""
        check_fits(config, cls.__name__)

    def set_attn_implementation(self, attn_implementation: str) -> None:
        """``"sdpa"`` (the default), ``"eager"`` or ``"varlen"`` (see :mod:`albert_model.modeling._unpadded`), for this
        model and every ALBERT model inside it, as transformers' method of the same name.

        Args:
            attn_implementation: ``"sdpa"`` and ``"eager"`` both run the padded path through
                ``scaled_dot_product_attention`` (attention weights, when asked for, come from the eager
                computation); ``"varlen"`` packs a right-padded batch down to its real tokens where that
                changes nothing a caller reads, so no projection, feed-forward or LayerNorm runs on a padding
                position. The real tokens' outputs agree between the three within float tolerance.

        Raises:
            ValueError: any other value; the model is left unchanged.
        """
        _check_attn_implementation(attn_implementation)
        for module in self.modules():
            if isinstance(module, AlbertPreTrainedModel):
                module.attn_implementation = attn_implementation

    def set_weight_packing(self, enabled: bool) -> None:
        """Let float32 CPU inference run the encoder's and the masked-LM head's linear layers through oneDNN on
        weights packed once (see :mod:`albert_model.modeling._linear`), or stop it. Off by default;
        ``albert serve`` turns it on.

        The layers stay ``nn.Linear``; results are ``F.linear``'s within float32 rounding. A weight changed in
        place, replaced or reloaded is packed again before it is used; a write through ``param.data`` is not
        seen, so call this again after one (each call drops every packed copy). Training, gradients, other
        dtypes and devices, tracing and export always take ``F.linear``; on the packed path the layers'
        forward hooks do not run.

        Args:
            enabled: True to pack (each layer at its first forward in eval mode), False to stop.

        Raises:
            TypeError: ``enabled`` is not a bool.
        """
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
        for module in self.modules():
            set_packing(module, enabled)

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def post_init(self) -> None:
        """Initialise every weight as transformers does and tie the aliases; subclasses call it last in ``__init__``.

        Linear and embedding weights are drawn from ``normal(0, config.initializer_range)`` (the padding row
        zeroed), biases are zeroed, LayerNorms start at weight 1 and bias 0.
        """
        self.apply(self._init_weights)
        self.tie_weights()

    def tie_weights(self) -> None:
        """Point every alias in :attr:`tied_weights` at its source parameter."""
        for alias, source in self.tied_weights.items():
            *path, name = alias.split(".")
            owner = self.get_submodule(".".join(path))
            setattr(owner, name, self.get_parameter(source))

    def is_head_key(self, key: str) -> bool:
        """Whether state-dict ``key`` belongs to this class's task head (or the pooler the head reads).

        Loading asks it to tell a head that may start at random from a broken checkpoint.

        Args:
            key: a parameter name as in ``state_dict()`` (``"classifier.weight"``, ``"albert.pooler.bias"``).

        Returns:
            True when ``key`` starts with one of the class's ``head_modules`` prefixes, or names a pooler
            parameter and the class's head reads the pooler; False otherwise (and always for
            :class:`AlbertModel`, which has no head).
        """
        if key.startswith(tuple(f"{m}." for m in self.head_modules)):
            return True
        pooler = f"{self.base_model_prefix}.pooler." if self.base_model_prefix else "pooler."
        return self.head_uses_pooler and key.startswith(pooler)

    def _returned(self, output: Any, return_dict: bool | None) -> Any:
        """``output`` itself, or its tuple when ``return_dict`` (or, left None, ``config.return_dict``) is False."""
        if return_dict is False or (return_dict is None and not self.config.return_dict):
            return output.to_tuple()
        return output

    @property
    def device(self) -> torch.device:
        """The device of the model's first parameter (all of them are on one device unless moved apart)."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the model's first floating-point parameter (``torch.float32`` unless loaded or cast
        otherwise)."""
        return next(p.dtype for p in self.parameters() if p.is_floating_point())

    # -- checkpoints ---------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        directory: str | os.PathLike[str],
        *,
        config: AlbertConfig | None = None,
        device: str | torch.device | None = None,
        dtype: torch.dtype | str | None = None,
        torch_dtype: torch.dtype | str | None = None,
        strict: bool = True,
        ignore_mismatched_sizes: bool = False,
        output_loading_info: bool = False,
        attn_implementation: str | None = None,
        device_map: str | int | torch.device | None = None,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        token: str | bool | None = None,
        local_files_only: bool = False,
        subfolder: str = "",
        force_download: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Load a Hugging Face-format checkpoint directory (``config.json`` + weights), or a Hugging Face repo id.

        A repo id (``"albert/albert-base-v2"``; the legacy ``"albert-base-v2"`` too) is resolved in the standard
        Hugging Face cache and downloaded only when allowed: the cache comes first, ``HF_HUB_OFFLINE=1`` and
        ``local_files_only=True`` never download (see :func:`albert_tok.io.resolve_directory`). The keywords code
        written for transformers passes are taken: ``revision``, ``cache_dir``, ``token``, ``local_files_only``,
        ``subfolder``, ``force_download``, ``device_map`` (whole-model placement) and ``torch_dtype``/``dtype``.

        ``**kwargs`` override ``config.json`` keys with transformers' semantics (``num_labels=3`` rebuilds
        ``id2label``; a head whose shape then differs from the checkpoint's raises, or is initialised afresh
        with ``ignore_mismatched_sizes=True``); other keywords go to the class (``add_pooling_layer=False``).
        ``dtype`` (or its older name ``torch_dtype``): a torch dtype, its name, or ``"auto"`` (the config's
        ``dtype``, else the weights'); float32 by default whatever the file stores. Head parameters absent
        from the checkpoint are initialised with a :class:`HeadInitializedWarning` and listed in
        ``model.load_report`` (``load_report.head_missing``); head parameters of another class are listed as
        unused. Any other missing, unexpected or mis-shaped key raises one ``CheckpointError`` listing them all
        (or only goes into the report with ``strict=False``): ``ignore_mismatched_sizes`` re-initialises task
        head parameters only, since a mis-shaped base parameter means the weights do not match ``config.json``.
        A tensor whose dtype cannot hold its parameter (int, bool), or holding NaN or inf, always raises; so
        does a config whose model would not fit in this machine's memory, before the weights are read.
        ``attn_implementation``: ``"sdpa"`` and ``"eager"`` run
        ``scaled_dot_product_attention`` (eagerly when attention weights are asked for); ``"varlen"`` packs
        padded batches to their real tokens (:meth:`set_attn_implementation`).

        A save killed halfway is finished (or undone) first, as :mod:`albert_tok.io.atomic` records it. The
        model comes back in evaluation mode (``model.train()`` before training).

        Example:
            >>> from albert_model import DEFAULT_MODEL, AlbertForMaskedLM, AlbertForSequenceClassification
            >>> model = AlbertForMaskedLM.from_pretrained(DEFAULT_MODEL)
            >>> model.load_report.head_missing
            False
            >>> clf = AlbertForSequenceClassification.from_pretrained(
            ...     DEFAULT_MODEL, num_labels=3, ignore_mismatched_sizes=True
            ... )  # warns: the classifier starts at random until fine-tuned
            >>> clf.config.num_labels, clf.load_report.head_missing
            (3, True)

        Args:
            directory: a local checkpoint directory holding ``config.json`` and the weights
                (``model.safetensors``, its shards and ``model.safetensors.index.json``, or
                ``pytorch_model.bin``, read in that order); a Hugging Face cache snapshot works too. A name that
                is no existing path but a valid repo id is loaded from the hub's cache (downloading the config,
                the weights in the one format read, the tokenizer files and the card when allowed).
            config: a config to use instead of ``directory/config.json`` (which is then not read); the
                ``**kwargs`` overrides apply to a copy of it. None reads the directory's.
            device: where to put the model (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``); None
                leaves it on the default device it was built on (the CPU unless ``torch.set_default_device``
                says otherwise).
            dtype: the dtype of the floating-point parameters: a ``torch.dtype`` (``torch.bfloat16``), its
                name (``"float16"``, ``"torch.float16"``) or ``"auto"`` (the config's ``dtype``, else that of
                the first floating-point tensor in the file). None loads in the default dtype (float32)
                whatever the file stores. ``model.config.dtype`` records the result.
            torch_dtype: the older name of ``dtype``; give one of the two (both, differing, raise
                ``ValueError``).
            strict: True (the default) raises :class:`CheckpointError` when the checkpoint does not fit the
                class (keys missing, unexpected or mis-shaped outside a head this class may initialise).
                False loads what fits, leaves the rest as initialised, and warns with the full list instead;
                non-finite weights and unusable dtypes raise either way.
            ignore_mismatched_sizes: True re-initialises task-head parameters whose shape differs from the
                checkpoint's (a new ``num_labels``) and lists them in ``load_report.reinitialized``; a
                mis-shaped base parameter is still an error.
            output_loading_info: True returns ``(model, load_report)`` instead of the model alone.
            attn_implementation: ``"sdpa"``, ``"eager"`` or ``"varlen"``, checked before anything is read and
                set on the loaded model (see :meth:`set_attn_implementation`); None keeps ``"sdpa"``.
            device_map: transformers' placement argument, for the whole model: ``"auto"`` (``cuda:0`` when CUDA is
                available, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, an int ``N`` (``cuda:N``) or a
                ``torch.device``; the same as ``device=``. A dict (parts of the model on different devices) is
                refused: only whole-model placement is supported. None: ``device`` decides.
            revision: with a repo id, the branch, tag or commit to load (None: ``"main"``); not used for a
                directory.
            cache_dir: with a repo id, the Hugging Face cache to read and download into (None: huggingface_hub's,
                ``HF_HUB_CACHE``).
            token: with a repo id, the Hugging Face token for a private or gated repository (a string, True for
                the saved login, False for none; None: ``HF_TOKEN`` or the saved login).
            local_files_only: True never downloads: a repo id must be in the cache (as with ``HF_HUB_OFFLINE=1``).
            subfolder: the folder of the repository or directory that holds the checkpoint (``""``: the top).
            force_download: True downloads a repo id's files again even when they are cached.
            **kwargs: ``config.json`` keys to override (``num_labels=3``, ``hidden_dropout_prob=0.1``), with
                the semantics of :meth:`AlbertConfig.with_overrides`, and arguments of the class's
                constructor (``add_pooling_layer=False`` for :class:`AlbertModel`).

        Returns:
            The model (an instance of the class this is called on), with ``model.load_report`` set to the
            :class:`LoadReport` of the load; ``(model, load_report)`` with ``output_loading_info=True``.

        Raises:
            FileNotFoundError: ``directory`` does not exist (and is no repo id either), or has no ``config.json``
                (when ``config`` is None) or no weight file.
            OSError: a repo id that is not in the cache while downloads are off (the message names the cache
                searched and the two ways out), that the hub does not have (repository, revision or file), or
                whose download failed or was cut off (nothing partial is ever loaded).
            ImportError: a repo id without huggingface_hub installed (``pip install "albert[hub]"``).
            NotADirectoryError: ``directory`` is a file.
            TypeError: ``config`` is not an :class:`AlbertConfig`, or a keyword argument is neither a
                ``config.json`` key nor an argument of the class.
            ValueError: a bad ``dtype``/``torch_dtype``, ``attn_implementation`` or ``device_map`` (a dict, a
                device this machine lacks, or one that disagrees with ``device``), an invalid config or override,
                or a model too large for this machine's memory (before the weights are read).
            CheckpointError: (a ``ValueError``) a weight file that cannot be read or that leaves the
                directory, weights that are not finite or whose dtype cannot hold their parameter, a file that
                is no ALBERT checkpoint, or, with ``strict=True``, a checkpoint that does not fit the class.

        Warns:
            HeadInitializedWarning: some parameters had no usable weights in the checkpoint and were
                initialised at random (a task head the checkpoint lacks, or one re-initialised).
        """
        if attn_implementation is not None:
            _check_attn_implementation(attn_implementation)  # before loading, which may take long
        if device_map is not None:
            device = _device_of_map(device_map, device)
        directory = resolve_directory(
            directory,
            what="model",
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=local_files_only,
            subfolder=subfolder,
            force_download=force_download,
        )
        loaded = load_into(
            cls,
            directory,
            device=device,
            dtype=dtype,
            torch_dtype=torch_dtype,
            strict=strict,
            config=config,
            ignore_mismatched_sizes=ignore_mismatched_sizes,
            output_loading_info=output_loading_info,
            **kwargs,
        )
        if attn_implementation is not None:
            (loaded[0] if output_loading_info else loaded).set_attn_implementation(attn_implementation)
        return loaded

    def save_pretrained(
        self,
        directory: str | os.PathLike[str],
        *,
        max_shard_size: int | str = "5GB",
        safe_serialization: bool = True,
        state_dict: dict[str, torch.Tensor] | None = None,
    ) -> list[str]:
        """Write ``config.json`` (with ``dtype``/``torch_dtype``) and the weights in one atomic write.

        Weights over ``max_shard_size`` (``"5GB"``, ``"500MB"`` or bytes) go into shards with a
        ``model.safetensors.index.json``, as transformers writes them; ``safe_serialization=False`` writes
        ``pytorch_model.bin``. Tied aliases are not written. Returns the written paths.

        The config written names this class in ``architectures`` and the weights' dtype in ``dtype``. Weight
        files of an earlier save in the same directory that this one does not overwrite (a single file
        beside new shards, or the other way round) are removed as part of the save; other files (a
        tokenizer, a README) are left alone. A failed or killed save leaves the previous one whole.

        Args:
            directory: the checkpoint directory to write; it and its parents are made when missing.
            max_shard_size: the largest weight file to write, as bytes (an int) or a size string with
                decimal or binary units (``"5GB"``, ``"500MB"``, ``"2GiB"``). Weights that fit are written as
                one file; a tensor larger than the limit gets a shard of its own.
            safe_serialization: True (the default) writes safetensors; False writes PyTorch pickles
                (``pytorch_model.bin``), as older transformers did.
            state_dict: the weights to write instead of the model's own (for instance gathered from a
                distributed run); None writes ``self.state_dict()``. Tensors are moved to the CPU first.

        Returns:
            The paths written, ``config.json`` first, then the weight file or the shards and their index.

        Raises:
            ValueError: ``max_shard_size`` is not a positive size.
            OSError: the directory cannot be written; the previous save is left as it was.
        """
        return save_model(
            self, directory, max_shard_size=max_shard_size, safe_serialization=safe_serialization, state_dict=state_dict
        )

    # -- embeddings ----------------------------------------------------------------------------------
    def get_input_embeddings(self) -> nn.Embedding:
        """The word-embedding table (``vocab_size`` x ``embedding_size``).

        Returns:
            The ``nn.Embedding`` module itself, not a copy: changing its weights changes the model's (and the
            tied masked-LM decoder's).
        """
        base = getattr(self, self.base_model_prefix)
        return base.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        """Replace the word-embedding table.

        Args:
            value: the new ``nn.Embedding``; its width must be ``config.embedding_size``. ``config.vocab_size``
                is not updated and a tied decoder is not re-tied: :meth:`resize_token_embeddings` does both.
        """
        getattr(self, self.base_model_prefix).set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Linear | None:
        """The vocabulary projection of masked-LM classes; None for the others.

        Returns:
            The decoder ``nn.Linear`` (its weight tied to the word embeddings) of classes that predict tokens
            (:class:`AlbertForMaskedLM`, :class:`AlbertForPreTraining`); None for every other class.
        """
        return None

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> nn.Embedding:
        """Grow or shrink the vocabulary to ``new_num_tokens`` (rounded up to ``pad_to_multiple_of``).

        Old rows are kept; new rows are the old rows' mean (``mean_resizing``, transformers' default: sampled
        from their mean and a vanishing covariance) or ``normal(0, initializer_range)``. The tied decoder and
        its bias follow (new bias entries 0), and ``config.vocab_size`` is updated.

        The embedding parameter is resized in place (the same ``nn.Parameter``), so tied aliases and an
        optimizer holding it keep pointing at it.

        Args:
            new_num_tokens: the new vocabulary size, an int in ``[1, 10**7]``; None keeps the current size
                (useful with ``pad_to_multiple_of`` alone).
            pad_to_multiple_of: round the size up to a multiple of this positive int (64 suits tensor cores);
                None does not round. With ``new_num_tokens`` also None, nothing changes.
            mean_resizing: True (the default, as transformers) draws new rows from a normal centred on the
                old rows' mean with a vanishing covariance (the mean itself when that covariance is
                degenerate), so new tokens start as an average token; False draws them from
                ``normal(0, config.initializer_range)``.

        Returns:
            The (resized) word-embedding module.

        Raises:
            ValueError: ``new_num_tokens`` is not an int in ``[1, 10**7]``, ``pad_to_multiple_of`` is not a
                positive int, or the new size would drop the row of ``config.pad_token_id``.
        """
        embeddings = self.get_input_embeddings()
        old, width = embeddings.weight.shape
        if new_num_tokens is None and pad_to_multiple_of is None:
            return embeddings
        size = old if new_num_tokens is None else new_num_tokens
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= LIMITS["vocab_size"]:
            raise ValueError(f"new_num_tokens must be an int in [1, {LIMITS['vocab_size']}], got {new_num_tokens!r}")
        if pad_to_multiple_of is not None:
            if (
                not isinstance(pad_to_multiple_of, int)
                or isinstance(pad_to_multiple_of, bool)
                or pad_to_multiple_of < 1
            ):
                raise ValueError(f"pad_to_multiple_of must be a positive int, got {pad_to_multiple_of!r}")
            size = -(-size // pad_to_multiple_of) * pad_to_multiple_of
        pad = self.config.pad_token_id
        if pad is not None and size <= pad:
            raise ValueError(
                f"resizing to {size} tokens would drop the padding row (config.pad_token_id={pad}); "
                f"keep at least {pad + 1} tokens"
            )
        if size != old:
            with torch.no_grad():
                weight = embeddings.weight
                rows = weight.new_empty(size, width)
                rows[: min(old, size)] = weight[: min(old, size)]
                if size > old:
                    rows[old:] = self._new_rows(weight, size - old, mean_resizing)
                output = self.get_output_embeddings()
                untied = output is not None and output.weight is not weight
                weight.data = rows  # same Parameter: tied aliases and optimizer references follow
                embeddings.num_embeddings = size
                if output is not None:
                    if untied:
                        grown = output.weight.new_empty(size, width)
                        grown[: min(old, size)] = output.weight[: min(old, size)]
                        if size > old:
                            grown[old:] = self._new_rows(output.weight, size - old, mean_resizing)
                        output.weight.data = grown
                    if output.bias is not None:
                        bias = output.bias.new_zeros(size)
                        bias[: min(old, size)] = output.bias[: min(old, size)]
                        output.bias.data = bias
                    output.out_features = size
        self.config.vocab_size = size
        self.tie_weights()
        return self.get_input_embeddings()

    def _new_rows(self, weight: torch.Tensor, count: int, mean_resizing: bool) -> torch.Tensor:
        if not mean_resizing:
            return torch.empty(count, weight.shape[1], dtype=weight.dtype, device=weight.device).normal_(
                0.0, self.config.initializer_range
            )
        old = weight.float()
        mean = old.mean(0)
        centered = old - mean
        covariance = 1e-9 * (centered.T @ centered) / old.shape[0]
        if not bool(torch.distributions.constraints.positive_definite.check(covariance).all()):
            return mean.expand(count, -1).to(weight.dtype)  # e.g. fewer rows than dimensions: the mean alone
        sample = torch.distributions.MultivariateNormal(mean, covariance_matrix=covariance).sample((count,))
        return sample.to(weight.dtype)

    # -- counting and training ---------------------------------------------------------------------
    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """Parameters counted once each (tied ones once), optionally only trainable or without embeddings.

        Args:
            only_trainable: True counts only parameters with ``requires_grad`` (frozen ones left out).
            exclude_embeddings: True leaves out the weights of every ``nn.Embedding`` (word, position and
                token-type tables).

        Returns:
            The number of scalar parameters.
        """
        skip = (
            {f"{name}.weight" for name, module in self.named_modules() if isinstance(module, nn.Embedding)}
            if exclude_embeddings
            else set()
        )
        return sum(
            p.numel()
            for name, p in self.named_parameters()
            if name not in skip and (p.requires_grad or not only_trainable)
        )

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict[str, Any] | None = None) -> None:
        """Recompute each shared layer group's activations in the backward pass (when training).

        ``gradient_checkpointing_kwargs`` go to ``torch.utils.checkpoint.checkpoint``; the default is
        ``use_reentrant=False``, which also works when the embeddings are frozen.

        Trades compute for memory: the backward pass reruns each layer step instead of keeping its
        activations. It only acts in training mode; evaluation runs as before.

        Args:
            gradient_checkpointing_kwargs: keyword arguments for ``torch.utils.checkpoint.checkpoint``,
                added to (and overriding) ``use_reentrant=False``; None passes that default alone.
        """
        from torch.utils.checkpoint import checkpoint

        kwargs = {"use_reentrant": False, **(gradient_checkpointing_kwargs or {})}
        self._set_gradient_checkpointing(True, functools.partial(checkpoint, **kwargs))

    def gradient_checkpointing_disable(self) -> None:
        """Keep activations for the backward pass again, undoing :meth:`gradient_checkpointing_enable`."""
        self._set_gradient_checkpointing(False, None)

    def _set_gradient_checkpointing(self, enable: bool, func: Callable[..., Any] | None) -> None:
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                setattr(module, "gradient_checkpointing", enable)  # noqa: B010 -- any module may opt in
                setattr(module, "gradient_checkpointing_func", func)  # noqa: B010 -- as above

    @property
    def is_gradient_checkpointing(self) -> bool:
        """True when :meth:`gradient_checkpointing_enable` is in effect on any module of this model."""
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())
