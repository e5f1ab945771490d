"""Checkpoint directories that lie: paths out of the directory, malformed indexes, non-tensor values, weights
of the wrong dtype, missing heads, and saves that must never mix files of two saves (issues #8, #9)."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.checkpoints._state_dict import HeadInitializedWarning, MissingHeadError
from albert_model.checkpoints._weight_files import CheckpointError, parse_size, plan_shards, resolve_inside
from albert_tok.io._regular import NotARegularFileError

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
PACKAGE = Path(A.__file__).parent


def tiny(cls=A.AlbertForSequenceClassification, seed=0, **overrides):
    torch.manual_seed(seed)
    return cls(A.AlbertConfig(**{**TINY, **overrides})).eval()


def ids():
    return torch.randint(5, 99, (2, 8), generator=torch.Generator().manual_seed(7))


def saved(tmp_path, cls=A.AlbertForSequenceClassification, name="m", **kwargs):
    model = tiny(cls)
    model.save_pretrained(tmp_path / name, **kwargs)
    return model, tmp_path / name


def write_index(directory: Path, weight_map) -> None:
    (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def not_a_file(path: Path, kind: str) -> Path:
    """``path`` made into a directory or a FIFO, or a link to a device: a name that is no regular file."""
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        os.symlink(kind, path)
    return path


def finishes(call):
    """Run ``call`` on a thread and return what it returned, re-raising what it raised; a call still running after
    a minute (reading a FIFO or a device forever) fails the test instead of hanging the suite."""
    import threading

    outcome: dict = {}

    def target():
        try:
            outcome["value"] = call()
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the call is still reading"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- 1. no path out of a checkpoint directory --------------------------------------------------------
@pytest.mark.parametrize("absolute", [False, True])
def test_index_naming_a_file_outside_the_directory_is_refused(tmp_path, absolute):
    from safetensors.torch import load_file

    _, d = saved(tmp_path)
    outside = tmp_path / "outside.safetensors"
    os.replace(d / "model.safetensors", outside)  # a valid file with every key, one level up
    name = str(outside) if absolute else "../outside.safetensors"
    write_index(d, dict.fromkeys(load_file(str(outside)), name))
    with pytest.raises(CheckpointError, match="absolute path" if absolute else "outside the checkpoint directory"):
        A.AlbertForSequenceClassification.from_pretrained(d)


def test_symlinked_shard_resolving_outside_is_refused_inside_is_read(tmp_path):
    from safetensors.torch import load_file

    model, d = saved(tmp_path)
    keys = list(load_file(str(d / "model.safetensors")))
    os.replace(d / "model.safetensors", tmp_path / "elsewhere.safetensors")
    os.symlink(tmp_path / "elsewhere.safetensors", d / "shard.safetensors")
    write_index(d, dict.fromkeys(keys, "shard.safetensors"))
    with pytest.raises(CheckpointError, match=r"resolves to .* outside the checkpoint directory"):
        A.AlbertForSequenceClassification.from_pretrained(d)
    os.unlink(d / "shard.safetensors")
    os.replace(tmp_path / "elsewhere.safetensors", d / "real.safetensors")
    os.symlink("real.safetensors", d / "shard.safetensors")  # a link that stays inside is fine
    loaded = A.AlbertForSequenceClassification.from_pretrained(d)
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids()).logits, model(ids()).logits)


def test_hugging_face_cache_snapshot_links_into_blobs_load(tmp_path):
    # models--x/snapshots/<rev>/<file> -> ../../blobs/<hash>: how the hub cache stores every file
    model = tiny()
    model.save_pretrained(tmp_path / "plain", max_shard_size="40KB")
    repo = tmp_path / "models--org--tiny"
    (repo / "blobs").mkdir(parents=True)
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for i, f in enumerate(sorted((tmp_path / "plain").iterdir())):
        os.replace(f, repo / "blobs" / f"hash{i}")
        os.symlink(f"../../blobs/hash{i}", snapshot / f.name)
    loaded = A.AlbertForSequenceClassification.from_pretrained(snapshot)
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids()).logits, model(ids()).logits)


def cache_layout(tmp_path, link_blobs_to=None):
    """A hub-cache-shaped models--org--tiny/{blobs,snapshots/abc123} with a real config.json in the snapshot, and
    a saved model's weights in tmp_path/elsewhere; ``blobs`` is a real directory, or a link to ``link_blobs_to``."""
    model = tiny()
    model.save_pretrained(tmp_path / "elsewhere")
    repo = tmp_path / "models--org--tiny"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    if link_blobs_to is None:
        (repo / "blobs").mkdir()
    else:
        os.symlink(link_blobs_to, repo / "blobs")
    os.replace(tmp_path / "elsewhere" / "config.json", snapshot / "config.json")
    return model, repo, snapshot


def test_cache_blobs_linked_to_the_root_cannot_reach_outside(tmp_path):
    # blobs -> /: "../../blobs/<absolute path>" would resolve anywhere on the machine
    _, _, snapshot = cache_layout(tmp_path, link_blobs_to="/")
    os.symlink(f"../../blobs{tmp_path}/elsewhere/model.safetensors", snapshot / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"resolves to .* outside the checkpoint directory"):
        A.AlbertForSequenceClassification.from_pretrained(snapshot)


def test_cache_blobs_linked_to_a_directory_elsewhere_is_not_the_repositorys(tmp_path):
    _, _, snapshot = cache_layout(tmp_path, link_blobs_to=str(tmp_path / "elsewhere"))
    os.symlink("../../blobs/model.safetensors", snapshot / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"resolves to .* outside the checkpoint directory"):
        A.AlbertForSequenceClassification.from_pretrained(snapshot)


def test_cache_snapshot_cannot_link_into_another_repositorys_blobs(tmp_path):
    _, _, snapshot = cache_layout(tmp_path)
    other = tmp_path / "models--org--other" / "blobs"
    other.mkdir(parents=True)
    os.replace(tmp_path / "elsewhere" / "model.safetensors", other / "hash0")
    os.symlink("../../../models--org--other/blobs/hash0", snapshot / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"resolves to .* outside the checkpoint directory"):
        A.AlbertForSequenceClassification.from_pretrained(snapshot)


def test_cache_config_json_is_held_to_the_same_rule(tmp_path):
    _, _, snapshot = cache_layout(tmp_path, link_blobs_to="/")
    os.replace(snapshot / "config.json", tmp_path / "elsewhere" / "config.json")
    os.symlink(f"../../blobs{tmp_path}/elsewhere/config.json", snapshot / "config.json")
    os.symlink(f"../../blobs{tmp_path}/elsewhere/model.safetensors", snapshot / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"config\.json.* resolves to .* outside the checkpoint directory"):
        A.AlbertForSequenceClassification.from_pretrained(snapshot)


def test_cache_snapshot_reached_through_a_link_loads(tmp_path):
    model, repo, snapshot = cache_layout(tmp_path)
    os.replace(tmp_path / "elsewhere" / "model.safetensors", repo / "blobs" / "hash0")
    os.symlink("../../blobs/hash0", snapshot / "model.safetensors")
    os.symlink(snapshot, tmp_path / "my-model")
    loaded = A.AlbertForSequenceClassification.from_pretrained(tmp_path / "my-model")
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids()).logits, model(ids()).logits)


_TARGETS = [
    "../../blobs/h",
    "../../blobs/sub/h",
    "../../blobs/../blobs/h",
    "../../blobs/link",
    "../../x",
    "../../../models--org--other/blobs/h",
    "../../blobs/out/h",
    "h2",
    "../abc123/h2",
    "/etc/hostname",
]


@settings(max_examples=60, deadline=None)
@given(
    blobs=st.sampled_from(["dir", "/", "..", "../../outside", "sub"]),
    target=st.sampled_from(_TARGETS),
    snapshots_link=st.booleans(),
)
def test_cache_links_resolve_only_into_the_snapshot_or_its_own_real_blobs(
    tmp_path_factory, blobs, target, snapshots_link
):
    base = tmp_path_factory.mktemp("cache")
    (base / "outside").mkdir()
    (base / "outside" / "h").write_bytes(b"x")
    other = base / "models--org--other" / "blobs"
    other.mkdir(parents=True)
    (other / "h").write_bytes(b"x")
    repo = base / "models--org--tiny"
    repo.mkdir()
    (repo / "x").write_bytes(b"x")
    (repo / "real").mkdir()
    (repo / "real" / "h").write_bytes(b"x")
    if blobs == "dir":
        (repo / "blobs" / "sub").mkdir(parents=True)
        for name in ("h", "sub/h"):
            (repo / "blobs" / name).write_bytes(b"x")
        os.symlink("/etc", repo / "blobs" / "out")  # a link inside blobs that leaves it
        os.symlink("h", repo / "blobs" / "link")
    else:
        os.symlink({"sub": "real"}.get(blobs, blobs), repo / "blobs")
    if snapshots_link:  # snapshots/ itself a link to a directory elsewhere
        (base / "snaps" / "abc123").mkdir(parents=True)
        os.symlink(base / "snaps", repo / "snapshots")
    else:
        (repo / "snapshots" / "abc123").mkdir(parents=True)
    snapshot = repo / "snapshots" / "abc123"
    (snapshot / "h2").write_bytes(b"x")
    os.symlink(target, snapshot / "weights")
    try:
        path = resolve_inside(str(snapshot), "weights", "test")
    except CheckpointError:
        return
    real = os.path.realpath(path)
    own_blobs = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(snapshot))), "blobs")
    inside_snapshot = os.path.commonpath([real, os.path.realpath(snapshot)]) == os.path.realpath(snapshot)
    in_own_blobs = (
        os.path.commonpath([real, own_blobs]) == own_blobs
        and os.path.isdir(own_blobs)
        and not os.path.islink(own_blobs)
        and own_blobs.startswith(str(repo))
    )
    assert inside_snapshot or in_own_blobs, (blobs, target, real)
    assert blobs == "dir" or inside_snapshot


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "a", "b", "", "/", "//", "x.safetensors", "..a", "~"]), max_size=6))
def test_resolve_inside_never_leaves_the_directory(tmp_path_factory, parts):
    directory = tmp_path_factory.getbasetemp() / "ckpt"
    directory.mkdir(exist_ok=True)
    name = "/".join(parts)
    try:
        path = resolve_inside(str(directory), name, "index")
    except CheckpointError:
        return
    assert os.path.commonpath([os.path.realpath(path), os.path.realpath(directory)]) == os.path.realpath(directory)


# -- names that are no regular file: said so, never read -------------------------------------------------------
@pytest.mark.parametrize("kind", ["directory", "fifo", "/dev/null", "/dev/zero", "/dev/urandom"])
def test_config_json_that_is_not_a_regular_file_says_so(tmp_path, kind):
    _, d = saved(tmp_path)
    os.unlink(d / "config.json")
    not_a_file(d / "config.json", kind)
    with pytest.raises((NotARegularFileError, CheckpointError), match=r"is not a regular file|outside the checkpoint"):
        finishes(lambda: A.AlbertForSequenceClassification.from_pretrained(d))


@pytest.mark.parametrize("name", ["model.safetensors", "pytorch_model.bin", "model.safetensors.index.json"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_weights_file_that_is_not_a_regular_file_says_so(tmp_path, name, kind):
    _, d = saved(tmp_path, safe_serialization=False)  # pytorch_model.bin, which a bad model.safetensors hid
    os.unlink(d / "pytorch_model.bin")
    not_a_file(d / name, kind)
    with pytest.raises(NotARegularFileError, match=rf"'{re.escape(str(d / name))}' is not a regular file"):
        finishes(lambda: A.AlbertForSequenceClassification.from_pretrained(d))


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_shard_that_is_not_a_regular_file_says_so(tmp_path, kind):
    from safetensors.torch import load_file

    _, d = saved(tmp_path)
    keys = list(load_file(str(d / "model.safetensors")))
    os.unlink(d / "model.safetensors")
    not_a_file(d / "model-00001-of-00001.safetensors", kind)
    write_index(d, dict.fromkeys(keys, "model-00001-of-00001.safetensors"))
    with pytest.raises(NotARegularFileError, match=r"model-00001-of-00001.safetensors' is not a regular file"):
        finishes(lambda: A.AlbertForSequenceClassification.from_pretrained(d))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_weights_linked_to_a_device_are_never_read(tmp_path, device):
    _, d = saved(tmp_path)
    os.unlink(d / "model.safetensors")
    os.symlink(device, d / "model.safetensors")
    with pytest.raises(CheckpointError, match=f"resolves to '{device}', outside the checkpoint directory"):
        finishes(lambda: A.AlbertForSequenceClassification.from_pretrained(d))


def test_a_dangling_weights_link_is_reported_not_skipped(tmp_path):
    _, d = saved(tmp_path)
    os.symlink("gone.safetensors", d / "pytorch_model.bin")  # read after model.safetensors...
    os.replace(d / "model.safetensors", d / "gone.safetensors")
    os.symlink("gone.safetensors", d / "model.safetensors")
    A.AlbertForSequenceClassification.from_pretrained(d)  # (a link inside is fine)
    os.unlink(d / "gone.safetensors")  # ...and now neither points anywhere
    with pytest.raises(FileNotFoundError, match=r"weights file .*model.safetensors' does not exist"):
        A.AlbertForSequenceClassification.from_pretrained(d)


@pytest.mark.parametrize("path", ["/dev/null", "file"])
def test_checkpoint_directory_that_is_a_file_says_so(tmp_path, path):
    target = tmp_path / path if path == "file" else Path(path)
    if path == "file":
        target.write_text("{}")
    with pytest.raises(
        NotADirectoryError,
        match=rf"checkpoint directory '{re.escape(str(target))}' is not a "
        r"directory",
    ):
        A.AlbertForSequenceClassification.from_pretrained(target)


# -- 1. malformed indexes and state dicts: CheckpointError naming the file ------------------------------
@pytest.mark.parametrize(
    "index",
    [
        {"weight_map": ["model.safetensors"]},
        {"weight_map": {"albert.embeddings.word_embeddings.weight": 3}},
        {"weight_map": {"albert.embeddings.word_embeddings.weight": None}},
        {"weight_map": None},
        {"weight_map": {}},
        {"metadata": {}},
        ["weight_map"],
        "model.safetensors",
    ],
)
def test_malformed_index_names_the_file(tmp_path, index):
    _, d = saved(tmp_path)
    os.replace(d / "model.safetensors", d / "model-00001-of-00001.safetensors")
    (d / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=re.escape(str(d / "model.safetensors.index.json"))):
        A.AlbertForSequenceClassification.from_pretrained(d)


def test_index_and_shard_disagreeing_is_refused(tmp_path):
    from safetensors.torch import load_file

    _, d = saved(tmp_path)
    keys = sorted(load_file(str(d / "model.safetensors")))
    os.replace(d / "model.safetensors", d / "model-00001-of-00001.safetensors")
    write_index(d, dict.fromkeys(keys[1:], "model-00001-of-00001.safetensors"))
    with pytest.raises(CheckpointError, match="does not place in it: " + re.escape(keys[0])):
        A.AlbertForSequenceClassification.from_pretrained(d)
    write_index(
        d,
        {**dict.fromkeys(keys, "model-00001-of-00001.safetensors"), "albert.extra": "model-00001-of-00001.safetensors"},
    )
    with pytest.raises(CheckpointError, match=r"lacks keys .*albert.extra"):
        A.AlbertForSequenceClassification.from_pretrained(d)


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            {"albert.embeddings.word_embeddings.weight": 3},
            "not tensors: albert.embeddings.word_embeddings.weight \\(int\\)",
        ),
        ({"albert.pooler.weight": "x"}, "not tensors: albert.pooler.weight \\(str\\)"),
        ({"optimizer": {"lr": 1.0}}, "a training checkpoint"),
        ({1: torch.zeros(1)}, "not parameter names"),
    ],
)
def test_bin_with_values_that_are_not_tensors_names_the_file(tmp_path, bad, message):
    from safetensors.torch import load_file

    _, d = saved(tmp_path)
    state = {**load_file(str(d / "model.safetensors")), **bad}
    (d / "model.safetensors").unlink()
    torch.save(state, d / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=re.escape(str(d / "pytorch_model.bin")) + ".*" + message):
        A.AlbertForSequenceClassification.from_pretrained(d)


def test_bin_holding_arbitrary_objects_is_never_unpickled(tmp_path):
    _, d = saved(tmp_path)
    (d / "model.safetensors").unlink()
    torch.save({"x": Path("/")}, d / "pytorch_model.bin")  # needs a full unpickler: refused by weights_only
    with pytest.raises(CheckpointError, match="weights_only=True"):
        A.AlbertForSequenceClassification.from_pretrained(d)


def test_no_source_file_unpickles_without_weights_only():
    import ast

    loads = 0
    for source in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                loads += 1
                flags = {k.arg: k.value for k in node.keywords}
                assert isinstance(flags.get("weights_only"), ast.Constant) and flags["weights_only"].value is True, (
                    f"{source}:{node.lineno}"
                )
    assert loads >= 1


# -- 2. weights keep their meaning ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int8, torch.int64, torch.bool, torch.uint8, torch.complex64])
def test_tensor_of_a_dtype_that_cannot_hold_the_parameter_is_refused(tmp_path, dtype):
    from safetensors.torch import load_file, save_file

    _, d = saved(tmp_path)
    state = load_file(str(d / "model.safetensors"))
    key = "albert.encoder.embedding_hidden_mapping_in.weight"
    state[key] = (state[key] * 100).to(dtype)
    save_file(state, str(d / "model.safetensors"))
    expected = rf"{key}: checkpoint {str(dtype).removeprefix('torch.')}, parameter float32"
    for strict in (True, False):  # strict=False relaxes key sets, never dtypes
        with pytest.raises(CheckpointError, match=expected):
            A.AlbertForSequenceClassification.from_pretrained(d, strict=strict)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_float_checkpoints_load_as_float32_by_default(tmp_path, dtype):
    model = tiny().to(dtype)
    model.save_pretrained(tmp_path)
    loaded = A.AlbertForSequenceClassification.from_pretrained(tmp_path)
    assert loaded.dtype == torch.float32 and loaded.config.dtype == "float32"
    for name, p in model.named_parameters():
        torch.testing.assert_close(loaded.get_parameter(name), p.float(), atol=0, rtol=0)


# -- 4. missing heads are loud -------------------------------------------------------------------------
def test_missing_head_warns_and_is_recorded(tmp_path):
    saved(tmp_path, A.AlbertModel)
    with pytest.warns(HeadInitializedWarning) as caught:
        model = A.AlbertForTokenClassification.from_pretrained(tmp_path / "m")
    message = str(caught[0].message)
    assert "AlbertForTokenClassification" in message and "classifier.weight" in message
    assert "fine-tune it, or point at a fine-tuned directory" in message
    report = model.load_report
    assert report.newly_initialized == ["classifier.bias", "classifier.weight"]
    assert report.head_missing and report.missing_head == ["classifier.bias", "classifier.weight"]
    with pytest.raises(MissingHeadError, match="fine-tune it, or point at a fine-tuned directory"):
        report.require_head()


def test_pooler_the_head_reads_counts_as_head(tmp_path):
    saved(tmp_path, A.AlbertForMaskedLM)  # no pooler in a masked-LM checkpoint
    with pytest.warns(HeadInitializedWarning):
        cls = A.AlbertForSequenceClassification.from_pretrained(tmp_path / "m")
    assert "albert.pooler.weight" in cls.load_report.missing_head
    with pytest.warns(HeadInitializedWarning, match="pooler.weight"):
        base = A.AlbertModel.from_pretrained(tmp_path / "m")
    assert not base.load_report.head_missing  # the base model has no task head to miss


def test_complete_checkpoint_loads_quietly(tmp_path):
    saved(tmp_path, A.AlbertForPreTraining)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = A.AlbertForMaskedLM.from_pretrained(tmp_path / "m")
    assert not model.load_report.head_missing and not model.load_report.newly_initialized
    model.load_report.require_head()


# -- 5. keys are judged by the class being loaded, nothing else ----------------------------------------------
def without(d: Path, drop) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(d / "model.safetensors"))
    save_file({k: v for k, v in state.items() if not drop(k)}, str(d / "model.safetensors"))


def test_a_class_defined_elsewhere_never_changes_how_another_class_loads(tmp_path):
    """A subclass whose head is named like a base module (defined here, as any user or test may) must not
    turn a base checkpoint's missing encoder into a head "initialised at random"."""
    tiny(A.AlbertModel).save_pretrained(tmp_path / "whole")
    before = A.AlbertModel.from_pretrained(tmp_path / "whole").load_report

    class AlbertWithEncoderHead(A.AlbertPreTrainedModel):
        head_modules = ("encoder", "embeddings")

        def __init__(self, config):
            super().__init__(config)
            self.albert = A.AlbertModel(config)
            self.encoder = torch.nn.Linear(config.hidden_size, 1)
            self.embeddings = torch.nn.Linear(config.hidden_size, 1)
            self.post_init()

    assert AlbertWithEncoderHead(A.AlbertConfig(**TINY)).is_head_key("encoder.weight")
    assert A.AlbertModel.from_pretrained(tmp_path / "whole").load_report == before
    tiny(A.AlbertModel).save_pretrained(tmp_path / "broken")
    without(tmp_path / "broken", lambda k: k.startswith("encoder."))
    with pytest.raises(CheckpointError, match=r"missing keys \(\d+\): encoder\.albert_layer_groups"):
        A.AlbertModel.from_pretrained(tmp_path / "broken")


def test_a_new_head_class_is_known_to_the_loader(tmp_path):
    class AlbertForScoring(A.AlbertPreTrainedModel):
        head_modules = ("scorer",)

        def __init__(self, config):
            super().__init__(config)
            self.albert = A.AlbertModel(config)
            self.scorer = torch.nn.Linear(config.hidden_size, 1)
            self.post_init()

    AlbertForScoring(A.AlbertConfig(**TINY)).save_pretrained(tmp_path)
    _, report = A.AlbertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert report.ok and report.unused == ["scorer.bias", "scorer.weight"]
    tiny(A.AlbertModel).save_pretrained(tmp_path / "base")
    with pytest.warns(HeadInitializedWarning, match="scorer.weight"):
        model = AlbertForScoring.from_pretrained(tmp_path / "base")
    assert model.load_report.missing_head == ["scorer.bias", "scorer.weight"]


def test_keys_outside_the_base_models_own_modules_are_unused_not_refused(tmp_path):
    """AlbertModel owns embeddings., encoder. and pooler.: any other key of its checkpoint (another class's
    head, or anything else) is reported unused; a key under one of its own modules that it lacks is refused."""
    from safetensors.torch import load_file, save_file

    tiny(A.AlbertModel).save_pretrained(tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    save_file({**state, "adapter.weight": torch.zeros(3)}, str(tmp_path / "model.safetensors"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, report = A.AlbertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert report.ok and report.unused == ["adapter.weight"] and not report.newly_initialized
    save_file({**state, "encoder.extra.weight": torch.zeros(3)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"unexpected keys \(1\): encoder\.extra\.weight"):
        A.AlbertModel.from_pretrained(tmp_path)


def test_loading_a_class_imports_no_other_class(tmp_path):
    """Loading the base model asks nothing of the head classes: it does not even import them."""
    import subprocess
    import sys

    tiny(A.AlbertModel).save_pretrained(tmp_path)
    code = (
        "import sys\nfrom albert_model.modeling._model import AlbertModel\n"
        f"AlbertModel.from_pretrained({str(tmp_path)!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('albert_model.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "'albert_model.modeling._heads'" not in out.stdout, out.stdout
    assert "'albert_model.checkpoints._state_dict'" in out.stdout, out.stdout


# -- saving: one write, never files of two saves ---------------------------------------------------------
def test_every_file_of_a_save_goes_in_one_atomic_write(tmp_path, monkeypatch):
    from albert_tok.io import atomic

    calls = []
    real = atomic.write_directory

    def spy(directory, contents, **kwargs):
        calls.append(sorted(contents))
        return real(directory, contents, **kwargs)

    monkeypatch.setattr(atomic, "write_directory", spy)
    tiny().save_pretrained(tmp_path / "m", max_shard_size="40KB")
    assert len(calls) == 1
    names = calls[0]
    shards = [n for n in names if n.startswith("model-")]
    assert "config.json" in names and "model.safetensors.index.json" in names and len(shards) > 1
    assert all(re.fullmatch(rf"model-\d{{5}}-of-{len(shards):05d}\.safetensors", n) for n in shards)


def latest(d: Path) -> torch.Tensor:
    return A.AlbertForSequenceClassification.from_pretrained(d).classifier.weight


@pytest.mark.parametrize(
    "formats",
    [
        [{}, {"max_shard_size": "40KB"}, {}],
        [{"max_shard_size": "40KB"}, {"max_shard_size": "100KB"}, {"safe_serialization": False}],
        [{"safe_serialization": False}, {}, {"safe_serialization": False, "max_shard_size": "40KB"}],
    ],
)
def test_resaving_in_another_layout_never_reads_stale_weights(tmp_path, formats):
    for seed, kwargs in enumerate(formats):
        model = tiny(seed=seed)
        model.save_pretrained(tmp_path, **kwargs)
        torch.testing.assert_close(latest(tmp_path), model.classifier.weight, atol=0, rtol=0)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(("model", "pytorch_model"))]
    kinds = {"safetensors" in n for n in leftovers if not n.endswith(".json")}
    assert len(kinds) == 1, leftovers  # the other format's files are gone


def test_crash_during_a_save_never_pairs_new_config_with_old_weights(tmp_path, monkeypatch):
    from albert_tok.io import atomic

    old = tiny(seed=1)
    old.save_pretrained(tmp_path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "write_directory", crash)
    with pytest.raises(OSError, match="disk full"):
        tiny(seed=2, num_labels=3).save_pretrained(tmp_path, max_shard_size="40KB")
    monkeypatch.undo()
    try:
        loaded = A.AlbertForSequenceClassification.from_pretrained(tmp_path)
    except FileNotFoundError:
        return  # loud: the stale single file that would have shadowed the shards was removed first
    assert loaded.config.num_labels == 2
    torch.testing.assert_close(loaded.classifier.weight, old.classifier.weight, atol=0, rtol=0)


def test_config_records_the_dtype(tmp_path):
    tiny().to(torch.bfloat16).save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    assert data["dtype"] == data["torch_dtype"] == "bfloat16"


# -- shard planning (huggingface_hub is the reference) -----------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 600), min_size=1, max_size=12), st.integers(1, 2000))
def test_shard_plan_matches_huggingface_hub(sizes, limit):
    import huggingface_hub as hub

    state = {f"w{i:02d}": torch.zeros(n) for i, n in enumerate(sizes)}
    ours = plan_shards(state, limit)
    ref = hub.split_torch_state_dict_into_shards(state, max_shard_size=limit)
    ref_files = [sorted(keys) for _, keys in sorted(ref.filename_to_tensors.items())]
    assert [sorted(s) for s in ours] == ref_files
    assert sorted(k for shard in ours for k in shard) == sorted(state)  # each key exactly once
    for shard in ours:
        assert len(shard) == 1 or sum(t.numel() * t.element_size() for t in shard.values()) <= limit


@pytest.mark.parametrize("size", ["5GB", "20KB", "1.5MB", " 10mb ", "3TB", 12345])
def test_parse_size_matches_huggingface_hub(size):
    import huggingface_hub.serialization._base as hub

    assert parse_size(size) == (size if isinstance(size, int) else hub.parse_size_to_int(size))


@pytest.mark.parametrize("size", ["", "GB", "5XB", -1, 0, "0KB", 1.5, None, True])
def test_parse_size_refuses_nonsense(size):
    with pytest.raises(ValueError, match="max_shard_size"):
        parse_size(size)


def test_strict_false_never_loads_quietly(tmp_path):
    from safetensors.torch import load_file, save_file

    _, d = saved(tmp_path)
    state = load_file(str(d / "model.safetensors"))
    state["classifier.weight"] = torch.zeros(5, 32)  # a head of another size
    del state["albert.embeddings.LayerNorm.weight"]  # and a base parameter missing
    save_file(state, str(d / "model.safetensors"))
    with (
        pytest.warns(HeadInitializedWarning, match=r"classifier.weight \(checkpoint \[5, 32\], model \[2, 32\]\)"),
        pytest.warns(UserWarning, match="strict=False although it does not fit"),
    ):
        model = A.AlbertForSequenceClassification.from_pretrained(d, strict=False)
    report = model.load_report
    assert not report.ok and report.head_missing and "classifier.weight" in report.missing_head
    assert report.missing == ["albert.embeddings.LayerNorm.weight"]


@pytest.mark.parametrize(
    ("first", "second"),
    [({}, {"max_shard_size": "40KB"}), ({"max_shard_size": "40KB"}, {}), ({}, {"safe_serialization": False})],
)
def test_a_save_that_fails_before_its_commit_leaves_the_old_save_loadable(tmp_path, monkeypatch, first, second):
    """Weight files of the old save that a reader would take first are removed only once the new save has
    committed: a disk that fails while the new save writes its parts leaves the old save whole."""
    from albert_tok.io import atomic

    old = tiny()
    old.save_pretrained(tmp_path / "m", **first)
    expected = {k: v.clone() for k, v in old.state_dict().items()}
    written = []

    def failing_disk(path, data):
        written.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "write_synced", failing_disk)
    with pytest.raises(OSError, match="No space left"):
        tiny(seed=1).save_pretrained(tmp_path / "m", **second)
    monkeypatch.undo()
    assert written, "the failing disk was never used"
    loaded = A.AlbertForSequenceClassification.from_pretrained(tmp_path / "m")
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, expected[key]), key
