"""The packed oneDNN path of ``albert_model.modeling._linear``: same answers as ``F.linear``, never stale, and
the layers stay plain ``nn.Linear``."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from albert_model import AlbertConfig
from albert_model.modeling import AlbertForMaskedLM
from albert_model.modeling._linear import _PACKED, linear, onednn_available, packed_linear, set_packing

pytestmark = pytest.mark.skipif(not onednn_available(), reason="torch built without oneDNN")


def packed(*args, **kwargs) -> nn.Linear:
    layer = nn.Linear(*args, **kwargs).eval()
    set_packing(layer, True)
    return layer


def reference(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, layer.weight, layer.bias)


def tiny_mlm() -> AlbertForMaskedLM:
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
    return AlbertForMaskedLM(config).eval()


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
        got = linear(layer, x)
        assert layer in _PACKED  # the packed path ran
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
        before = linear(layer, x)
        change(layer)
        after = linear(layer, x)
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
            torch.testing.assert_close(linear(layer, x), reference(layer, x), rtol=1e-5, atol=1e-5)
        layer.train()
        linear(layer, x).square().sum().backward()
        optimizer.step()
        optimizer.zero_grad()


def test_training_gradients_other_dtypes_and_replacements_take_the_layer():
    torch.manual_seed(0)
    layer = packed(4, 3).train()
    x = torch.randn(2, 4, requires_grad=True)
    linear(layer, x).sum().backward()  # train mode
    assert layer not in _PACKED and layer.weight.grad is not None and x.grad is not None
    layer.eval()
    out = linear(layer, x)  # eval, but gradients wanted
    assert out.requires_grad and layer not in _PACKED
    with torch.no_grad():
        double = packed(4, 3).double()
        y = torch.randn(2, 4, dtype=torch.float64)
        assert torch.equal(linear(double, y), reference(double, y)) and double not in _PACKED
    with torch.inference_mode():
        made = packed(4, 3)  # inference tensors keep no version counter
        z = torch.randn(2, 4)
        assert torch.equal(linear(made, z), reference(made, z)) and made not in _PACKED
    quantized = torch.ao.quantization.quantize_dynamic(nn.Sequential(packed(4, 3)), {nn.Linear})[0]
    with torch.no_grad():  # a replaced layer (not an nn.Linear itself) is called as it is
        assert torch.equal(linear(quantized, z.clone()), quantized(z.clone())) and quantized not in _PACKED


def test_off_by_default_switched_by_the_model_and_still_nn_linear():
    model = tiny_mlm()
    ids = torch.tensor([[2, 10, 4, 11, 3]])
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(layers) == 9 and all(type(m) is nn.Linear for m in layers)
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        assert not any(m in _PACKED for m in layers)
        model.set_weight_packing(True)
        torch.testing.assert_close(model(input_ids=ids).logits, plain, rtol=1e-5, atol=1e-5)
        names = {name for name, m in model.named_modules() if m in _PACKED}
        attention = "albert.encoder.albert_layer_groups.0.albert_layers.0.attention."
        assert attention + "query" in names and attention + "key" not in names  # q, k, v: one product
        assert len(_PACKED[model.get_submodule(attention + "query")][1]) == 3 * 2  # from 3 weights and biases
        assert "predictions.decoder" in names and "albert.encoder.embedding_hidden_mapping_in" in names
        decoder = model.get_output_embeddings()
        decoder.weight.data.mul_(2)  # tied to the word embeddings; .data hides the change from torch ...
        model.set_weight_packing(True)  # ... so the model is told: every packed copy is dropped
        doubled = model(input_ids=ids).logits
        model.set_weight_packing(False)
        assert not any(m in _PACKED for m in layers)
        torch.testing.assert_close(doubled, model(input_ids=ids).logits, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(doubled, plain)
    with pytest.raises(TypeError, match="enabled must be a bool, got int"):
        model.set_weight_packing(1)  # type: ignore[arg-type]


def test_tools_that_look_for_nn_linear_still_find_every_layer():
    model = tiny_mlm()
    model.set_weight_packing(True)
    quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    assert not [n for n, m in quantized.named_modules() if type(m) is nn.Linear]
    with torch.no_grad():
        quantized(input_ids=torch.tensor([[2, 10, 4, 3]]))  # runs: the quantized layers are called as they are


def test_copies_and_pickles_of_a_packed_model_carry_no_pack():
    model = tiny_mlm()
    model.set_weight_packing(True)
    ids = torch.tensor([[2, 10, 4, 11, 3]])
    with torch.no_grad():
        want = model(input_ids=ids).logits
    assert list(model.get_submodule("predictions.decoder").state_dict()) == ["weight", "bias"]
    buffer = io.BytesIO()
    torch.save(model, buffer)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert not any(m in _PACKED for m in clone.modules())
        with torch.no_grad():
            torch.testing.assert_close(clone(input_ids=ids).logits, want, rtol=1e-5, atol=1e-5)


class _Calls(nn.Module):
    def __init__(self, layer: nn.Linear) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(self.layer, x)


def test_a_trace_sees_plain_linear():
    module = _Calls(packed(4, 3))
    with torch.no_grad():
        graph = str(torch.jit.trace(module, torch.randn(2, 4)).inlined_graph)
    assert "aten::linear" in graph and "mkldnn" not in graph


def test_several_layers_as_one_product():
    torch.manual_seed(0)
    layers = [packed(8, n) for n in (3, 5, 2)]
    x = torch.randn(4, 8)
    with torch.no_grad():
        out = packed_linear(layers, x, "relu")
    assert out is not None
    want = torch.cat([reference(layer, x) for layer in layers], dim=-1).relu()
    torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-5)
