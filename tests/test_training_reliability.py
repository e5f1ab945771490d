"""Training runs that are exact or refuse: a checkpoint published as one unit (kill -9 at any file write
resumes to the uninterrupted run's losses), resumes that name what changed, arguments checked before any
work, finite budgets, and outputs that go where they say (a symlink, a mount point, a read-only parent)."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import albert_model as A
import albert_model.training._finetune as F
import albert_model.training._finetune_data as D
import albert_model.training._pretrain as P
from albert_model import cli
from albert_tok import AlbertTokenizerFast

from .conftest import ROOT, SPIECE

TINY_MODEL = {
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "intermediate_size": 37,
}
TINY_FINETUNE = {
    "vocab_size": 30000,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 160,
}


# -- fixtures -------------------------------------------------------------------------------------------
def _corpus_text(variant: int = 0) -> str:
    docs = [
        "\n".join(f"the cat number {d % 7} sat on the mat {i + variant}. the dog ran after it." for i in range(6))
        for d in range(24)
    ]
    return "\n\n".join(docs) + "\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "c.txt"
    path.write_text(_corpus_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    A.AlbertForPreTraining(A.AlbertConfig(**TINY_FINETUNE)).save_pretrained(path)
    AlbertTokenizerFast(SPIECE).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def sentiment(tmp_path_factory):
    return _sentiment(tmp_path_factory.mktemp("data") / "train.csv")


def _sentiment(path, n=16, word="good"):
    rows = "".join(f'"the film number {i}, {word if i % 2 else "bad"}",{"pos" if i % 2 else "neg"}\n' for i in range(n))
    path.write_text("text,label\n" + rows, encoding="utf-8")
    return path


def pretrain_args(corpus, out, **kw):
    base = {
        "tokenizer": str(SPIECE.parent),
        "train": [str(corpus)],
        "output": str(out),
        "steps": 6,
        "batch_size": 4,
        "max_seq_length": 32,
        "learning_rate": 3e-3,
        "checkpoint_every": 2,
        "eval_every": 0,
        "eval_examples": 8,
        "log_every": 3,
        "progress": False,
        "model": dict(TINY_MODEL),
        "keep_checkpoint": True,  # these tests read or resume the checkpoint of a finished run
    }
    base.update(kw)
    return P.PretrainArgs(**base)


def finetune_args(train, out, model, **kw):
    base = {
        "task": "text-classification",
        "train": [str(train)],
        "output": str(out),
        "model": str(model),
        "steps": 6,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "log_every": 3,
        "checkpoint_every": 2,
        "progress": False,
        "device": "cpu",
        "seed": 3,
        "keep_checkpoint": True,
    }
    base.update(kw)
    return F.FinetuneArgs(**base)


def _run(command, args):
    return P.pretrain(args) if command == "pretrain" else F.finetune(args)


def _history(out):
    training = json.loads((out / "training.json").read_text(encoding="utf-8"))
    return training["history"], training["evals"]


# -- a checkpoint is published as one unit: kill -9 at any file write resumes exactly ---------------------
# The child wraps the calls every writer ends in (os.write for the bytes, os.fsync once they are complete)
# and, at the given occurrence of the given checkpoint file, says so on stdout and blocks on stdin; the
# parent reads that line, then kills it with SIGKILL. No timing is assumed anywhere.
_CHILD = """
import os, sys
sys.path.insert(0, {root!r})
import albert_model.training._pretrain as P, albert_model.training._finetune as F
NAME, MOMENT, AT = {name!r}, {moment!r}, {at!r}
seen = [0]

def hit(path):
    if NAME not in os.path.basename(os.fsdecode(path)):
        return
    seen[0] += 1
    if seen[0] == AT:
        sys.stdout.write("KILL ME\\n")
        sys.stdout.flush()
        os.read(0, 1)  # blocks until the parent kills us (or closes stdin: then we fail loudly)
        os._exit(3)

real_write, real_fsync = os.write, os.fsync

def name_of(fd):
    try:
        return os.readlink(f"/proc/self/fd/{{fd}}")
    except OSError:
        return ""

def write(fd, data):
    if MOMENT == "write" and os.lseek(fd, 0, os.SEEK_CUR) == 0:  # the first bytes of the file
        hit(name_of(fd))
    return real_write(fd, data)

def fsync(fd):
    real_fsync(fd)
    if MOMENT == "synced":  # the file is complete on disk, not yet published
        hit(name_of(fd))

os.write, os.fsync = write, fsync
if {command!r} == "pretrain":
    P.pretrain(P.PretrainArgs(**{kwargs!r}))
else:
    F.finetune(F.FinetuneArgs(**{kwargs!r}))
sys.exit(4)  # the kill point was never reached
"""


def _kill_at(command, args, name, moment, at):
    code = _CHILD.format(root=str(ROOT), name=name, moment=moment, at=at, command=command, kwargs=args.__dict__)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 300
        line = ""
        while not line and time.monotonic() < deadline:  # bounded: one readline per ready event
            if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                line = proc.stdout.readline()
                if not line:
                    break  # the child exited without reaching the kill point
        assert line == "KILL ME\n", proc.communicate(timeout=60)[1][-3000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def straight_runs(tmp_path_factory, corpus, tiny_model, sentiment):
    """Uninterrupted runs: the loss history and weights every resumed run must reproduce."""
    root = tmp_path_factory.mktemp("straight")
    P.pretrain(pretrain_args(corpus, root / "pretrain"))
    F.finetune(finetune_args(sentiment, root / "finetune", tiny_model))
    return root


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="the kill hook finds file names through /proc")
@pytest.mark.parametrize(
    "command, name, moment",
    [
        ("pretrain", "optimizer.pt", "write"),
        ("pretrain", "trainer_state.json", "synced"),
        ("finetune", "trainer_state.json", "write"),
        ("finetune", "optimizer.pt", "synced"),
    ],
)
def test_kill_during_a_checkpoint_write_resumes_exactly(
    tmp_path, corpus, tiny_model, sentiment, straight_runs, command, name, moment
):
    """kill -9 while the second checkpoint (step 4) writes one of its files, then --resume: the losses and
    weights equal the uninterrupted run's. log_every (3) is not a multiple of checkpoint_every (2), so the
    partly filled loss window is part of what a checkpoint must carry."""
    out = tmp_path / "killed"
    make = (
        (lambda **kw: pretrain_args(corpus, out, **kw))
        if command == "pretrain"
        else (lambda **kw: finetune_args(sentiment, out, tiny_model, **kw))
    )
    _kill_at(command, make(), name, moment, at=2)
    assert not (out / "training.json").exists()
    _run(command, make(resume=True))
    straight = straight_runs / command
    (history, evals), (expected, expected_evals) = _history(out), _history(straight)
    assert [(h["step"], h["loss"]) for h in history] == [(h["step"], h["loss"]) for h in expected]
    assert [(e["step"], e["loss"]) for e in evals] == [(e["step"], e["loss"]) for e in expected_evals]
    cls = A.AlbertForPreTraining if command == "pretrain" else F.TASKS["text-classification"]
    x, y = cls.from_pretrained(straight), cls.from_pretrained(out)
    for (key, p), (_, q) in zip(x.state_dict().items(), y.state_dict().items(), strict=False):
        assert torch.equal(p, q), key


def test_a_checkpoint_is_never_a_mix_of_two_saves(tmp_path, corpus, monkeypatch):
    """A save that fails after some of its files are written leaves the previous checkpoint whole."""
    import albert_model.training._common as T

    out = tmp_path / "out"
    P.pretrain(pretrain_args(corpus, out, steps=2))
    before = {p.name: p.read_bytes() for p in (out / "checkpoint").iterdir()}
    real = os.write

    def failing(fd, data):
        if "trainer_state.json" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", failing)
    with pytest.raises(OSError, match="No space left"):
        P.pretrain(pretrain_args(corpus, out, steps=4, resume=True))
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in (out / "checkpoint").iterdir()} == before
    assert T.CHECKPOINT_DIR == "checkpoint"


# -- a resume refuses what changed, by name --------------------------------------------------------------
@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory, corpus):
    out = tmp_path_factory.mktemp("run") / "out"
    P.pretrain(pretrain_args(corpus, out, steps=2))
    return out


@pytest.fixture(scope="module")
def other_tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok")
    tokenizer = AlbertTokenizerFast(SPIECE)
    tokenizer.add_tokens(["brandnewtoken"])
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def cased_tokenizer(tmp_path_factory):
    """The same vocabulary with another preprocessing switch: other ids for the same text."""
    path = tmp_path_factory.mktemp("cased")
    AlbertTokenizerFast(SPIECE, do_lower_case=False).save_pretrained(path)
    return path


def _copy_run(run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(run, out)
    return out


def _checkpoint_bytes(out):
    return {p.name: p.read_bytes() for p in sorted((out / "checkpoint").iterdir())}


@pytest.mark.parametrize(
    "change, words",
    [
        ("train", ["--train", "c.txt"]),
        ("max_seq_length", ["--max-seq-length", "32", "48"]),
        ("batch_size", ["--batch-size", "4", "8"]),
        ("model", ["model config", "hidden_size", "32", "64"]),
        ("tokenizer", ["the tokenizer (its vocabulary"]),
        ("cased_tokenizer", ["the tokenizer (its vocabulary"]),
        ("seed", ["--seed", "0", "5"]),
    ],
)
def test_pretrain_resume_names_what_changed(
    tmp_path, corpus, pretrained_run, other_tokenizer, cased_tokenizer, change, words
):
    out = _copy_run(pretrained_run, tmp_path)
    before = _checkpoint_bytes(out)
    changed = {
        "max_seq_length": {"max_seq_length": 48},
        "batch_size": {"batch_size": 8},
        "model": {"model": dict(TINY_MODEL, hidden_size=64)},
        "tokenizer": {"tokenizer": str(other_tokenizer)},
        "cased_tokenizer": {"tokenizer": str(cased_tokenizer)},
        "seed": {"seed": 5},
    }.get(change, {})
    train = corpus
    if change == "train":  # same name, other text
        train = tmp_path / "c.txt"
        train.write_text(_corpus_text(variant=1), encoding="utf-8")
    with pytest.raises(ValueError) as info:
        P.pretrain(pretrain_args(train, out, steps=4, resume=True, **changed))
    message = str(info.value)
    assert "size mismatch" not in message and "checkpoint" in message
    for word in words:
        assert word in message, message
    assert _checkpoint_bytes(out) == before  # nothing was trained or written


@pytest.fixture(scope="module")
def finetuned_run(tmp_path_factory, sentiment, tiny_model):
    out = tmp_path_factory.mktemp("ftrun") / "out"
    F.finetune(finetune_args(sentiment, out, tiny_model, steps=2))
    return out


@pytest.fixture(scope="module")
def wider_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("wide")
    A.AlbertForPreTraining(A.AlbertConfig(**dict(TINY_FINETUNE, hidden_size=64))).save_pretrained(path)
    AlbertTokenizerFast(SPIECE).save_pretrained(path)
    return path


@pytest.mark.parametrize(
    "change, words",
    [
        ("train", ["--train", "train.csv"]),
        ("max_seq_length", ["--max-seq-length", "128", "64"]),
        ("batch_size", ["--batch-size", "4", "2"]),
        ("model", ["model config", "hidden_size", "32", "64"]),
        ("tokenizer", ["the tokenizer (its vocabulary"]),
    ],
)
def test_finetune_resume_names_what_changed(
    tmp_path, sentiment, tiny_model, finetuned_run, other_tokenizer, wider_model, change, words
):
    out = _copy_run(finetuned_run, tmp_path)
    before = _checkpoint_bytes(out)
    changed = {
        "max_seq_length": {"max_seq_length": 64},
        "batch_size": {"batch_size": 2},
        "model": {"model": str(wider_model)},
        "tokenizer": {"tokenizer": str(other_tokenizer)},
    }.get(change, {})
    train = sentiment
    if change == "train":
        train = _sentiment(tmp_path / "train.csv", word="fine")
    with pytest.raises(ValueError) as info:
        F.finetune(finetune_args(train, out, changed.pop("model", tiny_model), steps=4, resume=True, **changed))
    message = str(info.value)
    assert "size mismatch" not in message and "checkpoint" in message
    for word in words:
        assert word in message, message
    assert _checkpoint_bytes(out) == before


def test_resume_continues_when_nothing_changed(tmp_path, corpus, pretrained_run):
    """The fingerprint is stable: the same settings (another budget) resume and extend the run."""
    out = _copy_run(pretrained_run, tmp_path)
    P.pretrain(pretrain_args(corpus, out, steps=3, resume=True))
    assert [h["step"] for h in _history(out)[0]] == [2, 3]  # the finished run's last, partial point, then on


@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_resume_without_a_checkpoint_says_so(tmp_path, corpus, tiny_model, sentiment, command):
    out = tmp_path / "empty"
    args = (
        pretrain_args(corpus, out, resume=True)
        if command == "pretrain"
        else finetune_args(sentiment, out, tiny_model, resume=True)
    )
    with pytest.raises(FileNotFoundError) as info:
        _run(command, args)
    assert "--resume" in str(info.value) and "no checkpoint" in str(info.value) and str(out) in str(info.value)
    assert not (out / "training.json").exists()


@pytest.mark.parametrize(
    "damage", ["truncated", "step is text", "a list", "history is a number", "empty", "fingerprint missing"]
)
@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_a_damaged_trainer_state_is_named_corrupt(
    tmp_path, corpus, tiny_model, sentiment, pretrained_run, finetuned_run, command, damage
):
    out = _copy_run(pretrained_run if command == "pretrain" else finetuned_run, tmp_path)
    path = out / "checkpoint" / "trainer_state.json"
    text = path.read_text(encoding="utf-8")
    state = json.loads(text)
    damaged = {
        "truncated": text[: len(text) // 2],
        "step is text": json.dumps({**state, "step": "two"}),
        "a list": json.dumps([state]),
        "history is a number": json.dumps({**state, "history": 3}),
        "empty": "",
        "fingerprint missing": json.dumps({k: v for k, v in state.items() if k != "fingerprint"}),
    }
    path.write_text(damaged[damage], encoding="utf-8")
    args = (
        pretrain_args(corpus, out, steps=4, resume=True)
        if command == "pretrain"
        else finetune_args(sentiment, out, tiny_model, steps=4, resume=True)
    )
    with pytest.raises(ValueError) as info:
        _run(command, args)
    assert "trainer_state.json" in str(info.value) and "corrupt" in str(info.value), str(info.value)


def test_a_truncated_optimizer_file_is_named_corrupt(tmp_path, corpus, pretrained_run):
    out = _copy_run(pretrained_run, tmp_path)
    path = out / "checkpoint" / "optimizer.pt"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"optimizer\.pt is corrupt or not a safe optimizer state file"):
        P.pretrain(pretrain_args(corpus, out, steps=4, resume=True))


# -- budgets are finite; a loss that overflows names the labels ------------------------------------------
@pytest.mark.parametrize("minutes", [math.inf, math.nan, -1.0, 0.0])
def test_max_minutes_must_be_a_finite_budget(tmp_path, corpus, minutes):
    with pytest.raises(ValueError) as info:
        pretrain_args(corpus, tmp_path / "o", steps=None, max_minutes=minutes)
    assert "--max-minutes" in str(info.value) and str(minutes) in str(info.value) and "finite" in str(info.value)


def test_max_minutes_inf_is_refused_on_the_command_line(tmp_path, corpus, capsys, monkeypatch):
    monkeypatch.setattr(P, "load_corpus", lambda *a, **k: pytest.fail("the corpus was read before the check"))
    code = cli.main(
        [
            "pretrain",
            "--tokenizer",
            str(SPIECE.parent),
            "--train",
            str(corpus),
            "--output",
            str(tmp_path / "o"),
            "--max-minutes",
            "inf",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--max-minutes" in err and "inf" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_regression_labels_that_overflow_are_a_data_problem(tmp_path, tiny_model):
    train = tmp_path / "sts.jsonl"
    train.write_text(
        "".join(json.dumps({"text": f"one {i}", "label": 1e38 if i == 5 else i / 4}) + "\n" for i in range(12)),
        encoding="utf-8",
    )
    with pytest.raises(D.DataError) as info:
        F.finetune(finetune_args(train, tmp_path / "o", tiny_model, steps=2))
    message = str(info.value)
    assert message.startswith(f"{train}:6: ") and "label" in message and "1e+38" in message
    assert "learning-rate" not in message
    assert not (tmp_path / "o" / "checkpoint").exists()  # found before training


def test_a_loss_that_overflows_names_the_labels(tmp_path, tiny_model, monkeypatch):
    """Labels that pass the reading check but still overflow the loss are named in the loss error."""
    train = tmp_path / "sts.jsonl"
    labels = [0.5, 0.25] + [1e18] * 6  # real numbers: regression; any batch of 4 holds a 1e18
    train.write_text(
        "".join(json.dumps({"text": f"one {i}", "label": y}) + "\n" for i, y in enumerate(labels)), encoding="utf-8"
    )
    real = torch.nn.functional.mse_loss
    monkeypatch.setattr(torch.nn.functional, "mse_loss", lambda *a, **k: real(*a, **k) * float("inf"))
    with pytest.raises(ValueError) as info:
        F.finetune(finetune_args(train, tmp_path / "o", tiny_model, steps=2))
    message = str(info.value)
    assert (
        message.startswith("the training loss became inf at step 1") and "labels of this batch reach 1e+18" in message
    ), message


# -- outputs go where they say -----------------------------------------------------------------------------
def test_a_symlinked_output_is_written_through_to_its_target(tmp_path, corpus):
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    P.pretrain(pretrain_args(corpus, link, steps=2))
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (target / "config.json").is_file() and (target / "checkpoint" / "trainer_state.json").is_file()
    P.pretrain(pretrain_args(corpus, link, steps=4, resume=True))  # the resume reads through the link too
    assert link.is_symlink() and json.loads((target / "checkpoint" / "trainer_state.json").read_text())["step"] == 4
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left beside it


def test_a_symlinked_checkpoint_directory_is_refused(tmp_path, corpus):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "checkpoint").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError, match=r"checkpoint.*symbolic link"):
        P.pretrain(pretrain_args(corpus, out, steps=2))


def _mount_tmpfs(path, *options):
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(("size=64m", *options)), "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


@contextlib.contextmanager
def _mount_point_under_a_read_only_parent(tmp_path):
    """PARENT (read-only) / out (a mount point, writable), as ``docker -v`` makes; skipped unless we may mount."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8)")
    parent = tmp_path / "parent"
    parent.mkdir()
    if not _mount_tmpfs(parent):
        pytest.skip("mount is not permitted here")
    mounted = [parent]
    try:
        (parent / "out").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(parent)], check=True)
        assert _mount_tmpfs(parent / "out")
        mounted.append(parent / "out")
        yield parent / "out"
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", str(path)], check=False)


@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_an_output_that_is_a_mount_point_under_a_read_only_parent(tmp_path, corpus, tiny_model, sentiment, command):
    with _mount_point_under_a_read_only_parent(tmp_path) as out:
        args = (
            pretrain_args(corpus, out, steps=4)
            if command == "pretrain"
            else finetune_args(sentiment, out, tiny_model, steps=4)
        )
        _run(command, args)
        assert (out / "config.json").is_file() and (out / "training.json").is_file()
        assert json.loads((out / "checkpoint" / "trainer_state.json").read_text())["step"] == 4
        _run(
            command,
            pretrain_args(corpus, out, steps=6, resume=True)
            if command == "pretrain"
            else finetune_args(sentiment, out, tiny_model, steps=6, resume=True),
        )
        assert json.loads((out / "checkpoint" / "trainer_state.json").read_text())["step"] == 6


def test_an_unwritable_output_is_refused_before_training(tmp_path, corpus, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    real_open = os.open

    def read_only(path, flags, *a, **k):
        if flags & os.O_CREAT and os.path.dirname(os.path.abspath(os.fsdecode(path))) == str(out):
            raise PermissionError(errno.EROFS, "Read-only file system", os.fsdecode(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", read_only)
    monkeypatch.setattr(P, "load_corpus", lambda *a, **k: pytest.fail("the corpus was read before the check"))
    with pytest.raises(OSError) as info:
        P.pretrain(pretrain_args(corpus, out, steps=2))
    assert "--output" in str(info.value) and str(out) in str(info.value) and "writ" in str(info.value)


def test_saves_leave_files_they_did_not_write_alone(tmp_path, corpus):
    """A file of the user's in OUTPUT is neither copied nor re-linked by any save (its inode and ctime stay)."""
    out = tmp_path / "out"
    out.mkdir()
    notes = out / "notes.txt"
    notes.write_text("mine\n")
    before = os.stat(notes)
    P.pretrain(pretrain_args(corpus, out, steps=2))
    after = os.stat(notes)
    assert (after.st_ino, after.st_ctime_ns, after.st_nlink) == (before.st_ino, before.st_ctime_ns, 1)


# -- arguments are checked before any work -----------------------------------------------------------------
_INT_RANGE = "0..4294967295"
BAD = [
    ("epochs", math.inf, "finite"),
    ("epochs", 1e30, "1000000"),
    ("epochs", math.nan, "finite"),
    ("weight_decay", math.nan, ">= 0"),
    ("weight_decay", math.inf, ">= 0"),
    ("max_grad_norm", math.nan, "> 0"),
    ("max_grad_norm", math.inf, "> 0"),
    ("seed", 2**64, _INT_RANGE),
    ("seed", -1, _INT_RANGE),
    ("learning_rate", math.nan, "(0, 1)"),
    ("warmup_fraction", math.nan, "[0, 1)"),
    ("steps", 2**63, "2147483647"),
    ("device", "tpu", "cpu"),
    ("device", "cuda:x", "cpu"),
]


def _flag(name):
    return "--" + name.replace("_", "-")


@pytest.mark.parametrize(
    "command, name, value, accepted",
    [
        (command, *bad)
        for command in ("pretrain", "finetune")
        for bad in BAD
        if (command, bad[0]) != ("pretrain", "epochs")
    ],
)  # pretrain has no --epochs
def test_bad_arguments_name_the_flag_the_value_and_the_range(
    tmp_path, corpus, sentiment, tiny_model, command, name, value, accepted
):
    make = (
        (lambda **kw: pretrain_args(corpus, tmp_path / "o", **kw))
        if command == "pretrain"
        else (lambda **kw: finetune_args(sentiment, tmp_path / "o", tiny_model, **kw))
    )
    with pytest.raises(ValueError) as info:
        make(**{name: value, **({"steps": None} if name == "epochs" else {})})
    message = str(info.value)
    assert _flag(name) in message and str(value) in message and accepted in message, message
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["pretrain", "finetune"])
def test_cuda_on_a_machine_without_it_is_refused_up_front(
    tmp_path, corpus, sentiment, tiny_model, monkeypatch, command
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    make = (
        (lambda **kw: pretrain_args(corpus, tmp_path / "o", **kw))
        if command == "pretrain"
        else (lambda **kw: finetune_args(sentiment, tmp_path / "o", tiny_model, **kw))
    )
    for device in ("cuda", "cuda:0"):
        with pytest.raises(ValueError) as info:
            make(device=device)
        assert "--device" in str(info.value) and device in str(info.value) and "available here: cpu" in str(info.value)
    assert make(device="cpu").device == "cpu"


@pytest.mark.parametrize(
    "command, argv, words",
    [
        ("finetune", ["--epochs", "inf"], ["--epochs", "inf", "finite"]),
        ("finetune", ["--epochs", "1e30"], ["--epochs", "1e+30", "1000000"]),
        ("finetune", ["--weight-decay", "nan"], ["--weight-decay", "nan"]),
        ("finetune", ["--seed", str(2**64)], ["--seed", str(2**64), _INT_RANGE]),
        ("finetune", ["--device", "tpu"], ["--device", "tpu"]),
        ("pretrain", ["--max-grad-norm", "nan"], ["--max-grad-norm", "nan"]),
        ("pretrain", ["--seed", str(2**64)], ["--seed", _INT_RANGE]),
        ("pretrain", ["--device", "nonsense"], ["--device", "nonsense"]),
    ],
)
def test_bad_flags_exit_2_with_one_line(
    tmp_path, corpus, sentiment, tiny_model, capsys, monkeypatch, command, argv, words
):
    def work(*args, **kwargs):
        pytest.fail("data was read before the arguments were checked")

    monkeypatch.setattr(F, "prepare", work)  # also bounds the test: no run of 1e30 epochs ever starts
    monkeypatch.setattr(P, "load_corpus", work)
    common = [
        "--train",
        str(corpus if command == "pretrain" else sentiment),
        "--output",
        str(tmp_path / "o"),
        "--no-progress",
    ]
    common += (
        ["--tokenizer", str(SPIECE.parent)]
        if command == "pretrain"
        else ["--task", "text-classification", "--model", str(tiny_model)]
    )
    code = cli.main([command, *common, *argv])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err
    assert not (tmp_path / "o").exists()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_flags_are_accepted_exactly_when_finite_and_in_range(value):
    """weight_decay: finite and >= 0; max_grad_norm: finite and > 0; anything else a ValueError naming it."""
    for name, ok in (
        ("weight_decay", math.isfinite(value) and value >= 0),
        ("max_grad_norm", math.isfinite(value) and value > 0),
    ):
        try:
            P.PretrainArgs(tokenizer="t", train=["a"], output="o", **{name: value})
        except ValueError as exc:
            assert not ok and _flag(name) in str(exc)
        else:
            assert ok


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_seed_is_accepted_exactly_in_its_range(seed):
    try:
        P.PretrainArgs(tokenizer="t", train=["a"], output="o", seed=seed)
    except ValueError as exc:
        assert not 0 <= seed < 2**32 and _INT_RANGE in str(exc)
    else:
        assert 0 <= seed < 2**32
