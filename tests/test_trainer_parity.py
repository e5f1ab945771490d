"""transformers' own ``Trainer`` fine-tunes our heads with transformers' collators and gives, step for step,
the losses transformers' own classes give from the same initial weights and seed (dropout on)."""

from __future__ import annotations

import pytest
import torch
import transformers as T

import albert_model as A
from albert_model.training import _finetune_data as D
from albert_tok import AlbertTokenizerFast

from .conftest import EVAL, SPIECE

TINY = {
    "vocab_size": 30000,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 128,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout_prob": 0.1,
}
STEPS = 6


@pytest.fixture(scope="module")
def tok():
    return AlbertTokenizerFast(SPIECE)


def sequence_data(tok):
    pairs = [
        ("the cat sat on the mat", "a cat was sitting"),
        ("stocks fell sharply", "markets rose"),
        ("hello", "hi there, how are you?"),
        ("one two three", "four"),
        ("ALBERT shares layers", "it does"),
    ] * 3
    return [dict(tok(a, b, truncation=True, max_length=32), labels=i % 3) for i, (a, b) in enumerate(pairs)]


def token_data(tok):
    sentences = [
        ["John", "lives", "in", "New", "York"],
        ["Paris", "is", "nice"],
        ["Ann", "met", "Bob", "Smith"],
        ["nothing", "here"],
    ] * 4
    features = []
    for words in sentences:
        enc = tok(words, is_split_into_words=True, truncation=True, max_length=32)
        previous, labels = None, []
        for word in enc.word_ids():  # the usual alignment: first sub-token labelled, the rest -100
            labels.append(-100 if word is None or word == previous else len(words[word]) % 3)
            previous = word
        features.append(dict(enc, labels=labels))
    return features


def qa_data(tok):
    examples, _ = D.read_squad(EVAL / "squad_sample.json")
    keep = ("input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions")
    return [{k: f[k] for k in keep} for f in D.encode_squad(tok, examples, 96, 24)]


CASES = {
    "AlbertForSequenceClassification": (sequence_data, lambda tok: T.DataCollatorWithPadding(tok), 3),
    "AlbertForTokenClassification": (token_data, lambda tok: T.DataCollatorForTokenClassification(tok), 3),
    "AlbertForQuestionAnswering": (qa_data, lambda tok: T.DataCollatorWithPadding(tok), 2),
}


class RecordingTrainer(T.Trainer):
    """Keeps every step's exact loss (the logged one is rounded to 4 digits)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.losses: list[float] = []

    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
        result = super().compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)
        if model.training:
            self.losses.append(float((result[0] if return_outputs else result).detach()))
        return result


def train(model, features, collator, tmp_path, **kwargs):
    settings = {
        "output_dir": str(tmp_path),
        "max_steps": STEPS,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "learning_rate": 2e-3,
        "warmup_steps": 2,
        "weight_decay": 0.01,
        "logging_steps": 1,
        "seed": 11,
        "report_to": [],
        "use_cpu": True,
        "save_strategy": "no",
        "disable_tqdm": True,
        "optim": "adamw_torch",
    }
    args = T.TrainingArguments(**{**settings, **kwargs})
    trainer = RecordingTrainer(
        model=model, args=args, train_dataset=features, eval_dataset=features[:8], data_collator=collator
    )
    trainer.train()
    return trainer


def pair(name, num_labels):
    torch.manual_seed(0)
    ours = getattr(A, name)(A.AlbertConfig(**TINY, num_labels=num_labels))
    theirs = getattr(T, name)(T.AlbertConfig(**TINY, num_labels=num_labels))
    theirs.load_state_dict(ours.state_dict(), strict=True)  # our keys are theirs
    return ours, theirs


@pytest.mark.parametrize("name", list(CASES))
def test_trainer_losses_equal_transformers_classes(name, tok, tmp_path):
    make_data, make_collator, num_labels = CASES[name]
    features = make_data(tok)
    ours, theirs = pair(name, num_labels)
    a = train(ours, features, make_collator(tok), tmp_path / "ours")
    b = train(theirs, features, make_collator(tok), tmp_path / "theirs")
    assert len(a.losses) == len(b.losses) == STEPS
    assert max(abs(x - y) for x, y in zip(a.losses, b.losses, strict=False)) <= 1e-5, (a.losses, b.losses)
    assert len(set(a.losses)) > 1  # it trained
    logged = [h["loss"] for h in a.state.log_history if "loss" in h]
    assert logged == [h["loss"] for h in b.state.log_history if "loss" in h]
    theirs_state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        torch.testing.assert_close(value, theirs_state[key], atol=1e-5, rtol=1e-4, msg=key)
    eval_ours, eval_theirs = a.evaluate(), b.evaluate()
    assert abs(eval_ours["eval_loss"] - eval_theirs["eval_loss"]) <= 1e-5


def test_trainer_checkpoints_and_resumes_our_model(tok, tmp_path):
    """Trainer's own checkpoints (state dict, optimizer, RNG) of our model resume to the uninterrupted losses."""
    features = sequence_data(tok)
    straight = train(
        pair("AlbertForSequenceClassification", 3)[0], features, T.DataCollatorWithPadding(tok), tmp_path / "a"
    )
    model = pair("AlbertForSequenceClassification", 3)[0]
    first = train(model, features, T.DataCollatorWithPadding(tok), tmp_path / "b", save_strategy="steps", save_steps=3)
    assert (tmp_path / "b" / "checkpoint-3" / "model.safetensors").exists()
    model = pair("AlbertForSequenceClassification", 3)[0]
    args = first.args
    resumed = RecordingTrainer(
        model=model, args=args, train_dataset=features, data_collator=T.DataCollatorWithPadding(tok)
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "b" / "checkpoint-3"))
    assert max(abs(x - y) for x, y in zip(straight.losses[3:], resumed.losses, strict=False)) <= 1e-6
