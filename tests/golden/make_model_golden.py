"""Regenerates tests/golden/model_golden.json: python -m tests.golden.make_model_golden

The numbers come from this package's seeded tiny model; they were checked against transformers by
tests/test_model_parity.py when written, so the suite still checks the maths where transformers is absent.
"""

import json
from pathlib import Path

import torch

import albert_model as A
from tests.test_model import TINY, golden_inputs  # the same model and inputs as the test

SEED = 20261126
FIELDS = {
    "AlbertModel": ["last_hidden_state", "pooler_output"],
    "AlbertForMaskedLM": ["logits"],
    "AlbertForPreTraining": ["prediction_logits", "sop_logits"],
    "AlbertForSequenceClassification": ["logits"],
    "AlbertForTokenClassification": ["logits"],
    "AlbertForQuestionAnswering": ["start_logits", "end_logits"],
}

out = {}
for cls_name, fields in FIELDS.items():
    torch.manual_seed(SEED)
    model = getattr(A, cls_name)(A.AlbertConfig(**TINY)).eval()
    with torch.no_grad():
        result = model(**golden_inputs())
    for field in fields:
        t = result[field].double()
        out[f"{cls_name}.{field}"] = {"shape": list(t.shape), "mean": t.mean().item(), "abs_sum": t.abs().sum().item()}
path = Path(__file__).with_name("model_golden.json")
path.write_text(json.dumps({"seed": SEED, "outputs": out}, indent=1) + "\n")
print(path)
