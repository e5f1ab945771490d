"""``--init-from DIR_OR_REPO_ID`` (issue #26, item 7): a run's model starts from a checkpoint's weights, the
config's sizes come from the checkpoint, the tokenizer must have the checkpoint's vocabulary, and the report
says which parts were loaded and which the run initialised. Checkpoints are tiny ones the tests write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants

from albert_model import (
    AlbertConfig,
    AlbertForMaskedLM,
    AlbertForMultipleChoice,
    AlbertForPreTraining,
    AlbertForSequenceClassification,
)
from albert_model.training._init_from import InitReport, init_config, init_from
from albert_tok import AlbertTokenizer
from albert_tok.engines._spm_model import parse_model

from .conftest import SPIECE

TINY = {
    "vocab_size": 30000,  # the fixture tokenizer's
    "embedding_size": 8,
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 24,
    "max_position_embeddings": 32,
}


def save(directory: Path, model: torch.nn.Module, tokenizer: bool = True) -> Path:
    model.save_pretrained(directory)
    if tokenizer:
        AlbertTokenizer(SPIECE).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tok():
    return AlbertTokenizer(SPIECE)


@pytest.fixture(scope="module")
def mlm_dir(tmp_path_factory):
    torch.manual_seed(1)
    model = AlbertForMaskedLM(AlbertConfig(**TINY))
    return save(tmp_path_factory.mktemp("mlm"), model), model


def seeded(cls: type, config: AlbertConfig, seed: int = 7) -> torch.nn.Module:
    torch.manual_seed(seed)
    return cls(config)


def test_continued_pretraining_loads_the_encoder_and_mlm_head_and_keeps_the_runs_sop_head(mlm_dir, tok):
    directory, checkpoint = mlm_dir
    config = init_config(directory)
    assert {k: getattr(config, k) for k in TINY} == TINY
    model = seeded(AlbertForPreTraining, config)
    fresh = seeded(AlbertForPreTraining, config)  # what the run initialised: the same seed
    report = init_from(model, directory, tok)
    ours, theirs, initial = model.state_dict(), checkpoint.state_dict(), fresh.state_dict()
    for name in report.loaded:
        assert torch.equal(ours[name], theirs[name]), name
    for name in report.initialized:
        assert torch.equal(ours[name], initial[name]), name
    assert report.parts_loaded == ("albert", "predictions")
    assert report.parts_initialized == ("albert.pooler", "sop_classifier")
    assert set(report.initialized) == {
        "albert.pooler.weight",
        "albert.pooler.bias",
        "sop_classifier.classifier.weight",
        "sop_classifier.classifier.bias",
    }
    assert report.unused == ()
    assert report.vocabulary_checked and report.vocab_size == 30000
    assert model.predictions.decoder.weight is model.albert.embeddings.word_embeddings.weight  # still tied
    assert json.loads(json.dumps(report.to_dict()))["parts_initialized"] == ["albert.pooler", "sop_classifier"]
    text = report.describe()
    assert "initialised by this run: albert.pooler, sop_classifier (4 parameters" in text
    assert "loaded: albert, predictions" in text


def test_a_task_head_is_initialised_and_the_other_head_unused(mlm_dir, tok):
    directory, checkpoint = mlm_dir
    model = seeded(AlbertForMultipleChoice, init_config(directory))
    report = init_from(model, directory, tok)
    assert report.parts_loaded == ("albert",)
    assert report.parts_initialized == ("albert.pooler", "classifier")
    assert "predictions.dense.weight" in report.unused
    assert torch.equal(
        model.albert.encoder.embedding_hidden_mapping_in.weight,
        checkpoint.albert.encoder.embedding_hidden_mapping_in.weight,
    )
    assert "unused from the checkpoint: predictions." in report.describe()


def test_a_head_of_another_size_starts_afresh_and_the_same_size_loads(tmp_path, tok):
    torch.manual_seed(2)
    clf = AlbertForSequenceClassification(AlbertConfig(**TINY, num_labels=3))
    directory = save(tmp_path / "clf", clf)
    two = seeded(AlbertForSequenceClassification, init_config(directory, num_labels=2))
    report = init_from(two, directory, tok)
    assert report.parts_initialized == ("classifier",) and "albert.pooler" in report.parts_loaded
    three = seeded(AlbertForSequenceClassification, init_config(directory))
    report = init_from(three, directory, tok)
    assert report.initialized == () and torch.equal(three.classifier.weight, clf.classifier.weight)


def test_sizes_come_from_the_checkpoint(mlm_dir, tok):
    directory, _ = mlm_dir
    with pytest.raises(ValueError, match=r"checkpoint's model has hidden_size=16; the run asked for hidden_size=32"):
        init_config(directory, hidden_size=32, num_labels=4)
    assert init_config(directory, hidden_size=16, hidden_dropout_prob=0.2).hidden_dropout_prob == 0.2
    other = AlbertForPreTraining(AlbertConfig(**{**TINY, "intermediate_size": 30}))
    with pytest.raises(
        ValueError, match=r"run's model has intermediate_size=30 but the checkpoint intermediate_size=24"
    ):
        init_from(other, directory, tok)


def _other_vocabulary(path: Path) -> Path:
    """The fixture's SentencePiece model with one piece's text changed (same length, so the file stays valid)."""
    data = SPIECE.read_bytes()
    for piece in parse_model(data).pieces[1000:]:
        old = piece.piece.encode()
        new = b"Zq" * (len(old) // 2) + b"Z" * (len(old) % 2)
        if len(old) >= 4 and data.count(old) == 1 and data.count(new) == 0:
            path.write_bytes(data.replace(old, new))
            return path
    raise AssertionError("no piece to change")


def test_another_vocabulary_of_the_same_size_is_refused_naming_both(mlm_dir, tok, tmp_path):
    directory, _ = mlm_dir
    other = AlbertTokenizer(_other_vocabulary(tmp_path / "other.model"))
    assert other.vocab_size == tok.vocab_size
    model = AlbertForPreTraining(init_config(directory))
    with pytest.raises(
        ValueError, match=r"is not the vocabulary of the checkpoint's tokenizer in .*mlm.*: id \d+ is 'Zq"
    ):
        init_from(model, directory, other)
    cased = AlbertTokenizer(SPIECE, do_lower_case=False)
    with pytest.raises(ValueError, match="the pieces agree but the text preprocessing"):
        init_from(model, directory, cased)


def test_without_a_tokenizer_in_the_checkpoint_sizes_are_compared(tmp_path, tok):
    small = save(tmp_path / "small", AlbertForMaskedLM(AlbertConfig(**{**TINY, "vocab_size": 29000})), tokenizer=False)
    with pytest.raises(ValueError, match=r"has 30000 tokens .* but the checkpoint's vocabulary only 29000"):
        init_from(AlbertForMaskedLM(init_config(small)), small, tok)
    large = save(tmp_path / "large", AlbertForMaskedLM(AlbertConfig(**{**TINY, "vocab_size": 30100})), tokenizer=False)
    with pytest.raises(ValueError, match=r"has 30000 pieces \(30000 tokens\) but the checkpoint's vocabulary is 30100"):
        init_from(AlbertForMaskedLM(init_config(large)), large, tok)
    same = save(tmp_path / "same", AlbertForMaskedLM(AlbertConfig(**TINY)), tokenizer=False)
    report = init_from(AlbertForMaskedLM(init_config(same)), same, tok)
    assert not report.vocabulary_checked and "vocabulary size only" in report.describe()


def test_a_checkpoint_that_is_not_albert_or_has_no_weights(tmp_path, tok, mlm_dir):
    directory, _ = mlm_dir
    broken = tmp_path / "broken"
    shutil.copytree(directory, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError):
        init_from(AlbertForMaskedLM(init_config(broken)), broken, tok)
    with pytest.raises(FileNotFoundError):
        init_config(tmp_path / "nothing")
    with pytest.raises(TypeError, match="must be an ALBERT model"):
        init_from(torch.nn.Linear(2, 2), directory, tok)


def test_a_repo_id_is_read_from_the_hugging_face_cache_offline(mlm_dir, tok, tmp_path, monkeypatch):
    directory, checkpoint = mlm_dir
    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    storage = cache / "models--someone--tiny-albert"
    shutil.copytree(directory, storage / "snapshots" / commit)
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(commit, encoding="utf-8")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    model = seeded(AlbertForPreTraining, init_config("someone/tiny-albert"))
    report = init_from(model, "someone/tiny-albert", tok)
    assert isinstance(report, InitReport)
    assert report.source == "someone/tiny-albert" and report.directory == str(storage / "snapshots" / commit)
    assert torch.equal(
        model.albert.embeddings.word_embeddings.weight, checkpoint.albert.embeddings.word_embeddings.weight
    )
    assert "init-from someone/tiny-albert (" in report.describe()
    with pytest.raises(OSError, match="someone/absent"):
        init_from(model, "someone/absent", tok)
