#!/usr/bin/env bash
# The shipped default model's pretraining recipe (issue #12): `albert pretrain` on the corpus that
# scripts/build_pretrain_corpus.sh assembles, in bf16 on one GPU for a wall-clock budget.
#
#   scripts/train_default_model.sh CORPUS_DIR OUTPUT_DIR MINUTES [extra albert pretrain flags]
#
# The learning-rate schedule follows the wall-clock budget (--max-minutes), so a faster or slower card
# sees more or fewer tokens with the same warm-up/decay shape; training.json records the tokens seen.
# Then: python -m scripts.export_default_model OUTPUT_DIR --command-file scripts/train_default_model.sh ...
set -euo pipefail
corpus=$1 out=$2 minutes=$3
shift 3
exec python3 -m albert_model pretrain --tokenizer fixtures --train "$corpus"/*.txt --output "$out" \
  --max-minutes "$minutes" --batch-size 256 --max-seq-length 128 --learning-rate 1e-3 --warmup-fraction 0.06 \
  --weight-decay 0.01 --eval-every 500 --eval-examples 1024 --checkpoint-every 1000000 --seed 0 \
  --device cuda --precision bf16 --workers 8 --no-progress \
  --model-json '{"embedding_size": 128, "hidden_size": 384, "num_hidden_layers": 6, "num_hidden_groups": 3, "num_attention_heads": 6, "intermediate_size": 1536, "hidden_act": "gelu_pytorch_tanh", "classifier_dropout_prob": 0.1}' \
  "$@"
