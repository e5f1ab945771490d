"""Tokenize a sentence pair and a padded batch with the canonical ALBERT tokenizers."""

from pathlib import Path

from albert_tok import AlbertTokenizer, AlbertTokenizerFast

SPIECE = Path(__file__).resolve().parent.parent / "fixtures" / "spiece.model"

fast = AlbertTokenizerFast(SPIECE)
slow = AlbertTokenizer(SPIECE)
text = "Plants create [MASK] through a process known as photosynthesis."
enc = fast(text, "It costs £1,000 (roughly).", return_offsets_mapping=True)
print("tokens:        ", fast.convert_ids_to_tokens(enc["input_ids"]))
print("input_ids:     ", enc["input_ids"])
print("token_type_ids:", enc["token_type_ids"])
print("offsets:       ", enc["offset_mapping"])
batch = fast(["Hello world!", "A longer second sentence, with 2,500 words."], padding=True, return_tensors="np")
print("padded batch:\n", batch["input_ids"], "\n", batch["attention_mask"])
assert slow(text)["input_ids"] == fast(text)["input_ids"]
print("decoded:       ", fast.decode(enc["input_ids"], skip_special_tokens=True))
