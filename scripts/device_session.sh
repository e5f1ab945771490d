#!/usr/bin/env bash
# One device call (issue #11.4 and #12.2): bench/gpu.py first, then the default model's bf16 pretraining
# for the time left. Everything it returns lands in $OUT (at most 8 files of 16 MiB):
# gpu.json, gpu.log, train.log, training.json, config.json, weights-1/2.safetensors (fp16 halves).
# Carries bench/out/gpu-carry (transformers 4.x wheels, bench corpora, corpus.tar.xz). See /work/notes/gpu.md.
set -uo pipefail
start=$SECONDS
limit=${LIMIT:-575}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  bench/out/gpu-carry/whl/*.whl && export PYTHONPATH=/tmp/site
nvidia-smi -L
PYTHONUNBUFFERED=1 python3 -m bench.gpu --out "$OUT/gpu.json" --budget-seconds "${BENCH_BUDGET:-230}" \
  --corpora bench/out/gpu-carry/corpora > "$OUT/gpu.log" 2>&1
echo "gpu.py exit $? after $((SECONDS - start)) s"
mkdir -p /tmp/corpus && tar xJf bench/out/gpu-carry/corpus.tar.xz -C /tmp/corpus
left=$((limit - (SECONDS - start) - 75))   # start-up (tokenizing 68 MB) and the final save
minutes=$(python3 -c "print(round(max(0.5, $left / 60), 2))")
echo "training for $minutes minutes"
PYTHONUNBUFFERED=1 timeout $((limit - (SECONDS - start))) scripts/train_default_model.sh /tmp/corpus /tmp/default-gpu "$minutes" \
  > "$OUT/train.log" 2>&1
echo "pretrain exit $? after $((SECONDS - start)) s"
cp /tmp/default-gpu/training.json /tmp/default-gpu/config.json "$OUT/" 2>/dev/null
python3 - <<'PY'
import os
from safetensors.torch import load_file, save_file
sd = load_file("/tmp/default-gpu/model.safetensors")
parts = ([], [])
for k in sorted(sd, key=lambda k: -sd[k].numel()):  # two halves of about equal size (16 MiB per file)
    min(parts, key=lambda p: sum(sd[x].numel() for x in p)).append(k)
for i, part in enumerate(parts, 1):
    save_file({k: sd[k].half().contiguous() for k in part}, os.path.join(os.environ["OUT"], f"weights-{i}.safetensors"))
print("weights written", sum(v.numel() for v in sd.values()), "parameters")
PY
echo "done after $((SECONDS - start)) s"
