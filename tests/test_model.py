"""The model without a reference: config, golden numbers, bad input, checkpoints, dtypes, compile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.checkpoints._weight_files import CheckpointError

from .conftest import SHARED

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
}
GOOGLE_CONFIG = Path(__file__).parent / "golden" / "albert_config.google.json"


def tiny(cls=A.AlbertModel, seed=0, **overrides):
    torch.manual_seed(seed)
    return cls(A.AlbertConfig(**{**TINY, **overrides})).eval()


# -- config -------------------------------------------------------------------------------------------
def test_config_round_trip_keeps_unknown_keys(tmp_path):
    data = {**TINY, "model_type": "albert", "some_future_key": [1, 2], "id2label": {"0": "neg", "1": "pos"}}
    (tmp_path / "config.json").write_text(json.dumps(data))
    cfg = A.AlbertConfig.from_json(tmp_path / "config.json")
    assert cfg.num_labels == 2 and cfg.label2id == {"neg": 0, "pos": 1}
    again = json.loads(cfg.to_json_string())
    assert again["some_future_key"] == [1, 2] and again["id2label"] == {"0": "neg", "1": "pos"}
    assert A.AlbertConfig.from_dict(again) == cfg


def test_google_config():
    cfg = A.AlbertConfig.from_json(GOOGLE_CONFIG)
    assert (
        cfg.hidden_size,
        cfg.embedding_size,
        cfg.num_hidden_layers,
        cfg.num_attention_heads,
        cfg.intermediate_size,
        cfg.vocab_size,
        cfg.hidden_act,
    ) == (768, 128, 12, 12, 3072, 30000, "gelu")
    assert cfg.extra["net_structure_type"] == 0


def test_config_matches_transformers_keys():
    import transformers as T

    ours = A.AlbertConfig().to_dict()
    ref = T.AlbertConfig().to_dict()
    for key in (
        "vocab_size",
        "embedding_size",
        "hidden_size",
        "num_hidden_layers",
        "num_hidden_groups",
        "num_attention_heads",
        "intermediate_size",
        "inner_group_num",
        "hidden_act",
        "layer_norm_eps",
        "classifier_dropout_prob",
        "max_position_embeddings",
        "type_vocab_size",
        "pad_token_id",
    ):
        assert ours[key] == ref[key], key


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"hidden_size": 30}, "hidden_size"),
        ({"num_hidden_groups": 5}, "num_hidden_groups"),
        ({"num_hidden_groups": 0}, "num_hidden_groups"),
        ({"hidden_act": "mish"}, "hidden_act"),
        ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"problem_type": "ranking"}, "problem_type"),
    ],
)
def test_config_validation_names_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        A.AlbertConfig(**{**TINY, **overrides})


def test_config_for_other_model_rejected():
    with pytest.raises(ValueError, match="model_type='bert'"):
        A.AlbertConfig.from_dict({"model_type": "bert"})


# -- golden numbers (seeded tiny model; made by tests/golden/make_model_golden.py) --------------------
GOLDEN = json.loads((Path(__file__).parent / "golden" / "model_golden.json").read_text())


def golden_inputs():
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(5, TINY["vocab_size"], (2, 9), generator=g)
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 6:] = 0
    return {"input_ids": ids, "attention_mask": mask}


@pytest.mark.parametrize("name", sorted(GOLDEN["outputs"]))
def test_golden_numbers(name):
    cls_name, field = name.split(".")
    model = tiny(getattr(A, cls_name), seed=GOLDEN["seed"])
    with torch.no_grad():
        out = model(**golden_inputs())[field]
    expected = GOLDEN["outputs"][name]
    assert list(out.shape) == expected["shape"]
    torch.testing.assert_close(
        out.double().mean(), torch.tensor(expected["mean"], dtype=torch.float64), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        out.double().abs().sum(), torch.tensor(expected["abs_sum"], dtype=torch.float64), atol=1e-3, rtol=1e-6
    )


# -- bad input ------------------------------------------------------------------------------------------
def test_bad_inputs_raise_specific_errors():
    model = tiny()
    ids = torch.randint(5, 99, (2, 8))
    with pytest.raises(TypeError, match="integers"):
        model(ids.float())
    with pytest.raises(ValueError, match=r"shape \(batch, sequence\)"):
        model(ids[0])
    with pytest.raises(ValueError, match="exceeds max_position_embeddings"):
        model(torch.randint(5, 99, (1, 65)))
    with pytest.raises(ValueError, match=r"token_type_ids holds values in \[2, 2\] but must be in \[0, 1\]"):
        model(ids, token_type_ids=torch.full((2, 8), 2))
    with pytest.raises(ValueError, match=r"input_ids holds values in \[.*, 99\]"):
        model(torch.full((2, 8), 99))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(ids, attention_mask=torch.ones(2, 7, dtype=torch.long))
    with pytest.raises(TypeError, match=r"must be a torch.Tensor"):
        model([[1, 2, 3]])
    with pytest.raises(ValueError, match="exactly one of input_ids and inputs_embeds"):
        model()


def test_missing_and_corrupt_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        A.AlbertModel.from_pretrained(tmp_path / "nowhere")
    model = tiny()
    model.save_pretrained(tmp_path / "ok")
    data = (tmp_path / "ok" / "model.safetensors").read_bytes()
    (tmp_path / "ok" / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        A.AlbertModel.from_pretrained(tmp_path / "ok")
    (tmp_path / "ok" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"has no model.safetensors"):
        A.AlbertModel.from_pretrained(tmp_path / "ok")


def test_other_architecture_rejected(tmp_path):
    from safetensors.torch import save_file

    tiny().save_pretrained(tmp_path)
    save_file(
        {"bert.encoder.layer.0.attention.self.query.weight": torch.zeros(4, 4)}, str(tmp_path / "model.safetensors")
    )
    with pytest.raises(CheckpointError, match="not an ALBERT checkpoint"):
        A.AlbertModel.from_pretrained(tmp_path)


def test_mismatches_listed_sorted_in_one_error(tmp_path):
    from safetensors.torch import load_file, save_file

    tiny(A.AlbertForMaskedLM).save_pretrained(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    del state["albert.encoder.embedding_hidden_mapping_in.bias"]
    del state["albert.embeddings.LayerNorm.weight"]
    state["albert.encoder.extra.weight"] = torch.zeros(1)
    state["predictions.dense.weight"] = torch.zeros(3, 3)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        A.AlbertForMaskedLM.from_pretrained(tmp_path)
    message = str(err.value)
    assert (
        "missing keys (2): albert.embeddings.LayerNorm.weight, albert.encoder.embedding_hidden_mapping_in.bias"
        in message
    )
    assert "unexpected keys (1): albert.encoder.extra.weight" in message
    assert "shape mismatch for predictions.dense.weight: checkpoint [3, 3], model [16, 32]" in message
    _, report = A.AlbertForMaskedLM.from_pretrained(tmp_path, strict=False, output_loading_info=True)
    assert not report.ok and len(report.missing) == 2


def test_legacy_names_and_stale_buffers(tmp_path):
    from safetensors.torch import load_file, save_file

    model = tiny(A.AlbertForSequenceClassification)
    model.save_pretrained(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    legacy = {}
    for k, v in state.items():
        if "LayerNorm" in k or "layer_norm" in k:
            k = k.replace(".weight", ".gamma").replace(".bias", ".beta")
        legacy[k] = v
    legacy["albert.embeddings.position_ids"] = torch.arange(64)[None]
    save_file(legacy, str(tmp_path / "model.safetensors"))
    loaded = A.AlbertForSequenceClassification.from_pretrained(tmp_path)
    ids = torch.randint(5, 99, (2, 8))
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits)


def test_save_is_atomic_and_ties_survive(tmp_path, monkeypatch):
    model = tiny(A.AlbertForPreTraining)
    paths = model.save_pretrained(tmp_path / "m")
    assert sorted(Path(p).name for p in paths) == ["config.json", "model.safetensors"]
    loaded = A.AlbertForPreTraining.from_pretrained(tmp_path / "m")
    assert loaded.predictions.decoder.weight is loaded.albert.embeddings.word_embeddings.weight
    assert loaded.predictions.decoder.bias is loaded.predictions.bias
    import safetensors.torch

    def boom(*args, **kwargs):
        raise OSError("out of memory while serialising")

    # every file is serialised before anything touches the disk (the atomic write is albert_tok.api._files')
    monkeypatch.setattr(safetensors.torch, "save", boom)
    with pytest.raises(OSError):
        model.save_pretrained(tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_masked_positions_match_full_projection():
    model = tiny(A.AlbertForMaskedLM)
    ids = torch.randint(5, 99, (2, 8))
    where = torch.zeros(2, 8, dtype=torch.bool)
    where[0, 3] = where[1, 5] = True
    with torch.no_grad():
        full = model(ids).logits
        part = model(ids, masked_positions=where).logits
    torch.testing.assert_close(part, full[where])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    batch=st.integers(1, 3),
    length=st.integers(1, 9),
    attn=st.sampled_from(["sdpa", "varlen"]),
    packing=st.booleans(),
    data=st.data(),
)
def test_last_layer_at_the_masked_rows_only_changes_nothing_read(seed, batch, length, attn, packing, data):
    """masked_positions computes the last layer for those rows alone; the logits are the full model's there."""
    model = tiny(A.AlbertForMaskedLM, seed=seed % 7, hidden_act=("gelu_new", "relu", "silu")[seed % 3])
    model.set_attn_implementation(attn)
    model.set_weight_packing(packing)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 99, (batch, length), generator=g)
    lengths = data.draw(st.lists(st.integers(1, length), min_size=batch, max_size=batch))
    mask = (torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]).long()
    where = torch.rand(batch, length, generator=g) < data.draw(st.sampled_from([0.0, 0.3, 1.0]))
    where &= mask.bool()  # real tokens (varlen gives a padding position's outputs from zeros)
    with torch.no_grad():
        full = model(ids, attention_mask=mask).logits
        part = model(ids, attention_mask=mask, masked_positions=where).logits
        states = model.albert(ids, attention_mask=mask, rows=where).last_hidden_state
        every = model.albert(ids, attention_mask=mask).last_hidden_state
    assert part.shape == (int(where.sum()), 99)
    torch.testing.assert_close(part, full[where], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(states, every[where], rtol=1e-4, atol=1e-5)


def test_rows_fall_back_to_the_full_model_where_the_shortcut_cannot_apply():
    model = tiny()  # with the pooler, which reads position 0
    ids = torch.randint(5, 99, (2, 6))
    where = torch.zeros(2, 6, dtype=torch.bool)
    where[1, 2:4] = True
    with torch.no_grad():
        out = model(ids, rows=where)
        full = model(ids)
    torch.testing.assert_close(out.last_hidden_state, full.last_hidden_state[where])
    torch.testing.assert_close(out.pooler_output, full.pooler_output)
    mlm = tiny(A.AlbertForMaskedLM).train()  # training: the full last layer, then the rows
    labels = torch.randint(5, 99, (2, 6))
    loss = mlm(ids, labels=labels, masked_positions=where).loss
    loss.backward()
    assert torch.isfinite(loss) and mlm.predictions.dense.weight.grad is not None
    with pytest.raises(ValueError, match=r"rows must be a bool tensor of shape \(2, 6\), got torch.int64 \(2, 6\)"):
        model(ids, rows=where.long())
    with pytest.raises(ValueError, match=r"masked_positions must be a bool tensor of shape \(2, 6\), got list"):
        mlm(ids, masked_positions=[[True]])


def test_an_all_ones_mask_runs_as_no_mask_but_a_trace_keeps_it():
    model = tiny(return_dict=False)
    ids = torch.randint(5, 99, (2, 7))
    ones = torch.ones_like(ids)
    padded = ones.clone()
    padded[1, 4:] = 0
    with torch.no_grad():
        assert torch.equal(model(ids, attention_mask=ones)[0], model(ids)[0])
        traced = torch.jit.trace(model, (ids, ones))  # traced on an all-ones mask ...
        got, want = traced(ids, padded)[0], model(ids, attention_mask=padded)[0]
    torch.testing.assert_close(got, want)  # ... still reads the mask it is given


def test_sdpa_equals_eager():
    model = tiny()
    ids = torch.randint(5, 99, (2, 8))
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[0, 5:] = 0
    with torch.no_grad():
        a = model(ids, attention_mask=mask).last_hidden_state
        b = model(ids, attention_mask=mask, output_attentions=True).last_hidden_state
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_close_to_fp32(tmp_path, dtype):
    model = tiny(A.AlbertForSequenceClassification)
    model.save_pretrained(tmp_path)
    low = A.AlbertForSequenceClassification.from_pretrained(tmp_path, dtype=dtype)
    assert low.dtype == dtype
    ids = torch.randint(5, 99, (2, 8))
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 4:] = 0
    with torch.no_grad():
        ref = model(ids, attention_mask=mask).logits
        out = low(ids, attention_mask=mask).logits
    assert out.dtype == dtype and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), ref, atol=5e-2, rtol=5e-2)


def test_training_step_and_dropout():
    model = tiny(A.AlbertForMaskedLM, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1).train()
    ids = torch.randint(5, 99, (2, 8))
    out = model(ids, labels=ids)
    out.loss.backward()
    assert model.albert.embeddings.word_embeddings.weight.grad is not None


def test_torch_compile_does_not_break():
    model = tiny()
    compiled = torch.compile(model)  # inductor: traces and generates code
    ids = torch.randint(5, 99, (2, 8))
    with torch.no_grad():
        torch.testing.assert_close(compiled(ids).last_hidden_state, model(ids).last_hidden_state)


KNOWN = SHARED / "albert-base-v2" / "known_answers.json"


@pytest.mark.skipif(not KNOWN.exists(), reason="../shared is not present")
def test_known_answer_shapes_match_base_config():
    # The published albert-base-v2 hidden-state slice needs the real weights, which are not available
    # offline; this checks the input/shape contract the integration test relies on.
    known = json.loads(KNOWN.read_text())["base_model_hidden_state"]
    cfg = A.AlbertConfig.from_json(GOOGLE_CONFIG)
    cfg.num_hidden_layers = 1
    model = A.AlbertModel(cfg).eval()
    with torch.no_grad():
        out = model(torch.tensor(known["input_ids"]), attention_mask=torch.tensor(known["attention_mask"]))
    assert list(out.last_hidden_state.shape) == known["expected_shape"]
