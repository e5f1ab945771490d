"""Loading by Hugging Face repo id (issue #25, items 1-4): the cache first, downloads only when allowed, clear
errors, the standard keywords, and the transformers ALBERT page's two snippets run with only the imports changed.

Every download comes from the fake hub of :mod:`tests.hub_server` on 127.0.0.1, into a Hugging Face cache in
``tmp_path``: huggingface_hub reads ``HF_ENDPOINT``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` when it is
imported, so the fixture sets the variables and patches the constants they became. No test reaches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants, file_download

from albert_model import AlbertConfig, AlbertForMaskedLM, AlbertModel, pipeline
from albert_tok import DEFAULT_TOKENIZER, AlbertTokenizer, AlbertTokenizerFast
from albert_tok.io import LEGACY_IDS, hub_snapshot, is_repo_id, resolve_directory
from tests.hub_server import FakeHub

REPO = "albert/albert-base-v2"
TOKENIZER_FILES = ("spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# files a published ALBERT repository holds that no loader here reads: never downloaded
NOT_FETCHED = {"tf_model.h5": b"tf", "flax_model.msgpack": b"flax", "pytorch_model.bin": b"bin", "onnx/model.onnx": b""}
TINY = {
    "vocab_size": 30000,  # the shipped tokenizer's vocabulary
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 37,
    "max_position_embeddings": 64,
}


def checkpoint_files(seed: int, dtype: torch.dtype = torch.float32) -> dict[str, bytes]:
    """A tiny random AlbertForMaskedLM saved by our own save_pretrained, the shipped tokenizer, a card."""
    torch.manual_seed(seed)
    model = AlbertForMaskedLM(AlbertConfig(**TINY)).to(dtype)
    with tempfile.TemporaryDirectory() as directory:
        model.save_pretrained(directory)
        files = {name: Path(directory, name).read_bytes() for name in os.listdir(directory)}
    for name in TOKENIZER_FILES:
        files[name] = Path(DEFAULT_TOKENIZER, name).read_bytes()
    files["README.md"] = f"---\nlibrary_name: albert\n---\n# tiny test checkpoint {seed}\n".encode()
    return files


def write(files: dict[str, bytes], directory: Path) -> Path:
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    return directory


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def v1() -> dict[str, bytes]:
    return checkpoint_files(0)


@pytest.fixture(scope="module")
def v2() -> dict[str, bytes]:
    return checkpoint_files(1)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The fake hub, selected as huggingface_hub selects an endpoint, with an empty cache in ``tmp_path``."""
    fake = FakeHub().start()
    template = fake.url + "/{repo_id}/resolve/{revision}/{filename}"
    home = tmp_path / "hf"
    cache = home / "hub"
    for name, value in {"HF_ENDPOINT": fake.url, "HF_HOME": str(home), "HF_HUB_CACHE": str(cache)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # what huggingface_hub read from the environment when it was imported
    monkeypatch.setattr(constants, "ENDPOINT", fake.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(file_download, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 10)  # bounded: the server is local
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # where ONNX exports of snapshots go
    fake.cache = cache
    yield fake
    fake.stop()


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE=1, as set before Python started (the variable and the constant it became)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def snapshot_of(hub: FakeHub, commit: str, repo: str = REPO) -> Path:
    assert hub.cache is not None
    return hub.cache / f"models--{repo.replace('/', '--')}" / "snapshots" / commit


# -- a fresh download, then the cache ---------------------------------------------------------------------------


def test_fresh_download_loads_what_the_directory_holds_and_then_the_cache_answers(hub, v1, tmp_path):
    commit = hub.add_commit(REPO, {**v1, **NOT_FETCHED})
    source = write(v1, tmp_path / "source")
    model = AlbertForMaskedLM.from_pretrained(REPO)
    assert same_weights(model, AlbertForMaskedLM.from_pretrained(source))
    snapshot = snapshot_of(hub, commit)
    assert model.load_report.source.startswith(str(snapshot))
    # only what the loaders read: config, the one weight format read first, tokenizer files, the card
    assert sorted(os.listdir(snapshot)) == sorted(["config.json", "model.safetensors", "README.md", *TOKENIZER_FILES])
    for name in NOT_FETCHED:
        assert hub.count(contains=f"/{name}") == 0, name
    # everything a load needs is cached now: no request at all
    before = hub.count()
    texts = ["Hello world!", "Plants create [MASK] through photosynthesis, 1,000 times."]
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        assert cls.from_pretrained(REPO)(texts)["input_ids"] == cls.from_pretrained(source)(texts)["input_ids"]
    assert AlbertConfig.from_pretrained(REPO) == AlbertConfig.from_pretrained(source)
    kept = {"add_pooling_layer": False}  # a masked-LM checkpoint has no pooler
    assert same_weights(AlbertModel.from_pretrained(REPO, **kept), AlbertModel.from_pretrained(source, **kept))
    assert hub.count() == before


def test_a_tokenizer_or_config_alone_downloads_only_its_files(hub, v1):
    commit = hub.add_commit(REPO, v1)
    AlbertTokenizerFast.from_pretrained(REPO)
    assert sorted(os.listdir(snapshot_of(hub, commit))) == sorted(TOKENIZER_FILES)
    AlbertConfig.from_pretrained(REPO)
    assert "model.safetensors" not in os.listdir(snapshot_of(hub, commit))
    assert hub.count(contains="model.safetensors") == 0


def test_pinned_revision_commit_tag_and_branch(hub, v1, v2, tmp_path):
    old = hub.add_commit(REPO, v1, tags=("v1",))
    new = hub.add_commit(REPO, v2)
    first = AlbertForMaskedLM.from_pretrained(write(v1, tmp_path / "v1"))
    second = AlbertForMaskedLM.from_pretrained(write(v2, tmp_path / "v2"))
    assert same_weights(AlbertForMaskedLM.from_pretrained(REPO), second)
    assert same_weights(AlbertForMaskedLM.from_pretrained(REPO, revision=old), first)
    assert same_weights(AlbertForMaskedLM.from_pretrained(REPO, revision="v1"), first)
    assert same_weights(AlbertForMaskedLM.from_pretrained(REPO, revision="main"), second)
    assert snapshot_of(hub, old).is_dir() and snapshot_of(hub, new).is_dir()
    # each revision is then found in the cache (refs/v1, the commit's own snapshot)
    before = hub.count()
    for revision in (old, "v1", "main", None):
        AlbertConfig.from_pretrained(REPO, revision=revision)
    assert hub.count() == before


# -- what does not exist ------------------------------------------------------------------------------------------


def test_a_repo_a_revision_or_a_file_that_does_not_exist_is_a_clear_error(hub, v1):
    hub.add_commit(REPO, v1)
    with pytest.raises(OSError, match=r"'nobody/nothing' is not a model repository on http://127\.0\.0\.1"):
        AlbertForMaskedLM.from_pretrained("nobody/nothing")
    with pytest.raises(OSError, match=r"revision 'no-such-branch' does not exist in 'albert/albert-base-v2'"):
        AlbertTokenizerFast.from_pretrained(REPO, revision="no-such-branch")
    # a repository that is no model: it holds a tokenizer only
    hub.add_commit("someone/tokenizer-only", {name: v1[name] for name in TOKENIZER_FILES})
    with pytest.raises(OSError, match=r"'someone/tokenizer-only' has no config\.json, weight file .* it is not an"):
        AlbertForMaskedLM.from_pretrained("someone/tokenizer-only")
    AlbertTokenizerFast.from_pretrained("someone/tokenizer-only")  # which loads as a tokenizer
    # a file the listing names but the server does not have
    hub.add_commit("someone/broken", v1)
    hub.vanished.add("tokenizer_config.json")
    with pytest.raises(OSError, match=r"a file of 'someone/broken' is missing .*'tokenizer_config\.json' is listed"):
        AlbertTokenizer.from_pretrained("someone/broken")


@pytest.mark.parametrize("name", ["/no/such/dir", "./no-such-dir", "no/such/dir", "two--dashes", "x.git", "a/"])
def test_neither_a_directory_nor_a_repo_id_says_so(hub, name):
    for load in (AlbertForMaskedLM.from_pretrained, AlbertTokenizerFast.from_pretrained, AlbertConfig.from_pretrained):
        with pytest.raises(FileNotFoundError, match=r"does not exist, and it is not a Hugging Face repo id either"):
            load(name)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pipeline("fill-mask", model=name)
    assert hub.count() == 0


def test_repo_id_rules_are_huggingface_hubs():
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    names = ["albert/albert-base-v2", "albert-base-v2", "a", "Foo-BAR_foo.bar123", "ns/x.y", "/abs", "./x", "a/b/c"]
    names += ["x--y", "x..y", "x.git", "-x", "x-", "a/", "/", "", "é/ü", "a" * 96, "a" * 97, "a b", "a\\b"]
    for name in names:
        try:
            validate_repo_id(name)
            valid = True
        except HFValidationError:
            valid = False
        assert is_repo_id(name) == valid, name


def test_a_local_directory_comes_before_an_id(hub, v1, tmp_path, monkeypatch):
    """A directory named like an id is a directory (as transformers reads it): the hub is not asked."""
    monkeypatch.chdir(tmp_path)
    write(v1, tmp_path / "albert" / "albert-base-v2")
    assert AlbertForMaskedLM.from_pretrained(REPO).load_report.source == str(tmp_path / REPO / "model.safetensors")
    assert resolve_directory(Path("albert/albert-base-v2"), subfolder="") == "albert/albert-base-v2"
    assert hub.count() == 0


# -- a download cut off halfway ---------------------------------------------------------------------------------


def test_a_download_cut_off_halfway_is_never_loaded_and_is_resumed(hub, v1, tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)  # so that half the file reaches the disk
    commit = hub.add_commit(REPO, v1)
    hub.cut_off["model.safetensors"] = 1
    with pytest.raises(OSError, match=r"downloading 'albert/albert-base-v2' .* failed .*resumed by the next try"):
        AlbertForMaskedLM.from_pretrained(REPO)
    snapshot = snapshot_of(hub, commit)
    assert not (snapshot / "model.safetensors").exists()  # the partial file is not in the snapshot
    blobs = snapshot.parent.parent / "blobs"
    partial = [p for p in blobs.iterdir() if p.name.endswith(".incomplete")]
    size = partial[0].stat().st_size if len(partial) == 1 else 0
    assert 0 < size < len(v1["model.safetensors"])
    # offline, the cache holds a snapshot without weights: an error, never the partial file
    with pytest.raises(OSError, match=r"lacks a weight file \(model\.safetensors.*did not finish.*local directory"):
        AlbertForMaskedLM.from_pretrained(REPO, local_files_only=True)
    # the next call resumes the file where it stopped, and loads the whole file
    model = AlbertForMaskedLM.from_pretrained(REPO)
    assert same_weights(model, AlbertForMaskedLM.from_pretrained(write(v1, tmp_path / "source")))
    assert [h["Range"] for h in hub.headers if "Range" in h] == [f"bytes={size}-"]
    digest = hashlib.sha256((snapshot / "model.safetensors").read_bytes()).hexdigest()
    assert digest == hashlib.sha256(v1["model.safetensors"]).hexdigest()
    assert not any(p.name.endswith(".incomplete") for p in blobs.iterdir())


# -- offline ------------------------------------------------------------------------------------------------------


def test_offline_without_the_cache_names_the_id_the_cache_and_the_ways_out(hub, v1, monkeypatch):
    hub.add_commit(REPO, v1)
    offline(monkeypatch)
    loads = [
        AlbertForMaskedLM.from_pretrained,
        AlbertTokenizer.from_pretrained,
        AlbertTokenizerFast.from_pretrained,
        AlbertConfig.from_pretrained,
        lambda name: pipeline("fill-mask", model=name),
    ]
    for load in loads:
        with pytest.raises(OSError) as info:
            load(REPO)
        message = str(info.value)
        assert "'albert/albert-base-v2' is not in the Hugging Face cache" in message
        assert str(hub.cache / "models--albert--albert-base-v2") in message
        assert "HF_HUB_OFFLINE=1" in message and "allow the download" in message and "local directory" in message
    assert hub.count() == 0


def test_local_files_only_without_the_cache(hub, v1):
    hub.add_commit(REPO, v1)
    with pytest.raises(OSError, match=r"not in the Hugging Face cache.*\(local_files_only=True\)"):
        AlbertForMaskedLM.from_pretrained(REPO, local_files_only=True)
    with pytest.raises(ValueError, match="force_download=True needs the network"):
        AlbertForMaskedLM.from_pretrained(REPO, local_files_only=True, force_download=True)
    assert hub.count() == 0


@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE", "local_files_only", "import-time constant"])
def test_offline_with_the_cache_loads_without_a_request(hub, v1, monkeypatch, how):
    hub.add_commit(REPO, v1)
    expected = AlbertForMaskedLM.from_pretrained(REPO)  # online: downloads into the cache
    before = hub.count()
    kwargs = {}
    if how == "HF_HUB_OFFLINE":
        offline(monkeypatch)
    elif how == "local_files_only":
        kwargs = {"local_files_only": True}
    else:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert same_weights(AlbertForMaskedLM.from_pretrained(REPO, **kwargs), expected)
    AlbertTokenizerFast.from_pretrained(REPO, **kwargs)
    AlbertTokenizer.from_pretrained(REPO, **kwargs)
    AlbertConfig.from_pretrained(REPO, **kwargs)
    pipeline("fill-mask", model=REPO, **kwargs)
    assert hub.count() == before


# -- legacy ids ---------------------------------------------------------------------------------------------------


def test_legacy_ids_map_to_the_albert_organisation(hub, v1, tmp_path, monkeypatch):
    assert {
        f"albert-{s}-v{v}": f"albert/albert-{s}-v{v}" for s in ("base", "large", "xlarge", "xxlarge") for v in (1, 2)
    } == LEGACY_IDS
    commit = hub.add_commit(REPO, v1)
    model = AlbertForMaskedLM.from_pretrained("albert-base-v2")
    assert same_weights(model, AlbertForMaskedLM.from_pretrained(write(v1, tmp_path / "source")))
    assert hub.count(contains="/api/models/albert-base-v2") == 0  # asked for by the hub's name
    assert snapshot_of(hub, commit).is_dir()
    AlbertTokenizerFast.from_pretrained("albert-base-v2")
    # a cache written under the legacy name (by an older transformers) is found too, offline
    legacy = hub.cache / "models--albert-base-v2"
    shutil.copytree(hub.cache / "models--albert--albert-base-v2", legacy, symlinks=True)
    shutil.rmtree(hub.cache / "models--albert--albert-base-v2")
    offline(monkeypatch)
    found = resolve_directory("albert-base-v2")
    assert Path(found).parent.parent == legacy
    with pytest.raises(OSError, match=r"'albert/albert-large-v2' \(the hub's name for 'albert-large-v2'\) is not in"):
        AlbertForMaskedLM.from_pretrained("albert-large-v2")


# -- safety: nothing outside the snapshot -----------------------------------------------------------------------


def test_a_link_out_of_the_snapshot_is_refused(hub, v1, tmp_path, monkeypatch):
    commit = hub.add_commit(REPO, v1)
    AlbertForMaskedLM.from_pretrained(REPO)
    snapshot = snapshot_of(hub, commit)
    outside = write({"config.json": v1["config.json"]}, tmp_path / "elsewhere") / "config.json"
    (snapshot / "config.json").unlink()
    (snapshot / "config.json").symlink_to(outside)
    offline(monkeypatch)
    for load in (AlbertForMaskedLM.from_pretrained, AlbertConfig.from_pretrained):
        with pytest.raises(OSError, match=r"links to .*elsewhere/config\.json, outside the repository's cache folder"):
            load(REPO)
    # a tokenizer file that leads out is refused as well, although only the config was touched
    with pytest.raises(OSError, match="outside the repository's cache folder"):
        AlbertTokenizerFast.from_pretrained(REPO)


def test_a_snapshot_is_recognised_and_its_parts_named(hub, v1):
    commit = hub.add_commit(REPO, v1)
    AlbertTokenizerFast.from_pretrained(REPO)
    snapshot = snapshot_of(hub, commit)
    repo, found, sub = hub_snapshot(snapshot)  # type: ignore[misc]
    assert (repo, found, sub) == (os.path.realpath(snapshot.parent.parent), commit, "")
    assert hub_snapshot(snapshot / "sub" / "dir")[2] == os.path.join("sub", "dir")  # type: ignore[index]
    assert hub_snapshot(DEFAULT_TOKENIZER) is None


def test_without_huggingface_hub_an_id_names_the_extra_and_a_directory_still_loads(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails, as when it is not installed
    with pytest.raises(ImportError, match=r'pip install "albert\[hub\]"'):
        AlbertTokenizerFast.from_pretrained(REPO)
    with pytest.raises(ImportError, match=r'pip install "albert\[hub\]"'):
        AlbertForMaskedLM.from_pretrained("albert-base-v2")
    AlbertTokenizer.from_pretrained(DEFAULT_TOKENIZER)
    AlbertTokenizerFast.from_pretrained(Path(DEFAULT_TOKENIZER))


# -- the keywords -------------------------------------------------------------------------------------------------


def test_token_cache_dir_subfolder_and_force_download(hub, v1, tmp_path):
    commit = hub.add_commit(REPO, v1)
    other = tmp_path / "other-cache"
    AlbertConfig.from_pretrained(REPO, token="hf_test_secret", cache_dir=other)
    assert (other / "models--albert--albert-base-v2" / "snapshots" / commit / "config.json").is_file()
    assert not (hub.cache / "models--albert--albert-base-v2").exists()
    assert hub.headers and all(h.get("authorization") == "Bearer hf_test_secret" for h in hub.headers)
    # subfolder: the tokenizer of a repository kept in a folder of it
    hub.add_commit("someone/nested", {f"tok/{name}": v1[name] for name in TOKENIZER_FILES} | {"README.md": b"x"})
    nested = AlbertTokenizerFast.from_pretrained("someone/nested", subfolder="tok")
    assert nested("Hello")["input_ids"] == AlbertTokenizerFast.from_pretrained(DEFAULT_TOKENIZER)("Hello")["input_ids"]
    with pytest.raises(ValueError, match="subfolder must be a relative path"):
        AlbertTokenizerFast.from_pretrained("someone/nested", subfolder="../x")
    # force_download: fetched again although cached
    before = hub.count("GET", contains="config.json")
    AlbertConfig.from_pretrained(REPO, cache_dir=other)
    assert hub.count("GET", contains="config.json") == before
    AlbertConfig.from_pretrained(REPO, cache_dir=other, force_download=True)
    assert hub.count("GET", contains="config.json") == before + 1


def test_a_local_directory_ignores_the_hub_keywords_and_takes_a_subfolder(hub, v1, tmp_path):
    write(v1, tmp_path / "repo" / "model")
    model = AlbertForMaskedLM.from_pretrained(
        tmp_path / "repo", subfolder="model", revision="v9", token="x", cache_dir=tmp_path / "c", force_download=True
    )
    assert model.load_report.source.startswith(str(tmp_path / "repo" / "model"))
    assert hub.count() == 0


def test_unknown_keywords_raise_a_type_error_naming_them(hub, v1):
    hub.add_commit(REPO, v1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'trust_me'"):
        AlbertForMaskedLM.from_pretrained(REPO, trust_me=True)
    for cls in (AlbertTokenizer, AlbertTokenizerFast):
        with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['trust_me'\]: they are neither"):
            cls.from_pretrained(DEFAULT_TOKENIZER, trust_me=True)


def test_device_map_places_the_whole_model(hub, v1):
    hub.add_commit(REPO, v1)
    auto = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    assert AlbertForMaskedLM.from_pretrained(REPO, device_map="auto").device == auto
    assert AlbertForMaskedLM.from_pretrained(REPO, device_map="cpu").device.type == "cpu"
    assert AlbertForMaskedLM.from_pretrained(REPO, device_map=torch.device("cpu"), device="cpu").device.type == "cpu"
    with pytest.raises(ValueError, match="only whole-model placement is supported"):
        AlbertForMaskedLM.from_pretrained(REPO, device_map={"albert": 0, "predictions": "cpu"})
    with pytest.raises(ValueError, match="no GPU index"):
        AlbertForMaskedLM.from_pretrained(REPO, device_map=-1)
    with pytest.raises(ValueError, match="is no device"):
        AlbertForMaskedLM.from_pretrained(REPO, device_map="balanced_low_0")
    if torch.cuda.is_available():
        assert AlbertForMaskedLM.from_pretrained(REPO, device_map=0).device == torch.device("cuda", 0)
        assert AlbertForMaskedLM.from_pretrained(REPO, device_map="cuda").device.type == "cuda"
        with pytest.raises(ValueError, match="disagree"):
            AlbertForMaskedLM.from_pretrained(REPO, device_map="cuda:0", device="cpu")
    else:
        with pytest.raises(ValueError, match="CUDA is not available"):
            AlbertForMaskedLM.from_pretrained(REPO, device_map="cuda")
        with pytest.raises(ValueError, match="CUDA is not available"):
            AlbertForMaskedLM.from_pretrained(REPO, device_map=0)


@pytest.mark.parametrize("key", ["dtype", "torch_dtype"])
def test_auto_dtype_is_the_checkpoints(hub, key):
    """``"auto"`` is the dtype the checkpoint's config.json names, whether it says ``dtype`` (transformers 4.56+)
    or only ``torch_dtype`` (older files)."""
    files = checkpoint_files(2, torch.float16)
    config = json.loads(files["config.json"])
    assert config["dtype"] == config["torch_dtype"] == "float16"
    if key == "torch_dtype":
        del config["dtype"]
        files["config.json"] = json.dumps(config).encode()
    hub.add_commit(REPO, files)
    for keyword in ("dtype", "torch_dtype"):
        assert AlbertForMaskedLM.from_pretrained(REPO, **{keyword: "auto"}).dtype == torch.float16
    assert AlbertForMaskedLM.from_pretrained(REPO).dtype == torch.float32
    assert AlbertForMaskedLM.from_pretrained(REPO, torch_dtype=torch.bfloat16).dtype == torch.bfloat16


# -- pipelines, ONNX, the command line ----------------------------------------------------------------------------


def test_pipeline_by_id_equals_the_directory(hub, v1, tmp_path):
    hub.add_commit(REPO, v1)
    source = write(v1, tmp_path / "source")
    text = "Plants create [MASK] through a process known as photosynthesis."
    expected = pipeline("fill-mask", model=source)(text, top_k=5)
    assert pipeline("fill-mask", model=REPO)(text, top_k=5) == expected
    assert pipeline("fill-mask", model=REPO, tokenizer=REPO)(text, top_k=5) == expected
    before = hub.count()
    half = pipeline("fill-mask", model=REPO, torch_dtype=torch.bfloat16)
    assert half.model.dtype == torch.bfloat16 and hub.count() == before
    with pytest.raises(ValueError, match="disagree"):
        pipeline("fill-mask", model=REPO, dtype=torch.float16, torch_dtype=torch.bfloat16)


def test_onnx_runtime_by_id_keeps_its_export_out_of_the_snapshot(hub, v1, tmp_path):
    from albert_model import OnnxAlbertModel

    commit = hub.add_commit(REPO, v1)
    onnx = OnnxAlbertModel.from_pretrained(REPO, "fill-mask")
    snapshot = snapshot_of(hub, commit)
    assert "onnx" not in os.listdir(snapshot)  # the shared, read-only snapshot is never written into
    exported = Path(onnx.path)
    assert exported.parent == tmp_path / "xdg" / "albert" / "onnx" / "hub" / "models--albert--albert-base-v2" / commit
    torch_model = AlbertForMaskedLM.from_pretrained(REPO)
    ids = torch.tensor([[2, 10975, 4, 187, 3]])
    with torch.no_grad():
        assert torch.allclose(onnx(input_ids=ids).logits, torch_model(input_ids=ids).logits, atol=1e-4)
    text = "Plants create [MASK] through a process known as photosynthesis."
    ort = pipeline("fill-mask", model=REPO, backend="onnxruntime")(text, top_k=3)
    assert [r["token"] for r in ort] == [r["token"] for r in pipeline("fill-mask", model=REPO)(text, top_k=3)]
    assert OnnxAlbertModel.from_pretrained(REPO, "fill-mask").path == onnx.path  # the export is reused


def test_command_line_takes_repo_ids(hub, v1, monkeypatch, capsys):
    from albert_model.cli import main

    commit = hub.add_commit(REPO, v1)
    assert main(["fill-mask", "Plants create [MASK].", "--model", REPO, "--json", "--top-k", "2"]) == 0
    assert len(json.loads(capsys.readouterr().out.splitlines()[0])["result"]) == 2
    assert main(["tokenize", "Hello world!", "--model", REPO, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["result"]["input_ids"] == [2, 10975, 126, 187, 3]
    assert main(["fill-mask", "a [MASK]", "--model", "albert-base-v2", "--revision", commit]) == 0
    assert main(["export-onnx", REPO, "--task", "fill-mask"]) == 0
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]).parent.name == commit
    offline(monkeypatch)
    assert main(["fill-mask", "a [MASK]", "--model", "nobody/nothing"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'nobody/nothing' is not in the Hugging Face cache" in error


# -- the transformers ALBERT page, with only the imports changed ----------------------------------------------------

# https://huggingface.co/docs/transformers/model_doc/albert ("Pipeline" and "AutoModel" tabs). The page has said
# ``torch_dtype=`` (transformers < 4.56) and ``dtype=``, ``model="albert/albert-base-v2"`` and the legacy
# ``model="albert-base-v2"``: each variant runs.
PIPELINE_SNIPPET = """\
import torch
from albert_model import pipeline

pipeline = pipeline(
    task="fill-mask",
    model="{model}",
    {dtype}=torch.float16,
    device=0
)
pipeline("Plants create [MASK] through a process known as photosynthesis.", top_k=5)
"""
AUTOMODEL_SNIPPET = """\
import torch
from albert_model import AlbertForMaskedLM
from albert_tok import AlbertTokenizerFast

tokenizer = AlbertTokenizerFast.from_pretrained("albert/albert-base-v2")
model = AlbertForMaskedLM.from_pretrained(
    "albert/albert-base-v2",
    {dtype}=torch.float16,
    attn_implementation="sdpa",
    device_map="auto"
)

prompt = "Plants create energy through a process known as [MASK]."
inputs = tokenizer(prompt, return_tensors="pt").to(model.device)

with torch.no_grad():
    outputs = model(**inputs)
    mask_token_index = torch.where(inputs["input_ids"] == tokenizer.mask_token_id)[1]
    predictions = outputs.logits[0, mask_token_index]

top_k = torch.topk(predictions, k=5).indices.tolist()
for token_id in top_k[0]:
    print(f"Prediction: {{tokenizer.decode([token_id])}}")
"""


@pytest.mark.parametrize(("dtype", "model_id"), [("torch_dtype", REPO), ("dtype", "albert-base-v2")])
def test_the_transformers_albert_page_runs_from_the_cache(hub, v1, monkeypatch, capsys, dtype, model_id):
    commit = hub.add_commit(REPO, v1)
    resolve_directory(REPO)  # the cache, filled once from the (fake) hub
    snapshot = str(snapshot_of(hub, commit))
    offline(monkeypatch)
    before = hub.count()

    code = PIPELINE_SNIPPET.format(model=model_id, dtype=dtype)
    if not torch.cuda.is_available():  # the one substitution, on a machine without CUDA: the CPU
        code = code.replace("device=0", "device=-1")
    namespace: dict = {}
    exec(compile(code, "<transformers albert page: pipeline>", "exec"), namespace)
    answers = namespace["pipeline"]("Plants create [MASK] through a process known as photosynthesis.", top_k=5)
    device = 0 if torch.cuda.is_available() else -1
    direct = pipeline("fill-mask", model=snapshot, tokenizer=snapshot, dtype=torch.float16, device=device)
    assert answers == direct("Plants create [MASK] through a process known as photosynthesis.", top_k=5)
    assert len(answers) == 5 and namespace["pipeline"].model.dtype == torch.float16

    namespace = {}
    exec(compile(AUTOMODEL_SNIPPET.format(dtype=dtype), "<transformers albert page: AutoModel>", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5 and all(line.startswith("Prediction: ") for line in printed)
    model, inputs = namespace["model"], namespace["inputs"]
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    assert model.device.type == auto and model.dtype == torch.float16
    same = AlbertForMaskedLM.from_pretrained(snapshot, dtype=torch.float16, device=model.device)
    with torch.no_grad():
        assert torch.equal(namespace["outputs"].logits, same(**inputs).logits)
    assert hub.count() == before  # all of it from the cache


def test_model_in_a_subfolder_of_a_repository(hub, v1, tmp_path):
    hub.add_commit("someone/nested-model", {f"sub/{name}": data for name, data in v1.items()})
    model = AlbertForMaskedLM.from_pretrained("someone/nested-model", subfolder="sub")
    assert same_weights(model, AlbertForMaskedLM.from_pretrained(write(v1, tmp_path / "source")))


def test_loading_a_directory_never_imports_huggingface_hub():
    import subprocess

    code = (
        "import sys\n"
        "from albert_tok import DEFAULT_TOKENIZER, AlbertTokenizer, AlbertTokenizerFast\n"
        "AlbertTokenizer.from_pretrained(DEFAULT_TOKENIZER)\n"
        "AlbertTokenizerFast.from_pretrained(DEFAULT_TOKENIZER)\n"
        "assert 'huggingface_hub' not in sys.modules, 'huggingface_hub was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_id_resolves_in_a_fresh_interpreter(tmp_path):
    """huggingface_hub hands out its submodules lazily: nothing may rely on another import having loaded one."""
    import subprocess

    code = (
        "import sys\n"
        "from albert_tok.io import resolve_directory\n"
        "try:\n"
        "    resolve_directory('albert/albert-base-v2', cache_dir=sys.argv[1], local_files_only=True)\n"
        "except OSError as error:\n"
        "    assert 'is not in the Hugging Face cache' in str(error), error\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "empty")], check=True, timeout=120)


# -- training from a repo id ---------------------------------------------------------------------------------------


def test_finetune_takes_a_repo_id(hub, v1, tmp_path):
    """``albert finetune --model ID`` read the config from ``ID/config.json`` as a path and failed."""
    from albert_model.training import FinetuneArgs, finetune

    hub.add_commit(REPO, v1)
    rows = "".join(f"{'good great fine' if i % 2 else 'bad awful poor'} {i},{i % 2}\n" for i in range(12))
    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + rows, encoding="utf-8")
    common = {
        "task": "text-classification",
        "train": [str(train)],
        "steps": 2,
        "batch_size": 4,
        "progress": False,
        "device": "cpu",
        "seed": 3,
    }
    by_id = finetune(FinetuneArgs(model=REPO, output=str(tmp_path / "by-id"), **common))
    by_dir = finetune(FinetuneArgs(model=str(write(v1, tmp_path / "dir")), output=str(tmp_path / "by-dir"), **common))
    assert by_id["final_loss"] == by_dir["final_loss"] and by_id["steps"] == by_dir["steps"] == 2


def test_data_pipelines_load_a_tokenizer_by_repo_id(hub, v1, tmp_path):
    """``albert_tok.data.load_tokenizer`` (``TokenizeBatch``, ``tokenize-corpus``) took directories only."""
    from albert_tok.data import load_tokenizer

    hub.add_commit(REPO, v1)
    by_id = load_tokenizer(REPO)
    by_dir = load_tokenizer(write(v1, tmp_path / "dir"))
    text = "Plants create 1,000 [MASK] words."
    assert type(by_id) is type(by_dir) and by_id(text)["input_ids"] == by_dir(text)["input_ids"]
