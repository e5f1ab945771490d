"""The ALBERT network, top-down: embeddings, attention, layer, shared layer groups, encoder, model.

Module attribute names are the checkpoint keys (``embeddings.LayerNorm``, ``encoder.albert_layer_groups.0.
albert_layers.0.attention.query``, ...), so a transformers checkpoint loads key for key. Attention runs
through ``scaled_dot_product_attention`` unless attention weights are asked for, which takes the exact
eager path; ``attn_implementation="varlen"`` packs a padded batch to its real tokens (:mod:`._unpadded`).
Input is checked up front (in :meth:`AlbertModel.forward`); nothing fails with a bare shape error from deep
inside. ``AlbertPreTrainedModel`` (loading, saving, the transformers model API) lives in :mod:`._pretrained`.

Shapes use ``B`` (batch), ``T`` (sequence length), ``E`` (``config.embedding_size``), ``H``
(``config.hidden_size``), ``nh`` (``config.num_attention_heads``) and ``N`` (the real tokens of a packed
batch). The building blocks below :class:`AlbertModel` take their input as it prepares it and check nothing.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from albert_model._config import AlbertConfig
from albert_model.modeling._linear import ONEDNN_ACTIVATIONS, linear, packed_linear
from albert_model.modeling._outputs import BaseModelOutputWithPooling
from albert_model.modeling._pretrained import AlbertPreTrainedModel
from albert_model.modeling._unpadded import Packing, packs

__all__ = [
    "AlbertAttention",
    "AlbertEmbeddings",
    "AlbertLayer",
    "AlbertLayerGroup",
    "AlbertModel",
    "AlbertTransformer",
    "activation",
    "check_positions",
]


def _gelu_new(x: torch.Tensor) -> torch.Tensor:
    # The tanh approximation, written out as in the original BERT/ALBERT code.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def activation(name: str) -> Any:
    """The activation function called ``name`` in ``config.hidden_act``.

    Args:
        name: One of ``"gelu"``, ``"gelu_new"`` (the tanh approximation written out, as in the original
            BERT/ALBERT code), ``"gelu_pytorch_tanh"``, ``"relu"``, ``"silu"``, ``"swish"`` (the same as
            ``"silu"``) or ``"tanh"``.

    Returns:
        A function from a tensor to a tensor of the same shape.

    Raises:
        KeyError: ``name`` is none of these (``AlbertConfig`` refuses such a ``hidden_act`` before).
    """
    table = {
        "gelu": F.gelu,
        "gelu_new": _gelu_new,
        "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "relu": F.relu,
        "silu": F.silu,
        "swish": F.silu,
        "tanh": torch.tanh,
    }
    return table[name]


class AlbertEmbeddings(nn.Module):
    """Word + position + token-type embeddings in the small ``embedding_size`` (factorised).

    The sum goes through LayerNorm and dropout (``config.hidden_dropout_prob``). The word embedding row of
    ``config.pad_token_id`` starts at zero and gets no gradient.

    Args:
        config: Sizes (``vocab_size``, ``max_position_embeddings``, ``type_vocab_size``, ``embedding_size``),
            ``pad_token_id``, ``layer_norm_eps`` and ``hidden_dropout_prob``.
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.embedding_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.embedding_size)
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor | None,
        token_type_ids: torch.Tensor,
        position_ids: torch.Tensor,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Embed a batch.

        Args:
            input_ids: ``(B, T)`` integer token ids in ``[0, vocab_size)``; ignored (may be None) when
                ``inputs_embeds`` is given.
            token_type_ids: ``(B, T)`` integer segment ids in ``[0, type_vocab_size)`` (0 for the first
                segment, 1 for the second).
            position_ids: ``(B, T)`` integer positions in ``[0, max_position_embeddings)``.
            inputs_embeds: ``(B, T, E)`` word embeddings to use instead of looking ``input_ids`` up; None
                looks them up.

        Returns:
            ``(B, T, E)``: the summed embeddings after LayerNorm and dropout.
        """
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # (B, T, E)
        x = inputs_embeds + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(x))


class AlbertAttention(nn.Module):
    """Multi-head self-attention with its output projection, residual and LayerNorm.

    Args:
        config: ``hidden_size``, ``num_attention_heads`` (each head is ``hidden_size // num_attention_heads``
            wide), ``layer_norm_eps``, ``attention_probs_dropout_prob`` (on the attention weights, while
            training) and ``hidden_dropout_prob`` (on the projected output, before the residual).
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.head_dim
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention_dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.num_attention_heads, self.attention_head_size).transpose(1, 2)  # (B, nh, T, hd)

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | Packing | None,
        output_attentions: bool = False,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend, project, add the input back and normalise.

        Args:
            hidden_states: ``(B, T, H)``, or ``(N, H)`` when ``mask`` is a ``Packing``.
            mask: The padded model's additive mask, float ``(B, 1, 1, T)`` in the hidden states' dtype, 0 where
                a token is attended and the dtype's minimum where it is padding; None attends to every token;
                or a :class:`~albert_model.modeling._unpadded.Packing` when ``hidden_states`` is a packed batch.
            output_attentions: Whether to compute and return the attention weights, through the exact eager
                path instead of ``scaled_dot_product_attention``. Ignored for a packed batch (whose weights
                are never computed).
            rows: ``(B, R)`` positions: only these rows' outputs are computed (their queries attend to every
                key), for a padded batch without ``output_attentions``; None computes every row.

        Returns:
            ``(output, weights)``: ``output`` has the shape of ``hidden_states`` (``(B, R, H)`` with
            ``rows``); ``weights`` is ``(B, nh, T, T)``, the softmax before attention dropout, with
            ``output_attentions`` on a padded batch, else None.
        """
        projections = (self.query, self.key, self.value)
        qkv = packed_linear(projections, hidden_states)  # one multiplication when the weights are packed
        if qkv is not None:
            q, k, v = qkv.split(self.query.out_features, dim=-1)
        else:
            q, k, v = (proj(hidden_states) for proj in projections)
        if isinstance(mask, Packing):  # packed real tokens, (N, H): see albert_model.modeling._unpadded
            n = hidden_states.shape[0]
            q, k, v = (t.view(n, self.num_attention_heads, self.attention_head_size) for t in (q, k, v))
            p = self.attention_dropout.p if self.training else 0.0
            context = mask.attention(q, k, v, p).reshape(n, -1)  # (N, H)
            return self.LayerNorm(hidden_states + self.output_dropout(linear(self.dense, context))), None
        q, k, v = (self._heads(t) for t in (q, k, v))
        if rows is not None:  # the queries and residuals of the rows read; keys and values of every token
            q = q.gather(2, rows[:, None, :, None].expand(-1, q.shape[1], -1, q.shape[3]))
            hidden_states = hidden_states.gather(1, rows[:, :, None].expand(-1, -1, hidden_states.shape[-1]))
        probs = None
        if output_attentions:
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.attention_head_size)  # (B, nh, T, T)
            if mask is not None:
                scores = scores + mask
            probs = scores.softmax(dim=-1)
            context = self.attention_dropout(probs) @ v
        else:
            p = self.attention_dropout.p if self.training else 0.0
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        b, _, t, _ = context.shape
        context = context.transpose(1, 2).reshape(b, t, -1)  # (B, T, H)
        out = self.LayerNorm(hidden_states + self.output_dropout(linear(self.dense, context)))
        return out, probs


class AlbertLayer(nn.Module):
    """Attention then the feed-forward block (``ffn`` -> activation -> ``ffn_output``), post-LayerNorm.

    Args:
        config: ``hidden_size``, ``intermediate_size`` (the feed-forward width), ``hidden_act`` (the
            activation, see :func:`activation`), ``layer_norm_eps`` and what :class:`AlbertAttention` reads.
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.activation = activation(config.hidden_act)
        self.hidden_act = config.hidden_act if config.hidden_act in ONEDNN_ACTIVATIONS else None

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | Packing | None,
        output_attentions: bool = False,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Run one layer.

        Args:
            hidden_states: ``(B, T, H)``, or ``(N, H)`` when ``mask`` is a ``Packing``.
            mask: The padded model's additive mask, float ``(B, 1, 1, T)`` in the hidden states' dtype, 0 where
                a token is attended and the dtype's minimum where it is padding; None attends to every token;
                or a :class:`~albert_model.modeling._unpadded.Packing` when ``hidden_states`` is a packed batch.
            output_attentions: Whether to compute and return the attention weights, through the exact eager
                path instead of ``scaled_dot_product_attention``. Ignored for a packed batch (whose weights
                are never computed).

            rows: ``(B, R)`` positions whose outputs alone are computed (see :meth:`AlbertAttention.forward`).

        Returns:
            ``(output, weights)`` as :meth:`AlbertAttention.forward` returns them, ``output`` after the
            feed-forward block.
        """
        attn, probs = self.attention(hidden_states, mask, output_attentions, rows)
        inner = None if self.hidden_act is None else packed_linear((self.ffn,), attn, self.hidden_act)
        if inner is None:  # the activation runs inside the multiplication when the weights are packed
            inner = self.activation(self.ffn(attn))
        ffn = linear(self.ffn_output, inner)
        return self.full_layer_layer_norm(ffn + attn), probs


class AlbertLayerGroup(nn.Module):
    """``inner_group_num`` layers applied in sequence; one group's weights are shared across depth.

    Args:
        config: ``inner_group_num`` (the layers in the group) and what :class:`AlbertLayer` reads.
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.albert_layers = nn.ModuleList([AlbertLayer(config) for _ in range(config.inner_group_num)])

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | Packing | None,
        output_attentions: bool = False,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the group's layers in order.

        Args:
            hidden_states: ``(B, T, H)``, or ``(N, H)`` when ``mask`` is a ``Packing``.
            mask: The padded model's additive mask, float ``(B, 1, 1, T)`` in the hidden states' dtype, 0 where
                a token is attended and the dtype's minimum where it is padding; None attends to every token;
                or a :class:`~albert_model.modeling._unpadded.Packing` when ``hidden_states`` is a packed batch.
            output_attentions: Whether to compute and return the attention weights, through the exact eager
                path instead of ``scaled_dot_product_attention``. Ignored for a packed batch (whose weights
                are never computed).

            rows: ``(B, R)`` positions: the group's last layer computes only these rows' outputs (see
                :meth:`AlbertAttention.forward`).

        Returns:
            ``(output, weights)``: ``output`` has the shape of ``hidden_states`` (``(B, R, H)`` with ``rows``);
            ``weights`` lists each layer's ``(B, nh, T, T)`` attention weights in order with
            ``output_attentions`` on a padded batch, and is empty otherwise.
        """
        attentions = []
        last = len(self.albert_layers) - 1
        for j, layer in enumerate(self.albert_layers):
            hidden_states, probs = layer(hidden_states, mask, output_attentions, rows if j == last else None)
            if probs is not None:
                attentions.append(probs)
        return hidden_states, attentions


class AlbertTransformer(nn.Module):
    """Projects embeddings to ``hidden_size`` and runs ``num_hidden_layers`` steps over the shared groups.

    With ``gradient_checkpointing`` (set by ``gradient_checkpointing_enable``) each step's activations are
    recomputed in the backward pass while training, through ``gradient_checkpointing_func``.

    Step ``i`` runs group ``i // (num_hidden_layers // num_hidden_groups)``: consecutive steps share a group.

    Args:
        config: ``embedding_size`` and ``hidden_size`` (the projection), ``num_hidden_layers`` (the steps),
            ``num_hidden_groups`` (the groups of weights they share) and what :class:`AlbertLayerGroup` reads.
    """

    def __init__(self, config: AlbertConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList([AlbertLayerGroup(config) for _ in range(config.num_hidden_groups)])
        self.gradient_checkpointing = False
        self.gradient_checkpointing_func: Any = None

    def forward(
        self,
        embeddings: torch.Tensor,
        mask: torch.Tensor | Packing | None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple | None, tuple | None]:
        """Project the embeddings and run the ``num_hidden_layers`` steps.

        Args:
            embeddings: ``(B, T, E)`` from :class:`AlbertEmbeddings`, or ``(N, E)`` when ``mask`` is a
                ``Packing``.
            mask: The padded model's additive mask, float ``(B, 1, 1, T)`` in the hidden states' dtype, 0 where
                a token is attended and the dtype's minimum where it is padding; None attends to every token;
                or a :class:`~albert_model.modeling._unpadded.Packing` when ``hidden_states`` is a packed batch.
            output_attentions: Whether to compute and return the attention weights, through the exact eager
                path instead of ``scaled_dot_product_attention``. Ignored for a packed batch (whose weights
                are never computed).
            output_hidden_states: Whether to return the projected embeddings and every step's output.
            rows: ``(B, R)`` positions: the last step computes only these rows' outputs, on the padded batch
                (a packed one is padded for it), and ``last_hidden_state`` is ``(B, R, H)``. Not with
                ``output_attentions`` or ``output_hidden_states``.

        Returns:
            ``(last_hidden_state, hidden_states, attentions)``: ``last_hidden_state`` is ``(B, T, H)`` (or
            ``(N, H)`` packed); ``hidden_states`` is a tuple of ``num_hidden_layers + 1`` tensors of that shape
            with ``output_hidden_states``, else None; ``attentions`` is a tuple of
            ``num_hidden_layers * inner_group_num`` tensors ``(B, nh, T, T)`` with ``output_attentions`` (empty
            for a packed batch), else None.
        """
        hidden_states = linear(self.embedding_hidden_mapping_in, embeddings)  # (B, T, H), or (N, H) packed
        all_hidden = [hidden_states] if output_hidden_states else None
        all_attn: list[torch.Tensor] | None = [] if output_attentions else None
        layers_per_group = self.config.num_hidden_layers // self.config.num_hidden_groups
        recompute = self.gradient_checkpointing and self.training
        last = self.config.num_hidden_layers - 1
        for i in range(self.config.num_hidden_layers):
            group = self.albert_layer_groups[i // layers_per_group]
            if rows is not None and i == last:
                if isinstance(mask, Packing):
                    hidden_states, mask = mask.pad(hidden_states), mask.mask
                hidden_states, attentions = group(hidden_states, mask, output_attentions, rows)
            elif recompute:
                hidden_states, attentions = self.gradient_checkpointing_func(
                    group, hidden_states, mask, output_attentions
                )
            else:
                hidden_states, attentions = group(hidden_states, mask, output_attentions)
            if all_attn is not None:
                all_attn.extend(attentions)
            if all_hidden is not None:
                all_hidden.append(hidden_states)
        return (
            hidden_states,
            None if all_hidden is None else tuple(all_hidden),
            None if all_attn is None else tuple(all_attn),
        )


def _attends_everywhere(attention_mask: torch.Tensor) -> bool:
    """Whether a mask is all ones, so attention can run without one (as transformers' sdpa path does): the
    same result, and ``scaled_dot_product_attention`` takes its fused kernel. Never while tracing or
    compiling, whose graphs must take any mask."""
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return False
    return bool((attention_mask == 1).all())


def check_positions(name: str, positions: Any, shape: tuple[int, ...]) -> None:
    """Refuse ``positions`` (``rows``, ``masked_positions``) unless it is a bool tensor of ``shape``.

    Args:
        name: The argument's name, for the message.
        positions: What the caller passed.
        shape: The ``(batch, sequence)`` shape it must have.

    Raises:
        ValueError: naming ``name``, the shape wanted and what came.
    """
    if isinstance(positions, torch.Tensor) and positions.dtype == torch.bool and tuple(positions.shape) == shape:
        return
    got = (
        f"{positions.dtype} {tuple(positions.shape)}"
        if isinstance(positions, torch.Tensor)
        else type(positions).__name__
    )
    raise ValueError(f"{name} must be a bool tensor of shape {shape}, got {got}")


def _row_index(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(index, valid)`` for a bool ``(B, T)`` ``rows``: ``index`` ``(B, R)`` holds each row's True positions
    in order, then some of its other positions as filler (``R`` the most any row has); ``valid`` ``(B, R)`` is
    False at the fillers."""
    counts = rows.sum(1)
    width = int(counts.max())
    index = torch.argsort((~rows).to(torch.uint8), dim=1, stable=True)[:, :width]
    valid = torch.arange(width, device=rows.device)[None, :] < counts[:, None]
    return index, valid


def _check_ids(name: str, t: torch.Tensor | None, shape: tuple[int, ...], upper: int | None) -> None:
    if t is None:
        return
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.bool):
        raise TypeError(f"{name} must hold integers (torch.long), got dtype {t.dtype}")
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(t.shape)} but input_ids has shape {shape}; they must match")
    if upper is not None and t.numel() and not torch.compiler.is_compiling():
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= upper:
            raise ValueError(f"{name} holds values in [{lo}, {hi}] but must be in [0, {upper - 1}]")


class AlbertModel(AlbertPreTrainedModel):
    """The ALBERT encoder with its pooler (``tanh(pooler(h[:, 0]))``); ``add_pooling_layer=False`` drops it.

    Its weights sit at the top of the checkpoint (``embeddings.``, ``encoder.``, ``pooler.``), while the task
    classes hold it under ``albert.``. Weights are initialised at random (``config.initializer_range``); use
    :meth:`from_pretrained` to load a checkpoint.

    Args:
        config: The architecture; its ``output_attentions``, ``output_hidden_states`` and ``return_dict`` are
            the defaults of :meth:`forward`'s flags of the same names.
        add_pooling_layer: Whether to build the pooler. False leaves ``pooler`` and ``pooler_activation`` None,
            and ``pooler_output`` None, for heads that read every token's state.

    Raises:
        TypeError: ``config`` is not an :class:`~albert_model.AlbertConfig`.
        ValueError: The parameters alone would not fit in this machine's memory (checked before allocating).
    """

    base_model_prefix = ""

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = AlbertEmbeddings(config)
        self.encoder = AlbertTransformer(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.pooler_activation = nn.Tanh() if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        """The word embeddings.

        Returns:
            The ``nn.Embedding`` of ``vocab_size`` rows of ``embedding_size``, shared with a masked-LM head's
            decoder weight when the model is part of one.
        """
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        """Replace the word embeddings.

        Args:
            value: The new ``nn.Embedding``, ``embedding_size`` wide. Nothing else changes: ``config.vocab_size``
                stays (use ``resize_token_embeddings`` to change the vocabulary), and a masked-LM head's decoder
                keeps the old weight until ``tie_weights()`` is called.
        """
        self.embeddings.word_embeddings = value

    def _check_inputs(
        self,
        input_ids: torch.Tensor | None,
        inputs_embeds: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        token_type_ids: torch.Tensor | None,
        position_ids: torch.Tensor | None,
    ) -> tuple[int, int]:
        cfg = self.config
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if input_ids is not None:
            if not isinstance(input_ids, torch.Tensor):
                raise TypeError(f"input_ids must be a torch.Tensor, got {type(input_ids).__name__}")
            if input_ids.dim() != 2:
                raise ValueError(f"input_ids must have shape (batch, sequence), got {tuple(input_ids.shape)}")
            _check_ids("input_ids", input_ids, tuple(input_ids.shape), cfg.vocab_size)
            shape = tuple(input_ids.shape)
        else:
            if inputs_embeds.dim() != 3 or inputs_embeds.shape[-1] != cfg.embedding_size:  # type: ignore[union-attr]
                raise ValueError(
                    f"inputs_embeds must have shape (batch, sequence, {cfg.embedding_size}), "
                    f"got {tuple(inputs_embeds.shape)}"  # type: ignore[union-attr]
                )
            shape = tuple(inputs_embeds.shape[:2])  # type: ignore[union-attr]
        if shape[1] > cfg.max_position_embeddings:
            raise ValueError(
                f"sequence length {shape[1]} exceeds max_position_embeddings "
                f"({cfg.max_position_embeddings}); truncate the input (e.g. truncation=True)"
            )
        _check_ids("token_type_ids", token_type_ids, shape, cfg.type_vocab_size)
        _check_ids("position_ids", position_ids, shape, cfg.max_position_embeddings)
        if attention_mask is not None:
            if not isinstance(attention_mask, torch.Tensor):
                raise TypeError(f"attention_mask must be a torch.Tensor, got {type(attention_mask).__name__}")
            if tuple(attention_mask.shape) != shape:
                raise ValueError(
                    f"attention_mask has shape {tuple(attention_mask.shape)} but input_ids has "
                    f"shape {shape}; they must match"
                )
        return shape  # type: ignore[return-value]

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        unpad: bool = True,
        rows: torch.Tensor | None = None,
    ) -> Any:
        """Encode a batch of token ids (or embeddings) into one hidden state per token, and a pooled one.

        Flags left None take the config's (``output_attentions``, ``output_hidden_states``, ``return_dict``).
        Every input is checked before anything runs.

        Args:
            input_ids: ``(batch, sequence)`` token ids in ``[0, vocab_size)`` (any integer dtype or bool; int64 as the
                tokenizer returns them; ``sequence`` at most
                ``max_position_embeddings``. Give this or ``inputs_embeds``, not both.
            attention_mask: ``(batch, sequence)``: 1 for a token to attend to, 0 for padding (any integer, bool
                or float tensor). None attends to every token; so does a mask of ones, which then runs as None
                (the fused attention kernel; not while tracing or compiling).
            token_type_ids: ``(batch, sequence)`` integer (int64, int32, int16, uint8 or bool) segment ids in
                ``[0, type_vocab_size)``: 0 for the first segment, 1 for the second. None gives every token
                segment 0.
            position_ids: ``(batch, sequence)`` integer (as ``token_type_ids``) positions in
                ``[0, max_position_embeddings)``. None numbers the tokens ``0 .. sequence - 1`` in every row.
            inputs_embeds: ``(batch, sequence, embedding_size)`` float word embeddings to use instead of
                looking ``input_ids`` up (position and segment embeddings are still added). Give this or
                ``input_ids``, not both.
            output_attentions: Whether to return every layer's attention weights (in ``attentions``). They come
                from the exact eager attention path, and such a batch is never packed. None: the config's.
            output_hidden_states: Whether to return the hidden states after the embeddings and after each step
                (in ``hidden_states``). None: the config's.
            return_dict: True returns a :class:`BaseModelOutputWithPooling`, False a tuple. None: the config's
                (True unless set otherwise).
            unpad: False keeps a batch padded under ``attn_implementation="varlen"`` (heads whose loss reads
                padding pass it). Under ``"varlen"``, a batch is packed to its real tokens only when it holds
                padding, its mask is 0/1, every row starts with a real token and no attention weights are asked
                for; padding positions of the outputs are then zeros.
            rows: ``(batch, sequence)`` bool, True at the only positions whose last hidden state is read;
                ``last_hidden_state`` is then ``(rows.sum(), hidden_size)``, those positions in row-major
                order (as ``last_hidden_state[rows]`` would give). In eval mode, without the pooler,
                ``output_hidden_states`` or ``output_attentions``, the last layer computes its queries,
                attention output and feed-forward block for these positions alone (its keys and values for
                every token), which changes nothing read. None: every position.

        Returns:
            A :class:`BaseModelOutputWithPooling` (``last_hidden_state`` ``(batch, sequence, hidden_size)``,
            ``pooler_output`` ``(batch, hidden_size)`` or None without the pooler, then ``hidden_states`` and
            ``attentions`` when asked for); with ``return_dict=False`` the tuple ``(last_hidden_state,
            pooler_output, [hidden_states], [attentions])`` as transformers returns it: ``pooler_output`` stays
            in it, as None, without the pooler, while the bracketed ones appear only when asked for.

        Raises:
            ValueError: Both or neither of ``input_ids`` and ``inputs_embeds`` are given; ``input_ids`` is not
                2-D or ``inputs_embeds`` not ``(batch, sequence, embedding_size)``; the sequence is longer than
                ``max_position_embeddings``; ``attention_mask``, ``token_type_ids``, ``position_ids`` or
                ``rows`` does not have the input's ``(batch, sequence)`` shape, or ``rows`` is not bool; an id
                is outside its range (not checked while ``torch.compile`` traces).
            TypeError: ``input_ids``, ``attention_mask``, ``token_type_ids`` or ``position_ids`` is not a
                tensor, or one of the id tensors does not hold integers.
        """
        cfg = self.config
        output_attentions = cfg.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = cfg.output_hidden_states if output_hidden_states is None else output_hidden_states
        b, t = self._check_inputs(input_ids, inputs_embeds, attention_mask, token_type_ids, position_ids)
        if rows is not None:
            check_positions("rows", rows, (b, t))
        device = self.embeddings.word_embeddings.weight.device
        if token_type_ids is None:
            token_type_ids = torch.zeros((b, t), dtype=torch.long, device=device)
        if position_ids is None:
            position_ids = torch.arange(t, device=device).expand(b, t)
        if input_ids is not None and input_ids.dtype not in (torch.int64, torch.int32):
            input_ids = input_ids.long()  # the lookup takes int64 or int32; the check accepted every integer dtype
        x = self.embeddings(input_ids, token_type_ids.long(), position_ids.long(), inputs_embeds)  # (B, T, E)
        mask = None
        if attention_mask is not None and not _attends_everywhere(attention_mask):
            # additive mask (B, 1, 1, T): 0 where attended, the dtype's minimum where masked
            keep = attention_mask[:, None, None, :].to(x.dtype)
            mask = (1.0 - keep) * torch.finfo(x.dtype).min
        packing = None
        if (
            mask is not None
            and attention_mask is not None
            and self.attn_implementation == "varlen"
            and unpad
            and not output_attentions
            and packs(attention_mask)
        ):
            packing = Packing.from_mask(attention_mask, mask)
            x = packing.unpad(x)  # (N, E): the real tokens only
        index = valid = None
        if (
            rows is not None
            and not self.training
            and self.pooler is None
            and not output_hidden_states
            and not output_attentions
            and bool(rows.any())
        ):
            index, valid = _row_index(rows.to(x.device))
        sequence, hidden, attentions = self.encoder(
            x, mask if packing is None else packing, output_attentions, output_hidden_states, index
        )
        if valid is not None:
            sequence = sequence[valid]  # (B, R, H) -> the rows' states, row-major
        elif packing is not None:
            sequence = packing.pad(sequence)
        if packing is not None:
            hidden = None if hidden is None else tuple(packing.pad(h) for h in hidden)
        pooled = None
        if self.pooler is not None and self.pooler_activation is not None:
            pooled = self.pooler_activation(self.pooler(sequence[:, 0]))
        if rows is not None and valid is None:
            sequence = sequence[rows.to(sequence.device)]
        if return_dict is False or (return_dict is None and not cfg.return_dict):
            return (sequence, pooled, *tuple(x for x in (hidden, attentions) if x is not None))
        return BaseModelOutputWithPooling(sequence, pooled, hidden, attentions)
