"""The forward's weight products alone: a floor under the time of any fp32 ALBERT forward made with these libraries.

An ALBERT forward multiplies its activations by the embedding map once, then, in every one of its layers (which share
one layer's weights), by Q, K and V, the attention output, the FFN's input and its output weights. :func:`chains`
builds exactly those products and nothing else (Q, K and V as one product, their three parts summed so that the
next product has an input of the right shape), as one ONNX Runtime graph and as torch matmuls, with random weights of
the config's sizes. Attention, biases, norms, GELU and any head cost nothing there, so a forward that makes these
products with the same library can't take less time: sdpa's time over a chain's time is the most an fp32 graph can
gain. bench/model.py times the chains beside the models; bench/pipeline.py times them on the shapes the fp32
pipeline ran.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def gflop(config: Any, tokens: int) -> float:
    """The arithmetic of the weight products for ``tokens`` tokens: the embedding map, then per layer
    Q/K/V/output (4 H^2) and the FFN (2 H I)."""
    hidden, inner = config.hidden_size, config.intermediate_size
    per_token = config.embedding_size * hidden + config.num_hidden_layers * (4 * hidden * hidden + 2 * hidden * inner)
    return 2 * tokens * per_token / 1e9


def chains(config: Any, threads: int = 2) -> dict[str, Callable[[np.ndarray], Any]]:
    """``{"onnxruntime": f, "torch": f}``: each ``f(x)`` runs the weight products on ``x`` (float32,
    [tokens, embedding_size]); ONNX Runtime with the project's session options and ``threads`` threads."""
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper, numpy_helper

    from albert_model.onnx._runtime import session_options

    hidden, inner, embedding = config.hidden_size, config.intermediate_size, config.embedding_size
    layers = config.num_hidden_layers
    rng = np.random.default_rng(0)
    weights = {
        name: rng.standard_normal(size, np.float32) * 0.02
        for name, size in {
            "emb": (embedding, hidden),
            "qkv": (hidden, 3 * hidden),
            "o": (hidden, hidden),
            "i": (hidden, inner),
            "out": (inner, hidden),
        }.items()
    }
    nodes = [helper.make_node("MatMul", ["x", "emb"], ["h0"])]
    for n in range(layers):
        nodes += [
            helper.make_node("MatMul", [f"h{n}", "qkv"], [f"qkv{n}"]),
            helper.make_node("Reshape", [f"qkv{n}", "three"], [f"parts{n}"]),
            helper.make_node("ReduceSum", [f"parts{n}", "axis"], [f"sum{n}"], keepdims=0),
            helper.make_node("MatMul", [f"sum{n}", "o"], [f"o{n}"]),
            helper.make_node("MatMul", [f"o{n}", "i"], [f"i{n}"]),
            helper.make_node("MatMul", [f"i{n}", "out"], [f"h{n + 1}"]),
        ]
    constants = [numpy_helper.from_array(array, name) for name, array in weights.items()]
    constants += [
        numpy_helper.from_array(np.array([-1, 3, hidden], np.int64), "three"),
        numpy_helper.from_array(np.array([1], np.int64), "axis"),
    ]
    graph = helper.make_graph(
        nodes,
        "weight_products",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, embedding])],
        [helper.make_tensor_value_info(f"h{layers}", TensorProto.FLOAT, [None, hidden])],
        constants,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(
        proto.SerializeToString(), session_options(threads), providers=["CPUExecutionProvider"]
    )
    tensors = {name: torch.from_numpy(array) for name, array in weights.items()}

    def with_torch(x: np.ndarray) -> Any:
        with torch.inference_mode():
            h = torch.from_numpy(x) @ tensors["emb"]
            for _ in range(layers):
                h = (h @ tensors["qkv"]).view(-1, 3, hidden).sum(1) @ tensors["o"] @ tensors["i"] @ tensors["out"]
            return h

    return {"onnxruntime": lambda x: session.run(None, {"x": x}), "torch": with_torch}
