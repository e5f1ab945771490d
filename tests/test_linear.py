"""The packed oneDNN path of ``albert_model.modeling._linear.Linear``: same answers as ``F.linear``, never stale."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_model.modeling._linear import Linear, onednn_available

pytestmark = pytest.mark.skipif(not onednn_available(), reason="torch built without oneDNN")


def packed(*args, **kwargs) -> Linear:
    layer = Linear(*args, **kwargs).eval()
    layer.packing = True
    return layer


def reference(layer: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, layer.weight, layer.bias)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 40),
    lead=st.sampled_from([(), (2,), (3, 1)]),
    sizes=st.sampled_from([(1, 1), (7, 3), (32, 48), (128, 300)]),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_packed_path_equals_f_linear(rows, lead, sizes, bias, seed):
    torch.manual_seed(seed)
    layer = packed(*sizes, bias=bias)
    x = torch.randn(*lead, rows, sizes[0])
    with torch.no_grad():
        got = layer(x)
        assert layer._packed is not None  # the packed path ran
        torch.testing.assert_close(got, reference(layer, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "change",
    [
        lambda layer: layer.weight.add_(0.5),  # in place (as an optimizer step)
        lambda layer: layer.bias.mul_(-3),
        lambda layer: layer.load_state_dict({"weight": torch.randn(5, 4), "bias": torch.randn(5)}),
        lambda layer: setattr(layer.weight, "data", torch.randn(5, 4)),  # replaced
        lambda layer: setattr(layer, "weight", torch.nn.Parameter(torch.randn(5, 4))),
        lambda layer: setattr(layer, "bias", None),
    ],
    ids=["weight-in-place", "bias-in-place", "load-state-dict", "data-replaced", "parameter-replaced", "no-bias"],
)
def test_a_changed_weight_is_never_answered_from_the_old_pack(change):
    torch.manual_seed(0)
    layer = packed(4, 5)
    x = torch.randn(3, 4)
    with torch.no_grad():
        before = layer(x)
        change(layer)
        after = layer(x)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, reference(layer, x), rtol=1e-5, atol=1e-5)


def test_an_optimizer_step_between_evaluations_is_seen():
    torch.manual_seed(0)
    layer = packed(6, 2)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    x = torch.randn(4, 6)
    for _ in range(3):
        layer.eval()
        with torch.no_grad():
            torch.testing.assert_close(layer(x), reference(layer, x), rtol=1e-5, atol=1e-5)
        layer.train()
        layer(x).square().sum().backward()
        optimizer.step()
        optimizer.zero_grad()


def test_training_and_gradients_take_f_linear():
    torch.manual_seed(0)
    layer = packed(4, 3).train()
    x = torch.randn(2, 4, requires_grad=True)
    layer(x).sum().backward()  # train mode
    assert layer._packed is None and layer.weight.grad is not None and x.grad is not None
    layer.eval()
    out = layer(x)  # eval, but gradients wanted
    assert out.requires_grad and layer._packed is None
    assert torch.equal(out, reference(layer, x))


def test_other_dtypes_and_inference_mode_parameters_take_f_linear():
    with torch.no_grad():
        layer = packed(4, 3).double()
        x = torch.randn(2, 4, dtype=torch.float64)
        assert torch.equal(layer(x), reference(layer, x)) and layer._packed is None
    with torch.inference_mode():
        made = packed(4, 3)  # inference tensors keep no version counter
        x = torch.randn(2, 4)
        assert torch.equal(made(x), reference(made, x)) and made._packed is None


def test_off_by_default_and_switched_by_the_model():
    from albert_model import AlbertConfig
    from albert_model.modeling import AlbertForMaskedLM

    torch.manual_seed(0)
    config = AlbertConfig(
        vocab_size=50,
        embedding_size=8,
        hidden_size=16,
        num_attention_heads=2,
        intermediate_size=32,
        num_hidden_layers=2,
        max_position_embeddings=16,
    )
    model = AlbertForMaskedLM(config).eval()
    ids = torch.tensor([[2, 10, 4, 11, 3]])
    layers = [m for m in model.modules() if isinstance(m, Linear)]
    assert len(layers) == 9 and not any(m.packing for m in layers)
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        assert all(m._packed is None for m in layers)
        model.set_weight_packing(True)
        torch.testing.assert_close(model(input_ids=ids).logits, plain, rtol=1e-5, atol=1e-5)
        packed_names = {name for name, m in model.named_modules() if isinstance(m, Linear) and m._packed is not None}
        fused = "albert.encoder.albert_layer_groups.0.albert_layers.0.attention."
        assert packed_names == {
            name for name, m in model.named_modules() if isinstance(m, Linear) and not name.endswith((".key", ".value"))
        }  # query, key and value run as one product whose packed weight query holds
        assert len(model.get_submodule(fused + "query")._packed[1]) == 3 * 2  # made from all three weights and biases
        decoder = model.get_output_embeddings()
        decoder.weight.data.mul_(2)  # tied to the word embeddings; .data hides the change from torch ...
        model.set_weight_packing(True)  # ... so the model is told: every packed copy is dropped
        doubled = model(input_ids=ids).logits
        model.set_weight_packing(False)
        assert all(m._packed is None and not m.packing for m in layers)
        torch.testing.assert_close(doubled, model(input_ids=ids).logits, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(doubled, plain)
    with pytest.raises(TypeError, match="enabled must be a bool, got int"):
        model.set_weight_packing(1)  # type: ignore[arg-type]


def test_state_dict_copy_and_pickle_leave_the_pack_out():
    torch.manual_seed(0)
    layer = packed(8, 4)
    x = torch.randn(3, 8)
    with torch.no_grad():
        want = layer(x)
    assert layer._packed is not None and list(layer.state_dict()) == ["weight", "bias"]
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert clone._packed is None
        with torch.no_grad():
            torch.testing.assert_close(clone(x), want, rtol=1e-5, atol=1e-5)


def test_a_trace_sees_plain_linear():
    layer = packed(4, 3)
    with torch.no_grad():
        graph = str(torch.jit.trace(layer, torch.randn(2, 4)).graph)
    assert "aten::linear" in graph and "mkldnn" not in graph
