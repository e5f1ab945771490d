"""Pretraining: the recipe's data (pairs, n-gram masking), the loop (budget, schedule, held-out loss), and
checkpoints that resume exactly and are never unpickled."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import albert_model as A
import albert_model.training._pretrain as P
from albert_model.training._common import no_decay, parameter_groups
from albert_model.training._loop import linear_schedule
from albert_model.training._pretraining_data import PretrainingCollator, make_examples
from albert_tok import AlbertTokenizerFast

from .conftest import ROOT, SPIECE

TINY_MODEL = dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.txt"
    docs = []
    for d in range(40):
        docs.append("\n".join(f"the cat number {d % 7} sat on the mat {i}. the dog ran after it." for i in range(8)))
    path.write_text("\n\n".join(docs) + "\n")
    return path


def _args(corpus, out, **kw):
    base = dict(
        tokenizer=str(SPIECE.parent),
        train=[str(corpus)],
        output=str(out),
        steps=20,
        batch_size=8,
        max_seq_length=32,
        learning_rate=3e-3,
        checkpoint_every=10,
        eval_every=10,
        eval_examples=16,
        log_every=1,
        progress=False,
        model=dict(TINY_MODEL),
        keep_checkpoint=True,  # these tests read or extend the checkpoint of a finished run
    )
    base.update(kw)
    return P.PretrainArgs(**base)


def test_pretraining_lowers_loss_and_writes_a_model(corpus, tmp_path):
    P.pretrain(_args(corpus, tmp_path / "out"))
    training = json.loads((tmp_path / "out" / "training.json").read_text())
    losses = [h["loss"] for h in training["history"]]
    assert len(losses) == 20 and np.mean(losses[-5:]) < np.mean(losses[:5])
    assert [e["step"] for e in training["evals"]] == [10, 20]  # periodic held-out loss
    assert all(np.isfinite(e["loss"]) for e in training["evals"])
    assert training["metrics"]["steps"] == 20 and training["metrics"]["tokens_seen"] > 20 * 8 * 5
    model = A.AlbertForPreTraining.from_pretrained(tmp_path / "out")
    assert model.load_report.ok
    AlbertTokenizerFast.from_pretrained(tmp_path / "out")


def test_resume_extends_a_finished_run(corpus, tmp_path):
    out = tmp_path / "out"
    P.pretrain(_args(corpus, out, steps=20))
    P.pretrain(_args(corpus, out, steps=30, resume=True))
    training = json.loads((out / "training.json").read_text())
    assert [h["step"] for h in training["history"]] == list(range(1, 31))
    assert [e["step"] for e in training["evals"]] == [10, 20, 30]
    state = json.loads((out / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 30 and state["budget"] == {"steps": 30, "max_tokens": None, "max_minutes": None}


def test_killed_run_resumes_to_the_same_result(corpus, tmp_path):
    """A run killed after its step-10 checkpoint and resumed ends bitwise equal to an uninterrupted run."""
    P.pretrain(_args(corpus, tmp_path / "straight", steps=20, eval_every=0, checkpoint_every=10))
    out = tmp_path / "killed"
    code = (
        f"import sys, os; sys.path.insert(0, {str(ROOT)!r})\n"
        "import albert_model.training._pretrain as P, albert_model.training._loop as L\n"
        "orig = L.save_training_state\n"
        "def save(*a, **k):\n"
        "    orig(*a, **k)\n"
        "    if a[3]['step'] == 10: os._exit(9)\n"
        "L.save_training_state = save\n"
        f"P.pretrain(P.PretrainArgs(**{_args(corpus, out, steps=20, eval_every=0).__dict__!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert not (out / "training.json").exists()
    P.pretrain(_args(corpus, out, steps=20, eval_every=0, resume=True))
    straight = json.loads((tmp_path / "straight" / "training.json").read_text())
    resumed = json.loads((out / "training.json").read_text())
    assert [h["loss"] for h in straight["history"]] == [h["loss"] for h in resumed["history"]]
    a = A.AlbertForPreTraining.from_pretrained(tmp_path / "straight")
    b = A.AlbertForPreTraining.from_pretrained(out)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=False):
        assert torch.equal(x, y), name


def test_token_budget_stops_and_drives_the_schedule(corpus, tmp_path):
    P.pretrain(_args(corpus, tmp_path / "out", steps=None, max_tokens=3000, eval_every=0))
    training = json.loads((tmp_path / "out" / "training.json").read_text())
    tokens = [h["tokens"] for h in training["history"]]
    assert tokens[-1] >= 3000 and tokens[-2] < 3000  # stopped at the first step past the budget
    lrs = [h["lr"] for h in training["history"][:-1]]
    peak = max(lrs)
    assert lrs.index(peak) < len(lrs) // 2 and lrs[-1] < peak / 2  # warm-up, then decay over the tokens


def test_linear_schedule_is_a_pure_function_of_progress():
    assert linear_schedule(0.0, 0.1) == 0.0
    assert linear_schedule(0.05, 0.1) == pytest.approx(0.5)
    assert linear_schedule(0.1, 0.1) == pytest.approx(1.0)
    assert linear_schedule(0.55, 0.1) == pytest.approx(0.5)
    assert linear_schedule(1.0, 0.1) == 0.0 and linear_schedule(2.0, 0.1) == 0.0
    assert linear_schedule(0.0, 0.0) == 1.0


def test_one_decay_rule():
    model = A.AlbertForPreTraining(A.AlbertConfig(vocab_size=100, **TINY_MODEL))
    decay, plain = parameter_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(not no_decay(names[id(p)]) for p in decay["params"])
    assert all(no_decay(names[id(p)]) for p in plain["params"]) and plain["weight_decay"] == 0.0
    assert any("LayerNorm" in names[id(p)] for p in plain["params"])
    assert any("full_layer_layer_norm" in names[id(p)] for p in plain["params"])
    assert len(decay["params"]) + len(plain["params"]) == len(list(model.parameters()))


def test_checkpoint_is_never_unpickled(corpus, tmp_path):
    """A crafted optimizer.pt that would run code on unpickling is refused; no code runs."""
    out = tmp_path / "out"
    P.pretrain(_args(corpus, out, steps=10, eval_every=0))
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(out / "checkpoint" / "optimizer.pt", "wb") as fh:
        pickle.dump({"optimizer": Exploit()}, fh)
    with pytest.raises(ValueError, match="not a safe optimizer state"):
        P.pretrain(_args(corpus, out, steps=20, eval_every=0, resume=True))
    assert not marker.exists()
    # a pickled checkpoint.pt is not a checkpoint: never loaded, --resume finds none
    old = tmp_path / "old"
    old.mkdir()
    (old / "checkpoint.pt").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(FileNotFoundError, match="has no checkpoint to resume from"):
        P.pretrain(_args(corpus, old, resume=True))
    assert not marker.exists()


def test_evaluate_has_one_name():
    assert "evaluate" in P.__all__
    assert not hasattr(P, "masked_token_accuracy")


def test_no_unsafe_load_anywhere():
    for package in ("albert_tok", "albert_model"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "weights_only=False" not in text, path
            assert "pickle.load" not in text, path


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(steps=-1), "--steps must be a positive int"),
        (dict(steps=0), "--steps must be a positive int"),
        (dict(max_tokens=-5), "--max-tokens must be a positive int"),
        (dict(batch_size=0), "--batch-size must be a positive int"),
        (dict(learning_rate=0.0), r"--learning-rate must be a finite number in \(0, 1\), got 0.0"),
        (dict(warmup_fraction=1.0), r"--warmup-fraction must be a finite number in \[0, 1\), got 1.0"),
        (dict(max_seq_length=4), "--max-seq-length must be an int in 5..512, got 4"),
        (dict(train=[]), "--train must be"),
        (dict(eval_every=-1), "--eval-every must be an int >= 0"),
    ],
)
def test_bad_arguments_are_refused(corpus, tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        _args(corpus, tmp_path / "out", **bad)


def test_cli_flags_come_from_the_dataclass(corpus, tmp_path):
    ns = P.build_parser().parse_args(
        [
            "--tokenizer",
            str(SPIECE.parent),
            "--train",
            str(corpus),
            "--output",
            str(tmp_path / "o"),
            "--weight-decay",
            "0.05",
            "--mlm-probability",
            "0.2",
            "--max-ngram",
            "2",
            "--heldout-fraction",
            "0.1",
            "--max-tokens",
            "500",
            "--model-json",
            json.dumps(TINY_MODEL),
            "--no-progress",
        ]
    )
    args = P.args_from_namespace(ns)
    assert (args.weight_decay, args.mlm_probability, args.max_ngram, args.heldout_fraction) == (0.05, 0.2, 2, 0.1)
    assert args.max_tokens == 500 and args.steps is None and args.progress is False and args.model == TINY_MODEL
    defaults = P.args_from_namespace(
        P.build_parser().parse_args(["--tokenizer", "t", "--train", "a", "b", "--output", "o"])
    )
    assert defaults.train == ["a", "b"] and defaults.steps == 1000 and defaults.batch_size == 32
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "albert_model",
            "pretrain",
            "--tokenizer",
            str(SPIECE.parent),
            "--train",
            str(corpus),
            "--output",
            str(tmp_path / "o"),
            "--steps",
            "-1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "steps must be a positive int" in proc.stderr


# -- the pretraining collator ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.tuples(st.integers(1, 60), st.integers(1, 60)), min_size=1, max_size=8),
    seed=st.integers(0, 1000),
)
def test_pretraining_collator_masks_only_real_tokens(lengths, seed):
    rng = np.random.default_rng(seed)
    examples = [
        (rng.integers(5, 30000, a).tolist(), rng.integers(5, 30000, b).tolist(), int(rng.integers(0, 2)))
        for a, b in lengths
    ]
    collate = PretrainingCollator(
        cls_token_id=2,
        sep_token_id=3,
        mask_token_id=4,
        pad_token_id=0,
        vocab_size=30000,
        seed=seed,
        pad_to_multiple_of=8,
    )
    batch = collate(examples)
    ids, labels = batch["input_ids"], batch["labels"]
    assert ids.shape[1] % 8 == 0 and ids.shape[1] >= max(a + b + 3 for a, b in lengths)
    masked = labels != -100
    special = (labels == -100) & ((ids == 2) | (ids == 3) | (ids == 0))
    assert not (masked & (batch["attention_mask"] == 0)).any()
    for i, (a, b) in enumerate(lengths):
        assert not masked[i, 0] and not masked[i, a + 1] and not masked[i, a + b + 2]
        assert int(masked[i].sum()) == max(1, round((a + b) * 0.15))  # the masking rate, exactly
        unmasked = ~masked[i, : a + b + 3]
        row = [2, *examples[i][0], 3, *examples[i][1], 3]
        assert ids[i, : a + b + 3][unmasked].tolist() == np.asarray(row)[unmasked.numpy()].tolist()
    assert special.sum() >= 3 * len(lengths)
    assert batch["sentence_order_label"].tolist() == [e[2] for e in examples]


def test_masking_rate_and_replacements():
    rng = np.random.default_rng(0)
    examples = [(rng.integers(5, 30000, 60).tolist(), rng.integers(5, 30000, 60).tolist(), 0) for _ in range(200)]
    batch = PretrainingCollator(2, 3, 4, 0, 30000, seed=1)(examples)
    masked = batch["labels"] != -100
    assert abs(masked.sum().item() / (120 * 200) - 0.15) < 0.01
    replaced_by_mask = (batch["input_ids"][masked] == 4).float().mean().item()
    unchanged = (batch["input_ids"][masked] == batch["labels"][masked]).float().mean().item()
    assert abs(replaced_by_mask - 0.8) < 0.03 and abs(unchanged - 0.1) < 0.03


def test_collator_random_state_is_public_and_restorable():
    rng = np.random.default_rng(3)
    examples = [(rng.integers(5, 300, 20), rng.integers(5, 300, 20), 0) for _ in range(4)]
    a = PretrainingCollator(2, 3, 4, 0, 300, seed=7)
    a(examples)
    saved = a.rng.bit_generator.state
    first = a(examples)
    b = PretrainingCollator(2, 3, 4, 0, 300, seed=99)
    b.rng.bit_generator.state = saved
    second = b(examples)
    assert all(torch.equal(first[k], second[k]) for k in first)


@settings(max_examples=40, deadline=None)
@given(
    sentences=st.lists(st.lists(st.integers(1, 40), min_size=1, max_size=12), min_size=1, max_size=6),
    max_len=st.integers(5, 64),
    seed=st.integers(0, 100),
)
def test_examples_keep_order_and_fit(sentences, max_len, seed):
    docs = [[np.arange(n, dtype=np.uint16) + 5 for n in doc] for doc in sentences]
    for a, b, swapped in make_examples(docs, max_len, np.random.default_rng(seed)):
        assert len(a) and len(b) and len(a) + len(b) <= max_len - 3
        assert swapped in (0, 1)


def test_batches_do_not_depend_on_worker_processes(corpus, tmp_path):
    """Each batch is a pure function of (seed, epoch, its start): built here or in 2 workers, the run is the same."""
    P.pretrain(_args(corpus, tmp_path / "w0", steps=8, eval_every=0, workers=0))
    P.pretrain(_args(corpus, tmp_path / "w2", steps=8, eval_every=0, workers=2))
    h0 = json.loads((tmp_path / "w0" / "training.json").read_text())["history"]
    h2 = json.loads((tmp_path / "w2" / "training.json").read_text())["history"]
    assert [(h["tokens"], h["loss"]) for h in h0] == [(h["tokens"], h["loss"]) for h in h2]


def test_bf16_and_a_wall_clock_budget(corpus, tmp_path):
    """--precision bf16 trains under autocast (weights stay fp32); --max-minutes alone is a budget the schedule
    follows."""
    args = _args(corpus, tmp_path / "bf", steps=None, max_minutes=0.05, precision="bf16", eval_every=0)
    metrics = P.pretrain(args)
    assert metrics["precision"] == "bf16" and metrics["steps"] >= 1
    assert metrics["train_seconds"] >= 3.0  # ran until the clock budget (3 s) was spent
    model = A.AlbertForPreTraining.from_pretrained(tmp_path / "bf")
    assert next(model.parameters()).dtype == torch.float32
    lrs = [h["lr"] for h in json.loads((tmp_path / "bf" / "training.json").read_text())["history"]]
    assert lrs[-1] < 0.5 * max(lrs) and max(lrs) <= args.learning_rate  # decayed with the clock


@pytest.mark.parametrize("bad", [dict(precision="fp8"), dict(workers=-1), dict(max_minutes=0), dict(max_minutes="1")])
def test_new_budget_and_speed_flags_are_validated(corpus, tmp_path, bad):
    with pytest.raises(ValueError, match="--" + next(iter(bad)).replace("_", "-")):
        _args(corpus, tmp_path / "x", **bad)


def test_a_sentence_longer_than_the_model_is_cut_without_a_warning():
    """Pretraining cuts a long sentence to the sequence budget itself: the tokenizer's "longer than the
    maximum ... indexing errors" warning would only alarm the user."""
    import warnings

    from albert_model.training._pretraining_data import tokenize_documents
    from albert_tok import AlbertTokenizerFast

    tok = AlbertTokenizerFast(str(SPIECE))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        docs = tokenize_documents(tok, [["word " * 600, "A short one."]])
    assert len(docs[0][0]) == 600
