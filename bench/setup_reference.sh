#!/usr/bin/env bash
# A separate environment with transformers 5 (its Rust-only ALBERT tokenizer), for python -m bench.tokenizer_speed
# and python -m bench.corpus:
# transformers<5 is the test reference in the main environment, and one environment cannot hold both.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv-tf5
.venv-tf5/bin/pip install -q --upgrade pip
# torch for transformers' return_tensors="pt" column (the CPU build: no GPU is needed to time a tokenizer)
.venv-tf5/bin/pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu || .venv-tf5/bin/pip install -q torch==2.13.0
.venv-tf5/bin/pip install -q "transformers>=5,<6" sentencepiece protobuf numpy datasets
.venv-tf5/bin/python -c "import transformers; print('transformers', transformers.__version__)"
