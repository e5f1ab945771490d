"""Google's TensorFlow checkpoints converted without TensorFlow (``albert convert-tf``).

``fixtures/tf/`` was written by real TensorFlow under Google's variable names, and ``expected.safetensors`` is
what transformers' own TensorFlow-based converter made of it (``scripts/make_tf_fixture.py``). This suite has
no TensorFlow: our reader must give exactly that state dict, and every damaged or mismatched input a
:class:`TFCheckpointError` naming the file and the variable. Damage is done to copies in ``tmp_path``; where
a test needs an index TensorFlow never wrote (a variable removed, renamed or added), it rewrites the table
with :func:`write_index`, a LevelDB table writer kept here for that.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.numpy import load_file

from albert_model import AlbertForMaskedLM, AlbertForPreTraining
from albert_model.checkpoints import TFCheckpointError, _tf, convert_tf_checkpoint
from albert_tok import AlbertTokenizer
from albert_tok.cli import run as cli_run

from .conftest import ROOT, SPIECE

FIXTURE = ROOT / "fixtures" / "tf"
PREFIX = "model.ckpt-best"
EXPECTED = load_file(str(FIXTURE / "expected.safetensors"))
SOP = ("sop_classifier.classifier.weight", "sop_classifier.classifier.bias")


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    """A copy of the fixture, to damage."""
    target = tmp_path / "tf"
    shutil.copytree(FIXTURE, target)
    return target


def assert_exactly(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        assert got[key].shape == value.shape, key
        assert got[key].tobytes() == value.tobytes(), key  # bit for bit, NaN-safe


# -- crc32c ---------------------------------------------------------------------------------------------------
def reference_crc32c(data: bytes) -> int:
    """Bit by bit, from the polynomial: nothing shared with the tables under test."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_known_values():
    # RFC 3720 (iSCSI) B.4 and the usual check value
    assert _tf.crc32c(b"123456789") == 0xE3069283
    assert _tf.crc32c(bytes(32)) == 0x8A9136AA
    assert _tf.crc32c(b"\xff" * 32) == 0x62A8AB43
    assert _tf.crc32c(bytes(range(32))) == 0x46DD794E
    assert _tf.crc32c(b"") == 0


@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 40_000))
def test_crc32c_matches_the_bitwise_reference(seed, size):
    # sizes on both sides of the numpy path's threshold, lane counts and odd tails
    data = random.Random(seed).randbytes(size)
    assert _tf.crc32c(data) == reference_crc32c(data)


def test_crc32c_of_large_inputs_combines_lanes_right():
    # many lanes, many steps, a tail that is not a multiple of 8; the plain table loop is the reference here
    # (the bitwise one is too slow for megabytes, and the property test above holds the loop to it)
    for data in (random.Random(1).randbytes(3_000_017), bytes(1_000_003), b"\xff" * 65_536):
        assert _tf.crc32c(data) == _tf._raw_python(memoryview(data), 0xFFFFFFFF) ^ 0xFFFFFFFF


def test_crc32c_small_inputs_match_the_table_loop():
    for size in (0, 1, 7, 8, 9, 4095, 4096, 4097):
        data = random.Random(size).randbytes(size)
        assert _tf._raw_python(memoryview(data), 0xFFFFFFFF) ^ 0xFFFFFFFF == reference_crc32c(data)


# -- the table writer tests use to make indexes TensorFlow did not write ---------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _block(items: list[tuple[bytes, bytes]]) -> bytes:
    body, restarts = b"", []
    for key, value in items:
        restarts.append(len(body))
        body += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    return body + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))


def write_index(path: Path, items: list[tuple[bytes, bytes]]) -> None:
    """A LevelDB table of ``items`` (sorted by key): one data block, an empty meta index, an index, the footer."""
    out = b""

    def put(contents: bytes) -> bytes:
        nonlocal out
        handle = _varint(len(out)) + _varint(len(contents))
        out += contents + b"\0" + struct.pack("<I", _mask(_tf.crc32c(contents + b"\0")))
        return handle

    data = put(_block(items))
    meta = put(_block([]))
    index = put(_block([(items[-1][0], data)]))
    footer = (meta + index).ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    path.write_bytes(out + footer)


def index_items(prefix: Path) -> list[tuple[bytes, bytes]]:
    return list(_tf._table(str(prefix) + ".index"))


def rewrite(prefix: Path, items: list[tuple[bytes, bytes]]) -> None:
    write_index(Path(str(prefix) + ".index"), sorted(items))


def test_the_test_table_writer_round_trips(ckpt):
    items = index_items(ckpt / PREFIX)
    rewrite(ckpt / PREFIX, items)
    assert index_items(ckpt / PREFIX) == items


# -- conversion -----------------------------------------------------------------------------------------------
def test_conversion_matches_transformers_tensorflow_converter_exactly(tmp_path):
    out = tmp_path / "out"
    result = convert_tf_checkpoint(FIXTURE / PREFIX, out)
    assert result.architecture == "AlbertForPreTraining"
    assert result.skipped == []  # global_step and the adam_m/adam_v slots are optimizer state, not skipped weights
    assert_exactly(load_file(str(out / "model.safetensors")), EXPECTED)
    assert sorted(os.listdir(out)) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "special_tokens_map.json",
        "spiece.model",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    config = json.loads((out / "config.json").read_text())
    google = json.loads((FIXTURE / "albert_config.json").read_text())
    for key in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_attention_heads"):
        assert config[key] == google[key]
    assert config["hidden_act"] == "gelu_new"  # Google's "gelu" is the tanh approximation
    assert config["architectures"] == ["AlbertForPreTraining"] and config["dtype"] == "float32"
    assert not {"net_structure_type", "gap_size", "num_memory_blocks", "down_scale_factor"} & set(config)
    assert (out / "spiece.model").read_bytes() == (FIXTURE / "tiny-clean.model").read_bytes()


def test_the_card_names_each_source_file_with_its_sha256(tmp_path):
    import hashlib

    result = convert_tf_checkpoint(FIXTURE / PREFIX, tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: transformers" in card and "fill-mask" in card
    names = ["albert_config.json", "tiny-clean.model", f"{PREFIX}.index"]
    names += [f"{PREFIX}.data-0000{i}-of-00003" for i in (1, 2)]  # shard 0 holds only global_step
    for name in names:
        digest = hashlib.sha256((FIXTURE / name).read_bytes()).hexdigest()
        assert digest in card, name
        assert result.sources[str((FIXTURE / name).resolve())] == digest
    assert f"{PREFIX}.data-00000-of-00003" not in card


def test_tf_hub_module_layout_converts_to_the_masked_lm(tmp_path):
    out = tmp_path / "out"
    result = convert_tf_checkpoint(
        FIXTURE / "hub", out, config=FIXTURE / "albert_config.json", spm=FIXTURE / "tiny-clean.model"
    )
    assert result.checkpoint == str(FIXTURE / "hub" / "variables" / "variables")
    assert result.architecture == "AlbertForMaskedLM"  # the module has no sentence-order head
    assert_exactly(load_file(str(out / "model.safetensors")), {k: v for k, v in EXPECTED.items() if k not in SOP})
    model = AlbertForMaskedLM.from_pretrained(out)
    assert not model.load_report.head_missing


def test_a_tf_hub_module_finds_its_config_and_vocabulary(ckpt, tmp_path):
    hub = ckpt / "hub"
    shutil.copy(ckpt / "albert_config.json", hub)
    (hub / "assets").mkdir()
    shutil.copy(ckpt / "tiny-clean.model", hub / "assets" / "30k-clean.model")  # as Google's modules hold it
    result = convert_tf_checkpoint(hub, tmp_path / "out")
    assert os.path.abspath(hub / "assets" / "30k-clean.model") in result.sources
    assert os.path.abspath(hub / "albert_config.json") in result.sources
    assert (tmp_path / "out" / "spiece.model").read_bytes() == (ckpt / "tiny-clean.model").read_bytes()


def test_module_prefix_of_tf_hub_fine_tuning_is_stripped(ckpt, tmp_path):
    items = index_items(ckpt / PREFIX)
    rewrite(ckpt / PREFIX, [(b"module/" + k if k else k, v) for k, v in items])
    convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")
    assert_exactly(load_file(str(tmp_path / "out" / "model.safetensors")), EXPECTED)


def test_the_converted_directory_gives_transformers_logits(tmp_path):
    import transformers

    out = tmp_path / "out"
    convert_tf_checkpoint(FIXTURE / PREFIX, out)
    ours = AlbertForPreTraining.from_pretrained(out)
    assert ours.load_report.ok and not ours.load_report.newly_initialized
    ref = transformers.AlbertForPreTraining.from_pretrained(out).eval()
    tokenizer = AlbertTokenizer.from_pretrained(out)
    ref_tokenizer = transformers.AlbertTokenizer.from_pretrained(out)
    texts = ["he said the pie does not fit.", "the company 's growth"]  # under 64 tokens in 128 pieces
    batch = tokenizer(texts[0], texts[1], return_tensors="pt")
    assert batch["input_ids"].tolist() == ref_tokenizer(texts[0], texts[1], return_tensors="pt")["input_ids"].tolist()
    with torch.no_grad():
        a, b = ours(**batch), ref(**batch)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.sop_logits, b.sop_logits, atol=1e-5, rtol=1e-5)


def test_conversion_overwrites_an_earlier_one_whole(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "pytorch_model.bin").write_bytes(b"stale weights")
    (out / "added_tokens.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    convert_tf_checkpoint(FIXTURE / PREFIX, out)
    assert not (out / "pytorch_model.bin").exists() and not (out / "added_tokens.json").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_read_bundle_reads_every_variable_as_tensorflow_saved_it():
    values = _tf.read_bundle(FIXTURE / PREFIX)
    assert int(values["global_step"]) == 125000 and values["global_step"].dtype == np.int64
    assert np.all(values["bert/embeddings/word_embeddings/adam_m"] == 0.25)
    kernel = values["bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/kernel"]
    assert kernel.shape == (16, 32)
    assert np.array_equal(kernel.T, EXPECTED["albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"])


# -- finding the checkpoint -------------------------------------------------------------------------------------
def test_checkpoint_paths_resolve_to_the_bundle_prefix(ckpt):
    prefix = str(ckpt / PREFIX)
    for given_path in (prefix, prefix + ".index", prefix + ".data-00001-of-00003", str(ckpt)):
        assert _tf.resolve_checkpoint(given_path) == prefix  # a directory: through its `checkpoint` file
    hub = str(ckpt / "hub" / "variables" / "variables")
    assert _tf.resolve_checkpoint(ckpt / "hub") == hub
    assert _tf.resolve_checkpoint(ckpt / "hub" / "variables") == hub
    with pytest.raises(FileNotFoundError, match="no TensorFlow checkpoint"):
        _tf.resolve_checkpoint(ckpt / "nothing")
    # a `checkpoint` file written with absolute paths on another machine names the prefix found here
    (ckpt / "checkpoint").write_text('model_checkpoint_path: "/gcs/albert/model.ckpt-best"\n')
    assert _tf.resolve_checkpoint(ckpt) == prefix
    (ckpt / "checkpoint").unlink()
    assert _tf.resolve_checkpoint(ckpt) == prefix  # the one .index there
    shutil.copy(ckpt / f"{PREFIX}.index", ckpt / "model.ckpt-1000.index")
    with pytest.raises(FileNotFoundError, match=r"holds 2 checkpoints \(model\.ckpt-1000\.index, model\.ckpt-best"):
        _tf.resolve_checkpoint(ckpt)


def test_config_and_vocabulary_default_to_the_files_beside_the_checkpoint(ckpt, tmp_path):
    result = convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")
    assert os.path.abspath(ckpt / "albert_config.json") in result.sources
    assert os.path.abspath(ckpt / "tiny-clean.model") in result.sources
    (ckpt / "albert_config.json").unlink()
    with pytest.raises(FileNotFoundError, match="--config"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out2")


# -- damaged and mismatched inputs ------------------------------------------------------------------------------
def entry_of(prefix: Path, name: str) -> _tf._Entry:
    return _tf._bundle(str(prefix)).entries[name]


def test_truncated_data_file(ckpt, tmp_path):
    data = ckpt / f"{PREFIX}.data-00001-of-00003"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(TFCheckpointError, match=r"data-00001-of-00003 is truncated: variable '[^']+' needs bytes"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


def test_missing_data_file(ckpt, tmp_path):
    (ckpt / f"{PREFIX}.data-00002-of-00003").unlink()
    with pytest.raises(TFCheckpointError, match=r"data-00002-of-00003 is missing: it holds variable '"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_a_flipped_byte_in_a_tensor_fails_its_checksum(ckpt, tmp_path):
    name = "bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query/kernel"
    entry = entry_of(ckpt / PREFIX, name)
    data = ckpt / f"{PREFIX}.data-{entry.shard:05d}-of-00003"
    raw = bytearray(data.read_bytes())
    raw[entry.offset + 5] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(TFCheckpointError, match=rf"is damaged: the bytes of variable '{name}' do not match"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_a_flipped_byte_in_the_index_fails_its_block_checksum(ckpt, tmp_path):
    index = ckpt / f"{PREFIX}.index"
    raw = bytearray(index.read_bytes())
    raw[40] ^= 0x20
    index.write_bytes(bytes(raw))
    with pytest.raises(TFCheckpointError, match=r"model\.ckpt-best\.index is damaged: the checksum of its table"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_an_index_that_is_not_one(ckpt, tmp_path):
    (ckpt / f"{PREFIX}.index").write_bytes(b"\0" * 100)
    with pytest.raises(TFCheckpointError, match="is not a TensorFlow checkpoint index"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_missing_variable(ckpt, tmp_path):
    name = b"bert/encoder/transformer/group_0/inner_group_0/LayerNorm_1/gamma"
    rewrite(ckpt / PREFIX, [(k, v) for k, v in index_items(ckpt / PREFIX) if k != name])
    with pytest.raises(
        TFCheckpointError,
        match=r"has no variable '.+/LayerNorm_1/gamma' \(needed for "
        r"albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.full_layer_layer_norm\.weight",
    ):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_a_head_with_a_missing_variable(ckpt, tmp_path):
    items = [(k, v) for k, v in index_items(ckpt / PREFIX) if k != b"cls/predictions/output_bias"]
    rewrite(ckpt / PREFIX, items)
    with pytest.raises(TFCheckpointError, match=r"'cls/predictions/output_bias' .*masked-LM head"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_a_config_with_more_groups_than_the_checkpoint(ckpt, tmp_path):
    config = json.loads((ckpt / "albert_config.json").read_text())
    config["num_hidden_groups"] = 2
    (ckpt / "albert_config.json").write_text(json.dumps(config))
    with pytest.raises(TFCheckpointError, match=r"has no variable 'bert/encoder/transformer/group_1/"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_shape_mismatch(ckpt, tmp_path):
    config = json.loads((ckpt / "albert_config.json").read_text())
    config["intermediate_size"] = 48
    (ckpt / "albert_config.json").write_text(json.dumps(config))
    with pytest.raises(
        TFCheckpointError,
        match=r"index: variable 'bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/kernel' has "
        r"shape \[16, 32\], the config asks for \[16, 48\] \(for albert\.encoder\..*\.ffn\.weight\)",
    ):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_a_checkpoint_of_another_layout(ckpt, tmp_path):
    # TensorFlow 2's object-based names, which Google's ALBERT code never wrote
    renamed = [
        (k and b"model/layer_with_weights-0/" + k + b"/.ATTRIBUTES/VARIABLE_VALUE", v)
        for k, v in index_items(ckpt / PREFIX)
    ]
    rewrite(ckpt / PREFIX, renamed)
    with pytest.raises(TFCheckpointError, match=r"index holds none of Google's ALBERT variables .* named like 'model/"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_a_variable_the_config_has_no_place_for(ckpt, tmp_path):
    items = index_items(ckpt / PREFIX)
    bias = dict(items)[b"bert/pooler/dense/bias"]
    rewrite(ckpt / PREFIX, [*items, (b"bert/encoder/transformer/group_1/inner_group_0/LayerNorm/beta", bias)])
    with pytest.raises(TFCheckpointError, match=r"'bert/encoder/transformer/group_1/.*' has no place in the model"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_other_variables_are_listed_as_not_converted(ckpt, tmp_path):
    items = index_items(ckpt / PREFIX)
    bias = dict(items)[b"cls/seq_relationship/output_bias"]  # a fine-tuned classifier's, as Google names it
    rewrite(ckpt / PREFIX, [*items, (b"output_bias", bias)])
    result = convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")
    assert result.skipped == ["output_bias"]
    assert_exactly(load_file(str(tmp_path / "out" / "model.safetensors")), EXPECTED)
    assert "output\\_bias" in (tmp_path / "out" / "README.md").read_text()


def test_a_vocabulary_of_another_size(tmp_path):
    with pytest.raises(ValueError, match=r"has 30000 pieces but the config's vocab_size is 128"):
        convert_tf_checkpoint(FIXTURE / PREFIX, tmp_path / "out", spm=SPIECE)
    assert not (tmp_path / "out").exists()


def test_google_structures_this_albert_does_not_have(ckpt, tmp_path):
    config = json.loads((ckpt / "albert_config.json").read_text())
    config["net_structure_type"] = 1
    (ckpt / "albert_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"albert_config\.json: net_structure_type=1"):
        convert_tf_checkpoint(ckpt / PREFIX, tmp_path / "out")


def test_a_failed_conversion_leaves_the_output_as_it_was(ckpt, tmp_path):
    out = tmp_path / "out"
    convert_tf_checkpoint(FIXTURE / PREFIX, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    data = ckpt / f"{PREFIX}.data-00002-of-00003"
    data.write_bytes(data.read_bytes()[:-1])
    with pytest.raises(TFCheckpointError, match="is truncated"):
        convert_tf_checkpoint(ckpt / PREFIX, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# -- the command --------------------------------------------------------------------------------------------
def command(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="albert convert-tf")
    _tf.add_arguments(parser)
    ns = parser.parse_args(args)
    ns.command = "convert-tf"
    return ns


def test_command_converts(tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(FIXTURE / PREFIX), "--config", str(FIXTURE / "albert_config.json")]
    ns = command(*args, "--spm", str(FIXTURE / "tiny-clean.model"), "--out", str(out))
    assert cli_run(ns, "albert") == 0
    assert f"{out}: AlbertForPreTraining, 32 tensors" in capsys.readouterr().out
    assert_exactly(load_file(str(out / "model.safetensors")), EXPECTED)


def test_command_reports_a_damaged_checkpoint_in_one_line(ckpt, tmp_path, capsys):
    data = ckpt / f"{PREFIX}.data-00001-of-00003"
    data.write_bytes(data.read_bytes()[:100])
    assert cli_run(command(str(ckpt / PREFIX), "--out", str(tmp_path / "out")), "albert") == 2
    err = capsys.readouterr().err
    assert err.startswith("albert convert-tf: error: ") and "is truncated: variable" in err
    assert err.count("\n") == 1


def test_albert_convert_tf_command(tmp_path, capsys):
    """``albert convert-tf`` is registered: it writes the directory and prints what it converted; a missing
    checkpoint is one line and exit code 2."""
    from albert_model.cli import main

    out = tmp_path / "converted"
    assert main(["convert-tf", str(FIXTURE / "model.ckpt-best"), "--out", str(out)]) == 0
    assert "AlbertForPreTraining, 32 tensors" in capsys.readouterr().out
    assert type(AlbertForPreTraining.from_pretrained(out)).__name__ == "AlbertForPreTraining"
    assert main(["convert-tf", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("albert convert-tf: error: no TensorFlow checkpoint")
