"""Copy a finished `albert pretrain` output into albert_model/default_model with its model card.

    python scripts/export_default_model.py OUTPUT_DIR --command "albert pretrain ..." --wall-minutes M

The card records the command, data, wall time, machine and the held-out masked-token accuracy against
the best constant guess (measured by bench/mlm_eval.py's evaluate on the copied directory).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET = ROOT / "albert_model" / "default_model"
FILES = ["config.json", "model.safetensors", "spiece.model", "tokenizer.json", "tokenizer_config.json",
         "special_tokens_map.json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--command", required=True)
    parser.add_argument("--wall-minutes", type=float, required=True)
    args = parser.parse_args()
    src = Path(args.output)
    TARGET.mkdir(exist_ok=True)
    for name in FILES:
        shutil.copy(src / name, TARGET / name)
    training = json.loads((src / "training.json").read_text())
    sys.path.insert(0, str(ROOT / "bench"))
    from bench.mlm_eval import CORPORA, evaluate

    m = evaluate(str(TARGET), [str(p) for p in CORPORA])
    config = json.loads((TARGET / "config.json").read_text())
    size_mb = (TARGET / "model.safetensors").stat().st_size / 1e6
    a = training["args"]
    card = f"""# albert-tiny-shared (the package's offline default model)

A small ALBERT pretrained by this package's own recipe (`albert pretrain`: masked LM with n-gram masking,
n <= 3, plus sentence-order prediction; AdamW, linear warm-up and decay, gradient clipping) with the real
albert-base-v2 vocabulary (`spiece.model`, 30000 pieces), so its tokenizer is the real ALBERT tokenizer.
It exists so that `albert fill-mask` answers offline; it is far weaker than albert-base-v2. Point
`--model` at a real checkpoint directory for real answers.

- Architecture: ALBERT, embeddings {config['embedding_size']}, hidden {config['hidden_size']},
  {config['num_hidden_layers']} layers sharing {config['num_hidden_groups']} group, {config['num_attention_heads']} heads,
  feed-forward {config['intermediate_size']}, `{config['hidden_act']}`; {size_mb:.1f} MB of fp32 weights.
- Data: {', '.join(Path(p).name for p in a['train'])} from the project's shared data (Tiny Shakespeare and
  Botchan: public domain; WikiText-2 validation: CC BY-SA 3.0, credited here), the last
  {a['heldout_fraction']:.0%} of each file's documents (the tail lines of one-document files) held out.
- Training: {a['steps']} steps, batch {a['batch_size']}, sequence length {a['max_seq_length']}, learning rate
  {a['learning_rate']}, warm-up {a['warmup_fraction']:.0%}, seed {a['seed']}; final training loss
  {training['metrics']['final_loss']:.3f}.
- Command: `{args.command}`
- Wall time: {args.wall_minutes:.0f} minutes on {training['metrics']['machine']} (the development machine,
  shared with other work while it ran).

## Held-out masked-token accuracy (`python bench/mlm_eval.py`)

| masked tokens | top-1 accuracy | best constant guess | ratio |
|---:|---:|---:|---:|
| {m['masked_tokens']} | {m['top1_accuracy']:.1%} | {m['constant_guess_accuracy']:.1%} (always `{m['constant_guess_token']}`) | {m['ratio_to_constant_guess']:.2f}x |

The constant guess always predicts the most frequent masked token of the held-out set.

Licence: the weights are released under Apache-2.0 like the vocabulary; the WikiText-2 share of the training
text is CC BY-SA 3.0.
"""
    (TARGET / "README.md").write_text(card)
    print(card)


if __name__ == "__main__":
    main()
