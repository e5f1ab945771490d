"""Data parallel training on the CPU: real ``torchrun`` jobs of 2 gloo ranks against one process.

2 ranks x 4 examples (``--batch-size 8``, the global batch) give the losses and weights of one process with batches
of 8, for pretraining and fine-tuning; a rank killed with SIGKILL ends the job with an error naming it and leaves
the last checkpoint, which one process resumes to the weights of an uninterrupted run. Few jobs, tiny models:
each costs a torchrun start and two imports of torch."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import albert_model as A
import albert_model.training._finetune as F
import albert_model.training._pretrain as P
from albert_model.training._distributed import DistributedError, World, join

from .conftest import ROOT
from .test_train_loop import assert_same_run, corpus, finetune_args, pretrain_args, sentiment_csv, tiny_model

__all__ = ["corpus", "tiny_model"]  # fixtures, imported to be used here

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(), reason="no gloo in this torch"
)

_WORKER = """
import json, os, signal, sys
sys.path.insert(0, {root!r})
import albert_model.training._loop as L
import albert_model.training._pretrain as P, albert_model.training._finetune as F
kill_at = {kill_at!r}
if kill_at is not None:
    step = L.train_step
    def train_step(state, *a, **k):
        if state.world.rank == 1 and state.step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return step(state, *a, **k)
    L.train_step = train_step
kwargs = json.loads(sys.argv[1])
if {command!r} == "pretrain":
    P.pretrain(P.PretrainArgs(**kwargs))
else:
    F.finetune(F.FinetuneArgs(**kwargs))
"""


def torchrun(tmp_path, command, args, kill_at=None):
    script = tmp_path / f"worker_{command}.py"
    script.write_text(_WORKER.format(root=str(ROOT), kill_at=kill_at, command=command))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            str(script),
            json.dumps(args.__dict__),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_two_ranks_pretrain_as_one_process_and_a_killed_rank_resumes_on_one(corpus, tmp_path):
    P.pretrain(pretrain_args(corpus, tmp_path / "one"))
    proc = torchrun(tmp_path, "pretrain", pretrain_args(corpus, tmp_path / "two"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 ranks of 4 examples a step" in proc.stderr
    assert proc.stderr.count("torch thread(s) per process") == 1  # rank 0 alone speaks
    assert_same_run(tmp_path / "one", tmp_path / "two", A.AlbertForPreTraining)

    # rank 1 is killed after the step-2 checkpoint: the job fails, naming it, and leaves that checkpoint
    killed = pretrain_args(corpus, tmp_path / "killed")
    proc = torchrun(tmp_path, "pretrain", killed, kill_at=2)
    assert proc.returncode != 0
    assert "SIGKILL" in proc.stderr or "Signal 9" in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "killed" / "training.json").exists()
    state = json.loads((tmp_path / "killed" / "checkpoint" / "trainer_state.json").read_text())
    assert (state["step"], state["position"]) == (2, 16)  # global examples
    # which one process resumes to the end of the uninterrupted run
    P.pretrain(pretrain_args(corpus, tmp_path / "killed", resume=True))
    assert_same_run(tmp_path / "one", tmp_path / "killed", A.AlbertForPreTraining)


def test_without_torchrun_a_lost_rank_is_a_clear_error(corpus, tmp_path):
    """Ranks started by hand (no agent to stop the others): rank 1 is killed after the step-2 checkpoint and rank 0,
    in the next all-reduce, stops with an error that says what happened and what to do."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "worker.py"
    script.write_text(_WORKER.format(root=str(ROOT), kill_at=2, command="pretrain"))
    args = json.dumps(pretrain_args(corpus, tmp_path / "lost").__dict__)
    procs = []
    for rank in (0, 1):
        env = {
            **os.environ,
            "WORLD_SIZE": "2",
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        procs.append(subprocess.Popen([sys.executable, str(script), args], env=env, stderr=subprocess.PIPE, text=True))
    try:
        errors = [p.communicate(timeout=240)[1] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert procs[1].returncode == -signal.SIGKILL
    assert procs[0].returncode != 0
    assert "rank 0 of 2: the other ranks stopped answering" in errors[0], errors[0][-3000:]
    assert "restart the job with --resume" in errors[0]
    assert json.loads((tmp_path / "lost" / "checkpoint" / "trainer_state.json").read_text())["step"] == 2


def test_two_ranks_finetune_with_accumulation_as_one_process(tmp_path, tiny_model):
    # 21 rows: the third batch is short (5 rows: 3 and 2 per rank); 2 micro-batches per rank, synced once
    train = sentiment_csv(tmp_path / "t.csv")
    F.finetune(finetune_args(train, tmp_path / "one", tiny_model, steps=4))
    proc = torchrun(tmp_path, "finetune", finetune_args(train, tmp_path / "two", tiny_model, steps=4, accumulate=2))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_run(tmp_path / "one", tmp_path / "two", F.TASKS["text-classification"])


def test_a_batch_that_does_not_split_over_the_ranks_is_refused(corpus, tmp_path, monkeypatch):
    import albert_model.training._loop as L

    monkeypatch.setattr(L, "join", lambda device: (World(0, 2, 0, 2), device))  # rank 0 of 2, before any group
    with pytest.raises(ValueError, match=r"--batch-size 6 is the global batch of one optimizer step and must split "):
        P.pretrain(pretrain_args(corpus, tmp_path / "odd", batch_size=6, accumulate=2, max_seq_length=32))
    assert not (tmp_path / "odd").exists()


def test_world_size_without_a_process_group_is_an_error(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(DistributedError, match=r"WORLD_SIZE=2 but MASTER_ADDR/MASTER_PORT are not set"):
        join("cpu")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(DistributedError, match=r"does not add up: WORLD_SIZE=2, RANK=2"):
        join("cpu")


@given(rows=st.integers(1, 40), size=st.integers(1, 4), accumulate=st.integers(1, 4))
def test_the_ranks_share_every_batch_disjointly(rows, size, accumulate):
    batch = {"input_ids": torch.arange(rows)[:, None], "attention_mask": torch.ones(rows, 1)}
    taken = []
    for rank in range(size):
        parts = World(rank, size, rank, size).share(batch, accumulate)
        assert len(parts) <= accumulate and all(len(p["input_ids"]) for p in parts)
        taken += [int(i) for p in parts for i in p["input_ids"][:, 0]]
    assert taken == list(range(rows))  # every row once, in order: rank r's parts follow rank r-1's
    sizes = [len(p["input_ids"]) for r in range(size) for p in World(r, size, r, size).share(batch, accumulate)]
    assert max(sizes) - min(sizes) <= 1
    assert np.isclose(sum(sizes), rows)


def test_ranks_draw_their_own_dropout_masks_from_one_shared_stream():
    """Each rank's step runs under a random state of its own (different dropout masks), drawn from the stream the
    ranks share, which stays equal on every rank (and is what a checkpoint keeps)."""
    import types

    import albert_model.training._loop as L

    masks, after = [], []
    for rank in (0, 1):
        torch.manual_seed(0)
        state = types.SimpleNamespace(world=World(rank, 2, rank, 2), device="cpu", device_type="cpu")
        with L._rank_random_state(state):
            masks.append(torch.rand(8))
        after.append(torch.rand(4))
    assert not torch.equal(masks[0], masks[1])
    assert torch.equal(after[0], after[1])
    torch.manual_seed(0)
    with L._rank_random_state(types.SimpleNamespace(world=World(), device="cpu", device_type="cpu")):
        alone = torch.rand(8)
    torch.manual_seed(0)
    assert torch.equal(alone, torch.rand(8))  # one process: its own stream, as before
