"""One rule for which devices this machine can run on, worded by the pipelines and by training."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from albert_model._devices import available_devices, unavailable
from albert_model.pipelines._base import resolve_device
from albert_model.training._common import check_device


def _gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


@given(count=st.integers(0, 4), index=st.integers(0, 6))
def test_a_cuda_index_is_available_exactly_below_the_gpu_count(count, index):
    with pytest.MonkeyPatch.context() as mp:
        _gpus(mp, count)
        reason = unavailable(torch.device("cuda", index))
        assert (reason is None) == (index < count)
        assert (f"cuda:{index}" in available_devices()) == (index < count)
        assert (unavailable(torch.device("cuda")) is None) == (count > 0)


@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_pipelines_and_training_give_the_same_reason(monkeypatch, name):
    _gpus(monkeypatch, 1 if name == "cuda:1" else 0)
    reason = unavailable(torch.device(name))
    assert reason is not None
    with pytest.raises(ValueError) as piped:
        resolve_device(name)
    with pytest.raises(ValueError) as trained:
        check_device(name)
    assert reason in str(piped.value) and reason in str(trained.value)
    assert "--device" in str(trained.value) and "available here: cpu" in str(trained.value)


def test_the_cpu_is_always_available():
    assert unavailable(torch.device("cpu")) is None
    assert available_devices()[0] == "cpu"
    assert resolve_device(-1) == torch.device("cpu") and check_device("cpu") == "cpu"
