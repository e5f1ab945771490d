"""LAMB as Google pretrained ALBERT with it, in plain torch.

The update is the one of google-research/albert's ``lamb_optimizer.py`` (``LAMBOptimizer.apply_gradients``), per
parameter tensor, with gradient ``g``:

.. code-block:: text

    m      = beta1 * m + (1 - beta1) * g
    v      = beta2 * v + (1 - beta2) * g * g
    update = m / (sqrt(v) + eps)
    update = update + weight_decay * param     only where the group decays (not LayerNorm, not biases)
    ratio  = ||param|| / ||update||            only where the group adapts, and when both norms are > 0; else 1
    param  = param - (ratio * lr) * update

What sets Google's LAMB apart from others of the name, and is kept here on purpose:

* no bias correction of ``m`` and ``v`` (the paper's algorithm and NVIDIA's ``FusedLAMB`` have one);
* the trust ratio is per tensor (each weight matrix, each bias), unclipped, and computed on the update with the
  weight decay already added;
* nothing else: gradient clipping (Google clips the global gradient norm to 1.0 before this update, in
  ``optimization.py``) and the learning-rate schedule belong to the training loop.

Which tensors skip weight decay and the trust ratio is a property of the parameter's *name*
(Google: ``exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]``, and
``exclude_from_layer_adaptation`` defaults to the same list). A torch optimizer sees tensors, not names, so the
rule is applied once, by :func:`lamb_parameter_groups`, into two parameter groups carrying ``weight_decay`` and
``adapt``.

Only float32 parameters are accepted: Google keeps ``m`` and ``v`` in float32 and updates float32 variables, and
this package trains with float32 weights under autocast (``--precision bf16``). In a 16-bit weight most of LAMB's
small steps would round away; rather than keep a hidden float32 copy, the optimizer refuses 16-bit parameters and
says to keep the weights in float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast, overload

import torch
from torch import nn

from albert_model.training._common import no_decay

__all__ = ["Lamb", "lamb_parameter_groups"]

_STATE_KEYS = ("exp_avg", "exp_avg_sq")
_GROUP_KEYS = ("lr", "betas", "eps", "weight_decay", "adapt")


def _check_number(name: str, value: Any, *, low: float, low_inclusive: bool, high: float | None = None) -> None:
    """A ``ValueError`` unless ``value`` is a finite real number in the range (bools refused: ``True`` is no
    learning rate)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value < high
    if not ok:
        bound = f">= {low}" if low_inclusive else f"> {low}"
        if high is not None:
            bound = f"in [{low}, {high})"
        raise ValueError(f"Lamb: {name} must be a finite number {bound}, got {value!r}")


def _check_hyperparameters(group: Mapping[str, Any]) -> None:
    """A ``ValueError`` naming the first of a group's hyperparameters that is missing or out of range."""
    missing = [key for key in _GROUP_KEYS if key not in group]
    if missing:
        raise ValueError(f"Lamb: parameter group lacks {', '.join(missing)} (a state dict of another optimizer?)")
    _check_number("lr", group["lr"], low=0.0, low_inclusive=True)
    betas = group["betas"]
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"Lamb: betas must be a pair (beta1, beta2), got {betas!r}")
    _check_number("betas[0]", betas[0], low=0.0, low_inclusive=True, high=1.0)
    _check_number("betas[1]", betas[1], low=0.0, low_inclusive=True, high=1.0)
    _check_number("eps", group["eps"], low=0.0, low_inclusive=False)
    _check_number("weight_decay", group["weight_decay"], low=0.0, low_inclusive=True)
    if not isinstance(group["adapt"], bool):
        raise ValueError(f"Lamb: adapt must be True or False, got {group['adapt']!r}")


def _check_parameter(param: torch.Tensor) -> None:
    """A ``ValueError`` unless ``param`` is a float32 tensor."""
    if param.dtype != torch.float32:
        raise ValueError(
            f"Lamb updates float32 parameters only (as Google's LAMB does), got one of dtype {param.dtype}: keep "
            "the weights in float32 and train in bf16 or fp16 through autocast (--precision)"
        )


def lamb_parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The two parameter groups of Google's ALBERT recipe, for :class:`Lamb`.

    A parameter whose name contains ``LayerNorm`` or ``layer_norm``, or ends with ``bias`` (the rule the AdamW
    groups use too), gets neither weight decay nor the trust ratio; every other parameter gets both. This is
    ``exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]`` with ``exclude_from_layer_adaptation``
    left to its default (the same list) in google-research/albert's ``optimization.py``. Parameters that do not
    require gradients are left out. Both groups are always returned, possibly empty, so the layout of an
    optimizer's state dict does not depend on the model.

    Args:
        model: the module whose ``named_parameters()`` are grouped (tied weights appear once).
        weight_decay: the decoupled weight decay of the first group, a finite number >= 0 (Google's recipe:
            0.01).

    Returns:
        ``[{"params": [...], "weight_decay": weight_decay, "adapt": True},
        {"params": [...], "weight_decay": 0.0, "adapt": False}]``, for ``Lamb(groups, lr=...)``.

    Raises:
        ValueError: ``weight_decay`` is not a finite number >= 0.

    Example:
        >>> import torch
        >>> from albert_model.training import Lamb, lamb_parameter_groups
        >>> model = torch.nn.ModuleDict({"dense": torch.nn.Linear(4, 4), "LayerNorm": torch.nn.LayerNorm(4)})
        >>> groups = lamb_parameter_groups(model, weight_decay=0.01)
        >>> [(g["weight_decay"], g["adapt"], len(g["params"])) for g in groups]  # dense.weight | the other three
        [(0.01, True, 1), (0.0, False, 3)]
        >>> optimizer = Lamb(groups, lr=0.00176)
    """
    _check_number("weight_decay", weight_decay, low=0.0, low_inclusive=True)
    named = [(name, param) for name, param in model.named_parameters() if param.requires_grad]
    return [
        {"params": [p for n, p in named if not no_decay(n)], "weight_decay": float(weight_decay), "adapt": True},
        {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0, "adapt": False},
    ]


class Lamb(torch.optim.Optimizer):
    """LAMB with Google's update rule (google-research/albert ``lamb_optimizer.py``): Adam moments without bias
    correction, decoupled weight decay, and a per-tensor trust ratio ``||param|| / ||update||``.

    Each parameter group may set its own ``lr``, ``betas``, ``eps``, ``weight_decay`` and ``adapt``;
    :func:`lamb_parameter_groups` builds Google's two groups from a model's parameter names. Given plain
    ``model.parameters()``, every tensor is decayed and adapted (Google's optimizer with no exclusion lists).

    The elementwise work runs on torch's ``_foreach`` ops, one batch per device, and the trust ratios are
    computed on the device (no host synchronisation per step). Parameters without a gradient are skipped, their
    moments neither created nor decayed, as Google skips variables without a gradient. The state of each
    parameter is ``exp_avg`` (Google's ``adam_m``) and ``exp_avg_sq`` (``adam_v``), float32 tensors of the
    parameter's shape; ``state_dict()`` holds tensors and plain containers only, so it saves and loads with
    ``torch.load(weights_only=True)``, and a run resumed from it continues bit for bit.

    Args:
        params: the tensors to optimise, or parameter groups (dicts with ``"params"`` and any of the
            hyperparameters below). Every parameter must be float32.
        lr: the learning rate, a finite number >= 0 (Google's ALBERT pretraining: 0.00176 at batch 4096). The
            training loop's schedule sets ``group["lr"]`` before each step.
        betas: ``(beta1, beta2)``, each in ``[0, 1)``: the decay of the gradient's running mean and of its
            running square.
        eps: added to ``sqrt(v)`` in the denominator, a finite number > 0 (Google: 1e-6).
        weight_decay: decoupled weight decay, added to the update as ``weight_decay * param`` before the trust
            ratio, a finite number >= 0. Default 0.0, as Google's; its recipe sets 0.01 on the weights.
        adapt: whether to scale each tensor's step by its trust ratio. Default True; False gives the group
            plain Adam steps without bias correction (Google's layer-adaptation exclusions).

    Raises:
        ValueError: a hyperparameter is out of range or of the wrong type, or a parameter is not float32.

    Example:
        >>> import torch
        >>> from albert_model.training import Lamb, lamb_parameter_groups
        >>> model = torch.nn.Linear(4, 2)
        >>> optimizer = Lamb(lamb_parameter_groups(model, weight_decay=0.01), lr=1e-3)
        >>> model(torch.ones(3, 4)).sum().backward()
        >>> optimizer.step()
        >>> optimizer.zero_grad()
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        adapt: bool = True,
    ) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "adapt": adapt}
        _check_hyperparameters(defaults)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Adds a parameter group, checked: its hyperparameters (its own or the defaults) and its tensors.

        Args:
            param_group: a dict with ``"params"`` (float32 tensors) and optionally any of ``lr``, ``betas``,
                ``eps``, ``weight_decay`` and ``adapt``; what it leaves out comes from the constructor's values.

        Raises:
            ValueError: a hyperparameter is out of range or of the wrong type, or a tensor is not float32 (and
                torch's own errors: a parameter in two groups, a tensor that is not a leaf).
        """
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            _check_hyperparameters(group)
            for param in group["params"]:
                _check_parameter(param)
        except ValueError:
            self.param_groups.pop()
            raise

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Loads a state saved by :meth:`state_dict` of a ``Lamb`` over the same parameters, checked first.

        Nothing is changed when the check fails: each group must carry LAMB's hyperparameters (so the state of
        AdamW, whose ``exp_avg``/``exp_avg_sq`` mean something else, is refused) within range, and each
        parameter's saved moments must be tensors of its shape.

        Args:
            state_dict: the dict :meth:`state_dict` returned, as saved (``torch.load(weights_only=True)`` reads
                it back).

        Raises:
            ValueError: the state is not a ``Lamb`` state over parameters of these shapes (and torch's own
                errors: a different number of groups or of parameters in a group).
        """
        groups = state_dict.get("param_groups")
        state = state_dict.get("state")
        if not isinstance(groups, list) or not isinstance(state, Mapping):
            raise ValueError("Lamb: a state dict has 'state' (a dict) and 'param_groups' (a list)")
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"Lamb: the state dict has {len(groups)} parameter groups, this optimizer {len(self.param_groups)}"
            )
        by_id: dict[Any, torch.Tensor] = {}
        for saved, own in zip(groups, self.param_groups, strict=True):
            _check_hyperparameters(saved)
            ids = saved.get("params", [])
            if len(ids) != len(own["params"]):
                raise ValueError(
                    f"Lamb: a saved parameter group holds {len(ids)} parameters, this optimizer's {len(own['params'])}"
                )
            by_id.update(zip(ids, own["params"], strict=True))
        for key, entry in state.items():
            param = by_id.get(key)
            if param is None:
                raise ValueError(f"Lamb: the state dict has state for parameter {key!r}, which no group holds")
            for name in _STATE_KEYS:
                value = entry.get(name) if isinstance(entry, Mapping) else None
                if not isinstance(value, torch.Tensor) or value.shape != param.shape:
                    raise ValueError(
                        f"Lamb: the state of parameter {key!r} needs {name!r}, a tensor of shape "
                        f"{tuple(param.shape)}, got {value if value is None else getattr(value, 'shape', value)!r}"
                    )
        super().load_state_dict(state_dict)

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Applies one LAMB update to every parameter that has a gradient.

        Args:
            closure: None, or a function that clears the gradients, recomputes the loss, calls ``backward()``
                and returns the loss; it runs with gradients enabled before the update.

        Returns:
            What ``closure`` returned, or None without one.

        Raises:
            ValueError: a group's hyperparameters were set out of range since construction (``group["lr"]`` by a
                schedule, say), or a parameter is no longer float32 (``model.half()``). Nothing is updated then.
            RuntimeError: a gradient is sparse: LAMB's norms and moments need dense gradients. Nothing is
                updated then.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # Every group is checked before any is updated, so a refused step changes nothing.
        plan: list[tuple[dict[str, Any], list[torch.Tensor]]] = []
        for group in self.param_groups:
            _check_hyperparameters(group)
            batches: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise RuntimeError("Lamb does not support sparse gradients (nn.Embedding(sparse=True))")
                _check_parameter(param)
                batches.setdefault((param.device, param.dtype), []).append(param)
            plan.extend((group, params) for params in batches.values())
        for group, params in plan:
            self._update(group, params)
        return loss

    def _update(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        """One update of ``params``: tensors of one group on one device, each with a dense gradient."""
        beta1, beta2 = group["betas"]
        grads = [cast(torch.Tensor, p.grad) for p in params]
        for param in params:
            state = self.state[param]
            if not state:
                for name in _STATE_KEYS:
                    state[name] = torch.zeros_like(param, memory_format=torch.preserve_format)
        exp_avgs = [self.state[p]["exp_avg"] for p in params]
        exp_avg_sqs = [self.state[p]["exp_avg_sq"] for p in params]

        # One operation per product and per sum, each rounded once as in TensorFlow (torch's fused
        # ``add(alpha=)`` and ``addcmul`` round a + alpha * b once), through one scratch list.
        # m = beta1 * m + (1 - beta1) * g
        scratch = torch._foreach_mul(grads, 1.0 - beta1)
        torch._foreach_mul_(exp_avgs, beta1)
        torch._foreach_add_(exp_avgs, scratch)
        # v = beta2 * v + (1 - beta2) * g^2
        torch._foreach_copy_(scratch, grads)
        torch._foreach_mul_(scratch, grads)
        torch._foreach_mul_(scratch, 1.0 - beta2)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_add_(exp_avg_sqs, scratch)
        # update = m / (sqrt(v) + eps), with no bias correction
        torch._foreach_copy_(scratch, exp_avg_sqs)
        torch._foreach_sqrt_(scratch)
        torch._foreach_add_(scratch, group["eps"])
        updates = torch._foreach_div(exp_avgs, scratch)
        # update += weight_decay * param; Google skips the term when the rate is 0
        if group["weight_decay"] != 0:
            torch._foreach_copy_(scratch, params)
            torch._foreach_mul_(scratch, group["weight_decay"])
            torch._foreach_add_(updates, scratch)
        del scratch

        if group["adapt"]:
            # ratio = ||param|| / ||update|| where both are > 0, else 1; the step is (ratio * lr) * update
            param_norms = torch.stack(torch._foreach_norm(params))
            update_norms = torch.stack(torch._foreach_norm(updates))
            one = torch.ones_like(param_norms)
            ratios = torch.where(param_norms > 0, torch.where(update_norms > 0, param_norms / update_norms, one), one)
            torch._foreach_mul_(updates, list((ratios * group["lr"]).unbind()))
        else:
            torch._foreach_mul_(updates, group["lr"])
        torch._foreach_sub_(params, updates)
