"""bench/weight_products.py: the floor under an fp32 forward that bench/model.py and bench/pipeline.py report.
Its two chains (an ONNX Runtime graph and torch matmuls) are written apart; they must make the same products."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from albert_model import AlbertConfig
from bench import weight_products

TINY = AlbertConfig(
    vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64
)
CHAINS = weight_products.chains(TINY, threads=1)


@settings(deadline=None, max_examples=20)
@given(tokens=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_onnxruntime_and_torch_chains_make_the_same_products(tokens: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((tokens, TINY.embedding_size), np.float32)
    ort_out = np.asarray(CHAINS["onnxruntime"](x)[0])
    torch_out = CHAINS["torch"](x).numpy()
    assert ort_out.shape == torch_out.shape == (tokens, TINY.hidden_size)
    # each layer shrinks the values by about 3e-4 (weights of scale 0.02): compare relative to the output's scale
    scale = np.abs(torch_out).max()
    assert scale > 0
    np.testing.assert_allclose(ort_out, torch_out, rtol=0, atol=1e-4 * scale)


def test_the_chain_runs_every_layer() -> None:
    """Each layer shrinks the output by orders of magnitude (same weights, drawn in the same order): the graph
    with the config's 3 layers is far smaller than the one built for 2."""
    x = np.random.default_rng(0).standard_normal((8, TINY.embedding_size), np.float32)
    fewer = weight_products.chains(dataclasses.replace(TINY, num_hidden_layers=2), threads=1)
    full, short = np.abs(CHAINS["onnxruntime"](x)[0]).max(), np.abs(fewer["onnxruntime"](x)[0]).max()
    assert full < short / 100


def test_gflop_counts_the_products() -> None:
    # per token: embedding map E*H, then per layer Q, K, V, output (4 H^2) and the FFN (2 H I); 2 flops a product
    per_token = 16 * 32 + 3 * (4 * 32 * 32 + 2 * 32 * 64)
    assert weight_products.gflop(TINY, 10) == pytest.approx(2 * 10 * per_token / 1e9)
