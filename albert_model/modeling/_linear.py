"""``Linear``: ``torch.nn.Linear`` that can run CPU inference through oneDNN on a weight packed once.

On the CPU, ``torch.nn.functional.linear`` in float32 calls MKL's sgemm with the plain weight on every call.
oneDNN, which torch ships, multiplies faster once the weight is reordered into its blocked layout
(``torch.ops.mkldnn._reorder_linear_weight``), most of all for the few rows of one short sentence: what
``torch.compile``'s freezing pass does on the CPU, here without compiling (``bench/packing.py`` measures it
against ``F.linear``; the recorded runs are on an AMD EPYC, where MKL's kernels are not its fastest).

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


def _input_takes_packed(input: torch.Tensor) -> bool:
    """The conditions of the module docstring that concern the call rather than a layer."""
    if not _ONEDNN or not input.is_cpu or input.dtype is not torch.float32 or not input.numel():
        return False
    if torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.is_autocast_enabled("cpu"):
        return False
    return not (torch.is_grad_enabled() and input.requires_grad)


def _layer_takes_packed(layer: Linear, grad: bool) -> bool:
    """The conditions of the module docstring that concern ``layer`` (``grad``: gradients are enabled)."""
    if not layer.packing or layer.training:
        return False
    weight, bias = layer.weight, layer.bias
    if weight.dtype is not torch.float32 or weight.is_inference() or (grad and weight.requires_grad):
        return False  # an inference tensor (made under inference_mode) has no version counter to watch
    return bias is None or not (bias.is_inference() or (grad and bias.requires_grad))


def packed_linear(layers: Sequence[Linear], input: torch.Tensor, activation: str | None = None) -> torch.Tensor | None:
    """``input`` through ``layers`` side by side (their outputs concatenated on the last dimension), as one
    multiplication on their weights packed together, with ``activation`` applied inside it; or None when the
    packed path does not apply (see the module docstring), and the caller runs the layers itself.

    The packed copy is kept on ``layers[0]`` with the tensors it was made from, and remade when any of the
    layers' weights or biases is another tensor, or the same one at another version or address. (The entry
    holds those tensors, so an ``id`` in it cannot be reused by a new tensor while it lives.)

    Args:
        layers: Linear layers of the same ``in_features``, all with or all without bias.
        input: ``(..., in_features)``.
        activation: A ``config.hidden_act`` name in :data:`ONEDNN_ACTIVATIONS`, or None for none.

    Returns:
        ``(..., sum of out_features)``, or None.
    """
    if not _input_takes_packed(input):
        return None
    grad = torch.is_grad_enabled()
    tensors: list[torch.Tensor] = []
    for layer in layers:
        if not _layer_takes_packed(layer, grad):
            return None
        tensors.append(layer.weight)
        if layer.bias is not None:
            tensors.append(layer.bias)
    state = tuple((id(t), t._version, t.data_ptr()) for t in tensors)
    first = layers[0]
    cached = first._packed
    if cached is None or cached[0] != state:
        with torch.no_grad():
            weight = torch.cat([layer.weight for layer in layers]) if len(layers) > 1 else first.weight
            biases: list[torch.Tensor] = [layer.bias for layer in layers if layer.bias is not None]
            bias = None if not biases else torch.cat(biases) if len(biases) > 1 else biases[0]
            packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None)
        cached = (state, tuple(tensors), packed, None if bias is None else bias.detach())
        first._packed = cached
    post, algorithm = ONEDNN_ACTIVATIONS[activation] if activation is not None else ("none", "")
    rows = input.reshape(-1, input.shape[-1])
    out = torch.ops.mkldnn._linear_pointwise(rows, cached[2], cached[3], post, [], algorithm)
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
    _packed: tuple[tuple[Any, ...], tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor | None] | None = None

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
