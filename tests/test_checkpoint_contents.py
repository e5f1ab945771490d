"""What a checkpoint holds must fit what it claims: weights shaped as ``config.json`` says (a mis-shaped
base parameter is refused even under ``ignore_mismatched_sizes``, which re-initialises task heads only),
only finite numbers, and sizes whose product fits in memory, refused before anything is allocated."""

from __future__ import annotations

import math
import os
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model import cli
from albert_model._config import MAX_PARAMETERS
from albert_model.checkpoints._state_dict import HeadInitializedWarning
from albert_model.checkpoints._weight_files import CheckpointError
from albert_model.modeling import _pretrained as P

from .conftest import SPIECE

TINY = {
    "vocab_size": 99,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 64,
}
WORDS = "albert.embeddings.word_embeddings.weight"
FFN = "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"


def saved(directory, cls=A.AlbertForSequenceClassification, **overrides):
    torch.manual_seed(0)
    cls(A.AlbertConfig(**{**TINY, **overrides})).save_pretrained(directory)
    return directory


def edit(directory, change):
    from safetensors.torch import load_file, save_file

    state = load_file(str(directory / "model.safetensors"))
    change(state)
    save_file(state, str(directory / "model.safetensors"))
    return directory


@pytest.fixture(scope="module")
def finetune_model(tmp_path_factory):
    """A pretraining checkpoint of the fixture tokenizer's 30000 pieces, the tokenizer beside it."""
    from albert_tok import AlbertTokenizerFast

    path = tmp_path_factory.mktemp("pretrained")
    saved(path, A.AlbertForPreTraining, vocab_size=30000)
    AlbertTokenizerFast(SPIECE).save_pretrained(path)
    return path


def copy_of(source, target):
    import shutil

    shutil.copytree(source, target)
    return target


def finetune(model, tmp_path, capsys):
    rows = "".join(f"the film number {i},{'pos' if i % 2 else 'neg'}\n" for i in range(8))
    (tmp_path / "t.csv").write_text("text,label\n" + rows)
    code = cli.main(
        [
            "finetune",
            "--task",
            "text-classification",
            "--train",
            str(tmp_path / "t.csv"),
            "--output",
            str(tmp_path / "out"),
            "--model",
            str(model),
            "--steps",
            "1",
            "--device",
            "cpu",
        ]
    )
    return code, capsys.readouterr().err


# -- weights shaped as config.json says --------------------------------------------------------------------------
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("key, shape, wanted", [(WORDS, (100, 16), (99, 16)), (FFN, (36, 32), (37, 32))])
def test_mis_shaped_base_parameter_is_refused_naming_key_and_both_shapes(tmp_path, key, shape, wanted, ignore):
    d = edit(saved(tmp_path / "m"), lambda s: s.__setitem__(key, torch.zeros(shape)))
    message = (
        rf"shape mismatch for {re.escape(key)}: checkpoint \[{shape[0]}, {shape[1]}\], model "
        rf"\[{wanted[0]}, {wanted[1]}\]"
    )
    with pytest.raises(CheckpointError, match=message):
        A.AlbertForSequenceClassification.from_pretrained(d, ignore_mismatched_sizes=ignore)


def test_mis_shaped_base_parameter_loads_only_under_strict_false_with_a_warning_naming_it(tmp_path):
    d = edit(saved(tmp_path / "m"), lambda s: s.__setitem__(WORDS, torch.zeros(100, 16)))
    with (
        pytest.warns(UserWarning, match=rf"{re.escape(WORDS)}: checkpoint \[100, 16\], model \[99, 16\]"),
        pytest.warns(HeadInitializedWarning, match=re.escape(WORDS)),
    ):
        model = A.AlbertForSequenceClassification.from_pretrained(d, strict=False)
    assert [k for k, _, _ in model.load_report.mismatched] == [WORDS]


def test_a_new_head_size_is_still_reinitialised_under_ignore_mismatched_sizes(tmp_path):
    d = saved(tmp_path / "m")
    with pytest.warns(HeadInitializedWarning, match=r"classifier.weight \(checkpoint \[2, 32\], model \[5, 32\]\)"):
        model = A.AlbertForSequenceClassification.from_pretrained(d, num_labels=5, ignore_mismatched_sizes=True)
    assert [k for k, _, _ in model.load_report.reinitialized] == ["classifier.bias", "classifier.weight"]


@settings(max_examples=25)
@given(st.data())
def test_ignore_mismatched_sizes_loads_exactly_when_only_head_parameters_differ(tmp_path_factory, data):
    from safetensors.torch import load_file, save_file

    directory = tmp_path_factory.mktemp("m")
    saved(directory)
    state = load_file(str(directory / "model.safetensors"))
    keys = data.draw(st.sets(st.sampled_from(sorted(state)), min_size=1, max_size=3))
    for key in keys:
        shape = list(state[key].shape)
        axis = data.draw(st.integers(0, len(shape) - 1))
        shape[axis] += data.draw(st.sampled_from([-1, 1, 3]))
        state[key] = torch.zeros(shape)
    save_file(state, str(directory / "model.safetensors"))
    base = sorted(k for k in keys if not k.startswith(("classifier.", "albert.pooler.")))
    if base:
        with pytest.raises(CheckpointError) as caught:
            A.AlbertForSequenceClassification.from_pretrained(directory, ignore_mismatched_sizes=True)
        for key in base:
            assert f"shape mismatch for {key}: checkpoint {list(state[key].shape)}" in str(caught.value)
    else:
        with pytest.warns(HeadInitializedWarning):
            model = A.AlbertForSequenceClassification.from_pretrained(directory, ignore_mismatched_sizes=True)
        assert sorted(k for k, _, _ in model.load_report.reinitialized) == sorted(keys)


@pytest.mark.parametrize("key, shape", [(WORDS, (30001, 16)), (FFN, (36, 32))])
def test_albert_finetune_refuses_a_checkpoint_that_does_not_match_its_config(
    tmp_path, finetune_model, capsys, key, shape
):
    d = edit(copy_of(finetune_model, tmp_path / "m"), lambda s: s.__setitem__(key, torch.zeros(shape)))
    code, err = finetune(d, tmp_path, capsys)
    assert code == 2, err
    assert f"shape mismatch for {key}: checkpoint {list(shape)}, model" in err
    assert not (tmp_path / "out" / "config.json").exists()


# -- only finite numbers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("value, kind", [(float("nan"), "NaN"), (float("inf"), "inf"), (float("-inf"), "inf")])
@pytest.mark.parametrize("strict", [True, False])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, value, kind, dtype, strict):
    def poison(state):
        state[FFN] = state[FFN].to(dtype)
        state[FFN][3, 4] = value

    d = edit(saved(tmp_path / "m"), poison)
    with pytest.raises(CheckpointError, match=rf"{re.escape(FFN)} \(1 {kind}\)"):
        A.AlbertForSequenceClassification.from_pretrained(d, strict=strict)


@settings(max_examples=25)
@given(st.data())
def test_weights_are_refused_exactly_when_some_value_is_not_finite(tmp_path_factory, data):
    from safetensors.torch import load_file, save_file

    directory = tmp_path_factory.mktemp("m")
    saved(directory)
    state = load_file(str(directory / "model.safetensors"))
    values = st.sampled_from([float("nan"), float("inf"), float("-inf"), 3.0e38, -3.0e38, 0.0, 1e-45])
    poisoned = data.draw(st.dictionaries(st.sampled_from(sorted(state)), values, max_size=3))
    for key, value in poisoned.items():
        flat = state[key].view(-1)
        flat[data.draw(st.integers(0, flat.numel() - 1))] = value
    save_file(state, str(directory / "model.safetensors"))
    bad = sorted(k for k, v in poisoned.items() if not math.isfinite(v))
    if bad:
        with pytest.raises(CheckpointError) as caught:
            A.AlbertForSequenceClassification.from_pretrained(directory)
        assert all(f"{key} (" in str(caught.value) for key in bad)
        assert not any(f"{key} (" in str(caught.value) for key in set(poisoned) - set(bad))
    else:
        A.AlbertForSequenceClassification.from_pretrained(directory)


def test_albert_finetune_refuses_nan_weights(tmp_path, finetune_model, capsys):
    d = edit(copy_of(finetune_model, tmp_path / "m"), lambda s: s[WORDS].view(-1).__setitem__(7, float("nan")))
    code, err = finetune(d, tmp_path, capsys)
    assert code == 2, err
    assert f"{WORDS} (1 NaN)" in err


# -- sizes whose product fits ------------------------------------------------------------------------------------
configs = st.fixed_dictionaries(
    {
        "vocab_size": st.integers(1, 50),
        "embedding_size": st.integers(1, 9),
        "num_attention_heads": st.integers(1, 3),
        "intermediate_size": st.integers(1, 9),
        "max_position_embeddings": st.integers(1, 9),
        "type_vocab_size": st.integers(1, 3),
        "inner_group_num": st.integers(1, 2),
        "num_hidden_groups": st.integers(1, 2),
        "pad_token_id": st.none(),
    }
).flatmap(
    lambda c: st.builds(
        dict,
        st.just(c),
        hidden_size=st.integers(1, 4).map(lambda k: k * c["num_attention_heads"]),
        num_hidden_layers=st.integers(1, 2).map(lambda k: k * c["num_hidden_groups"]),
    )
)


@settings(max_examples=30)
@given(configs)
def test_parameter_count_is_the_base_models(values):
    config = A.AlbertConfig(**values)
    assert config.parameter_count() == A.AlbertModel(config).num_parameters()


@pytest.mark.parametrize(
    "values",
    [
        {"vocab_size": 10**7, "embedding_size": 65536},  # 6.6e11 word-embedding parameters
        {"hidden_size": 65536, "num_attention_heads": 1, "num_hidden_groups": 64, "num_hidden_layers": 64},
        {"hidden_size": 8192, "intermediate_size": 262144, "inner_group_num": 1024, "num_attention_heads": 1},
    ],
)
def test_config_whose_sizes_multiply_to_terabytes_is_refused_with_the_estimate(values):
    with pytest.raises(
        ValueError,
        match=r"about [\d.]+e\+1\d parameters \([\d.]+ TB in float32\).*"
        rf"at most {re.escape(f'{MAX_PARAMETERS:.0e}')}",
    ):
        A.AlbertConfig(**values)


def test_model_larger_than_memory_is_refused_before_allocating(monkeypatch):
    config = A.AlbertConfig(**TINY)
    need = config.parameter_count() * 4
    monkeypatch.setattr(P, "physical_memory", lambda: need - 1)
    allocated = []
    monkeypatch.setattr(torch.nn.Linear, "reset_parameters", lambda self: allocated.append(self))
    with pytest.raises(
        ValueError,
        match=r"about [\d.e+]+ parameters \([\d.]+ [kMG]B in float32\).* more than the "
        r"[\d.]+ [kMG]B of memory this machine has",
    ):
        A.AlbertForSequenceClassification(config)
    assert not allocated
    monkeypatch.setattr(P, "physical_memory", lambda: need + 1)
    A.AlbertModel(config)  # fits: builds
    monkeypatch.setattr(P, "physical_memory", lambda: None)
    A.AlbertModel(config)  # memory unknown: builds


def test_physical_memory_is_reported_where_the_platform_tells_it():
    memory = P.physical_memory()
    assert memory is None or memory > 2**20
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        assert memory == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_from_pretrained_refuses_a_model_larger_than_memory_before_reading_its_weights(tmp_path, monkeypatch):
    import albert_model.checkpoints._state_dict as C

    d = saved(tmp_path / "m")
    monkeypatch.setattr(P, "physical_memory", lambda: 1000)
    read = []
    monkeypatch.setattr(C, "read_state_dict", lambda path: read.append(path))
    with pytest.raises(
        ValueError,
        match=r"AlbertForSequenceClassification: the config makes a model of about .* "
        r"more than the 1.0 kB of memory this machine has",
    ):
        A.AlbertForSequenceClassification.from_pretrained(d)
    assert not read
