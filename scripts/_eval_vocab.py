"""The small SentencePiece vocabulary the test fixtures share: trained with Google's 30k-clean flags on the
lower-cased text of fixtures/eval (one thread, so the bytes are the same on every run)."""

from __future__ import annotations

import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train_eval_vocabulary(vocab_size: int) -> bytes:
    """The serialized SentencePiece model of ``vocab_size`` pieces."""
    import sentencepiece as spm

    from albert_tok.api._train import ALBERT_TRAINER_FLAGS

    text = []
    for source in sorted((ROOT / "fixtures" / "eval").iterdir()):
        text += [line.strip().lower() for line in source.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text),
        model_writer=model,
        vocab_size=vocab_size,
        **ALBERT_TRAINER_FLAGS,
        character_coverage=0.99995,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()
