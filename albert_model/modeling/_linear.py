"""CPU inference of ``nn.Linear`` layers through oneDNN on weights packed once: :func:`linear`, :func:`packed_linear`.

On the CPU, ``torch.nn.functional.linear`` in float32 calls MKL's sgemm with the plain weight on every call.
oneDNN, which torch ships, multiplies faster once the weight is reordered into its blocked layout
(``torch.ops.mkldnn._reorder_linear_weight``), most of all for the few rows of one short sentence: what
``torch.compile``'s freezing pass does on the CPU, here without compiling (``bench/packing.py`` measures it
against ``F.linear``; the recorded runs are on an AMD EPYC, where MKL's kernels are not its fastest).

The layers stay plain ``nn.Linear`` (same type, parameters, state-dict keys, hooks for everything else), so
``torch.ao.quantization.quantize_dynamic``, PEFT and other tools that look for ``nn.Linear`` see what they see
in transformers' model. Packing is opt-in per layer (:func:`set_packing`; for a whole model
:meth:`AlbertPreTrainedModel.set_weight_packing`, which ``albert serve`` turns on for the model it owns). The
model's forward calls its layers through :func:`linear` (query, key and value as one :func:`packed_linear`
product, the feed-forward activation inside its product), which takes the packed path only when all of these
hold, and calls the layer as usual otherwise:

- the layer is an ``nn.Linear`` itself (not a subclass or a replacement such as a quantized layer) with
  packing on, in eval mode, and nothing needs a gradient (``no_grad``/``inference_mode``, or frozen
  parameters and an input without grad);
- input and weight are float32 on the CPU, no autocast is active, and torch was built with oneDNN;
- the parameters were not made under ``inference_mode`` (such tensors keep no version counter);
- nothing is being traced, scripted, compiled or exported (an ONNX export sees ``F.linear``).

On the packed path the layer's forward hooks do not run. Results are ``F.linear``'s within float32 rounding
(another summation order). The packed copy is remade whenever a weight or bias changes in a way torch records:
in place through the parameter (an optimizer step, ``load_state_dict``, ``copy_`` under ``no_grad``), by
replacement (``.data =``, ``.to()``, a new ``Parameter``); the key is the tensors' identities, version counters
and addresses. A write through ``param.data`` (``weight.data.add_(1)``) bypasses the version counter, as it
bypasses autograd's checks: after one, call :func:`set_packing` (or ``set_weight_packing``) again, which drops
the packed copy. The copies are kept outside the modules (so copying or pickling a model never meets one) and
take as much memory again as the packed weights.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["ONEDNN_ACTIVATIONS", "linear", "onednn_available", "packed_linear", "set_packing"]

_ONEDNN = torch.backends.mkldnn.is_available()
_FLAG = "_albert_weight_packing"

ONEDNN_ACTIVATIONS: dict[str, tuple[str, str]] = {
    "gelu": ("gelu", "none"),
    "gelu_new": ("gelu", "tanh"),
    "gelu_pytorch_tanh": ("gelu", "tanh"),
    "relu": ("relu", ""),
}
"""``config.hidden_act`` names oneDNN applies inside the multiplication: ``(post-op, algorithm)``."""

_PACKED: weakref.WeakKeyDictionary[nn.Module, tuple[Any, ...]] = weakref.WeakKeyDictionary()
"""Each first layer of a packed product: ``(state, tensors, packed weight, bias)``."""


def onednn_available() -> bool:
    """Whether torch was built with oneDNN, which the packed path needs.

    Returns:
        True when a layer with packing on can take the packed path.
    """
    return _ONEDNN


def set_packing(layer: nn.Module, enabled: bool) -> None:
    """Turn the packed path of one ``nn.Linear`` on or off, dropping its packed copy either way.

    Args:
        layer: The layer (anything but an ``nn.Linear`` itself is left alone).
        enabled: Whether :func:`linear` may run it on a packed weight.
    """
    if type(layer) is nn.Linear:
        layer.__dict__[_FLAG] = enabled
        _PACKED.pop(layer, None)


def linear(layer: nn.Module, input: torch.Tensor) -> torch.Tensor:
    """``layer(input)``, through its packed weight when the conditions of the module docstring hold.

    Args:
        layer: An ``nn.Linear`` (or whatever replaced it, which is called as it is).
        input: ``(..., in_features)``.

    Returns:
        ``(..., out_features)``.
    """
    out = packed_linear((layer,), input)
    return layer(input) if out is None else out


def _input_takes_packed(input: torch.Tensor) -> bool:
    """The conditions of the module docstring that concern the call rather than a layer."""
    if torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.is_autocast_enabled("cpu"):
        return False
    if not _ONEDNN or not input.is_cpu or input.dtype is not torch.float32 or not input.numel():
        return False
    return not (torch.is_grad_enabled() and input.requires_grad)


def _layer_takes_packed(layer: nn.Module, grad: bool) -> bool:
    """The conditions of the module docstring that concern ``layer`` (``grad``: gradients are enabled)."""
    if type(layer) is not nn.Linear or not layer.__dict__.get(_FLAG, False) or layer.training:
        return False
    weight, bias = layer.weight, layer.bias
    if weight.dtype is not torch.float32 or weight.is_inference() or (grad and weight.requires_grad):
        return False  # an inference tensor (made under inference_mode) has no version counter to watch
    return bias is None or not (bias.is_inference() or (grad and bias.requires_grad))


def packed_linear(
    layers: Sequence[nn.Module], input: torch.Tensor, activation: str | None = None
) -> torch.Tensor | None:
    """``input`` through ``layers`` side by side (their outputs concatenated on the last dimension), as one
    multiplication on their weights packed together, with ``activation`` applied inside it; or None when the
    packed path does not apply (see the module docstring), and the caller runs the layers itself.

    The packed copy is kept for ``layers[0]`` with the tensors it was made from, and remade when any of the
    layers' weights or biases is another tensor, or the same one at another version or address. (The entry
    holds those tensors, so an ``id`` in it cannot be reused by a new tensor while it lives.)

    Args:
        layers: ``nn.Linear`` layers of the same ``in_features``.
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
        tensors.append(layer.weight)  # type: ignore[arg-type]
        if layer.bias is not None:
            tensors.append(layer.bias)  # type: ignore[arg-type]
    state = tuple((id(t), t._version, t.data_ptr()) for t in tensors)
    first = layers[0]
    cached = _PACKED.get(first)
    if cached is None or cached[0] != state:
        with torch.no_grad():
            weights: list[torch.Tensor] = [layer.weight for layer in layers]  # type: ignore[misc]
            biases: list[torch.Tensor] = [layer.bias for layer in layers if layer.bias is not None]  # type: ignore[misc]
            weight = torch.cat(weights) if len(weights) > 1 else weights[0]
            bias = None if not biases else torch.cat(biases) if len(biases) > 1 else biases[0]
            packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None)
        cached = (state, tuple(tensors), packed, None if bias is None else bias.detach())
        _PACKED[first] = cached
    post, algorithm = ONEDNN_ACTIVATIONS[activation] if activation is not None else ("none", "")
    rows = input.reshape(-1, input.shape[-1])
    out = torch.ops.mkldnn._linear_pointwise(rows, cached[2], cached[3], post, [], algorithm)
    return out.reshape(*input.shape[:-1], out.shape[-1])
