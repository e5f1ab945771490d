"""``attn_implementation="varlen"``: padded batches packed to their real tokens give the padded model's outputs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.modeling._unpadded import Packing

from .test_model import tiny

CLASSES = [
    A.AlbertModel,
    A.AlbertForPreTraining,
    A.AlbertForMaskedLM,
    A.AlbertForSequenceClassification,
    A.AlbertForMultipleChoice,
    A.AlbertForTokenClassification,
    A.AlbertForQuestionAnswering,
]


@st.composite
def masks(draw, max_rows=4, max_length=12, first_real=True):
    """Attention masks of any pattern (right padding, holes; left padding too without ``first_real``), each row
    holding one real token or more (its first one with ``first_real``: the batches that are packed)."""
    rows = draw(st.integers(1, max_rows))
    length = draw(st.integers(1, max_length))
    cells = draw(st.lists(st.lists(st.booleans(), min_size=length, max_size=length), min_size=rows, max_size=rows))
    mask = torch.tensor(cells, dtype=torch.long)
    mask[torch.arange(rows), draw(st.lists(st.integers(0, length - 1), min_size=rows, max_size=rows))] = 1
    if first_real:
        mask[:, 0] = 1
    return mask


def _refuse(cls, *_args):
    raise AssertionError("this batch must run padded")


@pytest.fixture
def no_packing(monkeypatch):
    """Fail if a batch is packed."""
    monkeypatch.setattr(Packing, "from_mask", classmethod(_refuse))


def outputs(model, impl, **inputs):
    model.set_attn_implementation(impl)
    with torch.no_grad():
        return model(**inputs, output_hidden_states=True)


@settings(max_examples=40, deadline=None)
@given(mask=masks(), seed=st.integers(0, 2**16))
def test_packed_equals_padded_on_real_tokens(mask, seed):
    model = tiny(A.AlbertForMaskedLM)
    ids = torch.randint(5, 99, mask.shape, generator=torch.Generator().manual_seed(seed))
    padded, packed = (outputs(model, impl, input_ids=ids, attention_mask=mask) for impl in ("sdpa", "varlen"))
    real = mask.bool()
    torch.testing.assert_close(packed.logits[real], padded.logits[real], atol=1e-5, rtol=1e-5)
    for a, b in zip(packed.hidden_states, padded.hidden_states, strict=False):
        torch.testing.assert_close(a[real], b[real], atol=1e-5, rtol=1e-5)
    if not real.all():  # packed (there is padding): padding positions hold zeros
        assert packed.hidden_states[-1][~real].abs().max() == 0
        torch.testing.assert_close(packed.hidden_states[-1][real], padded.hidden_states[-1][real])


@settings(max_examples=25, deadline=None)
@given(mask=masks(first_real=False))
def test_batches_reading_padding_run_padded(mask):
    """Left padding (the pooler reads position 0) and rows of padding only give every output of the padded
    model, pooled outputs and sequence-classification logits included, without packing."""
    mask[0, 0] = 0
    model = tiny(A.AlbertForSequenceClassification)
    ids = torch.randint(5, 99, mask.shape, generator=torch.Generator().manual_seed(6))
    padded = outputs(model, "sdpa", input_ids=ids, attention_mask=mask)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Packing, "from_mask", classmethod(_refuse))  # a fixture would outlive hypothesis' examples
        packed = outputs(model, "varlen", input_ids=ids, attention_mask=mask)
    torch.testing.assert_close(packed.logits, padded.logits)
    all_padding = torch.zeros_like(mask)
    torch.testing.assert_close(
        outputs(model, "varlen", input_ids=ids, attention_mask=all_padding).logits,
        outputs(model, "sdpa", input_ids=ids, attention_mask=all_padding).logits,
    )


@pytest.mark.parametrize(
    "cls, labels",
    [
        (
            A.AlbertForQuestionAnswering,
            {"start_positions": torch.tensor([1, 0]), "end_positions": torch.tensor([2, 1])},
        ),
        (A.AlbertForTokenClassification, {"labels": torch.tensor([[1] * 6, [0] * 6])}),
        (A.AlbertForMaskedLM, {"labels": torch.tensor([[7] * 6, [8] * 6])}),
    ],
    ids=["qa", "tokens", "mlm"],
)
def test_losses_reading_padding_run_padded(cls, labels, no_packing):
    """A loss over padding positions (QA's start/end, labels not -100 on padding) needs the padded logits."""
    model = tiny(cls)
    ids = torch.randint(5, 99, (2, 6), generator=torch.Generator().manual_seed(7))
    mask = torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0]])
    padded = outputs(model, "sdpa", input_ids=ids, attention_mask=mask, **labels)
    packed = outputs(model, "varlen", input_ids=ids, attention_mask=mask, **labels)
    torch.testing.assert_close(packed.loss, padded.loss)


def test_labels_ignored_on_padding_are_packed():
    model = tiny(A.AlbertForTokenClassification)
    ids = torch.randint(5, 99, (2, 6), generator=torch.Generator().manual_seed(8))
    mask = torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0]])
    labels = torch.tensor([[1] * 6, [0, 1, 0, -100, -100, -100]])
    padded = outputs(model, "sdpa", input_ids=ids, attention_mask=mask, labels=labels)
    packed = outputs(model, "varlen", input_ids=ids, attention_mask=mask, labels=labels)
    torch.testing.assert_close(packed.loss, padded.loss, atol=1e-6, rtol=1e-5)
    assert packed.logits[1, 3:].sub(model.classifier.bias).abs().max() < 1e-6  # packed: padding from zeros


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_class_right_padded(cls):
    model = tiny(cls)
    batch, length = (2, 3, 9) if cls is A.AlbertForMultipleChoice else (3, 9), 9
    ids = torch.randint(5, 99, batch, generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([9, 4, 2] if len(batch) == 2 else [[9, 4, 2], [3, 9, 5]])
    mask = (torch.arange(length) < lengths[..., None]).long()
    padded, packed = (outputs(model, impl, input_ids=ids, attention_mask=mask) for impl in ("sdpa", "varlen"))
    real = mask.reshape(-1, length).bool()
    for name in padded:
        a, b = padded[name], packed[name]
        if name == "hidden_states":
            for x, y in zip(a, b, strict=False):
                torch.testing.assert_close(y[real], x[real], atol=1e-5, rtol=1e-5)
        elif a.dim() >= 2 and a.shape[-2 if a.dim() == 3 else -1] == length and name != "pooler_output":
            # per-token outputs: real tokens only (padding positions are computed from zeros when packed)
            tokens_a = a.reshape(-1, length, *a.shape[2:]) if a.dim() == 3 else a.reshape(-1, length)
            tokens_b = b.reshape(tokens_a.shape)
            torch.testing.assert_close(tokens_b[real], tokens_a[real], atol=1e-5, rtol=1e-5)
        else:  # per-row outputs read [CLS], a real token under right padding
            torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)


def test_training_gradients_match():
    model = tiny(
        A.AlbertForSequenceClassification,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        classifier_dropout_prob=0.0,
    ).train()
    ids = torch.randint(5, 99, (3, 7), generator=torch.Generator().manual_seed(2))
    mask = (torch.arange(7) < torch.tensor([[7], [3], [5]])).long()
    grads = []
    for impl in ("sdpa", "varlen"):
        model.zero_grad()
        model.set_attn_implementation(impl)
        model(ids, attention_mask=mask, labels=torch.tensor([0, 1, 1])).loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], atol=1e-5, rtol=1e-4, msg=name)


def test_attention_weights_and_unpadded_batches_take_the_padded_path():
    model = tiny()
    ids = torch.randint(5, 99, (2, 6), generator=torch.Generator().manual_seed(3))
    mask = torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0]])
    padded = outputs(model, "sdpa", input_ids=ids, attention_mask=mask, output_attentions=True)
    packed = outputs(model, "varlen", input_ids=ids, attention_mask=mask, output_attentions=True)
    for a, b in zip(padded.attentions, packed.attentions, strict=False):
        torch.testing.assert_close(b, a)
    torch.testing.assert_close(packed.last_hidden_state, padded.last_hidden_state)  # padding rows included


def test_batches_without_padding_or_with_other_mask_values_are_not_packed(no_packing):
    model = tiny()
    ids = torch.randint(5, 99, (2, 6), generator=torch.Generator().manual_seed(3))
    full = outputs(model, "varlen", input_ids=ids, attention_mask=torch.ones_like(ids))
    torch.testing.assert_close(full.last_hidden_state, outputs(model, "sdpa", input_ids=ids).last_hidden_state)
    mask = torch.tensor([[1] * 6, [1, 1, 2, 0, 0, 0]])  # not 0/1: the additive mask's own semantics
    torch.testing.assert_close(
        outputs(model, "varlen", input_ids=ids, attention_mask=mask).last_hidden_state,
        outputs(model, "sdpa", input_ids=ids, attention_mask=mask).last_hidden_state,
    )


@given(mask=masks(), width=st.integers(1, 5))
def test_pack_then_pad_keeps_real_positions(mask, width):
    x = torch.randn(*mask.shape, width)
    packing = Packing.from_mask(mask, torch.zeros(mask.shape[0], 1, 1, mask.shape[1]))
    packed = packing.unpad(x)
    assert packed.shape == (int(mask.sum()), width)
    assert packing.cu_seqlens.tolist() == [0, *torch.cumsum(mask.sum(1), 0).tolist()]
    assert packing.max_length == int(mask.sum(1).max())
    again = packing.pad(packed)
    torch.testing.assert_close(again, x * mask[..., None])


def test_attn_implementation_names(tmp_path):
    model = tiny(A.AlbertForQuestionAnswering)
    with pytest.raises(ValueError, match=r"'sdpa', 'eager', 'varlen'.*'flash'"):
        model.set_attn_implementation("flash")
    model.set_attn_implementation("varlen")
    assert model.albert.attn_implementation == "varlen"
    model.save_pretrained(tmp_path)
    loaded = A.AlbertForQuestionAnswering.from_pretrained(tmp_path, attn_implementation="varlen")
    assert loaded.albert.attn_implementation == "varlen"
    loaded, _ = A.AlbertForQuestionAnswering.from_pretrained(
        tmp_path, attn_implementation="varlen", output_loading_info=True
    )
    assert loaded.albert.attn_implementation == "varlen"
    assert A.AlbertForQuestionAnswering.from_pretrained(tmp_path).albert.attn_implementation == "sdpa"
    with pytest.raises(ValueError, match="attn_implementation must be one of"):
        A.AlbertForQuestionAnswering.from_pretrained(tmp_path, attn_implementation="flash_attention_2")


def test_onnx_export_traces_the_padded_graph(tmp_path):
    from albert_model.onnx._export import export_onnx
    from albert_model.onnx._runtime import load

    model = tiny(A.AlbertForTokenClassification)
    model.set_attn_implementation("varlen")
    path = export_onnx(model, tmp_path / "model.onnx")
    assert model.attn_implementation == "varlen"  # restored after the export
    ids = torch.randint(5, 99, (2, 8), generator=torch.Generator().manual_seed(4))
    mask = (torch.arange(8) < torch.tensor([[8], [3]])).long()
    with torch.no_grad():
        expected = model(ids, attention_mask=mask).logits
    got = load(path, None)(input_ids=ids, attention_mask=mask).logits  # rows padded differently from the trace
    real = mask.bool()
    torch.testing.assert_close(torch.as_tensor(got)[real], expected[real], atol=1e-4, rtol=1e-4)


def test_torch_compile_runs_the_packed_path():
    model = tiny(A.AlbertForTokenClassification)
    model.set_attn_implementation("varlen")
    ids = torch.randint(5, 99, (3, 7), generator=torch.Generator().manual_seed(5))
    mask = (torch.arange(7) < torch.tensor([[7], [3], [5]])).long()
    compiled = torch.compile(model, backend="eager")  # packing is a graph break: its shape depends on the mask
    with torch.no_grad():
        torch.testing.assert_close(compiled(ids, attention_mask=mask).logits, model(ids, attention_mask=mask).logits)
