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
from albert_model.checkpoints import load_into, save_model
from albert_model.modeling._unpadded import ATTN_IMPLEMENTATIONS

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


class AlbertPreTrainedModel(nn.Module):
    """Weight initialisation, checkpoint loading and saving shared by every ALBERT class."""

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
        model and every ALBERT model inside it, as transformers' method of the same name."""
        _check_attn_implementation(attn_implementation)
        for module in self.modules():
            if isinstance(module, AlbertPreTrainedModel):
                module.attn_implementation = attn_implementation

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
        self.apply(self._init_weights)
        self.tie_weights()

    def tie_weights(self) -> None:
        """Point every alias in :attr:`tied_weights` at its source parameter."""
        for alias, source in self.tied_weights.items():
            *path, name = alias.split(".")
            owner = self.get_submodule(".".join(path))
            setattr(owner, name, self.get_parameter(source))

    def is_head_key(self, key: str) -> bool:
        """Whether state-dict ``key`` belongs to this class's task head (or the pooler the head reads)."""
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
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
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
        **kwargs: Any,
    ) -> Any:
        """Load a Hugging Face-format checkpoint directory (``config.json`` + weights).

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
        """
        if attn_implementation is not None:
            _check_attn_implementation(attn_implementation)  # before loading, which may take long
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
        """
        return save_model(
            self, directory, max_shard_size=max_shard_size, safe_serialization=safe_serialization, state_dict=state_dict
        )

    # -- embeddings ----------------------------------------------------------------------------------
    def get_input_embeddings(self) -> nn.Embedding:
        base = getattr(self, self.base_model_prefix)
        return base.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        getattr(self, self.base_model_prefix).set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Linear | None:
        """The vocabulary projection of masked-LM classes; None for the others."""
        return None

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> nn.Embedding:
        """Grow or shrink the vocabulary to ``new_num_tokens`` (rounded up to ``pad_to_multiple_of``).

        Old rows are kept; new rows are the old rows' mean (``mean_resizing``, transformers' default: sampled
        from their mean and a vanishing covariance) or ``normal(0, initializer_range)``. The tied decoder and
        its bias follow (new bias entries 0), and ``config.vocab_size`` is updated.
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
        """Parameters counted once each (tied ones once), optionally only trainable or without embeddings."""
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
        """
        from torch.utils.checkpoint import checkpoint

        kwargs = {"use_reentrant": False, **(gradient_checkpointing_kwargs or {})}
        self._set_gradient_checkpointing(True, functools.partial(checkpoint, **kwargs))

    def gradient_checkpointing_disable(self) -> None:
        self._set_gradient_checkpointing(False, None)

    def _set_gradient_checkpointing(self, enable: bool, func: Callable[..., Any] | None) -> None:
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                setattr(module, "gradient_checkpointing", enable)  # noqa: B010 -- any module may opt in
                setattr(module, "gradient_checkpointing_func", func)  # noqa: B010

    @property
    def is_gradient_checkpointing(self) -> bool:
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())
