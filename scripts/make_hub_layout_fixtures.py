"""Write ``fixtures/hub_layouts/``: tiny ALBERT checkpoints laid out the ways published ones are on the hub.

Run from the repository root, in its environment (transformers 4.x and torch), with the transformers 5
environment beside it for the one layout transformers 5 writes::

    . .venv/bin/activate
    bash bench/setup_reference.sh            # only if bench/.venv-tf5 is missing
    python -m scripts.make_hub_layout_fixtures

(the fixtures in the repository were made with transformers 4.57.6, torch 2.13.0+cpu, safetensors 0.7 and
sentencepiece 0.2 in the main environment and transformers 5.25.0 with tokenizers 0.23.3 in ``bench/.venv-tf5``).
The directory is deleted and written afresh; ``tests/test_hub_layouts.py`` loads every layout with both of our
tokenizers, the model class its ``architectures`` names and the pipeline of its task, and compares them with
transformers 4.x on the same files.

Every layout holds a random model of the same tiny shape (embedding 8, hidden 16, one layer, two heads,
intermediate 32, 512 positions) in float32, each with its own seed, and a tokenizer trained here:

- ``spiece.model``: a 500-piece SentencePiece model trained with the flags of Google's ``30k-clean.model``
  (unigram, ``<pad>`` 0, ``<unk>`` 1, ``[CLS]`` ``[SEP]`` ``[MASK]`` 2-4, the same user-defined symbols,
  ``nmt_nfkc``) on the lower-cased text of ``fixtures/eval``. The real 30000-piece ``fixtures/spiece.model``
  is 760 KB a copy (its ``tokenizer.json`` 2.3 MB) and makes a 30000 x 8 embedding per model; eight layouts of
  it would weigh about 13 MB, so the vocabulary is small and every config says so. The file is byte-identical
  in every layout that has one (git stores it once).

The layouts (the names of ``LAYOUTS``):

- ``pytorch_model_bin``: weights only in ``pytorch_model.bin``, ``torch.save(model.state_dict())`` in the
  legacy (not zip) format of torch before 1.6, as albert-base-v2's was written, holding what transformers
  before 4.31 saved: a pooler (AlbertForMaskedLM had one then), the tied decoder
  (``predictions.decoder.weight``/``.bias``) saved beside the embedding it shares storage with, and the
  ``albert.embeddings.position_ids`` buffer. ``config.json`` has albert-base-v2's keys and nothing else
  (Google's ``down_scale_factor``, ``gap_size``, ``net_structure_type``, ``num_memory_blocks``; no
  ``transformers_version``, no dtype). Tokenizer: ``spiece.model`` alone, as albert-base-v1 was published.
- ``sharded_safetensors``: ``model-0000N-of-0000M.safetensors`` shards and ``model.safetensors.index.json``
  from transformers 4.x's ``save_pretrained(max_shard_size=...)``; the tokenizer as transformers 4.x's fast
  class saves it (``spiece.model``, ``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json``).
- ``sequence_classification``: an ``AlbertForSequenceClassification`` fine-tune as textattack's
  (``textattack/albert-base-v2-SST-2``): ``id2label``/``label2id`` naming the classes, ``num_labels``,
  ``finetuning_task`` and the other keys transformers 2.x/3.x wrote into every config (``output_past``,
  ``pruned_heads``, ``torchscript``, ...), weights in ``pytorch_model.bin`` from
  ``save_pretrained(safe_serialization=False)``, the slow tokenizer's save with ``model_max_length`` 512.
- ``spiece_only``: ``config.json``, ``model.safetensors`` and ``spiece.model``; no other tokenizer file.
- ``tokenizer_json_only``: ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` as
  transformers 4.x's fast class writes them with ``legacy_format=False``: no ``spiece.model``, so only a fast
  tokenizer can load it.
- ``added_tokens_json``: ``spiece.model``, ``added_tokens.json`` (two tokens after the vocabulary, ids 500
  and 501) and a ``special_tokens_map.json`` listing one of them as an additional special token, as
  transformers 3.x saved a tokenizer with added tokens; the model's embeddings resized to 502.
- ``tokenizer_config_v4``: ``spiece.model``, ``tokenizer_config.json`` and ``special_tokens_map.json`` from
  transformers 4.x's ``AlbertTokenizer.save_pretrained`` (``added_tokens_decoder``, ``sp_model_kwargs``,
  ``extra_special_tokens: {}``), with ``keep_accents=True`` so that a loader must read the config to match.
- ``tokenizer_config_v5``: ``tokenizer.json`` and ``tokenizer_config.json`` as transformers 5.x's
  ``AlbertTokenizer.save_pretrained`` writes them (``backend``, ``add_prefix_space``, ``trim_offsets``,
  ``extra_special_tokens`` as a list, no ``spiece.model``), and ``config.json`` from transformers 5.x's
  ``AlbertConfig`` (``dtype``, ``transformers_version`` 5.x); the weights are transformers 4.x's
  ``model.safetensors`` (the 5.x environment has no torch; the file format is the same).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts._eval_vocab import train_eval_vocabulary

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "hub_layouts"
TF5_PYTHON = ROOT / "bench" / ".venv-tf5" / "bin" / "python"
VOCAB_SIZE = 500
ADDED = {"covid19": VOCAB_SIZE, "[ENT]": VOCAB_SIZE + 1}  # added_tokens.json of added_tokens_json
LABELS = {0: "negative", 1: "positive"}
SHAPE = {
    "embedding_size": 8,
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 512,
}
# albert-base-v2's config.json on the hub, key for key, with SHAPE's sizes (transformers 2.x wrote it)
OLD_CONFIG = {
    "architectures": ["AlbertForMaskedLM"],
    "attention_probs_dropout_prob": 0,
    "bos_token_id": 2,
    "classifier_dropout_prob": 0.1,
    "down_scale_factor": 1,
    "eos_token_id": 3,
    "gap_size": 0,
    "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0,
    "initializer_range": 0.02,
    "inner_group_num": 1,
    "layer_norm_eps": 1e-12,
    "model_type": "albert",
    "net_structure_type": 0,
    "num_hidden_groups": 1,
    "num_memory_blocks": 0,
    "pad_token_id": 0,
    "type_vocab_size": 2,
    "vocab_size": VOCAB_SIZE,
    **SHAPE,
}


# keys transformers 2.x and 3.x wrote into every config.json (PretrainedConfig.to_dict, defaults included)
OLD_CONFIG_EXTRAS = {
    "is_decoder": False,
    "output_attentions": False,
    "output_hidden_states": False,
    "output_past": True,
    "pruned_heads": {},
    "torchscript": False,
    "use_bfloat16": False,
}


def train_spiece() -> bytes:
    """A SentencePiece model trained with Google's 30k-clean flags on the lower-cased text of fixtures/eval."""
    return train_eval_vocabulary(VOCAB_SIZE)


def random_model(cls: Any, seed: int, **config: Any) -> Any:
    """A transformers 4.x model of SHAPE with weights spread wide enough that its predictions do not tie."""
    import torch
    import transformers

    torch.manual_seed(seed)
    model = cls(transformers.AlbertConfig(vocab_size=VOCAB_SIZE, **{**SHAPE, **config}))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                param.copy_(1.0 + 0.1 * torch.randn_like(param))
            else:
                param.copy_(0.5 * torch.randn_like(param))
    model.tie_weights()
    return model.eval()


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def spiece_dir(directory: Path, spiece: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "spiece.model").write_bytes(spiece)
    return directory


# -- one function per layout: each writes its directory -----------------------------------------------------
def pytorch_model_bin(directory: Path, spiece: bytes, scratch: Path) -> None:
    import torch
    import transformers

    model = random_model(transformers.AlbertForMaskedLM, seed=1)
    state = model.state_dict()  # an OrderedDict with _metadata, as torch.save(model.state_dict()) always wrote
    embedding = state["albert.embeddings.word_embeddings.weight"]
    assert state["predictions.decoder.weight"].data_ptr() == embedding.data_ptr()  # tied: one storage in the file
    state["albert.embeddings.position_ids"] = torch.arange(SHAPE["max_position_embeddings"]).unsqueeze(0)
    # AlbertForMaskedLM had a pooler until transformers 4.x dropped it (add_pooling_layer=False): old files hold one
    hidden = SHAPE["hidden_size"]
    state["albert.pooler.weight"] = 0.5 * torch.randn(hidden, hidden, generator=torch.Generator().manual_seed(11))
    state["albert.pooler.bias"] = 0.5 * torch.randn(hidden, generator=torch.Generator().manual_seed(12))
    # torch before 1.6 wrote the legacy (not zip) format, which albert-base-v2's pytorch_model.bin (2019) is in
    torch.save(state, directory / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    write_json(directory / "config.json", OLD_CONFIG)
    spiece_dir(directory, spiece)


def sharded_safetensors(directory: Path, spiece: bytes, scratch: Path) -> None:
    import transformers

    model = random_model(transformers.AlbertForMaskedLM, seed=2)
    model.save_pretrained(directory, max_shard_size="12KB")
    assert (directory / "model.safetensors.index.json").is_file() and not (directory / "model.safetensors").exists()
    transformers.AlbertTokenizerFast.from_pretrained(str(scratch / "spiece")).save_pretrained(directory)
    assert (directory / "spiece.model").read_bytes() == spiece


def sequence_classification(directory: Path, spiece: bytes, scratch: Path) -> None:
    import transformers

    model = random_model(
        transformers.AlbertForSequenceClassification,
        seed=3,
        num_labels=len(LABELS),
        id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()},
        finetuning_task="sst-2",
    )
    model.save_pretrained(directory, safe_serialization=False)
    assert (directory / "pytorch_model.bin").is_file() and not (directory / "model.safetensors").exists()
    # config.json as transformers 2.x/3.x wrote every key (textattack's fine-tunes date from then)
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    for key in ("transformers_version", "dtype", "torch_dtype"):
        config.pop(key, None)
    config.update(OLD_CONFIG_EXTRAS, num_labels=len(LABELS), architectures=["AlbertForSequenceClassification"])
    write_json(directory / "config.json", config)
    source = spiece_dir(directory, spiece) / "spiece.model"
    transformers.AlbertTokenizer(str(source), model_max_length=512).save_pretrained(directory)


def spiece_only(directory: Path, spiece: bytes, scratch: Path) -> None:
    import transformers

    random_model(transformers.AlbertForMaskedLM, seed=4).save_pretrained(directory)
    spiece_dir(directory, spiece)


def tokenizer_json_only(directory: Path, spiece: bytes, scratch: Path) -> None:
    import transformers

    random_model(transformers.AlbertForMaskedLM, seed=5).save_pretrained(directory)
    fast = transformers.AlbertTokenizerFast.from_pretrained(str(scratch / "spiece"))
    fast.save_pretrained(directory, legacy_format=False)
    assert not (directory / "spiece.model").exists()


def added_tokens_json(directory: Path, spiece: bytes, scratch: Path) -> None:
    import transformers

    model = random_model(transformers.AlbertForMaskedLM, seed=6)
    model.resize_token_embeddings(VOCAB_SIZE + len(ADDED))
    model.save_pretrained(directory)
    spiece_dir(directory, spiece)
    write_json(directory / "added_tokens.json", ADDED)
    write_json(
        directory / "special_tokens_map.json",
        {
            "additional_special_tokens": ["[ENT]"],
            "bos_token": "[CLS]",
            "cls_token": "[CLS]",
            "eos_token": "[SEP]",
            "mask_token": "[MASK]",
            "pad_token": "<pad>",
            "sep_token": "[SEP]",
            "unk_token": "<unk>",
        },
    )


def tokenizer_config_v4(directory: Path, spiece: bytes, scratch: Path) -> None:
    import transformers

    random_model(transformers.AlbertForMaskedLM, seed=7).save_pretrained(directory)
    source = spiece_dir(directory, spiece) / "spiece.model"
    transformers.AlbertTokenizer(str(source), keep_accents=True).save_pretrained(directory)


# transformers 5.x in bench/.venv-tf5 (no torch there): the tokenizer from spiece.model, and the config
_TF5_SAVE = """
import json, sys, transformers
spiece_dir, target = sys.argv[1], sys.argv[2]
transformers.AlbertTokenizer.from_pretrained(spiece_dir).save_pretrained(target)
shape = json.loads(sys.argv[4])
config = transformers.AlbertConfig(vocab_size=int(sys.argv[3]), architectures=["AlbertForMaskedLM"], **shape)
config.dtype = "float32"
config.save_pretrained(target)
print(transformers.__version__)
"""


def tokenizer_config_v5(directory: Path, spiece: bytes, scratch: Path) -> None:
    import transformers

    if not TF5_PYTHON.exists():
        raise SystemExit(f"{TF5_PYTHON} is missing: run `bash bench/setup_reference.sh` first")
    random_model(transformers.AlbertForMaskedLM, seed=8).save_pretrained(directory)
    (directory / "config.json").unlink()  # transformers 5.x writes it
    args = [str(scratch / "spiece"), str(directory), str(VOCAB_SIZE), json.dumps(SHAPE)]
    done = subprocess.run([str(TF5_PYTHON), "-c", _TF5_SAVE, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"transformers 5.x could not save the tokenizer:\n{done.stderr}")
    version = done.stdout.strip().splitlines()[-1]
    if not version.startswith("5."):
        raise SystemExit(f"{TF5_PYTHON} has transformers {version}, not 5.x")
    assert not (directory / "spiece.model").exists()


LAYOUTS: dict[str, Callable[..., None]] = {
    "pytorch_model_bin": pytorch_model_bin,
    "sharded_safetensors": sharded_safetensors,
    "sequence_classification": sequence_classification,
    "spiece_only": spiece_only,
    "tokenizer_json_only": tokenizer_json_only,
    "added_tokens_json": added_tokens_json,
    "tokenizer_config_v4": tokenizer_config_v4,
    "tokenizer_config_v5": tokenizer_config_v5,
}


def main() -> int:
    import tempfile

    import transformers

    if not transformers.__version__.startswith("4."):
        raise SystemExit(f"run this in the repository's environment (transformers 4.x), not {transformers.__version__}")
    spiece = train_spiece()
    if OUT.exists():
        shutil.rmtree(OUT)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        spiece_dir(scratch / "spiece", spiece)
        for name, write in LAYOUTS.items():
            directory = OUT / name
            directory.mkdir(parents=True)
            write(directory, spiece, scratch)
    total = 0
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            total += path.stat().st_size
            print(f"{path.stat().st_size:>9}  {path.relative_to(OUT)}")
    print(f"{total:>9}  in all", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
