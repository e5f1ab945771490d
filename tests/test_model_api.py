"""The model API as fine-tuning code written for transformers uses it (issues #8.8, #10.3): config
validation and label maps, ``from_pretrained`` overrides and dtypes, ``ModelOutput`` behaviour (and
``transformers.Trainer`` reading the loss), embeddings access and resizing, parameter counts and gradient
checkpointing. transformers 4.57 is the reference, called the same way on the same weights."""

from __future__ import annotations

import json
import math
import pickle
import re
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model._config import LIMITS, MAX_LABELS
from albert_model.checkpoints._state_dict import HeadInitializedWarning
from albert_model.checkpoints._weight_files import CheckpointError

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
CLASSES = [
    "AlbertModel",
    "AlbertForPreTraining",
    "AlbertForMaskedLM",
    "AlbertForSequenceClassification",
    "AlbertForMultipleChoice",
    "AlbertForTokenClassification",
    "AlbertForQuestionAnswering",
]


def transformers():
    """transformers<5, the reference implementation."""
    import transformers as T

    return T


def reference(name: str, seed: int = 0, **extra):
    T = transformers()
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(T, name)(T.AlbertConfig(**TINY, **extra)).eval()


def ref_load(name: str, path, **kwargs):
    T = transformers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(T, name).from_pretrained(path, **kwargs)


def ours_load(name: str, path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HeadInitializedWarning)
        return getattr(A, name).from_pretrained(path, **kwargs)


def inputs(name: str = "", seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 99, (3, 10), generator=g)
    mask = torch.ones(3, 10, dtype=torch.long)
    mask[1, 6:] = 0
    batch = {"input_ids": ids, "attention_mask": mask}
    if name == "AlbertForMultipleChoice":
        batch = {k: torch.stack([v, v.roll(1, 1)], 1).contiguous() for k, v in batch.items()}
    return batch


def labels(name: str) -> dict:
    return {
        "AlbertModel": {},
        "AlbertForPreTraining": {"labels": torch.full((3, 10), 7), "sentence_order_label": torch.tensor([0, 1, 0])},
        "AlbertForMaskedLM": {"labels": torch.full((3, 10), 7)},
        "AlbertForSequenceClassification": {"labels": torch.tensor([0, 1, 1])},
        "AlbertForMultipleChoice": {"labels": torch.tensor([1, 0, 1])},
        "AlbertForTokenClassification": {"labels": torch.ones(3, 10, dtype=torch.long)},
        "AlbertForQuestionAnswering": {
            "start_positions": torch.tensor([1, 2, 3]),
            "end_positions": torch.tensor([2, 4, 3]),
        },
    }[name]


# -- config: validated on load, every error naming the key ---------------------------------------------
@pytest.mark.parametrize(
    "key, value",
    [
        ("pad_token_id", 99),
        ("pad_token_id", -1),
        ("pad_token_id", "0"),
        ("vocab_size", LIMITS["vocab_size"] + 1),
        ("vocab_size", -5),
        ("hidden_size", 65536 * 2),
        ("max_position_embeddings", 10**6 + 1),
        ("num_hidden_layers", 1025),
        ("num_hidden_layers", 0),
        ("num_labels", 0),
        ("num_labels", MAX_LABELS + 1),
        ("num_labels", "3"),
        ("initializer_range", -0.1),
        ("initializer_range", float("nan")),
        ("id2label", ["neg", "pos"]),
        ("id2label", {"0": "a", "2": "b"}),
        ("id2label", {"zero": "a"}),
        ("id2label", {"0": None}),
        ("label2id", ["a"]),
        ("hidden_size", "768"),
        ("hidden_size", 768.0),
        ("hidden_size", True),
        ("layer_norm_eps", "1e-12"),
        ("hidden_dropout_prob", "0.1"),
        ("hidden_dropout_prob", 1.0),
        ("classifier_dropout_prob", -0.1),
        ("hidden_act", 3),
        ("bos_token_id", "x"),
        ("architectures", "AlbertModel"),
        ("dtype", "int8"),
        ("torch_dtype", "float8"),
        ("return_dict", "yes"),
        ("num_attention_heads", 5),
    ],
)
def test_bad_config_values_name_the_key(tmp_path, key, value):
    data = {**TINY, "model_type": "albert", key: value}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))  # NaN is written as JSON's NaN extension, which json reads back
    name = {"torch_dtype": "dtype"}.get(key, key)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: .*config\.{name}\b"):
        A.AlbertConfig.from_json(path)


def test_huge_num_labels_is_refused_before_building_anything():
    # 10**9 labels would build a billion-entry dict; the bound is checked first
    with pytest.raises(ValueError, match=r"config\.num_labels must be an int in \[1, 1000000\]"):
        A.AlbertConfig(num_labels=10**9)
    with pytest.raises(ValueError, match=r"config.num_labels"):
        A.AlbertConfig.from_dict({"num_labels": 10**9})


@pytest.mark.parametrize("content, kind", [("[1, 2]", "list"), ("3", "int"), ('"x"', "str"), ("null", "NoneType")])
def test_config_file_that_is_not_an_object_names_the_file(tmp_path, content, kind):
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=rf"{path} must hold a JSON object .* {kind}"):
        A.AlbertConfig.from_json(path)


@pytest.mark.parametrize("kind", ["directory", "fifo", "/dev/null", "/dev/zero", "/dev/urandom"])
def test_config_file_that_is_not_a_regular_file_says_so(tmp_path, kind):
    from albert_tok.io._regular import NotARegularFileError

    from .test_checkpoint_reliability import finishes, not_a_file

    path = not_a_file(tmp_path / "config.json", kind)
    with pytest.raises(NotARegularFileError, match=rf"config file '{re.escape(str(path))}' is not a regular file"):
        finishes(lambda: A.AlbertConfig.from_json(path))


def test_pad_token_id_may_be_null_as_in_transformers():
    cfg = A.AlbertConfig(**TINY, pad_token_id=None)
    model = A.AlbertModel(cfg)
    assert model.embeddings.word_embeddings.padding_idx is None
    assert transformers().AlbertConfig(pad_token_id=None).pad_token_id is None


def test_id2label_list_is_refused_as_in_transformers():
    with pytest.raises(ValueError, match="id2label"):
        transformers().AlbertConfig(id2label=["a", "b"])
    with pytest.raises(ValueError, match=r"config\.id2label must be a dict"):
        A.AlbertConfig(id2label=["a", "b"])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**8) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
_KEYS = sorted(A.AlbertConfig.field_names() - {"extra"})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_KEYS), _JSON)
def test_any_json_value_is_accepted_or_refused_with_the_key_named(key, value):
    try:
        cfg = A.AlbertConfig.from_dict({**TINY, key: value})
    except ValueError as exc:
        names = {"torch_dtype": "dtype"}.get(key, key)
        related = {
            "num_hidden_groups": "num_hidden_layers",
            "num_hidden_layers": "num_hidden_groups",
            "hidden_size": "num_attention_heads",
            "num_attention_heads": "hidden_size",
            "vocab_size": "pad_token_id",
            "num_labels": "id2label",
        }
        assert f"config.{names}" in str(exc) or f"config.{related.get(key, names)}" in str(exc), str(exc)
        return
    again = A.AlbertConfig.from_dict(json.loads(cfg.to_json_string()))
    assert again == cfg  # whatever is accepted survives a save


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=8, unique=True),
    st.sampled_from(["gelu", "relu", "gelu_new"]),
    st.none() | st.integers(0, 98),
)
def test_valid_configs_round_trip(names, act, pad):
    cfg = A.AlbertConfig(**TINY, hidden_act=act, pad_token_id=pad).with_labels(names)
    again = A.AlbertConfig.from_dict(json.loads(cfg.to_json_string()))
    assert again == cfg and again.num_labels == len(names) and again.label2id == {n: i for i, n in enumerate(names)}


# -- num_labels as in transformers --------------------------------------------------------------------------
def test_num_labels_in_the_constructor_and_as_attribute_like_transformers():
    T = transformers()
    ours, ref = A.AlbertConfig(num_labels=3), T.AlbertConfig(num_labels=3)
    assert ours.id2label == ref.id2label and ours.label2id == ref.label2id and ours.num_labels == 3
    ours.id2label, ref.id2label = {0: "neg", 1: "pos", 2: "mid"}, {0: "neg", 1: "pos", 2: "mid"}
    ours.num_labels = ref.num_labels = 3  # the same count keeps the names
    assert ours.id2label == ref.id2label
    ours.num_labels = ref.num_labels = 5
    assert ours.id2label == ref.id2label and ours.label2id == ref.label2id and ours.num_labels == 5
    assert A.AlbertConfig.from_dict({"num_labels": 4}).label2id == T.AlbertConfig.from_dict({"num_labels": 4}).label2id
    assert "num_labels" not in json.loads(A.AlbertConfig(num_labels=3).to_json_string())


# -- from_pretrained overrides, with transformers' semantics -----------------------------------------------
def test_num_labels_override_mismatching_head(tmp_path):
    reference("AlbertForSequenceClassification").save_pretrained(tmp_path)
    with pytest.raises(RuntimeError, match="size mismatch"):
        ref_load("AlbertForSequenceClassification", tmp_path, num_labels=3)
    with pytest.raises(
        CheckpointError, match=r"(?s)shape mismatch for classifier.weight.*ignore_mismatched_sizes=True"
    ):
        ours_load("AlbertForSequenceClassification", tmp_path, num_labels=3)
    ref = ref_load("AlbertForSequenceClassification", tmp_path, num_labels=3, ignore_mismatched_sizes=True)
    with pytest.warns(HeadInitializedWarning, match=r"classifier.weight \(checkpoint \[2, 32\], model \[3, 32\]\)"):
        ours = A.AlbertForSequenceClassification.from_pretrained(tmp_path, num_labels=3, ignore_mismatched_sizes=True)
    assert ours.config.id2label == ref.config.id2label and ours.config.label2id == ref.config.label2id
    assert ours.classifier.weight.shape == ref.classifier.weight.shape
    assert ours.load_report.head_missing and [k for k, _, _ in ours.load_report.reinitialized] == [
        "classifier.bias",
        "classifier.weight",
    ]
    with torch.no_grad():  # everything but the head came from the checkpoint
        torch.testing.assert_close(ours.albert(**inputs()).pooler_output, ref.albert(**inputs()).pooler_output)


def test_label_and_other_config_overrides(tmp_path):
    reference("AlbertForSequenceClassification").save_pretrained(tmp_path)
    names = {0: "neg", 1: "pos"}
    for kwargs in (
        {"id2label": names},
        {"num_labels": 2, "id2label": names},
        {"problem_type": "regression"},
        {"hidden_dropout_prob": 0.3, "classifier_dropout_prob": 0.2},
        {"num_labels": 2},
    ):
        ref = ref_load("AlbertForSequenceClassification", tmp_path, **kwargs)
        ours = ours_load("AlbertForSequenceClassification", tmp_path, **kwargs)
        for key in kwargs:
            assert getattr(ours.config, key) == getattr(ref.config, key), key
        assert ours.config.id2label == ref.config.id2label
        assert ours.albert.embeddings.dropout.p == ref.albert.embeddings.dropout.p
        assert ours.dropout.p == ref.dropout.p
    assert ours_load("AlbertForSequenceClassification", tmp_path, id2label=names).config.label2id == {
        "neg": 0,
        "pos": 1,
    }
    with pytest.raises(ValueError, match="num_labels=3 disagrees with id2label"):
        ours_load("AlbertForSequenceClassification", tmp_path, num_labels=3, id2label=names)
    with pytest.raises(ValueError, match="incompatible"):
        ref_load("AlbertForSequenceClassification", tmp_path, num_labels=3, id2label=names)
    with pytest.raises(ValueError, match=r"config\.hidden_dropout_prob"):
        ours_load("AlbertForSequenceClassification", tmp_path, hidden_dropout_prob=2.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo_bar'"):
        ours_load("AlbertForSequenceClassification", tmp_path, foo_bar=3)
    base = ours_load("AlbertModel", tmp_path, add_pooling_layer=False)  # class arguments pass through
    assert base.pooler is None


def test_dtype_like_transformers(tmp_path):
    reference("AlbertForSequenceClassification").to(torch.bfloat16).save_pretrained(tmp_path)
    for kwargs in (
        {},
        {"dtype": "auto"},
        {"torch_dtype": torch.float16},
        {"dtype": "float16"},
        {"dtype": torch.float64},
        {"torch_dtype": "auto"},
    ):
        ref = ref_load("AlbertForSequenceClassification", tmp_path, **kwargs)
        ours = ours_load("AlbertForSequenceClassification", tmp_path, **kwargs)
        assert ours.dtype == ref.dtype, kwargs
        assert ours.config.dtype == str(ref.config.dtype).removeprefix("torch."), kwargs
    data = json.loads((tmp_path / "config.json").read_text())
    del data["dtype"]
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert ours_load("AlbertForSequenceClassification", tmp_path, dtype="auto").dtype == torch.bfloat16  # weights'
    with pytest.raises(ValueError, match="dtype must be"):
        ours_load("AlbertForSequenceClassification", tmp_path, dtype="int8")
    with pytest.raises(ValueError, match="disagree"):
        ours_load("AlbertForSequenceClassification", tmp_path, dtype=torch.float16, torch_dtype=torch.bfloat16)


def test_older_torch_dtype_key_is_read(tmp_path):
    A.AlbertForMaskedLM(A.AlbertConfig(**TINY)).half().save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    del data["dtype"]  # what transformers < 4.56 writes
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert A.AlbertConfig.from_json(tmp_path / "config.json").dtype == "float16"
    assert A.AlbertForMaskedLM.from_pretrained(tmp_path, dtype="auto").dtype == torch.float16


# -- outputs behave like transformers' ModelOutput ------------------------------------------------------
@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("with_labels", [False, True])
def test_outputs_index_iterate_and_tuple_like_transformers(name, with_labels, tmp_path):
    ref = reference(name)
    ref.save_pretrained(tmp_path)
    ours = ours_load(name, tmp_path).eval()
    kwargs = {**inputs(name), **(labels(name) if with_labels else {}), "output_hidden_states": True}
    with torch.no_grad():
        o, r = ours(**kwargs), ref(**kwargs)
        o_tuple, r_tuple = ours(**kwargs, return_dict=False), ref(**kwargs, return_dict=False)
    assert isinstance(o, dict) and list(o.keys()) == list(r.keys()) and list(o) == list(r)
    assert ("loss" in o) == ("loss" in r) == (with_labels and bool(labels(name)))
    assert len(o.to_tuple()) == len(r.to_tuple()) and len(o_tuple) == len(r_tuple)
    assert type(o_tuple) is tuple
    for mine, theirs in [
        (o[0], r[0]),
        (o_tuple[0], r_tuple[0]),
        (o[-1][-1], r[-1][-1]),
        (o[1:][0], r[1:][0]),
        (o.get("hidden_states")[0], r.get("hidden_states")[0]),
    ]:
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)
    for (k1, v1), (k2, v2) in zip(o.items(), r.items(), strict=False):
        assert k1 == k2 and type(v1) is type(v2)
    assert o.get("attentions") is None and o.get("attentions", 5) == 5
    assert len(list(o.values())) == len(o)


def test_outputs_survive_pickle_pytree_and_dataparallel_rebuild():
    import torch.utils._pytree as pytree

    out = A.AlbertForSequenceClassification(A.AlbertConfig(**TINY)).eval()(**inputs(), labels=torch.tensor([0, 1, 1]))
    again = pickle.loads(pickle.dumps(out))
    assert type(again) is type(out) and list(again) == ["loss", "logits"]
    torch.testing.assert_close(again.logits, out.logits)
    leaves, spec = pytree.tree_flatten(out)
    assert len(leaves) == 2 and type(pytree.tree_unflatten(leaves, spec)) is type(out)
    rebuilt = type(out)((k, v) for k, v in out.items())  # how DataParallel's gather rebuilds a dict output
    assert list(rebuilt) == ["loss", "logits"] and rebuilt.loss is out.loss and rebuilt[0] is out.loss
    out["logits"] = out.logits * 2
    torch.testing.assert_close(out.logits, out[1])
    with pytest.raises(TypeError, match="cannot be deleted"):
        del out["loss"]
    with pytest.raises(KeyError):
        _ = A.AlbertForSequenceClassification(A.AlbertConfig(**TINY))(**inputs())["loss"]


def test_config_flags_give_forward_defaults(tmp_path):
    A.AlbertForSequenceClassification(A.AlbertConfig(**TINY)).save_pretrained(tmp_path)
    model = ours_load("AlbertForSequenceClassification", tmp_path, output_hidden_states=True, return_dict=False)
    out = model(**inputs())
    assert isinstance(out, tuple) and len(out) == 2 and len(out[1]) == TINY["num_hidden_layers"] + 1
    assert "output_hidden_states" not in json.loads(A.AlbertConfig().to_json_string())


def test_transformers_trainer_trains_and_evaluates(tmp_path):
    T = transformers()
    torch.manual_seed(0)
    model = A.AlbertForSequenceClassification(A.AlbertConfig(**TINY))
    g = torch.Generator().manual_seed(0)
    rows = [
        {
            "input_ids": torch.randint(5, 99, (8,), generator=g),
            "attention_mask": torch.ones(8, dtype=torch.long),
            "labels": torch.tensor(i % 2),
        }
        for i in range(16)
    ]
    args = T.TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        max_steps=3,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        learning_rate=1e-3,
        disable_tqdm=True,
        gradient_checkpointing=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = T.Trainer(model=model, args=args, train_dataset=rows, eval_dataset=rows)
        result = trainer.train()
        metrics = trainer.evaluate()
        predictions = trainer.predict(rows)
    assert math.isfinite(result.training_loss) and math.isfinite(metrics["eval_loss"])
    assert predictions.predictions.shape == (16, 2)
    assert model.is_gradient_checkpointing


# -- embeddings, resizing, counting, gradient checkpointing ----------------------------------------------
@pytest.mark.parametrize(
    "name", ["AlbertForMaskedLM", "AlbertForPreTraining", "AlbertForSequenceClassification", "AlbertModel"]
)
def test_embedding_accessors_like_transformers(name, tmp_path):
    ref = reference(name)
    ref.save_pretrained(tmp_path)
    ours = ours_load(name, tmp_path)
    base = ours if name == "AlbertModel" else ours.albert
    assert ours.get_input_embeddings() is base.embeddings.word_embeddings
    assert (ours.get_output_embeddings() is None) == (ref.get_output_embeddings() is None)
    if ours.get_output_embeddings() is not None:
        assert ours.get_output_embeddings() is ours.predictions.decoder
        assert ours.get_output_embeddings().weight is ours.get_input_embeddings().weight
    new = torch.nn.Embedding(99, 16)
    ours.set_input_embeddings(new)
    ours.tie_weights()
    assert ours.get_input_embeddings() is new
    if ours.get_output_embeddings() is not None:
        assert ours.predictions.decoder.weight is new.weight
        decoder = torch.nn.Linear(16, 99)
        ours.set_output_embeddings(decoder)
        assert ours.get_output_embeddings() is decoder and ours.predictions.bias is decoder.bias


@pytest.mark.parametrize("name", ["AlbertForMaskedLM", "AlbertForPreTraining", "AlbertForTokenClassification"])
@pytest.mark.parametrize("size, multiple", [(120, None), (120, 64), (60, None), (None, 32)])
def test_resize_token_embeddings_like_transformers(name, size, multiple, tmp_path):
    ref = reference(name)
    ref.save_pretrained(tmp_path / "before")
    ours = ours_load(name, tmp_path / "before")
    torch.manual_seed(11)
    r_emb = ref.resize_token_embeddings(size, pad_to_multiple_of=multiple)
    torch.manual_seed(11)
    o_emb = ours.resize_token_embeddings(size, pad_to_multiple_of=multiple)
    n = r_emb.weight.shape[0]
    assert o_emb.weight.shape == r_emb.weight.shape and ours.config.vocab_size == ref.config.vocab_size == n
    torch.testing.assert_close(o_emb.weight, r_emb.weight, atol=1e-4, rtol=0)  # old rows, and the new ones' mean
    if ours.get_output_embeddings() is not None:
        decoder = ours.get_output_embeddings()
        assert decoder.weight is o_emb.weight and decoder.out_features == n and decoder.bias is ours.predictions.bias
        torch.testing.assert_close(decoder.bias, ref.get_output_embeddings().bias)
    ours.save_pretrained(tmp_path / "after")  # both libraries load the resized checkpoint
    again = ref_load(name, tmp_path / "after")
    batch = inputs(name)
    batch["input_ids"] = batch["input_ids"].clamp(max=n - 1)
    with torch.no_grad():
        for field in ("logits", "prediction_logits"):
            if field in ref(**batch):
                torch.testing.assert_close(ours.eval()(**batch)[field], again(**batch)[field], atol=1e-5, rtol=1e-5)


def test_resize_token_embeddings_refuses_nonsense():
    model = A.AlbertForMaskedLM(A.AlbertConfig(**TINY))
    for bad in (0, -3, 2.5, "100", True):
        with pytest.raises(ValueError, match="new_num_tokens"):
            model.resize_token_embeddings(bad)
    with pytest.raises(ValueError, match="pad_to_multiple_of"):
        model.resize_token_embeddings(100, pad_to_multiple_of=0)
    assert model.resize_token_embeddings() is model.get_input_embeddings() and model.config.vocab_size == 99
    model.resize_token_embeddings(150, mean_resizing=False)
    assert model.predictions.decoder.weight.shape == (150, 16)


@pytest.mark.parametrize("name", CLASSES)
def test_num_parameters_like_transformers(name, tmp_path):
    ref = reference(name)
    ref.save_pretrained(tmp_path)
    ours = ours_load(name, tmp_path)
    ours.albert.embeddings.requires_grad_(False) if name != "AlbertModel" else ours.embeddings.requires_grad_(False)
    (ref.albert if name != "AlbertModel" else ref).embeddings.requires_grad_(False)
    for only_trainable in (False, True):
        for exclude_embeddings in (False, True):
            assert ours.num_parameters(only_trainable, exclude_embeddings) == ref.num_parameters(
                only_trainable, exclude_embeddings
            ), (only_trainable, exclude_embeddings)


@pytest.mark.parametrize("kwargs", [None, {"use_reentrant": True}])
def test_gradient_checkpointing_recomputes_and_gives_equal_gradients(kwargs):
    torch.manual_seed(0)
    model = A.AlbertForMaskedLM(A.AlbertConfig(**TINY, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1))
    batch = {**inputs(), "labels": inputs()["input_ids"]}

    def grads():
        model.zero_grad()
        torch.manual_seed(1)
        model.train()(**batch).loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    calls = []
    # a pre-hook: non-reentrant recomputation stops early, once the tensors it needs are back
    model.albert.encoder.albert_layer_groups[0].register_forward_pre_hook(lambda *a: calls.append(1))
    plain = grads()
    plain_calls, calls[:] = len(calls), []
    assert not model.is_gradient_checkpointing
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    assert model.is_gradient_checkpointing
    checkpointed = grads()
    assert len(calls) == 2 * plain_calls  # each step of group 0 ran again in the backward pass
    assert plain.keys() == checkpointed.keys()
    for key in plain:
        torch.testing.assert_close(checkpointed[key], plain[key], atol=1e-6, rtol=1e-5)
    calls[:] = []
    with torch.no_grad():
        model.eval()(**inputs())
    assert len(calls) == plain_calls  # no recomputation outside training
    model.gradient_checkpointing_disable()
    assert not model.is_gradient_checkpointing


# -- saving as transformers does ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["AlbertForMaskedLM", "AlbertForQuestionAnswering"])
def test_sharded_save_is_what_transformers_writes_and_reads(name, tmp_path):
    ref = reference(name)
    ref.save_pretrained(tmp_path / "ref", max_shard_size="30KB")
    ours = ours_load(name, tmp_path / "ref")
    ours.save_pretrained(tmp_path / "ours", max_shard_size="30KB")
    index = json.loads((tmp_path / "ours" / "model.safetensors.index.json").read_text())
    ref_index = json.loads((tmp_path / "ref" / "model.safetensors.index.json").read_text())
    assert index == ref_index
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == sorted(p.name for p in (tmp_path / "ref").iterdir())
    again = ref_load(name, tmp_path / "ours")
    with torch.no_grad():
        torch.testing.assert_close(again(**inputs())[0], ref(**inputs())[0])


def test_bin_saves_both_ways(tmp_path):
    ours = A.AlbertForMaskedLM(A.AlbertConfig(**TINY)).eval()
    paths = ours.save_pretrained(tmp_path / "bin", safe_serialization=False)
    assert sorted(p.rsplit("/", 1)[1] for p in paths) == ["config.json", "pytorch_model.bin"]
    ref = ref_load("AlbertForMaskedLM", tmp_path / "bin")
    reference("AlbertForMaskedLM").save_pretrained(
        tmp_path / "sharded", safe_serialization=False, max_shard_size="30KB"
    )
    assert (tmp_path / "sharded" / "pytorch_model.bin.index.json").exists()
    sharded_ref = ref_load("AlbertForMaskedLM", tmp_path / "sharded")
    sharded = A.AlbertForMaskedLM.from_pretrained(tmp_path / "sharded")
    with torch.no_grad():
        torch.testing.assert_close(ref(**inputs()).logits, ours(**inputs()).logits)
        torch.testing.assert_close(sharded(**inputs()).logits, sharded_ref(**inputs()).logits)


_OUTPUT_TYPES = [
    "SequenceClassifierOutput",
    "MaskedLMOutput",
    "QuestionAnsweringModelOutput",
    "AlbertForPreTrainingOutput",
    "BaseModelOutputWithPooling",
    "TokenClassifierOutput",
    "MultipleChoiceModelOutput",
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_OUTPUT_TYPES), st.lists(st.booleans(), min_size=5, max_size=5), st.integers(-6, 6))
def test_output_mapping_and_indexing_match_transformers_model_output(kind, present, index):
    T = transformers()
    from dataclasses import fields

    import albert_model.modeling._outputs as ours_outputs

    ref_module = T.models.albert.modeling_albert if kind == "AlbertForPreTrainingOutput" else T.modeling_outputs
    ours_cls, ref_cls = getattr(ours_outputs, kind), getattr(ref_module, kind)
    names = [f.name for f in fields(ours_cls)]
    assert names == [f.name for f in fields(ref_cls)]
    present[0] = present[0] or kind == "BaseModelOutputWithPooling"  # its first field is required
    values = {
        n: torch.full((1,), float(i)) if keep else None for i, (n, keep) in enumerate(zip(names, present, strict=False))
    }
    o, r = ours_cls(**values), ref_cls(**values)
    assert list(o.keys()) == list(r.keys()) and len(o) == len(r) and o.to_tuple() == r.to_tuple()
    for name in names:
        assert (name in o) == (name in r) and o.get(name) is r.get(name) and getattr(o, name) is getattr(r, name)
    if -len(r) <= index < len(r):
        assert o[index] is r[index]
        assert o[index:] == r[index:]
    else:
        with pytest.raises(IndexError):
            o[index]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.none() | st.integers(1, 64)), min_size=1, max_size=3), st.booleans())
def test_resizing_keeps_old_rows_and_ties(steps, mean_resizing):
    torch.manual_seed(0)
    model = A.AlbertForMaskedLM(A.AlbertConfig(**TINY)).eval()
    for size, multiple in steps:
        size = max(size, model.config.pad_token_id + 1)
        before = model.get_input_embeddings().weight.detach().clone()
        bias = model.predictions.bias.detach().clone()
        emb = model.resize_token_embeddings(size, pad_to_multiple_of=multiple, mean_resizing=mean_resizing)
        n = emb.weight.shape[0]
        assert n >= size and (multiple is None or n % multiple == 0) and n - size < (multiple or 1)
        keep = min(n, before.shape[0])
        assert torch.equal(emb.weight[:keep], before[:keep]) and torch.equal(model.predictions.bias[:keep], bias[:keep])
        assert not model.predictions.bias[keep:].any() and torch.isfinite(emb.weight).all()
        assert model.config.vocab_size == n == model.predictions.decoder.out_features == emb.num_embeddings
        assert (
            model.predictions.decoder.weight is emb.weight and model.predictions.decoder.bias is model.predictions.bias
        )
        with torch.no_grad():
            assert model(torch.tensor([[n - 1, 0]])).logits.shape == (1, 2, n)


@given(dtype=st.sampled_from([torch.int32, torch.int16, torch.uint8, torch.bool]))
@settings(max_examples=8, deadline=None)
def test_input_ids_of_every_accepted_integer_dtype_give_the_int64_answer(dtype):
    """The input check accepts every integer dtype; the embedding lookup takes only int64 and int32, so the
    others are widened first instead of failing deep inside with a RuntimeError."""
    torch.manual_seed(0)
    config = A.AlbertConfig(
        vocab_size=64,
        embedding_size=8,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    model = A.AlbertForMaskedLM(config).eval()
    ids = torch.tensor([[1, 1, 0, 1, 0]]) if dtype == torch.bool else torch.tensor([[2, 1, 0, 1, 3]])
    with torch.no_grad():
        expected = model(input_ids=ids).logits
        got = model(input_ids=ids.to(dtype)).logits
    assert torch.equal(got, expected)
