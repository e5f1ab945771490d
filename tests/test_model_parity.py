"""Parity with transformers' ALBERT (random weights): every class, both load directions, all formats."""

from __future__ import annotations

import warnings

import pytest
import torch
import transformers as T

import albert_model as A

TINY = {
    "vocab_size": 99,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 4,
    "num_hidden_groups": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "inner_group_num": 2,
    "max_position_embeddings": 64,
    "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
}
CLASSES = [
    "AlbertModel",
    "AlbertForPreTraining",
    "AlbertForMaskedLM",
    "AlbertForSequenceClassification",
    "AlbertForMultipleChoice",
    "AlbertForTokenClassification",
    "AlbertForQuestionAnswering",
]
OUTPUT_FIELDS = {
    "AlbertModel": ["last_hidden_state", "pooler_output"],
    "AlbertForPreTraining": ["prediction_logits", "sop_logits"],
    "AlbertForQuestionAnswering": ["start_logits", "end_logits"],
}


def batch(name: str, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 99, (3, 12), generator=g)
    mask = torch.ones(3, 12, dtype=torch.long)
    mask[1, 7:] = 0
    mask[2, 10:] = 0
    types = torch.zeros(3, 12, dtype=torch.long)
    types[:, 6:] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if name == "AlbertForMultipleChoice":
        inputs = {k: torch.stack([v, v.roll(1, 1)], 1).contiguous() for k, v in inputs.items()}
    return inputs


def labels(name: str) -> dict:
    g = torch.Generator().manual_seed(1)
    if name in ("AlbertForMaskedLM",):
        lab = torch.randint(0, 99, (3, 12), generator=g)
        lab[:, ::2] = -100
        return {"labels": lab}
    if name == "AlbertForPreTraining":
        lab = torch.randint(0, 99, (3, 12), generator=g)
        lab[:, ::3] = -100
        return {"labels": lab, "sentence_order_label": torch.tensor([0, 1, 1])}
    if name == "AlbertForSequenceClassification":
        return {"labels": torch.tensor([0, 1, 1])}
    if name == "AlbertForMultipleChoice":
        return {"labels": torch.tensor([1, 0, 1])}
    if name == "AlbertForTokenClassification":
        lab = torch.randint(0, 2, (3, 12), generator=g)
        lab[0, :2] = -100
        return {"labels": lab}
    if name == "AlbertForQuestionAnswering":
        return {"start_positions": torch.tensor([1, 3, 40]), "end_positions": torch.tensor([2, 5, 6])}
    return {}


def assert_same(name: str, ours, ref, atol: float = 1e-5) -> None:
    for field in OUTPUT_FIELDS.get(name, ["logits"]):
        torch.testing.assert_close(ours[field], ref[field], atol=atol, rtol=1e-5)


def reference(name: str, seed: int = 0, **extra):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(T, name)(T.AlbertConfig(**TINY, **extra)).eval()


@pytest.mark.parametrize("name", CLASSES)
def test_transformers_checkpoint_loads_here(name, tmp_path):
    ref = reference(name)
    ref.save_pretrained(tmp_path)
    ours = getattr(A, name).from_pretrained(tmp_path)
    assert ours.load_report.ok and not ours.load_report.newly_initialized
    inputs = batch(name)
    with torch.no_grad():
        assert_same(name, ours(**inputs), ref(**inputs))
        if labels(name):
            torch.testing.assert_close(
                ours(**inputs, **labels(name)).loss, ref(**inputs, **labels(name)).loss, atol=1e-5, rtol=1e-5
            )
        # hidden states and the eager attention path
        o = ours(**inputs, output_hidden_states=True, output_attentions=True)
        r = ref(**inputs, output_hidden_states=True, output_attentions=True)
    assert len(o.hidden_states) == len(r.hidden_states) == TINY["num_hidden_layers"] + 1
    assert len(o.attentions) == len(r.attentions) == TINY["num_hidden_layers"] * TINY["inner_group_num"]
    for a, b in zip(o.hidden_states + o.attentions, r.hidden_states + r.attentions, strict=False):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", CLASSES)
def test_checkpoint_saved_here_loads_in_transformers(name, tmp_path):
    torch.manual_seed(3)
    ours = getattr(A, name)(A.AlbertConfig(**TINY)).eval()
    ours.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, info = getattr(T, name).from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    inputs = batch(name, seed=5)
    with torch.no_grad():
        assert_same(name, ours(**inputs), ref.eval()(**inputs))
        if labels(name):
            torch.testing.assert_close(
                ours(**inputs, **labels(name)).loss, ref(**inputs, **labels(name)).loss, atol=1e-5, rtol=1e-5
            )
        o = ours(**inputs, output_hidden_states=True, return_dict=False)
        r = ref(**inputs, output_hidden_states=True, return_dict=False)
    assert type(o) is tuple and len(o) == len(r)
    for a, b in zip(o[-1], r[-1], strict=False):  # hidden states, through the tuple form
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_regression_and_multilabel_losses(tmp_path):
    for num_labels, lab in (
        (1, torch.tensor([0.5, -1.0, 2.0])),
        (3, torch.tensor([[1.0, 0, 1], [0, 0, 1], [1, 1, 0]])),
    ):
        ref = reference("AlbertForSequenceClassification", num_labels=num_labels)
        ref.save_pretrained(tmp_path / str(num_labels))
        ours = A.AlbertForSequenceClassification.from_pretrained(tmp_path / str(num_labels))
        before = ours.config.problem_type
        with torch.no_grad():
            torch.testing.assert_close(ours(**batch("x"), labels=lab).loss, ref(**batch("x"), labels=lab).loss)
        assert ours.config.problem_type == before  # inferred, never written back


def test_bin_checkpoint(tmp_path):
    ref = reference("AlbertForMaskedLM")
    ref.save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "pytorch_model.bin").exists()
    ours = A.AlbertForMaskedLM.from_pretrained(tmp_path)
    with torch.no_grad():
        assert_same("AlbertForMaskedLM", ours(**batch("m")), ref(**batch("m")))


def test_sharded_safetensors(tmp_path):
    ref = reference("AlbertForQuestionAnswering")
    ref.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    ours = A.AlbertForQuestionAnswering.from_pretrained(tmp_path)
    with torch.no_grad():
        assert_same("AlbertForQuestionAnswering", ours(**batch("q")), ref(**batch("q")))


def test_base_checkpoint_in_head_and_head_checkpoint_in_base(tmp_path):
    reference("AlbertModel").save_pretrained(tmp_path / "base")
    with pytest.warns(A.HeadInitializedWarning, match="fine-tune it"):
        head = A.AlbertForSequenceClassification.from_pretrained(tmp_path / "base")
    assert head.load_report.newly_initialized == ["classifier.bias", "classifier.weight"]
    assert head.load_report.head_missing
    reference("AlbertForPreTraining").save_pretrained(tmp_path / "pre")
    base, report = A.AlbertModel.from_pretrained(tmp_path / "pre", output_loading_info=True)
    assert report.ok and "predictions.bias" in report.unused and "sop_classifier.classifier.weight" in report.unused
    ref = reference("AlbertForPreTraining").albert
    with torch.no_grad():
        torch.testing.assert_close(base(**batch("b")).last_hidden_state, ref(**batch("b")).last_hidden_state)
