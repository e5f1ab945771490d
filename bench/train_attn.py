"""Training steps (forward, backward, optimizer step) with ``--attn sdpa`` against ``--attn varlen``, on the batches
``albert pretrain`` and ``albert finetune`` train on, in the same process.

    python -m bench.train_attn [--steps 12] [--threads 1] [--device cpu] [--model shipped|bench]

- **pretraining**: ``AlbertForPreTraining`` on batches of the pretraining collator (sentence-order pairs of the
  shared corpora, n-gram masking, padded to the longest row: about a fifth of the positions are padding at
  ``--pretrain-length`` 128), ``--pretrain-batch`` rows.
- **fine-tuning**: ``AlbertForSequenceClassification`` on one-sentence rows (consecutive non-empty lines of the
  shared corpora cut to ``--finetune-length``), ``--finetune-batch`` a batch in ``albert finetune``'s order (a
  seeded permutation), padded to the longest row, as its collate does.

Both implementations run the same batches from the same initial weights (``--model shipped``: the shipped model's
config; ``bench``: bench/train.py's smaller one), in A B B A order, each keeping its better median step time;
step 1 of each run is excluded. Reported: the padding share, ms per step for each, and varlen's speed-up.
Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ALBERT_SHARED", ROOT.parent / "shared"))
CORPORA = [SHARED / "corpora" / n for n in ("wikitext-2-valid.tokens.txt", "botchan.txt", "tinyshakespeare.txt")]
RESULTS = ROOT / "bench" / "results" / "train_attn.json"


def _lines(limit: int) -> list[str]:
    out: list[str] = []
    for path in CORPORA:
        out.extend(s.strip() for s in path.read_text(encoding="utf-8").splitlines() if len(s.strip()) > 20)
        if len(out) >= limit:
            break
    return out[:limit]


def pretraining_batches(tokenizer: Any, batch: int, length: int, count: int, seed: int) -> list[dict[str, Any]]:
    import numpy as np

    from albert_model.training._pretraining_data import PretrainingCollator, make_examples, tokenize_documents

    sys.path.insert(0, str(ROOT))
    from bench.train import documents

    lines = documents(CORPORA[0].read_text(encoding="utf-8").splitlines()[:6000], True)
    docs: list[list[str]] = [[]]
    for line in lines:
        if line:
            docs[-1].append(line)
        elif docs[-1]:
            docs.append([])
    tokenized = tokenize_documents(tokenizer, [d for d in docs if d])
    examples = make_examples(tokenized, length, np.random.default_rng(seed), short_seq_prob=0.1)
    order = np.random.default_rng(seed).permutation(len(examples))
    collator = PretrainingCollator(
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
        tokenizer.mask_token_id,
        tokenizer.pad_token_id,
        tokenizer.vocab_size,
        seed=seed,
    )
    return [collator([examples[j] for j in order[i * batch : (i + 1) * batch]]) for i in range(count)]


def finetuning_batches(tokenizer: Any, batch: int, length: int, count: int, seed: int) -> list[dict[str, Any]]:
    import numpy as np
    import torch

    from albert_tok.api import MODEL_INPUT_NAMES
    from albert_tok.rules import pad_batch

    lines = _lines(batch * count)
    enc = tokenizer(lines, truncation=True, max_length=length)
    order = np.random.default_rng(seed).permutation(len(lines))
    out = []
    for i in range(count):
        rows = order[i * batch : (i + 1) * batch]
        padded = pad_batch({k: [enc[k][j] for j in rows] for k in MODEL_INPUT_NAMES}, tokenizer.pad_token_id)
        tensors = {k: torch.from_numpy(np.asarray(v, dtype=np.int64)) for k, v in padded.items()}
        tensors["labels"] = torch.tensor([int(j) % 2 for j in rows])
        out.append(tensors)
    return out


def _padding(batches: list[dict[str, Any]]) -> float:
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    total = sum(b["attention_mask"].numel() for b in batches)
    return 1 - real / total


def time_steps(model: Any, state: dict[str, Any], batches: list[dict[str, Any]], attn: str, device: str) -> float:
    """The median seconds of a training step (step 1 excluded) with ``attn``, from the weights ``state``."""
    import torch

    model.load_state_dict(state)
    model.set_attn_implementation(attn)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    seconds = []
    for batch in batches:
        started = time.perf_counter()
        out = model(**{k: v.to(device) for k, v in batch.items()})
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds[1:])


def measure(name: str, cls: Any, config: Any, batches: list[dict[str, Any]], device: str) -> dict[str, Any]:
    import torch

    torch.manual_seed(0)
    model = cls(config).to(device)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    best: dict[str, float] = {}
    for attn in ("sdpa", "varlen", "varlen", "sdpa"):
        t = time_steps(model, state, batches, attn, device)
        best[attn] = min(best.get(attn, t), t)
    shape = tuple(batches[0]["input_ids"].shape[:1])
    row = {
        "loop": name,
        "batch": shape[0],
        "padding": round(_padding(batches), 3),
        "sdpa_ms": round(best["sdpa"] * 1e3, 1),
        "varlen_ms": round(best["varlen"] * 1e3, 1),
        "varlen_speedup": round(best["sdpa"] / best["varlen"], 2),
    }
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per run (the first excluded)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", choices=["shipped", "bench"], default="shipped")
    parser.add_argument("--pretrain-batch", type=int, default=16)
    parser.add_argument("--pretrain-length", type=int, default=128)
    parser.add_argument("--finetune-batch", type=int, default=32)
    parser.add_argument("--finetune-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)

    import torch

    import albert_model as A
    from albert_model.checkpoints._shipped import DEFAULT_MODEL
    from albert_tok import AlbertTokenizerFast

    torch.set_num_threads(args.threads)
    tokenizer = AlbertTokenizerFast.from_pretrained(DEFAULT_MODEL)
    if args.model == "shipped":
        config = A.AlbertConfig.from_pretrained(DEFAULT_MODEL)
    else:
        from bench.train import MODEL

        config = A.AlbertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=512, **MODEL)
    pre = pretraining_batches(tokenizer, args.pretrain_batch, args.pretrain_length, args.steps, args.seed)
    fine = finetuning_batches(tokenizer, args.finetune_batch, args.finetune_length, args.steps, args.seed)
    rows = [
        measure("pretraining", A.AlbertForPreTraining, config, pre, args.device),
        measure("fine-tuning", A.AlbertForSequenceClassification, config, fine, args.device),
    ]
    result = {
        "rows": rows,
        "model": args.model,
        "steps": args.steps,
        "threads": args.threads,
        "device": args.device,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "command": "python -m bench.train_attn " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
