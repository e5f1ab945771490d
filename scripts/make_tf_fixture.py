"""Write ``fixtures/tf/``: a tiny ALBERT checkpoint saved by real TensorFlow under Google's variable names, and
the state dict transformers' own TensorFlow-based converter makes of it.

Run it from the repository root in a scratch environment (TensorFlow is never a dependency of this project)::

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.18.0 numpy torch==2.13.0 "transformers<5" safetensors sentencepiece
    /tmp/tfenv/bin/python -m scripts.make_tf_fixture

(the fixture in the repository was made with tensorflow-cpu 2.18.0, torch 2.13.0+cpu, transformers 4.57.6,
sentencepiece 0.2.3 and numpy 2.0.2 on Python 3.11).

What it writes (about 350 KB in all):

- ``albert_config.json``: Google's format (``net_structure_type``, ``gap_size``, ... and ``hidden_act: "gelu"``),
  tiny sizes: embedding 8, hidden 16, 2 layers sharing 1 group of 1 inner layer, 2 heads, intermediate 32,
  64 positions, a vocabulary of 128 pieces.
- ``tiny-clean.model``: a 128-piece SentencePiece model trained here with the flags Google's ``30k-clean.model``
  was trained with (unigram, ``<pad>`` 0, ``<unk>`` 1, ``[CLS]`` ``[SEP]`` ``[MASK]`` 2-4, lower-cased text).
  The real 30000-piece ``fixtures/spiece.model`` would make the word embeddings alone 30000 x 8 floats (nearly
  1 MB per copy, and the fixture holds three), so the vocabulary is tiny instead and the config says so.
- ``model.ckpt-best.index`` and ``.data-0000N-of-00003`` + ``checkpoint``: every variable of Google's
  pretraining graph (``bert/...``, ``cls/predictions/...``, ``cls/seq_relationship/...``), plus what a
  training checkpoint also holds and a converter must skip: ``global_step`` and the LAMB optimizer's
  ``adam_m``/``adam_v`` slots. Saved by ``tf.compat.v1.train.Saver(sharded=True)`` from two CPU devices, so
  the bundle has three data shards (``global_step`` in one of its own).
- ``hub/``: a TF-Hub module's layout as ``tf.compat.v1.saved_model`` writes it (``saved_model.pb``,
  ``variables/variables.index``, ``variables/variables.data-00000-of-00001``): the same values,
  model variables only, and no ``cls/seq_relationship`` (Google's hub modules carry the masked-LM head, not
  the sentence-order one).
- ``expected.safetensors``: ``AlbertForPreTraining``'s state dict after transformers'
  ``load_tf_weights_in_albert`` read ``model.ckpt-best`` (through TensorFlow), without the two tied aliases
  (``predictions.decoder.*``) and buffers. Every parameter is first filled with NaN, so a parameter the
  converter did not set would show; the script checks there is none, and that the converter gives the same
  values (minus the sentence-order head) from ``hub/variables``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from scripts._eval_vocab import train_eval_vocabulary

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "tf"
SPM_NAME = "tiny-clean.model"

CONFIG = {
    "attention_probs_dropout_prob": 0,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0,
    "embedding_size": 8,
    "hidden_size": 16,
    "initializer_range": 0.02,
    "intermediate_size": 32,
    "max_position_embeddings": 64,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "num_hidden_groups": 1,
    "net_structure_type": 0,
    "gap_size": 0,
    "num_memory_blocks": 0,
    "inner_group_num": 1,
    "down_scale_factor": 1,
    "type_vocab_size": 2,
    "vocab_size": 128,
}


def google_variables(config: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """Google's variable names and TensorFlow shapes for ``config``, in the order its modeling.py makes them."""
    e, h, i, v = config["embedding_size"], config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    out: dict[str, tuple[int, ...]] = {
        "bert/embeddings/word_embeddings": (v, e),
        "bert/embeddings/token_type_embeddings": (config["type_vocab_size"], e),
        "bert/embeddings/position_embeddings": (config["max_position_embeddings"], e),
        "bert/embeddings/LayerNorm/beta": (e,),
        "bert/embeddings/LayerNorm/gamma": (e,),
        "bert/encoder/embedding_hidden_mapping_in/kernel": (e, h),
        "bert/encoder/embedding_hidden_mapping_in/bias": (h,),
    }
    for g in range(config["num_hidden_groups"]):
        for n in range(config["inner_group_num"]):
            p = f"bert/encoder/transformer/group_{g}/inner_group_{n}/"
            for part in ("query", "key", "value"):
                out[f"{p}attention_1/self/{part}/kernel"] = (h, h)
                out[f"{p}attention_1/self/{part}/bias"] = (h,)
            out[f"{p}attention_1/output/dense/kernel"] = (h, h)
            out[f"{p}attention_1/output/dense/bias"] = (h,)
            out[f"{p}LayerNorm/beta"] = (h,)
            out[f"{p}LayerNorm/gamma"] = (h,)
            out[f"{p}ffn_1/intermediate/dense/kernel"] = (h, i)
            out[f"{p}ffn_1/intermediate/dense/bias"] = (i,)
            out[f"{p}ffn_1/intermediate/output/dense/kernel"] = (i, h)
            out[f"{p}ffn_1/intermediate/output/dense/bias"] = (h,)
            out[f"{p}LayerNorm_1/beta"] = (h,)
            out[f"{p}LayerNorm_1/gamma"] = (h,)
    out.update(
        {
            "bert/pooler/dense/kernel": (h, h),
            "bert/pooler/dense/bias": (h,),
            "cls/predictions/transform/dense/kernel": (h, e),
            "cls/predictions/transform/dense/bias": (e,),
            "cls/predictions/transform/LayerNorm/beta": (e,),
            "cls/predictions/transform/LayerNorm/gamma": (e,),
            "cls/predictions/output_bias": (v,),
            "cls/seq_relationship/output_weights": (2, h),
            "cls/seq_relationship/output_bias": (2,),
        }
    )
    return out


def random_values(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    """float32 values: LayerNorm gammas near 1, everything else spread around 0."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        value = rng.normal(0.0, 0.5, size=shape).astype(np.float32)
        out[name] = value + 1.0 if name.endswith("gamma") else value
    return out


def train_vocabulary(path: Path, vocab_size: int) -> None:
    """A SentencePiece model trained with Google's 30k-clean flags on the lower-cased text of fixtures/eval."""
    path.write_bytes(train_eval_vocabulary(vocab_size))


def save_checkpoint(values: dict[str, np.ndarray], prefix: Path) -> None:
    """``tf.compat.v1.train.Saver(sharded=True)`` over two CPU devices: Google's names, two data shards."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        for k, (name, value) in enumerate(values.items()):
            # half the variables on each device, so the sharded saver writes two data files
            with tf.device(f"/cpu:{k % 2}"):
                tf1.get_variable(name, initializer=value)
        for name in list(values)[:6]:  # LAMB's slots (a real checkpoint has them for every variable)
            with tf.device("/cpu:0"):
                for slot in ("adam_m", "adam_v"):
                    tf1.get_variable(f"{name}/{slot}", initializer=np.full(values[name].shape, 0.25, np.float32))
        tf1.train.get_or_create_global_step()
        saver = tf1.train.Saver(sharded=True, save_relative_paths=True)
        config = tf1.ConfigProto(device_count={"CPU": 2})
        with tf1.Session(graph=graph, config=config) as session:
            session.run(tf1.global_variables_initializer())
            session.run(tf1.assign(tf1.train.get_global_step(), 125000))
            saver.save(session, str(prefix), write_meta_graph=False)


def save_hub_module(values: dict[str, np.ndarray], directory: Path) -> None:
    """The model variables, without the sentence-order head, as a TF1 SavedModel (a TF-Hub module's layout)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        for name, value in values.items():
            if not name.startswith("cls/seq_relationship/"):
                tf1.get_variable(name, initializer=value)
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            builder = tf1.saved_model.Builder(str(directory))
            builder.add_meta_graph_and_variables(session, ["serve"], strip_default_attrs=True)
            builder.save()


def transformers_state_dict(config_path: Path, checkpoint: str) -> dict[str, object]:
    """What transformers' own converter (through TensorFlow) makes of ``checkpoint``: every parameter it set."""
    import torch
    from transformers import AlbertConfig, AlbertForPreTraining
    from transformers.models.albert.modeling_albert import load_tf_weights_in_albert

    config = AlbertConfig.from_json_file(str(config_path))
    model = AlbertForPreTraining(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(float("nan"))
    load_tf_weights_in_albert(model, config, checkpoint)
    tied = {"predictions.decoder.weight", "predictions.decoder.bias"}
    buffers = {name for name, _ in model.named_buffers()}
    return {
        k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if k not in tied and k not in buffers
    }


def main() -> int:
    import torch
    from safetensors.torch import save_file

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    config_path = OUT / "albert_config.json"
    config_path.write_text(json.dumps(CONFIG, indent=2) + "\n", encoding="utf-8")
    spm_path = OUT / SPM_NAME
    train_vocabulary(spm_path, CONFIG["vocab_size"])
    values = random_values(google_variables(CONFIG))
    save_checkpoint(values, OUT / "model.ckpt-best")
    save_hub_module(values, OUT / "hub")

    expected = transformers_state_dict(config_path, str(OUT / "model.ckpt-best"))
    unset = sorted(k for k, v in expected.items() if v.is_floating_point() and bool(torch.isnan(v).any()))
    if unset:
        sys.exit(f"transformers' converter left these parameters unset: {unset}")
    save_file(expected, str(OUT / "expected.safetensors"), metadata={"format": "pt"})

    from_hub = transformers_state_dict(config_path, str(OUT / "hub" / "variables" / "variables"))
    for key, value in expected.items():
        if key.startswith("sop_classifier."):
            assert bool(torch.isnan(from_hub[key]).all()), key  # not in the hub module: left unset
        else:
            assert torch.equal(from_hub[key], value), key
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    for f in sorted(OUT.rglob("*")):
        if f.is_file():
            print(f"{f.stat().st_size:>8}  {f.relative_to(ROOT)}")
    print(f"{total:>8}  in all")
    if total > 1_000_000:
        sys.exit("the fixture must stay under 1 MB")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
