"""``Linear``: ``torch.nn.Linear`` that can run CPU inference through oneDNN on a weight packed once.

On the CPU, ``torch.nn.functional.linear`` in float32 calls MKL's sgemm with the plain weight on every call.
For the few rows of one short sentence most of that time is memory traffic and MKL's generic kernels (on AMD
processors MKL does not pick its fastest ones). oneDNN, which torch ships, multiplies faster once the weight
is reordered into its blocked layout (``torch.ops.mkldnn._reorder_linear_weight``): what ``torch.compile``'s
freezing pass does on the CPU, here without compiling.

Packing is opt-in, per module (``layer.packing = True``; for a whole model
:meth:`AlbertPreTrainedModel.set_weight_packing`): ``albert serve`` turns it on for the model it owns. A
:class:`Linear` keeps ``nn.Linear``'s parameters, state-dict keys, initialisation and results (within
float32 rounding: another summation order). With packing on, its forward takes the packed path only when all
of these hold, and ``F.linear`` otherwise:

- the module is in eval mode and nothing needs a gradient (``no_grad``/``inference_mode``, or frozen
  parameters and an input without grad);
- input and weight are float32 on the CPU, no autocast is active, and torch was built with oneDNN;
- the parameters were not made under ``inference_mode`` (such tensors keep no version counter);
- nothing is being traced, scripted, compiled or exported (an ONNX export sees ``F.linear``).

The packed copy is remade whenever the weight or the bias changes in a way torch records: in place through
the parameter (an optimizer step, ``load_state_dict``, ``copy_`` under ``no_grad``), by replacement
(``.data =``, ``.to()``, a new ``Parameter``), or as another dtype; the key is the tensors' identities,
version counters and data pointers. A write through ``param.data`` (``weight.data.add_(1)``) bypasses the
version counter, as it bypasses autograd's checks: after one, call ``set_weight_packing`` again, which drops
every packed copy. Packing holds one more copy of each linear weight in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ONEDNN_ACTIVATIONS", "Linear", "onednn_available", "packed_linear"]

_ONEDNN = torch.backends.mkldnn.is_available()

ONEDNN_ACTIVATIONS: dict[str, tuple[str, str]] = {
    "gelu": ("gelu", "none"),
    "gelu_new": ("gelu", "tanh"),
    "gelu_pytorch_tanh": ("gelu", "tanh"),
    "relu": ("relu", ""),
}
"""``config.hidden_act`` names oneDNN applies inside the multiplication: ``(post-op, algorithm)``."""


def onednn_available() -> bool:
    """Whether torch was built with oneDNN, which the packed path needs.

    Returns:
        True when a :class:`Linear` with ``packing`` on can take the packed path.
    """
    return _ONEDNN


def _takes_packed(layer: Linear, input: torch.Tensor) -> bool:
    """Whether ``layer`` may run ``input`` through a packed weight (the conditions of the module docstring)."""
    if not layer.packing or layer.training or not input.is_cpu or input.dtype is not torch.float32:
        return False
    if torch.jit.is_tracing() or torch.compiler.is_compiling() or not input.numel():
        return False
    weight, bias = layer.weight, layer.bias
    if weight.dtype is not torch.float32 or weight.is_inference():
        return False  # made under inference_mode: no version counter to see changes by
    if bias is not None and bias.is_inference():
        return False
    if torch.is_grad_enabled() and (
        input.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
    ):
        return False
    return _ONEDNN and not torch.is_autocast_enabled("cpu")


def _version(tensor: torch.Tensor | None) -> tuple[Any, ...]:
    if tensor is None:
        return (None,)
    return (tensor, tensor._version, tensor.data_ptr(), tensor.dtype)


def _same(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """Whether two keys name the same tensors (by identity: the key holds them, so no id is reused) at the
    same versions, addresses and dtypes."""
    return len(old) == len(new) and all(
        a is b if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor) else a == b
        for a, b in zip(old, new, strict=True)
    )


def packed_linear(layers: Sequence[Linear], input: torch.Tensor, activation: str | None = None) -> torch.Tensor | None:
    """``input`` through ``layers`` side by side (their outputs concatenated on the last dimension), as one
    multiplication on their weights packed together, with ``activation`` applied inside it; or None when the
    packed path does not apply (see the module docstring), and the caller runs the layers itself.

    The packed copy is kept on ``layers[0]`` and remade when any weight or bias changes.

    Args:
        layers: Linear layers of the same ``in_features``, all with or all without bias.
        input: ``(..., in_features)``.
        activation: A ``config.hidden_act`` name in :data:`ONEDNN_ACTIVATIONS`, or None for none.

    Returns:
        ``(..., sum of out_features)``, or None.
    """
    first = layers[0]
    if not all(_takes_packed(layer, input) for layer in layers):
        return None
    key = tuple(part for layer in layers for part in (*_version(layer.weight), *_version(layer.bias)))
    cached = first._packed
    if cached is None or not _same(cached[0], key):
        with torch.no_grad():
            weight = torch.cat([layer.weight.detach() for layer in layers]) if len(layers) > 1 else first.weight
            bias: torch.Tensor | None = first.bias
            if bias is not None and len(layers) > 1:
                bias = torch.cat([layer.bias.detach() for layer in layers if layer.bias is not None])
            packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None)
        cached = (key, packed, None if bias is None else bias.detach())
        first._packed = cached
    post, algorithm = ONEDNN_ACTIVATIONS[activation] if activation is not None else ("none", "")
    rows = input.reshape(-1, input.shape[-1])
    out = torch.ops.mkldnn._linear_pointwise(rows, cached[1], cached[2], post, [], algorithm)
    return out.reshape(*input.shape[:-1], out.shape[-1])


class Linear(nn.Linear):
    """``torch.nn.Linear`` with an opt-in packed oneDNN path for float32 CPU inference (see the module docstring).

    Attributes:
        packing: Whether CPU inference may take the packed path (False by default; setting it False drops
            the packed copy at the next forward).

    Example:
        >>> import torch
        >>> layer = Linear(4, 3).eval()
        >>> layer.packing = True
        >>> x = torch.randn(2, 4)
        >>> with torch.no_grad():
        ...     torch.allclose(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias), atol=1e-6)
        True
    """

    packing: bool = False
    _packed: tuple[tuple[Any, ...], torch.Tensor, torch.Tensor | None] | None = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """``F.linear(input, weight, bias)``, through the packed weight when the conditions above hold.

        Args:
            input: ``(..., in_features)``.

        Returns:
            ``(..., out_features)``.
        """
        if self.packing:
            out = packed_linear((self,), input)
            if out is not None:
                return out
        elif self._packed is not None:
            self._packed = None
        return F.linear(input, self.weight, self.bias)

    def __getstate__(self) -> dict[str, Any]:
        """The module's state without the packed copy (oneDNN's opaque tensors neither pickle nor deep-copy).

        Returns:
            ``__dict__`` less the packed weight.
        """
        state = dict(self.__dict__)
        state.pop("_packed", None)
        return state
