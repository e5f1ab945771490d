"""Lamb against Google's LAMB: a numpy transcription of google-research/albert's ``lamb_optimizer.py``, step by step
on a tiny ALBERT's named parameters; the name rule; the trust ratio's edge cases; resume; refusals."""

from __future__ import annotations

import copy
import doctest
import io
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.training import Lamb, _lamb, lamb_parameter_groups

from .test_model import TINY

# Google's recipe (optimization.py, create_optimizer, optimizer == "lamb").
GOOGLE_EXCLUDE = ("LayerNorm", "layer_norm", "bias")


def google_lamb_step(
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray | None],
    m: dict[str, np.ndarray],
    v: dict[str, np.ndarray],
    *,
    learning_rate: float,
    weight_decay_rate: float,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-6,
    exclude_from_weight_decay: tuple[str, ...] = GOOGLE_EXCLUDE,
) -> None:
    """One ``LAMBOptimizer.apply_gradients``, in numpy float32, updating ``params``, ``m`` and ``v`` in place.

    Transcribed line by line from google-research/albert, ``lamb_optimizer.py`` (commit b772393): the constructor,
    lines 40-64 (``exclude_from_layer_adaptation`` defaults to ``exclude_from_weight_decay``); ``apply_gradients``,
    lines 66-122; ``_do_use_weight_decay``, lines 124-132; ``_do_layer_adaptation``, lines 134-140. The Python
    floats become float32 constants as in TensorFlow, whose learning rate is a float32 tensor.
    """
    f32 = np.float32
    exclude_from_layer_adaptation = exclude_from_weight_decay  # lines 61-64

    def _do_use_weight_decay(param_name: str) -> bool:  # lines 124-132
        if not weight_decay_rate:
            return False
        return all(re.search(r, param_name) is None for r in exclude_from_weight_decay)

    def _do_layer_adaptation(param_name: str) -> bool:  # lines 134-140
        return all(re.search(r, param_name) is None for r in exclude_from_layer_adaptation)

    lr = f32(learning_rate)
    for param_name, param in params.items():  # line 69
        grad = grads[param_name]
        if grad is None:  # lines 70-71
            continue
        # Standard Adam update.                                        lines 88-93
        next_m = f32(beta_1) * m[param_name] + f32(1.0 - beta_1) * grad
        next_v = f32(beta_2) * v[param_name] + f32(1.0 - beta_2) * np.square(grad)
        update = next_m / (np.sqrt(next_v) + f32(epsilon))  # line 95
        if _do_use_weight_decay(param_name):  # lines 104-105
            update += f32(weight_decay_rate) * param
        ratio = f32(1.0)  # lines 107-112
        if _do_layer_adaptation(param_name):
            w_norm = np.linalg.norm(param.ravel(), ord=2)
            g_norm = np.linalg.norm(update.ravel(), ord=2)
            ratio = np.where(w_norm > 0, np.where(g_norm > 0, w_norm / g_norm, f32(1.0)), f32(1.0)).astype(f32)
        update_with_lr = ratio * lr * update  # line 114
        next_param = param - update_with_lr  # line 116
        params[param_name], m[param_name], v[param_name] = next_param, next_m, next_v  # lines 118-121
        assert next_param.dtype == next_m.dtype == next_v.dtype == np.float32


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return A.AlbertForPreTraining(A.AlbertConfig(**TINY))


MODEL = tiny_model()
NAMES = [name for name, _ in MODEL.named_parameters()]


def random_grads(model: torch.nn.Module, rng: np.random.Generator, missing: float) -> dict[str, np.ndarray | None]:
    """A gradient per parameter at assorted scales, or None (no gradient this step) with probability
    ``missing``."""
    grads: dict[str, np.ndarray | None] = {}
    for name, param in model.named_parameters():
        if rng.random() < missing:
            grads[name] = None
        else:
            scale = 10.0 ** rng.uniform(-4, 1)
            grads[name] = (rng.standard_normal(param.shape) * scale).astype(np.float32)
    return grads


def set_grads(model: torch.nn.Module, grads: dict[str, np.ndarray | None]) -> None:
    for name, param in model.named_parameters():
        grad = grads[name]
        param.grad = None if grad is None else torch.from_numpy(grad.copy())


def snapshot(model: torch.nn.Module, optimizer: Lamb) -> dict[str, torch.Tensor]:
    out = {f"param/{n}": p.detach().clone() for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        for key, value in optimizer.state.get(p, {}).items():
            out[f"{key}/{n}"] = value.clone()
    return out


def excluded(name: str) -> bool:
    """Google's rule: ``re.search`` of each pattern (lamb_optimizer.py lines 128-131 and 136-139)."""
    return any(re.search(r, name) is not None for r in GOOGLE_EXCLUDE)


# -- against Google's update ------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lr=st.sampled_from([0.0, 1e-4, 0.00176, 0.01, 0.5]) | st.floats(1e-6, 1.0),
    weight_decay=st.sampled_from([0.0, 0.01, 0.1]) | st.floats(0.0, 1.0),
    betas=st.sampled_from([(0.9, 0.999), (0.0, 0.5), (0.95, 0.98)]),
    eps=st.sampled_from([1e-6, 1e-8, 1e-2]),
    missing=st.sampled_from([0.0, 0.2]),
)
def test_each_step_matches_googles_lamb(seed, lr, weight_decay, betas, eps, missing):
    rng = np.random.default_rng(seed)
    model = copy.deepcopy(MODEL)
    optimizer = Lamb(lamb_parameter_groups(model, weight_decay), lr=lr, betas=betas, eps=eps)
    params = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    m = {n: np.zeros_like(p) for n, p in params.items()}
    v = {n: np.zeros_like(p) for n, p in params.items()}
    seen: set[str] = set()
    scale = {n: float(np.abs(p).max()) for n, p in params.items()}  # the largest |element| so far
    for _ in range(5):
        grads = random_grads(model, rng, missing)
        set_grads(model, grads)
        optimizer.step()
        google_lamb_step(
            params,
            grads,
            m,
            v,
            learning_rate=lr,
            weight_decay_rate=weight_decay,
            beta_1=betas[0],
            beta_2=betas[1],
            epsilon=eps,
        )
        seen |= {n for n, g in grads.items() if g is not None}
        for name, param in model.named_parameters():
            # The moments agree to the bit: every product and sum rounds once in float32 on both sides. The
            # parameters agree within 1e-6 of each element, or of the largest magnitude the tensor has had (where
            # a value cancels towards zero): torch's vectorised float32 sqrt is 1 ulp off the correctly rounded
            # one in some elements, and the trust ratio's norms sum in another order.
            scale[name] = max(scale[name], float(np.abs(params[name]).max()))
            np.testing.assert_allclose(
                param.detach().numpy(), params[name], rtol=1e-6, atol=1e-6 * scale[name], err_msg=name
            )
            state = optimizer.state.get(param, {})
            assert (name in seen) == bool(state), name  # moments exist once the tensor had a gradient
            if state:
                assert np.array_equal(state["exp_avg"].numpy(), m[name]), name
                assert np.array_equal(state["exp_avg_sq"].numpy(), v[name]), name
            else:
                assert not m[name].any() and not v[name].any()


def test_the_groups_follow_googles_exclusion_list_on_albert():
    groups = lamb_parameter_groups(MODEL, 0.01)
    by_tensor = {id(p): (g["weight_decay"], g["adapt"]) for g in groups for p in g["params"]}
    names = dict(MODEL.named_parameters())
    assert len(by_tensor) == len(names)
    skipped = {n for n in names if excluded(n)}
    assert 30 < len(skipped) < len(names)  # every LayerNorm and bias, and not the weight matrices
    for name, param in names.items():
        assert by_tensor[id(param)] == ((0.0, False) if name in skipped else (0.01, True)), name


def test_parameters_without_requires_grad_are_left_out():
    model = copy.deepcopy(MODEL)
    model.albert.embeddings.word_embeddings.weight.requires_grad_(False)
    groups = lamb_parameter_groups(model, 0.01)
    held = {id(p) for g in groups for p in g["params"]}
    assert id(model.albert.embeddings.word_embeddings.weight) not in held
    assert len(held) == len(NAMES) - 1


def test_layer_norms_and_biases_get_no_weight_decay_and_no_trust_ratio():
    model = copy.deepcopy(MODEL)
    optimizer = Lamb(lamb_parameter_groups(model, weight_decay=0.5), lr=0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    grads = {
        n: torch.randn(p.shape, generator=torch.Generator().manual_seed(i)) for i, (n, p) in enumerate(before.items())
    }
    for name, param in model.named_parameters():
        param.grad = grads[name].clone()
    optimizer.step()
    for name, param in model.named_parameters():
        g = grads[name]
        plain = (0.1 * g) / (torch.sqrt(0.001 * g * g) + 1e-6)  # m / (sqrt(v) + eps) after one step
        step = before[name] - param.detach()
        if excluded(name):  # ratio 1, no decay: a plain Adam step of lr
            torch.testing.assert_close(step, 0.1 * plain, rtol=1e-5, atol=1e-8, msg=name)
        else:  # decay added, then rescaled so that the step's norm is lr * ||param||
            torch.testing.assert_close(step.norm(), 0.1 * before[name].norm(), rtol=1e-5, atol=0, msg=name)
            update = plain + 0.5 * before[name]
            torch.testing.assert_close(step / step.norm(), update / update.norm(), rtol=1e-4, atol=1e-6, msg=name)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lr=st.floats(1e-2, 1.0),
    weight_decay=st.floats(0.0, 1.0),
)
def test_an_adapted_tensors_step_has_norm_lr_times_its_norm(seed, lr, weight_decay):
    # lr >= 0.01 and rtol 1e-4: the step is measured as a float32 difference of weights, which rounds at 1e-7
    # of the weights, so of 1e-5 of a step of 0.01 of them.
    generator = torch.Generator().manual_seed(seed)
    param = torch.nn.Parameter(torch.randn(7, 5, generator=generator))
    optimizer = Lamb([param], lr=lr, weight_decay=weight_decay)
    for _ in range(3):
        before = param.detach().clone()
        param.grad = torch.randn(7, 5, generator=generator)
        optimizer.step()
        torch.testing.assert_close((before - param.detach()).norm(), lr * before.norm(), rtol=1e-4, atol=0)


def test_a_zero_parameter_gets_ratio_one():
    param = torch.nn.Parameter(torch.zeros(4, 3))
    optimizer = Lamb([param], lr=0.1, weight_decay=0.01)
    grad = torch.arange(12.0).reshape(4, 3) - 5.0
    param.grad = grad.clone()
    optimizer.step()
    expected = -0.1 * (0.1 * grad) / (torch.sqrt(0.001 * grad * grad) + 1e-6)  # ||param|| = 0: lr * update
    torch.testing.assert_close(param.detach(), expected, rtol=1e-6, atol=0)


def test_a_zero_update_gets_ratio_one_and_leaves_the_parameter():
    param = torch.nn.Parameter(torch.ones(3))
    optimizer = Lamb([param], lr=0.1)  # no weight decay: a zero gradient from zero moments is a zero update
    param.grad = torch.zeros(3)
    optimizer.step()  # ||param|| / ||update|| would be inf, and inf * 0 NaN
    assert torch.equal(param.detach(), torch.ones(3))


def test_learning_rate_zero_changes_no_parameter_but_moves_the_moments():
    model = copy.deepcopy(MODEL)
    optimizer = Lamb(lamb_parameter_groups(model, 0.01), lr=0.0)
    set_grads(model, random_grads(model, np.random.default_rng(0), 0.0))
    optimizer.step()
    for (name, param), (_, original) in zip(model.named_parameters(), MODEL.named_parameters(), strict=True):
        assert torch.equal(param, original), name
        assert optimizer.state[param]["exp_avg"].any()


def test_parameters_without_a_gradient_are_skipped():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    optimizer = Lamb([a, b], lr=0.1, weight_decay=0.1)
    a.grad = torch.ones(2)
    optimizer.step()
    assert torch.equal(b.detach(), torch.ones(2)) and b not in optimizer.state  # not decayed either
    assert not torch.equal(a.detach(), torch.ones(2)) and set(optimizer.state[a]) == {"exp_avg", "exp_avg_sq"}


def test_the_closure_runs_with_gradients_and_its_loss_comes_back():
    param = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    optimizer = Lamb([param], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (param**2).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 5.0 and param.grad is not None
    assert optimizer.step() is None


def test_each_group_keeps_its_own_hyperparameters():
    a, b = torch.nn.Parameter(torch.full((3,), 2.0)), torch.nn.Parameter(torch.full((3,), 2.0))
    optimizer = Lamb([{"params": [a], "lr": 0.5}, {"params": [b], "adapt": False}], lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.5, 0.1]
    assert [g["adapt"] for g in optimizer.param_groups] == [True, False]
    a.grad, b.grad = torch.ones(3), torch.ones(3)
    optimizer.step()
    torch.testing.assert_close((2.0 - a.detach()).norm(), 0.5 * torch.full((3,), 2.0).norm())
    first = 0.1 / (np.sqrt(np.float32(0.001)) + np.float32(1e-6))
    torch.testing.assert_close(2.0 - b.detach(), torch.full((3,), 0.1 * float(first)))


# -- resume ---------------------------------------------------------------------------------------------
def test_a_state_dict_round_trip_resumes_bit_for_bit():
    rng = np.random.default_rng(7)
    schedule = [random_grads(MODEL, rng, missing=0.1) for _ in range(5)]
    lrs = [0.001, 0.002, 0.003, 0.0025, 0.002]

    def run(model, optimizer, steps):
        for grads, lr in steps:
            for group in optimizer.param_groups:
                group["lr"] = lr
            set_grads(model, grads)
            optimizer.step()

    straight = copy.deepcopy(MODEL)
    straight_opt = Lamb(lamb_parameter_groups(straight, 0.01), lr=0.001)
    run(straight, straight_opt, list(zip(schedule, lrs, strict=True)))

    first = copy.deepcopy(MODEL)
    first_opt = Lamb(lamb_parameter_groups(first, 0.01), lr=0.001)
    run(first, first_opt, list(zip(schedule[:3], lrs[:3], strict=True)))
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": first_opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    resumed = copy.deepcopy(MODEL)
    resumed.load_state_dict(saved["model"])
    resumed_opt = Lamb(lamb_parameter_groups(resumed, 0.01), lr=0.001)
    resumed_opt.load_state_dict(saved["optimizer"])
    run(resumed, resumed_opt, list(zip(schedule[3:], lrs[3:], strict=True)))

    want, got = snapshot(straight, straight_opt), snapshot(resumed, resumed_opt)
    assert want.keys() == got.keys()
    for key in want:
        assert torch.equal(want[key], got[key]), key


def test_the_state_of_another_optimizer_is_refused_and_nothing_changes():
    model = copy.deepcopy(MODEL)
    adamw = torch.optim.AdamW([{"params": g["params"]} for g in lamb_parameter_groups(model, 0.01)])
    set_grads(model, random_grads(model, np.random.default_rng(1), 0.0))
    adamw.step()
    optimizer = Lamb(lamb_parameter_groups(model, 0.01), lr=0.1)
    before = copy.deepcopy(optimizer.state_dict())
    with pytest.raises(ValueError, match="lacks adapt"):
        optimizer.load_state_dict(adamw.state_dict())
    assert optimizer.state_dict() == before


def test_a_state_of_other_shapes_is_refused():
    small, large = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    saved = Lamb([small], lr=0.1)
    small.grad = torch.ones(2)
    saved.step()
    optimizer = Lamb([large], lr=0.1)
    with pytest.raises(ValueError, match=r"'exp_avg', a tensor of shape \(3,\)"):
        optimizer.load_state_dict(saved.state_dict())
    assert not optimizer.state
    with pytest.raises(ValueError, match="2 parameter groups"):
        optimizer.load_state_dict({"state": {}, "param_groups": [*saved.state_dict()["param_groups"]] * 2})
    with pytest.raises(ValueError, match="'state'"):
        optimizer.load_state_dict({"param_groups": []})
    bad = saved.state_dict()
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr must be"):
        optimizer.load_state_dict(bad)


# -- refusals -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1e-3}, "lr must be a finite number >= 0"),
        ({"lr": float("nan")}, "lr must be"),
        ({"lr": float("inf")}, "lr must be"),
        ({"lr": True}, "lr must be"),
        ({"betas": (1.0, 0.999)}, r"betas\[0\] must be a finite number in \[0.0, 1.0\)"),
        ({"betas": (0.9, -0.1)}, r"betas\[1\] must be"),
        ({"betas": (0.9,)}, "betas must be a pair"),
        ({"eps": 0.0}, "eps must be a finite number > 0"),
        ({"eps": -1e-6}, "eps must be"),
        ({"weight_decay": -0.01}, "weight_decay must be a finite number >= 0"),
        ({"adapt": 1}, "adapt must be True or False"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Lamb([torch.nn.Parameter(torch.ones(2))], **kwargs)
    with pytest.raises(ValueError, match=message):  # the same in a group of its own
        Lamb([{"params": [torch.nn.Parameter(torch.ones(2))], **kwargs}])


def test_a_refused_group_is_not_added():
    optimizer = Lamb([torch.nn.Parameter(torch.ones(2))])
    with pytest.raises(ValueError, match="lr must be"):
        optimizer.add_param_group({"params": [torch.nn.Parameter(torch.ones(2))], "lr": -1.0})
    assert len(optimizer.param_groups) == 1


def test_a_learning_rate_set_out_of_range_later_is_refused_at_the_step():
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = Lamb([param])
    optimizer.param_groups[0]["lr"] = -0.1
    param.grad = torch.ones(2)
    with pytest.raises(ValueError, match="lr must be"):
        optimizer.step()
    assert torch.equal(param.detach(), torch.ones(2))


def test_a_refused_step_changes_no_group():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    optimizer = Lamb([{"params": [a]}, {"params": [b]}], lr=0.1)
    optimizer.param_groups[1]["lr"] = float("nan")
    a.grad, b.grad = torch.ones(2), torch.ones(2)
    with pytest.raises(ValueError, match="lr must be"):
        optimizer.step()
    assert torch.equal(a.detach(), torch.ones(2)) and not optimizer.state


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_parameters_that_are_not_float32_are_refused(dtype):
    with pytest.raises(ValueError, match=r"float32 parameters only.*autocast"):
        Lamb([torch.nn.Parameter(torch.ones(2, dtype=dtype))])
    model = torch.nn.Linear(2, 2)
    optimizer = Lamb(model.parameters())
    model.to(dtype)  # converted after the optimizer was made
    model(torch.ones(1, 2, dtype=dtype)).sum().backward()
    with pytest.raises(ValueError, match="float32 parameters only"):
        optimizer.step()


def test_sparse_gradients_are_refused():
    embedding = torch.nn.Embedding(5, 3, sparse=True)
    optimizer = Lamb(embedding.parameters())
    embedding(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse gradients"):
        optimizer.step()


@pytest.mark.parametrize("weight_decay", [-0.01, float("nan"), "0.01"])
def test_lamb_parameter_groups_refuses_a_bad_weight_decay(weight_decay):
    with pytest.raises(ValueError, match="weight_decay must be"):
        lamb_parameter_groups(MODEL, weight_decay)


def test_the_docstring_examples_run():
    assert doctest.testmod(_lamb, raise_on_error=False).failed == 0
