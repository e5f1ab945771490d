"""Unpadded ("varlen") attention: a padded batch packed down to its real tokens.

With ``attn_implementation="varlen"`` (:meth:`AlbertPreTrainedModel.set_attn_implementation`, or
``from_pretrained(..., attn_implementation="varlen")``), a batch whose ``attention_mask`` holds padding runs
the encoder on its real tokens only, packed one row after the other as ``(tokens, hidden)`` instead of
``(batch, length, hidden)``: no projection, feed-forward or LayerNorm is computed for a padding position.

Attention over the packed tokens runs through ``torch.nn.attention.varlen.varlen_attn`` (FlashAttention
with cumulative sequence offsets) on CUDA in float16/bfloat16 without attention dropout. Anywhere else (CPU,
float32, training with attention dropout, a card older than Ampere, a torch without the kernel) that one step
pads the batch again, runs ``scaled_dot_product_attention`` with the model's usual mask, and packs the result:
the layers around it still skip the padding.

Only batches where packing changes nothing a caller reads are packed (:func:`packs`): right padding, 0/1 masks,
and no label on a padding position (:func:`labels_read_padding`; question answering with start/end positions,
whose loss reads every position, runs padded). Padding positions of the returned ``last_hidden_state`` (and
``hidden_states``, and per-token logits) come from zeros rather than from what the padded model computes there.
Attention weights (``output_attentions=True``) always come from the padded eager path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["ATTN_IMPLEMENTATIONS", "Packing", "labels_read_padding", "packs", "varlen_kernel"]

# What ``attn_implementation`` accepts: transformers' two names, and the unpadded path of this module.
ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "varlen")


def _find_kernel() -> Callable[..., torch.Tensor] | None:
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    return varlen_attn  # type: ignore[return-value]  # returns (out, lse) only when asked with return_aux


# looked up once at import: a cached function call inside forward would make torch.compile warn
_KERNEL = _find_kernel()


def varlen_kernel() -> Callable[..., torch.Tensor] | None:
    """torch's packed FlashAttention (``torch.nn.attention.varlen.varlen_attn``), or None where this torch
    has none."""
    return _KERNEL


def packs(attention_mask: torch.Tensor) -> bool:
    """Whether a batch is packed: it holds padding, its mask is 0/1, and every row starts with a real token.
    The pooler, and every head reading it, reads position 0: under left padding (or in a row of padding
    only) that position is padding, whose value only the padded model computes, so such batches run padded."""
    return (
        not bool(attention_mask.all())
        and bool(attention_mask[:, 0].all())
        and bool(((attention_mask == 0) | (attention_mask == 1)).all())
    )


def labels_read_padding(labels: torch.Tensor | None, attention_mask: torch.Tensor | None) -> bool:
    """Whether per-token ``labels`` give a padding position a label (not -100), so that the loss reads the
    logits there: the batch must then run padded to give the padded model's loss."""
    if labels is None or attention_mask is None or labels.shape != attention_mask.shape:
        return False
    return bool((labels[attention_mask == 0] != -100).any())


@dataclass(frozen=True)
class Packing:
    """Where a padded batch's real tokens are, to pack ``(batch, length, ...)`` tensors into ``(tokens, ...)``
    and back. Works for any mask (right or left padding, holes): a row's tokens keep their order."""

    index: torch.Tensor  # (tokens,) positions of the real tokens in the flattened (batch * length)
    cu_seqlens: torch.Tensor  # (batch + 1,) int32: where each row's tokens start in the packed tensor
    max_length: int  # the most real tokens in one row
    batch: int
    length: int
    mask: torch.Tensor  # (batch, 1, 1, length) the padded model's additive mask, for the fallback

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor, additive_mask: torch.Tensor) -> Packing:
        """``attention_mask``: ``(batch, length)``, nonzero on real tokens; ``additive_mask``: the same as the
        model's ``(batch, 1, 1, length)`` additive mask."""
        batch, length = attention_mask.shape
        keep = attention_mask != 0
        counts = keep.sum(dim=1)
        cu_seqlens = F.pad(torch.cumsum(counts, dim=0, dtype=torch.int32), (1, 0))
        index = torch.nonzero(keep.reshape(-1), as_tuple=False).squeeze(1)
        return cls(index, cu_seqlens, int(counts.max()) if batch else 0, batch, length, additive_mask)

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, length, *rest)`` -> ``(tokens, *rest)``."""
        return x.reshape(self.batch * self.length, *x.shape[2:])[self.index]

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """``(tokens, *rest)`` -> ``(batch, length, *rest)``, zeros at padding positions."""
        out = x.new_zeros(self.batch * self.length, *x.shape[1:])
        out[self.index] = x
        return out.view(self.batch, self.length, *x.shape[1:])

    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float) -> torch.Tensor:
        """Attention of each row's packed tokens to the same row's: ``(tokens, heads, head_dim)`` each, and
        the context in the same shape."""
        kernel = _KERNEL
        if kernel is not None and dropout_p == 0.0 and _flash_fits(q):
            return kernel(q, k, v, self.cu_seqlens, self.cu_seqlens, self.max_length, self.max_length)
        qp, kp, vp = (self.pad(t).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hd)
        context = F.scaled_dot_product_attention(qp, kp, vp, attn_mask=self.mask, dropout_p=dropout_p)
        return self.unpad(context.transpose(1, 2))  # (tokens, nh, hd)


def _flash_fits(q: torch.Tensor) -> bool:
    """Whether FlashAttention's varlen kernel takes ``q``: CUDA, half precision, an Ampere or newer card, a head
    size it supports (a multiple of 8 up to 256). Anything else runs the padded fallback."""
    if _KERNEL is None or not q.is_cuda or q.dtype not in (torch.float16, torch.bfloat16):
        return False
    head_dim = q.shape[-1]
    return torch.cuda.get_device_capability(q.device)[0] >= 8 and head_dim % 8 == 0 and head_dim <= 256
