"""The training loop's features, in one process: gradient accumulation exact against one larger batch (pretraining
and fine-tuning), LAMB and the ``albert-base`` recipe from the commands, fp16 with a gradient scaler resumed
exactly, Google's warm-up rule, threads, the metrics log and the finished output directory, gradient
checkpointing and ``torch.compile``."""

from __future__ import annotations

import json
import os
import signal
import sys
import warnings

import numpy as np
import pytest
import torch

import albert_model as A
import albert_model.training._finetune as F
import albert_model.training._loop as L
import albert_model.training._pretrain as P
from albert_model.training import Lamb
from albert_tok import AlbertTokenizerFast

from .conftest import SPIECE, run_killed_after_checkpoint

# dropout 0: equal results need equal dropout masks, and a batch cut in parts draws its masks in other shapes
TINY = dict(
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    classifier_dropout_prob=0.0,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "c.txt"
    docs = [
        "\n".join(f"the cat number {d % 7} sat on the mat {i}. the dog ran after it." for i in range(8))
        for d in range(40)
    ]
    path.write_text("\n\n".join(docs) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    config = A.AlbertConfig(vocab_size=30000, max_position_embeddings=128, **TINY)
    A.AlbertForPreTraining(config).save_pretrained(path)
    AlbertTokenizerFast(SPIECE).save_pretrained(path)
    return path


def pretrain_args(text, out, **kw):
    base = dict(
        tokenizer=str(SPIECE.parent),
        train=[str(text)],
        output=str(out),
        steps=4,
        batch_size=8,
        max_seq_length=32,
        learning_rate=3e-3,
        checkpoint_every=2,
        eval_every=0,
        log_every=1,
        progress=False,
        model=dict(TINY),
        threads=1,
    )
    base.update(kw)
    return P.PretrainArgs(**base)


def finetune_args(train, out, model, task="text-classification", **kw):
    base = dict(
        task=task,
        train=[str(train)],
        output=str(out),
        model=str(model),
        steps=4,
        batch_size=8,
        learning_rate=1e-3,
        log_every=1,
        checkpoint_every=2,
        progress=False,
        device="cpu",
        seed=3,
        threads=1,
    )
    base.update(kw)
    return F.FinetuneArgs(**base)


def sentiment_csv(path, n=21):  # 21 rows, batches of 8: the third batch of each epoch is short (5)
    rows = "".join(
        f'"the film number {i}, {"good" if i % 2 else "bad"}",{"pos" if i % 2 else "neg"}\n' for i in range(n)
    )
    path.write_text("text,label\n" + rows, encoding="utf-8")
    return path


def conll(path, n=10):
    words = ["John NNP B-PER", "Smith NNP I-PER", "visited VBD O", "Paris NNP B-LOC"]
    path.write_text(
        "".join("\n".join(words[: 1 + i % 4]) + "\n\n" for i in range(n)), encoding="utf-8"
    )  # sentences of 1 to 4 tagged words: micro-batches hold unequal numbers of labels
    return path


def history(out):
    return [h["loss"] for h in json.loads((out / "training.json").read_text())["history"]]


def assert_same_run(a, b, cls, rel=1e-6, atol=1e-5, skip=()):
    la, lb = history(a), history(b)
    assert len(la) == len(lb)
    np.testing.assert_allclose(lb, la, rtol=rel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = cls.from_pretrained(a), cls.from_pretrained(b)
    for (name, p), (_, q) in zip(x.state_dict().items(), y.state_dict().items(), strict=True):
        if name not in skip:
            torch.testing.assert_close(q, p, rtol=0, atol=atol, msg=name)


# -- accumulation --------------------------------------------------------------------------------------------------
def test_pretraining_accumulation_equals_one_larger_batch(corpus, tmp_path):
    """--batch-size 8 --accumulate 2 (two micro-batches of 4) is the step of the batch of 8: the masked-token mean
    is weighted by each part's share of the masked tokens, the sentence-order mean by its share of the pairs."""
    P.pretrain(pretrain_args(corpus, tmp_path / "one"))
    P.pretrain(pretrain_args(corpus, tmp_path / "acc", accumulate=2))
    P.pretrain(pretrain_args(corpus, tmp_path / "acc4", accumulate=4))
    assert_same_run(tmp_path / "one", tmp_path / "acc", A.AlbertForPreTraining)
    assert_same_run(tmp_path / "one", tmp_path / "acc4", A.AlbertForPreTraining)


@pytest.mark.parametrize("task", ["text-classification", "token-classification"])
def test_finetuning_accumulation_equals_one_larger_batch(tmp_path, tiny_model, task):
    """Token classification averages over the labelled tokens, whose count differs between the parts; text
    classification's epochs end in a short batch cut into unequal parts."""
    train = sentiment_csv(tmp_path / "t.csv") if task == "text-classification" else conll(tmp_path / "t.conll")
    F.finetune(finetune_args(train, tmp_path / "one", tiny_model, task, steps=6))
    F.finetune(finetune_args(train, tmp_path / "acc", tiny_model, task, steps=6, accumulate=4))
    assert_same_run(tmp_path / "one", tmp_path / "acc", F.TASKS[task])


def test_a_part_with_nothing_labelled_adds_nothing():
    """A micro-batch whose tokens are all -100 has no mean (0/0): its share is 0, not NaN."""
    run = F._Finetuning.__new__(F._Finetuning)
    model = A.AlbertForTokenClassification(A.AlbertConfig(vocab_size=50, num_labels=3, **TINY))
    ids = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]])
    labels = torch.tensor([[-100, -100, -100, -100], [-100, 1, -100, -100]])
    whole = {"input_ids": ids, "attention_mask": (ids != 0).long(), "labels": labels}
    empty = {k: v[:1] for k, v in whole.items()}
    share = run.loss(model, empty, whole)
    assert float(share.detach()) == 0.0
    share.backward()  # it reaches every parameter that the logits do, with zero gradients
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
    assert float(run.loss(model, whole, whole).detach()) == pytest.approx(float(model(**whole).loss.detach()))


def test_accumulate_must_divide_the_batch(corpus, tmp_path):
    with pytest.raises(ValueError, match=r"--accumulate 3 must divide --batch-size 8"):
        pretrain_args(corpus, tmp_path / "o", accumulate=3)
    with pytest.raises(ValueError, match=r"--accumulate must be a positive int"):
        pretrain_args(corpus, tmp_path / "o", accumulate=0)


# -- optimizer, recipe, schedule -----------------------------------------------------------------------------------
def test_lamb_from_the_command_and_no_switching_on_resume(corpus, tmp_path):
    out = tmp_path / "lamb"
    P.pretrain(pretrain_args(corpus, out, optimizer="lamb", keep_checkpoint=True))
    state = torch.load(out / "checkpoint" / "optimizer.pt", weights_only=True)["optimizer"]
    assert sorted(state["param_groups"][0]) == sorted(["adapt", "betas", "eps", "lr", "params", "weight_decay"])
    assert [g["adapt"] for g in state["param_groups"]] == [True, False]
    with pytest.raises(ValueError, match=r"--optimizer lamb \(now adamw\)"):
        P.pretrain(pretrain_args(corpus, out, steps=6, resume=True))
    P.pretrain(pretrain_args(corpus, out, steps=6, resume=True, optimizer="lamb"))
    assert len(history(out)) == 6


def test_make_optimizer_groups():
    model = A.AlbertForPreTraining(A.AlbertConfig(vocab_size=50, **TINY))
    lamb = L.make_optimizer(model, 1e-3, 0.01, "lamb")
    assert isinstance(lamb, Lamb) and [(g["weight_decay"], g["adapt"]) for g in lamb.param_groups] == [
        (0.01, True),
        (0.0, False),
    ]
    assert isinstance(L.make_optimizer(model, 1e-3, 0.01), torch.optim.AdamW)
    with pytest.raises(ValueError, match=r"--optimizer must be one of \['adamw', 'lamb'\], got 'sgd'"):
        L.make_optimizer(model, 1e-3, 0.01, "sgd")


def test_the_recipe_fills_what_flags_leave_out():
    parser = P.build_parser()
    base = ["--tokenizer", "t", "--train", "a", "--output", "o"]
    args = P.args_from_namespace(parser.parse_args([*base, "--recipe", "albert-base"]))
    assert (args.optimizer, args.learning_rate, args.warmup_steps, args.batch_size, args.max_seq_length) == (
        "lamb",
        0.00176,
        3125,
        4096,
        512,
    )
    assert (args.max_grad_norm, args.accumulate, args.steps, args.recipe) == (1.0, 64, 125_000, "albert-base")
    assert args.model["hidden_size"] == 768
    # flags win, even one that equals the field's default
    small = P.args_from_namespace(
        parser.parse_args(
            [*base, "--recipe", "albert-base", "--batch-size", "32", "--accumulate", "2", "--learning-rate", "0.0004"]
        )
    )
    assert (small.batch_size, small.accumulate, small.learning_rate, small.optimizer) == (32, 2, 0.0004, "lamb")
    # in Python, the fields left at their defaults take the recipe's values
    py = P.PretrainArgs(tokenizer="t", train=["a"], output="o", recipe="albert-base", batch_size=64, accumulate=2)
    assert (py.batch_size, py.accumulate, py.optimizer, py.warmup_steps) == (64, 2, "lamb", 3125)
    with pytest.raises(ValueError, match=r"--recipe must be one of \['albert-base'\], got 'bert'"):
        P.PretrainArgs(tokenizer="t", train=["a"], output="o", recipe="bert")


def test_googles_warmup_rule():
    assert L.schedule(0.0, 0, 0.1, warmup_steps=4) == 0.0
    assert L.schedule(0.01, 2, 0.1, warmup_steps=4) == 0.5
    assert L.schedule(0.25, 4, 0.1, warmup_steps=4) == 0.75  # then 1 - progress, over the whole budget
    assert L.schedule(1.0, 16, 0.1, warmup_steps=4) == 0.0
    assert L.schedule(0.05, 1, 0.1) == L.linear_schedule(0.05, 0.1)


# -- fp16 ----------------------------------------------------------------------------------------------------------
def test_fp16_keeps_its_scaler_and_resumes_exactly(corpus, tmp_path):
    """fp16 trains with a GradScaler (on the CPU too) whose state optimizer.pt keeps; killed after the step-2
    checkpoint and resumed, the run ends bit for bit as the uninterrupted one."""
    P.pretrain(pretrain_args(corpus, tmp_path / "straight", precision="fp16", keep_checkpoint=True))
    scaler = torch.load(tmp_path / "straight" / "checkpoint" / "optimizer.pt", weights_only=True)["scaler"]
    assert scaler["scale"] > 0 and "growth_factor" in scaler
    killed = pretrain_args(corpus, tmp_path / "killed", precision="fp16")
    proc = run_killed_after_checkpoint("pretrain", killed, at=2, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    P.pretrain(pretrain_args(corpus, tmp_path / "killed", precision="fp16", resume=True))
    assert history(tmp_path / "straight") == history(tmp_path / "killed")
    assert_same_run(tmp_path / "straight", tmp_path / "killed", A.AlbertForPreTraining, rel=0, atol=0)


# -- threads, metrics, the finished output -------------------------------------------------------------------------
def test_threads_metrics_log_and_the_finished_output(corpus, tmp_path, capfd):
    out = tmp_path / "out"
    P.pretrain(pretrain_args(corpus, out, eval_every=2, eval_examples=4, threads=1))
    err = capfd.readouterr().err
    assert "albert pretrain: 1 torch thread(s) per process (--threads)" in err
    assert "step 2: held-out loss" in err  # shown without a progress bar
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["event"], r["step"]) for r in lines] == [("evaluation", 2), ("evaluation", 4), ("final", 4)]
    assert lines[-1]["threads"] == 1 and lines[-1]["world_size"] == 1
    assert json.loads((out / "training.json").read_text())["metrics"]["threads"] == 1
    assert not (out / "checkpoint").exists()  # the run is complete: no resumable checkpoint left behind
    with pytest.raises(FileNotFoundError, match=r"a run that completed removes it unless it was given --keep-check"):
        P.pretrain(pretrain_args(corpus, out, steps=6, resume=True))
    assert {"model.safetensors", "config.json", "README.md", "training.json", "spiece.model"} <= set(os.listdir(out))


def test_default_threads_share_the_cores(monkeypatch, tmp_path):
    from albert_model.training._distributed import World, threads_for

    monkeypatch.setattr("albert_model._devices.CGROUP", str(tmp_path))  # no cgroup quota
    cores = len(os.sched_getaffinity(0))
    assert threads_for(World(), 0, None)[0] == cores
    assert threads_for(World(0, 4, 0, 4), 0, None)[0] == max(1, cores // 4)
    assert threads_for(World(0, 1, 0, 1), cores + 5, None)[0] == 1
    assert threads_for(World(), 0, 3) == (3, "--threads")


def test_default_threads_count_a_containers_cpu_quota(monkeypatch, tmp_path):
    """A pod limited to 2 CPUs on a 64-core node: the ranks share 2 cores, not the host's 64."""
    from albert_model.training._distributed import World, threads_for

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setattr("albert_model._devices.CGROUP", str(tmp_path))
    (tmp_path / "cpu.max").write_text("200000 100000\n")
    threads, why = threads_for(World(0, 2, 0, 2), 0, None)
    assert threads == 1 and "cgroup" in why
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads_for(World(0, 2, 0, 2), 0, None)[0] == 32


# -- memory and speed switches -------------------------------------------------------------------------------------
def test_gradient_checkpointing_gives_the_same_run(corpus, tmp_path):
    P.pretrain(pretrain_args(corpus, tmp_path / "plain", steps=2))
    P.pretrain(pretrain_args(corpus, tmp_path / "ckpt", steps=2, gradient_checkpointing=True))
    assert_same_run(tmp_path / "plain", tmp_path / "ckpt", A.AlbertForPreTraining)


def test_varlen_attention_trains_as_sdpa_does(corpus, tmp_path, tiny_model):
    """``--attn varlen`` (the default) skips the padding; the losses and weights are sdpa's within float tolerance,
    for pretraining (padded sentence-pair rows) and fine-tuning (padded sentences), and training.json says which."""
    assert P.PretrainArgs.__dataclass_fields__["attn"].default == "varlen"
    P.pretrain(pretrain_args(corpus, tmp_path / "sdpa", steps=3, attn="sdpa"))
    P.pretrain(pretrain_args(corpus, tmp_path / "varlen", steps=3))
    assert json.loads((tmp_path / "varlen" / "training.json").read_text())["args"]["attn"] == "varlen"
    assert json.loads((tmp_path / "sdpa" / "training.json").read_text())["args"]["attn"] == "sdpa"
    assert_same_run(tmp_path / "sdpa", tmp_path / "varlen", A.AlbertForPreTraining, rel=1e-4, atol=1e-4)
    train = sentiment_csv(tmp_path / "t.csv")
    F.finetune(finetune_args(train, tmp_path / "fs", tiny_model, attn="sdpa"))
    F.finetune(finetune_args(train, tmp_path / "fv", tiny_model, attn="varlen"))
    assert_same_run(tmp_path / "fs", tmp_path / "fv", A.AlbertForSequenceClassification, rel=1e-4, atol=1e-4)
    # the saved model is the usual one: loading it gives the default attention
    assert A.AlbertForPreTraining.from_pretrained(tmp_path / "varlen").attn_implementation == "sdpa"


def test_varlen_with_gradient_checkpointing_gives_the_sdpa_run(corpus, tmp_path):
    P.pretrain(pretrain_args(corpus, tmp_path / "sdpa", steps=2, attn="sdpa"))
    P.pretrain(pretrain_args(corpus, tmp_path / "both", steps=2, attn="varlen", gradient_checkpointing=True))
    assert_same_run(tmp_path / "sdpa", tmp_path / "both", A.AlbertForPreTraining, rel=1e-4, atol=1e-4)


def test_attn_must_be_a_training_implementation(corpus, tmp_path):
    for bad in ("eager", "flash", None):
        with pytest.raises(ValueError, match=r"--attn must be one of varlen, sdpa, got"):
            pretrain_args(corpus, tmp_path / "o", attn=bad)


def test_compile_gives_the_same_losses(corpus, tmp_path):
    if not hasattr(torch, "compile") or sys.platform == "win32":
        pytest.skip("torch.compile is not available here")
    P.pretrain(pretrain_args(corpus, tmp_path / "eager", steps=2))
    try:  # with varlen attention, the default: packing's data-dependent shapes under compile
        P.pretrain(pretrain_args(corpus, tmp_path / "compiled", steps=2, compile=True))
    except RuntimeError as exc:  # no C compiler for inductor, say
        pytest.skip(f"torch.compile cannot run here: {str(exc)[:200]}")
    np.testing.assert_allclose(history(tmp_path / "compiled"), history(tmp_path / "eager"), rtol=1e-4)


# -- pretraining from shards, continued pretraining ----------------------------------------------------------------
def test_pretraining_from_shards_and_continued_from_a_checkpoint(corpus, tmp_path, capfd):
    from albert_tok import AlbertTokenizer
    from albert_tok.data import tokenize_corpus

    tokenize_corpus([str(corpus)], str(tmp_path / "shards"), AlbertTokenizer(SPIECE), progress=False, workers=1)
    shard_args = dict(train=[], corpus=str(tmp_path / "shards"), whole_word_mask=True, short_seq_prob=0.1)
    P.pretrain(pretrain_args(corpus, tmp_path / "sharded", keep_checkpoint=True, **shard_args))
    record = json.loads((tmp_path / "sharded" / "training.json").read_text())
    assert record["metrics"]["steps"] == 4 and record["metrics"]["train_tokens"] > 0
    assert record["data"] and record["data"][0]["name"] == "c.txt"  # the shards' input, with its SHA-256
    fingerprint = json.loads((tmp_path / "sharded" / "checkpoint" / "trainer_state.json").read_text())["fingerprint"]
    assert fingerprint["corpus"]["rows"] > 0 and fingerprint["whole_word_mask"] is True
    with pytest.raises(ValueError, match=r"--whole-word-mask True \(now False\)"):
        P.pretrain(pretrain_args(corpus, tmp_path / "sharded", resume=True, **{**shard_args, "whole_word_mask": False}))

    # continued pretraining: the sharded run's model is the start, its weights loaded and reported
    capfd.readouterr()
    P.pretrain(
        pretrain_args(corpus, tmp_path / "continued", steps=1, learning_rate=1e-9, init_from=str(tmp_path / "sharded"))
    )
    assert "init-from" in capfd.readouterr().err
    record = json.loads((tmp_path / "continued" / "training.json").read_text())
    start = A.AlbertForPreTraining.from_pretrained(tmp_path / "sharded")
    after = A.AlbertForPreTraining.from_pretrained(tmp_path / "continued")
    for (name, p), (_, q) in zip(start.state_dict().items(), after.state_dict().items(), strict=True):
        torch.testing.assert_close(q, p, rtol=0, atol=1e-6, msg=name)  # lr 1e-9: one step moves nothing visible


def test_train_or_corpus():
    with pytest.raises(ValueError, match=r"--train must be a non-empty list of text files \(or give --corpus"):
        P.PretrainArgs(tokenizer="t", output="o")
    with pytest.raises(ValueError, match=r"give --train text files or --corpus a tokenize-corpus directory, not both"):
        P.PretrainArgs(tokenizer="t", output="o", train=["a"], corpus="d")
    with pytest.raises(ValueError, match=r"--short-seq-prob must be a finite number in \[0, 1\], got 1.5"):
        P.PretrainArgs(tokenizer="t", output="o", train=["a"], short_seq_prob=1.5)
    assert P.PretrainArgs(tokenizer="t", output="o", train=["a"], recipe="albert-base").short_seq_prob == 0.1


# -- fine-tuning: multiple choice, the best evaluation -------------------------------------------------------------
def swag_csv(path, n=12):
    rows = "".join(f'"the cat number {i} sat",it then,"ate {i}","slept","ran away","sang",{i % 4}\n' for i in range(n))
    path.write_text("sent1,sent2,ending0,ending1,ending2,ending3,label\n" + rows, encoding="utf-8")
    return path


def test_multiple_choice_fine_tunes(tmp_path, tiny_model):
    """The set-up reads SWAG-style rows, pads the choices and scores accuracy."""
    train = swag_csv(tmp_path / "swag.csv")
    args = finetune_args(train, tmp_path / "mc", tiny_model, "multiple-choice", eval=[str(train)], max_seq_length=24)
    metrics = F.finetune(args)
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0 and np.isfinite(metrics["eval_loss"])
    model = A.AlbertForMultipleChoice.from_pretrained(tmp_path / "mc")
    batch = F.collate(F.prepare(args).features[:2], 0)
    assert batch["input_ids"].shape[:2] == (2, 4) and model(**batch).logits.shape == (2, 4)
    # accumulation is exact here too (labels are one per question)
    F.finetune(finetune_args(train, tmp_path / "one", tiny_model, "multiple-choice", max_seq_length=24))
    F.finetune(finetune_args(train, tmp_path / "acc", tiny_model, "multiple-choice", max_seq_length=24, accumulate=2))
    # the choice scorer's bias is shared by every choice, so its gradient is 0 up to rounding, which Adam's
    # m / sqrt(v) turns into steps of the learning rate's size either way: it is no test of the accumulation
    assert_same_run(tmp_path / "one", tmp_path / "acc", A.AlbertForMultipleChoice, skip={"classifier.bias"})


def test_albert_finetune_multiple_choice_from_the_command_line(tmp_path, tiny_model, capsys):
    """``albert finetune --task multiple-choice`` on a SWAG-style CSV runs, and its output is what
    ``pipeline("multiple-choice")`` loads."""
    from albert_model import cli

    train = swag_csv(tmp_path / "swag.csv", n=8)
    out = tmp_path / "out"
    argv = ["finetune", "--task", "multiple-choice", "--train", str(train), "--eval", str(train)]
    argv += ["--output", str(out), "--model", str(tiny_model), "--steps", "2", "--batch-size", "4"]
    argv += ["--max-seq-length", "24", "--device", "cpu", "--threads", "1", "--no-progress"]
    assert cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["steps"] == 2 and 0.0 <= printed["eval_accuracy"] <= 1.0
    assert json.loads((out / "config.json").read_text())["architectures"] == ["AlbertForMultipleChoice"]
    mc = A.pipeline("multiple-choice", model=str(out), device="cpu")
    got = mc({"question": "the cat number 1 sat", "choices": ["it then ate 1", "it then slept", "it then sang"]})
    assert got["index"] in (0, 1, 2) and len(got["scores"]) == 3
    assert abs(sum(got["scores"]) - 1.0) < 1e-5


@pytest.mark.parametrize(
    ("labels", "name", "words"),
    [
        (
            ("pos", "neg"),
            "pearson",
            r"'pearson' is not reported by this run: the labels are classes, so its "
            r"evaluation reports loss, accuracy, macro_f1",
        ),
        (
            ("0.25", "1.5"),
            "eval_accuracy",
            r"'accuracy' is not reported by this run: the labels are real numbers "
            r"\(regression\), so its evaluation reports loss, pearson, spearman, mse",
        ),
    ],
)
def test_metric_for_best_the_labels_cannot_report_is_refused_before_training(tmp_path, tiny_model, labels, name, words):
    """A metric of the task that this run's labels make its evaluation leave out is a ValueError from the set-up,
    before any step (it was a KeyError at the first evaluation)."""
    rows = "".join(f'"the film number {i}",{labels[i % 2]}\n' for i in range(10))
    train = tmp_path / "t.csv"
    train.write_text("text,label\n" + rows, encoding="utf-8")
    args = finetune_args(train, tmp_path / "o", tiny_model, eval=[str(train)], eval_every=1, metric_for_best=name)
    with pytest.raises(ValueError, match=words):
        F.prepare(args)
    with pytest.raises(ValueError, match=words):
        F.finetune(args)
    assert not (tmp_path / "o" / "checkpoint").exists()


def test_reported_metrics_follow_the_data():
    from albert_model.training._metrics import TASK_METRICS, reported_metrics

    assert reported_metrics("text-classification", "str") == ("loss", "accuracy", "macro_f1")
    assert reported_metrics("text-classification", "int") == ("loss", "accuracy", "macro_f1")
    assert reported_metrics("text-classification", "float") == ("loss", "pearson", "spearman", "mse")
    assert reported_metrics("question-answering", squad_version=1) == ("loss", "exact", "f1")
    assert (
        reported_metrics("question-answering", squad_version=2, answered=(True, True))
        == TASK_METRICS["question-answering"]
    )
    assert reported_metrics("question-answering", squad_version=2, answered=(False, True)) == (
        "loss",
        "exact",
        "f1",
        "NoAns_exact",
        "NoAns_f1",
    )
    assert reported_metrics("multiple-choice") == ("loss", "accuracy")
    assert reported_metrics("token-classification") == TASK_METRICS["token-classification"]


def test_metric_for_best_publishes_the_best_evaluation(tmp_path, tiny_model):
    train = sentiment_csv(tmp_path / "t.csv")
    args = finetune_args(
        train, tmp_path / "best", tiny_model, eval=[str(train)], eval_every=1, steps=5, metric_for_best="eval_loss"
    )
    metrics = F.finetune(args)
    evals = json.loads((tmp_path / "best" / "training.json").read_text())["evals"]
    best = min(evals, key=lambda e: e["loss"])
    assert metrics["best_step"] == best["step"] and metrics["eval_loss"] == best["loss"]
    model = F.TASKS["text-classification"].from_pretrained(tmp_path / "best")
    eval_set = F.prepare(args).eval_set
    assert F.evaluate(model, eval_set, 0)["loss"] == pytest.approx(best["loss"], rel=1e-5)  # the best model's
    assert not (tmp_path / "best" / "best").exists()
    with pytest.raises(ValueError, match=r"--metric-for-best 'bleu' is not a metric of text-classification"):
        finetune_args(train, tmp_path / "x", tiny_model, eval=[str(train)], metric_for_best="bleu")
    with pytest.raises(ValueError, match=r"--metric-for-best accuracy needs --eval files"):
        finetune_args(train, tmp_path / "x", tiny_model, metric_for_best="accuracy")


def test_a_resume_may_change_the_micro_batches(corpus, tmp_path):
    """--accumulate is not part of the data stream: a run saved with 1 micro-batch continues with 4."""
    for name, accumulate in (("same", 1), ("changed", 4)):  # 2 steps, then extended to 4
        P.pretrain(pretrain_args(corpus, tmp_path / name, steps=2, keep_checkpoint=True))
        P.pretrain(pretrain_args(corpus, tmp_path / name, steps=4, resume=True, accumulate=accumulate))
    assert_same_run(tmp_path / "same", tmp_path / "changed", A.AlbertForPreTraining)


def test_the_recipe_scaled_down_runs_from_the_command_line(corpus, tmp_path):
    from albert_model.cli import main

    out = tmp_path / "recipe"
    argv = ["pretrain", "--recipe", "albert-base", "--tokenizer", str(SPIECE.parent), "--train", str(corpus)]
    argv += ["--output", str(out), "--batch-size", "8", "--accumulate", "2", "--steps", "3", "--warmup-steps", "2"]
    argv += ["--max-seq-length", "32", "--model-json", json.dumps(TINY), "--no-progress", "--threads", "1"]
    argv += ["--eval-every", "0", "--keep-checkpoint", "--log-every", "1"]
    assert main(argv) == 0
    record = json.loads((out / "training.json").read_text())
    assert (record["args"]["optimizer"], record["args"]["recipe"], record["args"]["learning_rate"]) == (
        "lamb",
        "albert-base",
        0.00176,
    )
    assert [h["lr"] for h in record["history"]] == pytest.approx([0.0, 0.00176 / 2, 0.00176 * (1 - 2 / 3)])
    assert "adapt" in torch.load(out / "checkpoint" / "optimizer.pt", weights_only=True)["optimizer"]["param_groups"][0]


def test_fine_tuning_says_which_parts_it_initialised(tmp_path, tiny_model, capfd):
    F.prepare(finetune_args(sentiment_csv(tmp_path / "t.csv"), tmp_path / "o", tiny_model))
    err = capfd.readouterr().err
    assert "AlbertForSequenceClassification loaded; initialised from --seed: classifier.bias, classifier.weight" in err
    assert "unused: predictions." in err  # the pretraining heads the checkpoint had


def test_short_sequences_on_the_text_path(corpus, tmp_path):
    """--short-seq-prob reaches the text path's pairs too: shorter targets make more, shorter examples."""
    from albert_model.training._pretraining_data import load_corpus

    tokenizer = AlbertTokenizerFast.from_pretrained(SPIECE.parent)
    docs = load_corpus(tokenizer, [str(corpus)], 0.0, workers=1).train
    plain = P._epoch(docs, pretrain_args(corpus, tmp_path / "o", max_seq_length=64), 0)[0]
    short = P._epoch(docs, pretrain_args(corpus, tmp_path / "o", max_seq_length=64, short_seq_prob=1.0), 0)[0]
    assert len(short) > len(plain)
