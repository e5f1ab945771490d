"""The ONNX Runtime backend: export of all seven classes, fp32 parity with torch, int8, the export cache,
and every pipeline task on ``backend="onnxruntime"``."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.checkpoints._state_dict import MissingHeadError
from albert_model.onnx import _export as onnx_export
from albert_model.onnx._export import CLASSES, cached_export, export_onnx
from albert_model.onnx._runtime import OnnxAlbertModel, session_options
from albert_model.pipelines._factory import pipeline
from albert_tok import AlbertTokenizerFast

from .conftest import SPIECE

TINY = {
    "vocab_size": 30000,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 3,
    "num_hidden_groups": 1,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 64,
}
CONTEXT = "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France."


def tiny(cls: type, **config) -> A.AlbertPreTrainedModel:
    torch.manual_seed(0)
    return cls(A.AlbertConfig(**{**TINY, **config})).eval()


def save(directory: Path, cls: type, **config) -> Path:
    tiny(cls, **config).save_pretrained(directory)
    AlbertTokenizerFast(SPIECE).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each class: (torch model, ONNX Runtime model) exported from the same weights."""
    root = tmp_path_factory.mktemp("onnx")
    out = {}
    for name, cls in CLASSES.items():
        model = (
            tiny(cls, num_labels=3) if name not in ("AlbertForQuestionAnswering", "AlbertForPreTraining") else tiny(cls)
        )
        path = export_onnx(model, root / f"{name}.onnx")
        out[name] = (model, OnnxAlbertModel.from_onnx(path))
    return out


def batch_inputs(name: str, lengths: list[int], seed: int = 0) -> dict[str, torch.Tensor]:
    """Rows of the given lengths, right-padded, with token types changing mid-row."""
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    shape = (len(lengths), 2, width) if name == "AlbertForMultipleChoice" else (len(lengths), width)
    ids = torch.randint(5, 30000, shape, generator=gen)
    mask = torch.zeros(shape, dtype=torch.long)
    types = torch.zeros(shape, dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, ..., :n] = 1
        types[i, ..., n // 2 : n] = 1
        ids[i, ..., n:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def assert_parity(torch_out, onnx_out) -> None:
    assert type(onnx_out) is type(torch_out) and list(onnx_out.keys()) == list(torch_out.keys())
    for key in torch_out:
        assert isinstance(onnx_out[key], torch.Tensor) and onnx_out[key].shape == torch_out[key].shape, key
        if torch_out[key].numel():  # no masked position: (0, vocab) on both sides
            assert float((onnx_out[key] - torch_out[key]).abs().max()) <= 1e-4, key


@pytest.mark.parametrize("name", list(CLASSES))
def test_fp32_parity_every_class(exported, name):
    model, onnx_model = exported[name]
    for lengths in ([7], [3, 11, 1], [20, 20], [64, 5]):
        inputs = batch_inputs(name, lengths)
        with torch.inference_mode():
            want = model(**inputs)
        assert_parity(want, onnx_model(**inputs))
        assert_parity(want, onnx_model(**{k: v.numpy() for k, v in inputs.items()}))  # numpy in, same out


@settings(max_examples=15)
@given(
    name=st.sampled_from(["AlbertForMaskedLM", "AlbertForPreTraining"]),
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
    rate=st.floats(0.05, 1.0),
)
def test_mask_only_projection_parity(exported, name, lengths, seed, rate):
    """The masked-LM graphs project only the masked positions, exactly as masked_positions= does in torch."""
    model, onnx_model = exported[name]
    inputs = batch_inputs(name, lengths, seed)
    where = torch.rand(inputs["input_ids"].shape, generator=torch.Generator().manual_seed(seed)) < rate
    where &= inputs["attention_mask"].bool()
    with torch.inference_mode():
        want = model(**inputs, masked_positions=where)
    got = onnx_model(**inputs, masked_positions=where)
    assert_parity(want, got)
    field = "logits" if name == "AlbertForMaskedLM" else "prediction_logits"
    assert got[field].shape == (int(where.sum()), 30000)


def test_positional_arguments_mean_what_they_mean_in_torch(exported):
    """The torch forward's positional order is (input_ids, attention_mask, token_type_ids, position_ids,
    inputs_embeds): a fourth positional tensor is position_ids there, so it must not be read as anything else."""
    model, onnx_model = exported["AlbertForMaskedLM"]
    inputs = batch_inputs("AlbertForMaskedLM", [6, 3])
    ids, mask, types = inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]
    with torch.inference_mode():
        assert_parity(model(ids, mask, types), onnx_model(ids, mask, types))
    with pytest.raises(ValueError, match="position_ids= is not supported"):
        onnx_model(ids, mask, types, mask.bool())


def test_outputs_follow_the_torch_api(exported):
    model, onnx_model = exported["AlbertForQuestionAnswering"]
    inputs = batch_inputs("AlbertForQuestionAnswering", [5, 9])
    with torch.inference_mode():
        want = model(**inputs, return_dict=False)
    got = onnx_model(**inputs, return_dict=False)
    assert isinstance(got, tuple) and len(got) == len(want) == 2
    assert onnx_model(input_ids=inputs["input_ids"]).start_logits.shape == (2, 9)  # masks/types default
    assert onnx_model.config.to_dict() == model.config.to_dict() and onnx_model.model_class == type(model).__name__
    assert onnx_model.missing_head == [] and onnx_model.device == torch.device("cpu")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"labels": torch.zeros(1, dtype=torch.long)}, ValueError, "labels= is not supported"),
        ({"output_attentions": True}, ValueError, "output_attentions"),
        ({"position_ids": torch.zeros(1, 4, dtype=torch.long)}, ValueError, "position_ids= is not supported"),
        ({"foo": 1}, TypeError, "unexpected keyword argument 'foo'"),
        ({"inputs_embeds": torch.zeros(1, 4, 16)}, ValueError, "inputs_embeds= is not supported"),
    ],
)
def test_what_the_graph_cannot_do_is_refused(exported, kwargs, error, message):
    _, onnx_model = exported["AlbertForSequenceClassification"]
    with pytest.raises(error, match=message):
        onnx_model(input_ids=torch.ones(1, 4, dtype=torch.long), **kwargs)


@pytest.mark.parametrize(
    "inputs, error, message",
    [
        ({"input_ids": torch.full((1, 4), 30000)}, ValueError, r"input_ids holds values in \[30000, 30000\]"),
        ({"input_ids": torch.ones(1, 65, dtype=torch.long)}, ValueError, "exceeds max_position_embeddings"),
        ({"input_ids": torch.ones(4, dtype=torch.long)}, ValueError, "shape"),
        ({"input_ids": torch.ones(1, 4)}, TypeError, "must hold integers"),
        (
            {"input_ids": torch.ones(1, 4, dtype=torch.long), "attention_mask": torch.ones(1, 5, dtype=torch.long)},
            ValueError,
            "attention_mask has shape",
        ),
        (
            {"input_ids": torch.ones(1, 4, dtype=torch.long), "token_type_ids": torch.full((1, 4), 2)},
            ValueError,
            "token_type_ids holds values",
        ),
    ],
)
def test_bad_inputs_are_refused(exported, inputs, error, message):
    _, onnx_model = exported["AlbertModel"]
    with pytest.raises(error, match=message):
        onnx_model(**inputs)


def test_session_options():
    options = session_options()
    assert options.intra_op_num_threads == 2
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert session_options(3).intra_op_num_threads == 3
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"  # shared cores: sleep
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be an int from 1 to 256"):
            session_options(bad)


# -- exporting from directories, int8 ---------------------------------------------------------------
def test_export_from_directory_and_int8(tmp_path):
    directory = save(tmp_path / "clf", A.AlbertForSequenceClassification, num_labels=3)
    path = export_onnx(directory, tmp_path / "clf.onnx")  # the class comes from config.json's architectures
    fp32 = OnnxAlbertModel.from_onnx(path)
    assert fp32.model_class == "AlbertForSequenceClassification" and fp32.quantize is None
    int8_path = export_onnx(directory, tmp_path / "clf-int8.onnx", quantize="int8")
    int8 = OnnxAlbertModel.from_onnx(int8_path)
    assert int8.quantize == "int8"
    import onnx

    nodes = onnx.load(int8_path).graph.node
    products = {n.name for n in onnx.load(path).graph.node if n.op_type in ("MatMul", "Gemm")}
    integer = [n.name for n in nodes if n.op_type == "MatMulInteger"]
    float_left = {n.name for n in nodes if n.op_type in ("MatMul", "Gemm")}
    # the encoder's weight products are int8 (7 per shared layer, once per use, and the embedding mapping) ...
    assert len(integer) == 3 * 6 + 1 and all("/encoder/" in n for n in integer)
    # ... the attention products, the embedding tables and the head stay float32
    heads = sorted(n.rsplit("/", 1)[0] for n in products if "/encoder/" not in n)
    assert (
        sorted(n.rsplit("/", 1)[0] for n in float_left if "/encoder/" not in n)
        == heads
        == ["/model/albert/pooler", "/model/classifier"]
    )
    assert sum(re.search(r"/attention(_\d+)?/MatMul(_1)?$", n) is not None for n in float_left) == 3 * 2  # QK^T, AV
    assert not [n for n in nodes if n.op_type == "Gather" and n.input[0].endswith("quantized")]
    inputs = batch_inputs("AlbertForSequenceClassification", [12, 30, 7])
    a, b = fp32(**inputs).logits, int8(**inputs).logits
    assert float((a - b).abs().max()) < 0.05 * float(a.abs().max()) + 1e-3  # close, not equal
    base = export_onnx(directory, tmp_path / "base.onnx", task="feature-extraction")
    assert OnnxAlbertModel.from_onnx(base).model_class == "AlbertModel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.onnx", "clf", "clf-int8.onnx", "clf.onnx"]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"quantize": "int4"}, ValueError, "quantize must be None"),
        ({"task": "summarization"}, ValueError, "neither a task"),
        ({"task": "fill-mask"}, ValueError, "the model is a AlbertForSequenceClassification"),
    ],
)
def test_export_errors(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        export_onnx(tiny(A.AlbertForSequenceClassification), tmp_path / "x.onnx", **kwargs)


def test_export_refuses_bad_places(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_onnx(tmp_path / "missing", tmp_path / "x.onnx")
    with pytest.raises(FileNotFoundError, match="folder of output_path"):
        export_onnx(tiny(A.AlbertModel), tmp_path / "no" / "x.onnx")
    with pytest.raises(TypeError, match="checkpoint directory or an ALBERT model"):
        export_onnx(42, tmp_path / "x.onnx")
    (tmp_path / "garbage.onnx").write_bytes(b"not protobuf")
    with pytest.raises(ValueError, match=r"garbage.onnx is not an ONNX model ONNX Runtime can load"):
        OnnxAlbertModel.from_onnx(tmp_path / "garbage.onnx")
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "foreign.onnx")
    with pytest.raises(ValueError, match="was not written by"):
        OnnxAlbertModel.from_onnx(tmp_path / "foreign.onnx")


# -- the cache beside the checkpoint ----------------------------------------------------------------
def test_cache_is_reused_while_the_weights_are_unchanged(tmp_path, monkeypatch):
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    path = cached_export(directory, "fill-mask")
    assert Path(path) == directory / "onnx" / "AlbertForMaskedLM.onnx"
    record = json.loads((directory / "onnx" / "AlbertForMaskedLM.json").read_text())
    assert record["export_version"] == onnx_export.EXPORT_VERSION and len(record["sha256"]) == 64
    assert sorted(p.name for p in (directory / "onnx").iterdir()) == [
        "AlbertForMaskedLM.json",
        "AlbertForMaskedLM.onnx",
    ]

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "_trace", no_export)
    assert cached_export(directory, "fill-mask") == path  # same sizes and times: trusted
    weights = directory / "model.safetensors"
    os.utime(weights, ns=(1, 1))  # same content, new time: hashed, still the same
    assert cached_export(directory, "fill-mask") == path
    assert json.loads((directory / "onnx" / "AlbertForMaskedLM.json").read_text())["files"] != record["files"]
    monkeypatch.undo()
    tiny(A.AlbertForMaskedLM, initializer_range=0.5).save_pretrained(directory)  # new weights: exported again
    before = OnnxAlbertModel.from_onnx(path)
    with torch.inference_mode():
        want = A.AlbertForMaskedLM.from_pretrained(directory)(input_ids=torch.tensor([[2, 50, 4, 3]])).logits
    assert float((before(input_ids=torch.tensor([[2, 50, 4, 3]])).logits - want).abs().max()) > 1e-3
    cached_export(directory, "fill-mask")
    after = OnnxAlbertModel.from_onnx(path)
    assert float((after(input_ids=torch.tensor([[2, 50, 4, 3]])).logits - want).abs().max()) <= 1e-4


def test_cache_falls_back_to_the_user_cache(tmp_path, monkeypatch):
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    (directory / "onnx").write_text("not a folder")  # DIR/onnx cannot be made (as on a read-only install)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = cached_export(directory, "fill-mask")
    assert Path(path).parent.parent == tmp_path / "cache" / "albert" / "onnx" and Path(path).is_file()
    assert cached_export(directory, "fill-mask") == path


def test_cache_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cached_export(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text(A.AlbertConfig(**TINY).to_json_string())
    with pytest.raises(
        FileNotFoundError, match=r"has no model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
    ):
        cached_export(tmp_path / "empty")


# -- pipelines on ONNX Runtime ----------------------------------------------------------------------
def close(a, b) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b)
        for key in a:
            close(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=False):
            close(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-4)
    else:
        assert a == b


@pytest.mark.parametrize(
    "task, cls, config, call",
    [
        ("fill-mask", A.AlbertForMaskedLM, {}, lambda p: p(["Paris is the [MASK] of France.", "a [MASK] b [MASK]"])),
        ("feature-extraction", A.AlbertModel, {}, lambda p: p(["hello world", "a longer text here"])),
        (
            "text-classification",
            A.AlbertForSequenceClassification,
            {"num_labels": 3},
            lambda p: p(["good", {"text": "a", "text_pair": "b"}], top_k=None),
        ),
        (
            "token-classification",
            A.AlbertForTokenClassification,
            {"num_labels": 3},
            lambda p: p("John lives in New York City.", aggregation_strategy="simple", ignore_labels=[]),
        ),
        (
            "question-answering",
            A.AlbertForQuestionAnswering,
            {},
            lambda p: p(question=["Where is it?", "What?"], context=CONTEXT, top_k=3),
        ),
        (
            "multiple-choice",
            A.AlbertForMultipleChoice,
            {},
            lambda p: p({"question": "The sky is", "choices": ["blue", "green", "made of cheese"]}),
        ),
    ],
)
def test_every_pipeline_task_on_onnxruntime(tmp_path, task, cls, config, call):
    directory = save(tmp_path / "model", cls, **config)
    want = call(pipeline(task, model=directory))
    on_ort = pipeline(task, model=directory, backend="onnxruntime", threads=1)
    assert isinstance(on_ort.model, OnnxAlbertModel)
    close(call(on_ort), want)
    exported = next((directory / "onnx").glob("*.onnx"))  # the file itself, tokenizer found above DIR/onnx
    close(call(pipeline(task, model=exported, backend="onnxruntime")), want)


def test_onnx_pipeline_refuses_a_missing_head_and_a_wrong_file(tmp_path):
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(MissingHeadError, match=r"classifier\.weight.*point at a fine-tuned directory"):
            pipeline("text-classification", model=directory, backend="onnxruntime")
        assert not list(directory.glob("onnx/*.onnx"))  # refused before a useless graph was exported
        path = export_onnx(directory, tmp_path / "clf.onnx", task="text-classification")  # allowed, recorded
    assert OnnxAlbertModel.from_onnx(path).missing_head == [
        "albert.pooler.bias",
        "albert.pooler.weight",
        "classifier.bias",
        "classifier.weight",
    ]
    with pytest.raises(MissingHeadError, match="classifier"):
        pipeline("text-classification", model=path, tokenizer=directory, backend="onnxruntime")
    with pytest.raises(MissingHeadError, match="classifier"):
        OnnxAlbertModel.from_onnx(path).require_head()
    fill = export_onnx(directory, tmp_path / "fill.onnx", task="fill-mask")
    with pytest.raises(ValueError, match="holds an exported AlbertForMaskedLM, but AlbertForQuestionAnswering"):
        pipeline("question-answering", model=fill, tokenizer=directory, backend="onnxruntime")
    with pytest.raises(ValueError, match="no tokenizer beside"):
        pipeline("fill-mask", model=fill, backend="onnxruntime")
    with pytest.raises(ValueError, match="runs float32 graphs"):
        pipeline("fill-mask", model=directory, backend="onnxruntime", dtype=torch.bfloat16)


def test_a_cached_graph_without_its_head_is_refused_without_exporting_again(tmp_path, monkeypatch):
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = cached_export(directory, "token-classification")  # allowed: recorded as headless
    record = json.loads(Path(path).with_suffix(".json").read_text())
    assert record["missing_head"] == ["classifier.bias", "classifier.weight"]

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "_trace", no_export)
    with pytest.raises(MissingHeadError, match=r"pipeline\('token-classification'\): .*classifier\.weight"):
        pipeline("ner", model=directory, backend="onnxruntime")
    with pytest.raises(MissingHeadError, match="classifier"):
        cached_export(directory, "token-classification", require_head=True)


def test_model_objects_are_checked_like_directories(tmp_path, exported):
    with pytest.raises(TypeError, match=r"pipeline\('fill-mask'\) needs a AlbertForMaskedLM, got a AlbertModel"):
        pipeline("fill-mask", model=exported["AlbertModel"][1], tokenizer=SPIECE.parent)
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        headless = OnnxAlbertModel.from_onnx(export_onnx(directory, tmp_path / "qa.onnx", task="question-answering"))
    with pytest.raises(MissingHeadError, match=r"qa_outputs\.weight"):
        pipeline("question-answering", model=headless, tokenizer=directory)
    with pytest.raises(ValueError, match=r"options of backend='onnxruntime'|not a torch model object"):
        pipeline("fill-mask", model=exported["AlbertForMaskedLM"][0], tokenizer=directory, backend="onnxruntime")
    fill = pipeline("fill-mask", model=exported["AlbertForMaskedLM"][1], tokenizer=directory)
    assert fill.backend == "onnxruntime" and len(fill("a [MASK]", top_k=2)) == 2


def test_missing_onnx_packages_are_named(tmp_path, monkeypatch):
    import sys

    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    for call in (
        lambda: export_onnx(directory, tmp_path / "x.onnx"),
        lambda: cached_export(directory),
        lambda: pipeline("fill-mask", model=directory, backend="onnxruntime"),
    ):
        with pytest.raises(
            ImportError,
            match=r"needs onnxruntime, which cannot be imported; install with: pip install "
            r"'albert\[onnx\]'",
        ):
            call()
    assert not (directory / "onnx").exists()


def test_onnx_int8_pipeline_agrees_mostly(tmp_path):
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    texts = [f"word {i} is the [MASK] here" for i in range(20)]
    fp32 = pipeline("fill-mask", model=directory, backend="onnxruntime")(texts, top_k=1)
    int8 = pipeline("fill-mask", model=directory, backend="onnxruntime", quantize="int8")(texts, top_k=1)
    assert sorted(p.name for p in (directory / "onnx").iterdir()) == [
        "AlbertForMaskedLM.int8.json",
        "AlbertForMaskedLM.int8.onnx",
        "AlbertForMaskedLM.json",
        "AlbertForMaskedLM.onnx",
    ]
    assert all(len(r) == 1 for r in int8) and len(int8) == len(fp32)
    assert all(isinstance(r[0]["score"], float) for r in int8)
    assert np.all(np.isfinite([r[0]["score"] for r in int8]))


# -- the command line -------------------------------------------------------------------------------
def cli(capsys, *args: str) -> tuple[int, str, str]:
    from albert_model.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_export_onnx(capsys, tmp_path):
    directory = save(tmp_path / "qa", A.AlbertForQuestionAnswering)
    code, out, err = cli(capsys, "export-onnx", str(directory))  # default: the cache the backend reads
    assert code == 0 and err == "" and out == f"{directory / 'onnx' / 'AlbertForQuestionAnswering.onnx'}\n"
    code, out, _ = cli(
        capsys, "export-onnx", str(directory), "--output", str(tmp_path / "qa8.onnx"), "--quantize", "int8"
    )
    graph = OnnxAlbertModel.from_onnx(out.strip())
    assert code == 0 and graph.quantize == "int8" and graph.model_class == "AlbertForQuestionAnswering"
    code, out, _ = cli(
        capsys, "export-onnx", str(directory), "--task", "feature-extraction", "--output", str(tmp_path / "base.onnx")
    )
    assert code == 0 and OnnxAlbertModel.from_onnx(out.strip()).model_class == "AlbertModel"
    code, out, err = cli(
        capsys, "export-onnx", str(directory), "--task", "text-classification", "--output", str(tmp_path / "clf.onnx")
    )  # exported, but said loudly: its head would be random
    assert code == 0 and "warning:" in err and "classifier.weight" in err and "pipelines refuse it" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["{missing}"], "does not exist"),
        (["{dir}", "--task", "summarization"], "task='summarization' is neither a task"),
        (["{dir}", "--output", "{tmp}"], "is a directory; give the file to write"),
        (["{dir}", "--output", "{tmp}/no/such/x.onnx"], "the folder of output_path"),
    ],
)
def test_cli_export_onnx_errors(capsys, tmp_path, args, message):
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    args = [a.format(missing=tmp_path / "missing", dir=directory, tmp=tmp_path) for a in args]
    code, out, err = cli(capsys, "export-onnx", *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def test_cli_backend_onnxruntime(capsys, tmp_path, monkeypatch):
    directory = save(tmp_path / "mlm", A.AlbertForMaskedLM)
    texts = ["Paris is the [MASK] of France.", "a [MASK] b [MASK]"]
    want = pipeline("fill-mask", model=directory, backend="onnxruntime")(texts, top_k=3)
    code, out, _ = cli(
        capsys,
        "fill-mask",
        *texts,
        "--model",
        str(directory),
        "--backend",
        "onnxruntime",
        "--threads",
        "1",
        "--top-k",
        "3",
        "--json",
    )
    assert code == 0 and [json.loads(line)["result"] for line in out.splitlines()] == want
    graph = export_onnx(directory, tmp_path / "fill.onnx", task="fill-mask")  # a file, its tokenizer named
    code, out, _ = cli(
        capsys,
        "fill-mask",
        texts[0],
        "--model",
        graph,
        "--tokenizer",
        str(directory),
        "--backend",
        "onnxruntime",
        "--top-k",
        "3",
        "--json",
    )
    assert code == 0 and json.loads(out)["result"] == want[0]
    code, out, err = cli(capsys, "classify", "good", "--model", str(directory), "--backend", "onnxruntime")
    assert code == 2 and "classifier.weight" in err and len(err.strip().splitlines()) == 1
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    code, out, err = cli(capsys, "fill-mask", texts[0], "--model", str(directory), "--backend", "onnxruntime")
    assert code == 2 and "pip install 'albert[onnx]'" in err
    code, out, err = cli(capsys, "export-onnx", str(directory))
    assert code == 2 and "pip install 'albert[onnx]'" in err
