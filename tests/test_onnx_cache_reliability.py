"""The ONNX export cache serves only the checkpoint's own graph, and ONNX files are checked when opened.

The cache beside a checkpoint is keyed on the content of its files (sha256, computed once per file version:
a version is the file's device, inode, size, modification and change times), and the graph is checked
against its record before use. Weights replaced by same-size bytes with the old modification time (``cp -p``,
``tar``, ``unzip``), one rewritten shard, a graph swapped for another checkpoint's, a re-save while an export
runs, a killed export: each is caught. Also here: the record's and the graph's file mode, metadata checked
when a graph is opened, the bound on ``threads``, and where an ``.onnx`` file's tokenizer may come from.

Tests that kill a process synchronise on a line read from its pipe, never on a sleep.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
from albert_model.onnx import _export as onnx_export
from albert_model.onnx import _runtime as onnx_runtime
from albert_model.onnx._export import cached_export, export_onnx
from albert_model.onnx._runtime import MAX_THREADS, OnnxAlbertModel, session_options
from albert_model.pipelines._base import _onnx_file_tokenizer
from albert_model.pipelines._factory import pipeline
from albert_tok import AlbertTokenizerFast

from .conftest import ROOT, SPIECE

CONFIG = {
    "vocab_size": 1000,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 64,
}
IDS = torch.tensor([[2, 50, 4, 7, 3], [2, 9, 9, 4, 3]])
SEEDS = (0, 1, 2)
WEIGHTS = "model.safetensors"
GRAPH = Path("onnx") / "AlbertForMaskedLM.onnx"
RECORD = Path("onnx") / "AlbertForMaskedLM.json"


def model(seed: int) -> A.AlbertForMaskedLM:
    torch.manual_seed(seed)
    return A.AlbertForMaskedLM(A.AlbertConfig(**CONFIG)).eval()


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """Three checkpoints of one shape (same file sizes) and different weights, their logits on ``IDS``, and
    a graph exported from each."""
    root = tmp_path_factory.mktemp("pool")
    out: dict[str, dict[int, object]] = {"dir": {}, "logits": {}, "graph": {}, "sharded": {}}
    for seed in SEEDS:
        m = model(seed)
        m.save_pretrained(root / f"ckpt{seed}")
        m.save_pretrained(root / f"sharded{seed}", max_shard_size="10KB")
        with torch.inference_mode():
            out["logits"][seed] = m(input_ids=IDS).logits
        out["dir"][seed] = root / f"ckpt{seed}"
        out["sharded"][seed] = root / f"sharded{seed}"
        out["graph"][seed] = Path(export_onnx(m, root / f"graph{seed}.onnx"))
    sizes = {(root / f"ckpt{s}" / WEIGHTS).stat().st_size for s in SEEDS}
    assert len(sizes) == 1  # same shape, same size: only the content tells the checkpoints apart
    for a in SEEDS:
        for b in SEEDS:
            if a != b:
                assert float((out["logits"][a] - out["logits"][b]).abs().max()) > 1e-2
    return out


def copy_checkpoint(pool, seed: int, target: Path) -> Path:
    shutil.copytree(pool["dir"][seed], target)
    return target


def graph_logits(path: str | Path) -> torch.Tensor:
    return OnnxAlbertModel.from_onnx(path)(input_ids=IDS).logits


def serves(pool, path: str | Path, seed: int) -> bool:
    """Whether the graph at ``path`` computes checkpoint ``seed``'s logits."""
    return float((graph_logits(path) - pool["logits"][seed]).abs().max()) <= 1e-4


def copy_keeping_time(source: Path, target: Path, in_place: bool) -> None:
    """``cp -p`` (the same file rewritten, its old times put back) or ``tar``/``unzip`` (a new file under
    the old name, with the old times): between checkpoints of one shape, size and modification time are
    what they were (graphs may differ in size by a few bytes)."""
    before = target.stat()
    if in_place:
        with open(target, "r+b") as fh:
            fh.write(source.read_bytes())
            fh.truncate()
    else:
        fresh = target.with_name(target.name + ".unpacked")
        fresh.write_bytes(source.read_bytes())
        os.replace(fresh, target)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert after.st_mtime_ns == before.st_mtime_ns
    if target.suffix != ".onnx":
        assert after.st_size == before.st_size


@pytest.fixture
def settled(monkeypatch):
    """Every file counts as written long ago, so a hash is trusted for as long as the file's identity holds
    (without this, files written by the test a moment ago are hashed again on every use, which would pass
    these tests without the identity doing anything)."""
    monkeypatch.setattr(onnx_export, "_now_ns", lambda: time.time_ns() + 3600 * 10**9)


# -- same size, old time ----------------------------------------------------------------------------
@pytest.mark.parametrize("in_place", [True, False], ids=["cp-p", "tar"])
def test_same_size_weights_with_the_old_time_are_exported_again(pool, tmp_path, settled, in_place):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    assert serves(pool, cached_export(directory, "fill-mask"), 0)
    copy_keeping_time(pool["dir"][1] / WEIGHTS, directory / WEIGHTS, in_place)
    assert serves(pool, cached_export(directory, "fill-mask"), 1)
    assert serves(pool, OnnxAlbertModel.from_pretrained(directory, "fill-mask").path, 1)


def test_one_rewritten_shard_is_noticed(pool, tmp_path, settled):
    directory = tmp_path / "sharded"
    shutil.copytree(pool["sharded"][0], directory)
    shards = sorted(p.name for p in directory.glob("model-*.safetensors"))
    assert len(shards) > 2 and (directory / "model.safetensors.index.json").is_file()
    path = cached_export(directory, "fill-mask")
    assert serves(pool, path, 0)
    for name in (shards[0], shards[-1]):  # shards from checkpoint 1, one at a time: each change is seen
        copy_keeping_time(pool["sharded"][1] / name, directory / name, in_place=True)
        with torch.inference_mode():
            want = A.AlbertForMaskedLM.from_pretrained(directory)(input_ids=IDS).logits
        assert float((graph_logits(path) - want).abs().max()) > 1e-3, name  # the graph cached so far is stale
        path = cached_export(directory, "fill-mask")
        assert float((graph_logits(path) - want).abs().max()) <= 1e-4, name


# -- the graph checked against its record -----------------------------------------------------------
@pytest.mark.parametrize("in_place", [True, False], ids=["cp-p", "mv"])
def test_a_graph_swapped_for_another_checkpoints_graph_is_not_used(pool, tmp_path, settled, in_place):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    path = Path(cached_export(directory, "fill-mask"))
    record = (directory / RECORD).read_bytes()
    copy_keeping_time(pool["graph"][1], path, in_place)  # the record is left as it was
    assert (directory / RECORD).read_bytes() == record and not serves(pool, path, 0)
    assert serves(pool, cached_export(directory, "fill-mask"), 0)
    copy_keeping_time(pool["graph"][2], path, in_place)
    assert serves(pool, OnnxAlbertModel.from_pretrained(directory, "fill-mask").path, 0)


def test_a_graph_swapped_after_the_check_is_refused_when_opened(pool, tmp_path, monkeypatch):
    """Between the check of the cache and ONNX Runtime opening the file, the graph is swapped: the graph's
    own metadata names the checkpoint content it came from, so the swap is seen and the export redone."""
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    real = onnx_export._cached_export
    swaps = []

    def then_swap(*args, **kwargs):
        found = real(*args, **kwargs)  # (path, checkpoint key, class name)
        if not swaps:
            swaps.append(found[0])
            shutil.copyfile(pool["graph"][1], found[0])
        return found

    monkeypatch.setattr(onnx_runtime, "_cached_export", then_swap)
    opened = OnnxAlbertModel.from_pretrained(directory, "fill-mask")
    assert swaps and float((opened(input_ids=IDS).logits - pool["logits"][0]).abs().max()) <= 1e-4
    assert opened.checkpoint_sha256 == json.loads((directory / RECORD).read_text())["sha256"]


def test_the_graph_names_the_checkpoint_content_it_came_from(pool, tmp_path):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    path = cached_export(directory, "fill-mask")
    record = json.loads((directory / RECORD).read_text())
    assert len(record["sha256"]) == 64 and OnnxAlbertModel.from_onnx(path).checkpoint_sha256 == record["sha256"]
    other = copy_checkpoint(pool, 0, tmp_path / "same")  # the same bytes elsewhere: the same key
    assert (
        json.loads(Path(cached_export(other, "fill-mask")).with_suffix(".json").read_text())["sha256"]
        == record["sha256"]
    )


# -- a re-save while an export runs -----------------------------------------------------------------
def test_a_resave_during_an_export_is_never_recorded_as_the_old_graph(pool, tmp_path, settled, monkeypatch):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    real = onnx_export._trace
    calls = []

    def resave_meanwhile(m, path):
        if not calls:  # the weights change after they were read, before the graph is written
            copy_keeping_time(pool["dir"][1] / WEIGHTS, directory / WEIGHTS, in_place=True)
        calls.append(path)
        real(m, path)

    monkeypatch.setattr(onnx_export, "_trace", resave_meanwhile)
    assert serves(pool, cached_export(directory, "fill-mask"), 0)  # what was read: checkpoint 0
    assert serves(pool, cached_export(directory, "fill-mask"), 1) and len(calls) == 2  # what is there now
    assert len(calls) == 2 and serves(pool, cached_export(directory, "fill-mask"), 1)


def test_the_graph_is_exported_from_the_bytes_that_were_hashed(pool, tmp_path, settled, monkeypatch):
    """The weights change after they were hashed and before the model is built: the graph is still that of
    the bytes hashed (the model is built from the copy made while hashing), and the next use exports the
    new weights."""
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    real = onnx_export._load_snapshot

    def resave_first(*args, **kwargs):
        copy_keeping_time(pool["dir"][1] / WEIGHTS, directory / WEIGHTS, in_place=False)
        return real(*args, **kwargs)

    monkeypatch.setattr(onnx_export, "_load_snapshot", resave_first)
    first = cached_export(directory, "fill-mask")
    assert serves(pool, first, 0)
    monkeypatch.undo()
    assert serves(pool, cached_export(directory, "fill-mask"), 1)


def test_a_save_pretrained_during_an_export_is_seen_on_the_next_use(pool, tmp_path, monkeypatch):
    """``save_pretrained`` replaces the whole directory (``DIR/onnx`` included) while the export runs."""
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    real = onnx_export._trace
    calls = []

    def resave_meanwhile(m, path):
        if not calls:
            model(1).save_pretrained(directory)
        calls.append(path)
        real(m, path)

    monkeypatch.setattr(onnx_export, "_trace", resave_meanwhile)
    cached_export(directory, "fill-mask")
    assert serves(pool, cached_export(directory, "fill-mask"), 1)
    assert not list((directory / "onnx").glob(".onnx-*"))  # no scratch folder left behind


def test_the_checkpoint_is_read_as_the_loader_reads_it(pool, tmp_path):
    """The copy the graph is exported from changes nothing the loader checks, and errors name the checkpoint."""
    from albert_model.checkpoints._weight_files import CheckpointError

    outside = copy_checkpoint(pool, 0, tmp_path / "outside")
    directory = tmp_path / "ckpt"
    directory.mkdir()
    shutil.copyfile(outside / "config.json", directory / "config.json")
    (directory / WEIGHTS).symlink_to(outside / WEIGHTS)  # a link to outside the checkpoint is refused
    with pytest.raises(CheckpointError, match="outside the checkpoint directory"):
        cached_export(directory, "fill-mask")
    (directory / WEIGHTS).unlink()
    (directory / WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError) as info:
        cached_export(directory, "fill-mask")
    assert f"{directory / WEIGHTS} is not a readable safetensors file" in str(info.value)
    assert ".onnx-" not in str(info.value) and not list((directory / "onnx").iterdir())


# -- hashing once per file version ------------------------------------------------------------------
def count_hashes(monkeypatch) -> list[str]:
    hashed: list[str] = []
    real = onnx_export._hash_file

    def counted(path, *args, **kwargs):
        hashed.append(os.path.basename(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(onnx_export, "_hash_file", counted)
    return hashed


@pytest.mark.parametrize("read_only", [False, True], ids=["beside", "user-cache"])
def test_unchanged_files_are_not_hashed_again(pool, tmp_path, settled, monkeypatch, read_only):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    if read_only:  # DIR/onnx cannot be made: the cache is in the user's cache folder
        (directory / "onnx").write_text("not a folder")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = cached_export(directory, "fill-mask")
    hashed = count_hashes(monkeypatch)
    assert cached_export(directory, "fill-mask") == path and hashed == []
    os.utime(directory / WEIGHTS)  # touched, same bytes: hashed once, found unchanged, trusted again
    assert cached_export(directory, "fill-mask") == path and hashed == [WEIGHTS]
    assert cached_export(directory, "fill-mask") == path and hashed == [WEIGHTS]


def test_a_file_written_a_moment_ago_is_hashed_again(pool, tmp_path, monkeypatch):
    """A write within the file system's clock tick can leave every part of a file's identity unchanged, so
    the hash of a file changed less than a moment before hashing began is not trusted on its identity."""
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    (directory / WEIGHTS).write_bytes((pool["dir"][0] / WEIGHTS).read_bytes())  # written now
    path = cached_export(directory, "fill-mask")
    hashed = count_hashes(monkeypatch)
    assert cached_export(directory, "fill-mask") == path and WEIGHTS in hashed


@settings(max_examples=5)
@given(
    steps=st.lists(
        st.sampled_from(["save", "cp-p", "tar", "touch", "swap-graph", "tear-record", "drop-graph"]),
        min_size=1,
        max_size=3,
    ),
    seeds=st.lists(st.sampled_from(SEEDS), min_size=3, max_size=3),
)
def test_the_cache_serves_only_the_checkpoints_graph(pool, steps, seeds):
    """Whatever happens to the checkpoint and its cache, the graph served computes the checkpoint's logits."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = copy_checkpoint(pool, 0, Path(tmp) / "ckpt")
        current = 0
        cached_export(directory, "fill-mask")
        for step, seed in zip(steps, seeds, strict=False):
            graph = directory / GRAPH
            if step == "save":
                model(seed).save_pretrained(directory)
                current = seed
            elif step in ("cp-p", "tar"):
                copy_keeping_time(pool["dir"][seed] / WEIGHTS, directory / WEIGHTS, in_place=step == "cp-p")
                current = seed
            elif step == "touch":
                os.utime(directory / WEIGHTS)
            elif step == "swap-graph" and graph.exists():
                copy_keeping_time(pool["graph"][seed], graph, in_place=True)
            elif step == "tear-record":
                (directory / RECORD).write_text('{"export_version": ')
            elif step == "drop-graph" and graph.exists():
                graph.unlink()
            assert serves(pool, cached_export(directory, "fill-mask"), current), (steps, seeds)
        assert serves(pool, OnnxAlbertModel.from_pretrained(directory, "fill-mask").path, current)


# -- the file mode of what is written ---------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o002, 0o022])
def test_the_record_and_the_graph_have_the_same_mode(pool, tmp_path, umask):
    """A checkpoint shared by a group: the record is as readable as the graph (a record only its writer
    could read made every other user export again on every call)."""
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    previous = os.umask(umask)
    try:
        path = cached_export(directory, "fill-mask")
    finally:
        os.umask(previous)
    graph_mode = os.stat(path).st_mode & 0o777
    record_mode = os.stat(directory / RECORD).st_mode & 0o777
    assert graph_mode == record_mode == 0o666 & ~umask


# -- a killed export --------------------------------------------------------------------------------
CHILD = """
import sys
from albert_model.onnx import _export as onnx_export
real = onnx_export._trace
def blocked(model, path):
    print("tracing", flush=True)
    sys.stdin.readline()
    real(model, path)
onnx_export._trace = blocked
onnx_export.cached_export(sys.argv[1], "fill-mask")
print("done", flush=True)
"""


def read_line(proc: subprocess.Popen, timeout: float = 300.0) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the child printed nothing in time"
    return proc.stdout.readline()


def test_a_killed_export_leaves_no_scratch_folder_behind(pool, tmp_path):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert read_line(proc) == "tracing\n"
        scratch = list((directory / "onnx").glob(".onnx-*"))
        assert len(scratch) == 1 and scratch[0].is_dir()
        path = cached_export(directory, "fill-mask")  # another process meanwhile: the live export is kept
        assert serves(pool, path, 0) and scratch[0].is_dir()
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    assert scratch[0].is_dir()  # what the killed export left ...
    assert cached_export(directory, "fill-mask") == path  # ... is removed on the next use
    assert not list((directory / "onnx").glob(".onnx-*"))
    assert sorted(p.name for p in (directory / "onnx").iterdir()) == [
        "AlbertForMaskedLM.json",
        "AlbertForMaskedLM.onnx",
    ]


def test_a_killed_export_to_a_file_is_cleaned_by_the_next_export_there(pool, tmp_path):
    stale = tmp_path / ".onnx-export-abandoned"  # as an export_onnx of an earlier version, killed, left it
    stale.mkdir()
    (stale / "model.onnx").write_bytes(b"half a graph")
    export_onnx(model(0), tmp_path / "x.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.onnx"]


# -- metadata checked when a graph is opened --------------------------------------------------------
@pytest.fixture(scope="module")
def plain_graph(pool):
    return pool["graph"][0]


def with_metadata(source: Path, target: Path, **changes: str) -> Path:
    proto = onnx.load(source)
    props = {p.key: p.value for p in proto.metadata_props}
    props.update({f"albert.{k}": v for k, v in changes.items()})
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, target)
    return target


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"model_class": "AlbertForSummarization"},
            r"albert\.model_class names 'AlbertForSummarization', which is not an ALBERT class \(one of AlbertModel, ",
        ),
        ({"config": "{not json"}, r"albert\.config: not valid JSON"),
        ({"config": "[1, 2]"}, r"albert\.config is not a valid ALBERT config: .*JSON object"),
        ({"config": '{"hidden_size": -3}'}, r"albert\.config is not a valid ALBERT config: .*hidden_size"),
        ({"missing_head": "classifier"}, r"albert\.missing_head: not valid JSON"),
        ({"missing_head": '{"a": 1}'}, r"albert\.missing_head must be a JSON list of parameter names"),
        ({"quantize": "int4"}, r"albert\.quantize is 'int4'; accepted: absent or 'int8'"),
        (
            {"model_class": "AlbertForSequenceClassification"},
            (
                r"its inputs are input_ids, attention_mask, token_type_ids, masked_index, but an "
                r"AlbertForSequenceClassification graph takes input_ids, attention_mask, token_type_ids"
            ),
        ),
    ],
)
def test_bad_metadata_is_refused_when_the_graph_is_opened(plain_graph, tmp_path, changes, message):
    path = with_metadata(plain_graph, tmp_path / "bad.onnx", **changes)
    with pytest.raises(ValueError, match=message) as info:
        OnnxAlbertModel.from_onnx(path)
    assert str(path) in str(info.value)


def test_good_metadata_still_opens(plain_graph, tmp_path):
    opened = OnnxAlbertModel.from_onnx(with_metadata(plain_graph, tmp_path / "ok.onnx", missing_head="[]"))
    assert opened.model_class == "AlbertForMaskedLM" and opened.missing_head == [] and opened.quantize is None


# -- threads ----------------------------------------------------------------------------------------
def test_threads_are_bounded_and_explained():
    assert session_options(MAX_THREADS).intra_op_num_threads == MAX_THREADS
    for bad in (MAX_THREADS + 1, 100000, 0, -1):
        with pytest.raises(
            ValueError,
            match=rf"threads must be an int from 1 to {MAX_THREADS}, got {bad}: the "
            r"ONNX Runtime threads",
        ):
            session_options(bad)


def test_too_many_threads_are_refused_before_exporting(pool, tmp_path):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    AlbertTokenizerFast(SPIECE).save_pretrained(directory)
    with pytest.raises(ValueError, match=f"from 1 to {MAX_THREADS}"):
        pipeline("fill-mask", model=directory, backend="onnxruntime", threads=MAX_THREADS + 1)
    with pytest.raises(ValueError, match=f"from 1 to {MAX_THREADS}"):
        OnnxAlbertModel.from_pretrained(directory, "fill-mask", threads=MAX_THREADS + 1)
    assert not (directory / "onnx").exists()


def test_cli_threads_are_bounded_and_explained(pool, tmp_path, capsys):
    from albert_model.cli import main

    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    AlbertTokenizerFast(SPIECE).save_pretrained(directory)
    code = main(
        [
            "fill-mask",
            "a [MASK]",
            "--model",
            str(directory),
            "--backend",
            "onnxruntime",
            "--threads",
            str(MAX_THREADS + 1),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 2 and f"from 1 to {MAX_THREADS}" in err and len(err.strip().splitlines()) == 1
    assert not (directory / "onnx").exists()
    with pytest.raises(SystemExit):
        main(["fill-mask", "--help"])
    out, _ = capsys.readouterr()
    assert f"1 to {MAX_THREADS}" in " ".join(out.split())


# -- the tokenizer of an .onnx file -----------------------------------------------------------------
def test_an_onnx_file_alone_does_not_borrow_a_parent_tokenizer(pool, tmp_path):
    AlbertTokenizerFast(SPIECE).save_pretrained(tmp_path)  # a tokenizer in the parent, not beside the file
    (tmp_path / "graphs").mkdir()
    alone = tmp_path / "graphs" / "x.onnx"
    shutil.copyfile(pool["graph"][0], alone)
    with pytest.raises(ValueError, match="no tokenizer beside"):
        _onnx_file_tokenizer(str(alone))
    with pytest.raises(ValueError, match="no tokenizer beside"):
        pipeline("fill-mask", model=alone, backend="onnxruntime")
    (tmp_path / "onnx").mkdir()  # named like the cache, but the parent is no checkpoint (no config.json)
    shutil.copyfile(pool["graph"][0], tmp_path / "onnx" / "x.onnx")
    with pytest.raises(ValueError, match="no tokenizer beside"):
        _onnx_file_tokenizer(str(tmp_path / "onnx" / "x.onnx"))


def test_the_tokenizer_of_a_cached_graph_or_of_its_own_folder_is_found(pool, tmp_path):
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    AlbertTokenizerFast(SPIECE).save_pretrained(directory)
    assert _onnx_file_tokenizer(cached_export(directory, "fill-mask")) == str(directory)  # DIR/onnx/X.onnx
    beside = tmp_path / "ckpt" / "x.onnx"
    shutil.copyfile(pool["graph"][0], beside)
    assert _onnx_file_tokenizer(str(beside)) == str(directory)


@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling link"])
def test_weights_that_are_not_a_file_are_named_as_the_loader_names_them(tmp_path, kind):
    """The export reads the weights file the loader would read, under the loader's rule: a FIFO (never
    opened: reading it would block), a directory or a dangling link is an error naming it, not 'no weights'."""
    directory = tmp_path / "ckpt"
    model(0).save_pretrained(directory)
    weights = directory / WEIGHTS
    weights.unlink()
    if kind == "fifo":
        os.mkfifo(weights)
    elif kind == "directory":
        weights.mkdir()
    else:
        weights.symlink_to(directory / "gone.safetensors")
    expected = (FileNotFoundError, "does not exist") if kind == "dangling link" else (OSError, "not a regular file")
    with pytest.raises(expected[0], match=expected[1]):
        cached_export(directory, "fill-mask")


def test_config_json_linked_out_of_the_checkpoint_is_refused(tmp_path):
    """The export reads config.json under the loader's containment rule: a link out of the directory is refused."""
    directory = tmp_path / "ckpt"
    model(0).save_pretrained(directory)
    outside = tmp_path / "elsewhere.json"
    (directory / "config.json").rename(outside)
    (directory / "config.json").symlink_to(outside)
    with pytest.raises(ValueError, match="outside the checkpoint directory"):
        cached_export(directory, "fill-mask")


def test_the_graph_just_exported_is_not_hashed_again(pool, tmp_path, monkeypatch):
    """The graph is written and hashed in a private scratch folder, so its hash is trusted from the rename on
    (the settle rule is for files others may write): its next use does not read it again (it did, for 2 s)."""
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    path = cached_export(directory, "fill-mask")
    hashed = count_hashes(monkeypatch)
    assert cached_export(directory, "fill-mask") == path
    assert os.path.basename(path) not in hashed, hashed


def test_a_save_killed_after_its_commit_is_finished_before_the_export_reads(pool, tmp_path):
    """As the loader does, the export first finishes a save killed halfway (here: new shards committed, one
    published, the old single file already removed), then exports the new weights."""
    directory = copy_checkpoint(pool, 0, tmp_path / "ckpt")
    code = (
        "import os, torch, albert_model as A\nfrom albert_tok import atomic\n"
        "def hook(label):\n    if label.startswith('publish model-00001'):\n        os._exit(9)\n"
        "atomic._step_hook = hook\n"
        f"torch.manual_seed(1)\nA.AlbertForMaskedLM(A.AlbertConfig(**{CONFIG!r})).save_pretrained("
        f"{str(directory)!r}, max_shard_size='10KB')\n"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=300, check=False).returncode == 9
    assert serves(pool, cached_export(directory, "fill-mask"), 1)
