"""Training a new ALBERT-style SentencePiece vocabulary.

The training text goes through ALBERT's own preprocessing first (so pieces are learned on the text the
tokenizer will see), and the special pieces get ALBERT's ids: ``<pad>``=0, ``<unk>``=1, ``[CLS]``=2,
``[SEP]``=3, ``[MASK]``=4. The result is saved as a tokenizer directory both tokenizers load.
"""

from __future__ import annotations

import io
import os
from typing import Iterator, Sequence

__all__ = ["train_vocabulary"]


def _sentences(files: Sequence[str], options: dict[str, bool]) -> Iterator[str]:
    from .text import lower_per_char, preprocess_text

    for path in files:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                text = preprocess_text(line, **options)
                if options["do_lower_case"]:
                    text = lower_per_char(text)
                if text:
                    yield text


def train_vocabulary(files: Sequence[str | os.PathLike[str]], output_dir: str | os.PathLike[str],
                     vocab_size: int = 8000, *, do_lower_case: bool = True, remove_space: bool = True,
                     keep_accents: bool = False, character_coverage: float = 0.9995,
                     seed_sentencepiece_size: int = 200_000) -> tuple[str, ...]:
    """Train a unigram vocabulary on ``files`` and save a tokenizer directory; return its files."""
    import sentencepiece as spm

    from .slow import AlbertTokenizer

    paths = [os.fspath(f) for f in files]
    if not paths:
        raise ValueError("train_vocabulary needs at least one text file")
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"training file {p!r} does not exist")
    if not isinstance(vocab_size, int) or vocab_size < 10:
        raise ValueError(f"vocab_size must be an int >= 10, got {vocab_size!r}")
    options = {"do_lower_case": do_lower_case, "remove_space": remove_space, "keep_accents": keep_accents}
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=_sentences(paths, options), model_writer=model, vocab_size=vocab_size,
            model_type="unigram", pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
            control_symbols=["[CLS]", "[SEP]", "[MASK]"], user_defined_symbols=["(", ")", '"', "-", ".", "–", "£", "€"],
            normalization_rule_name="nmt_nfkc", character_coverage=character_coverage,
            seed_sentencepiece_size=seed_sentencepiece_size, hard_vocab_limit=False,
            minloglevel=2)
    except RuntimeError as exc:
        raise ValueError(f"SentencePiece could not train a vocabulary of {vocab_size} pieces: {exc}") from exc
    tokenizer = AlbertTokenizer(model_bytes=model.getvalue(), **options)
    return tokenizer.save_pretrained(output_dir)
