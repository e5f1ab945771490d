"""Training a new ALBERT-style SentencePiece vocabulary.

The training text goes through ALBERT's own preprocessing first, in the tokenizer's order (per-character
lower-casing, then :meth:`~albert_tok.rules._text.Preprocessing.apply`), so pieces are learned on the text the
tokenizer will see; the special pieces get ALBERT's ids: ``<pad>``=0, ``<unk>``=1, ``[CLS]``=2,
``[SEP]``=3, ``[MASK]``=4. The result is saved as a tokenizer directory both tokenizers load.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from albert_tok.rules import Preprocessing

__all__ = ["ALBERT_TRAINER_FLAGS", "VocabularySizeWarning", "train_vocabulary"]

ALBERT_TRAINER_FLAGS: dict[str, Any] = {
    "model_type": "unigram",
    "pad_id": 0,
    "unk_id": 1,
    "bos_id": -1,
    "eos_id": -1,
    "control_symbols": ["[CLS]", "[SEP]", "[MASK]"],
    "user_defined_symbols": ["(", ")", '"', "-", ".", "\u2013", "£", "€"],  # \u2013: en dash
    "normalization_rule_name": "nmt_nfkc",
}
"""The SentencePiece trainer flags of Google's 30k-clean ALBERT vocabulary: a unigram model with ``<pad>`` 0,
``<unk>`` 1, no BOS/EOS, the three control symbols, the punctuation kept as pieces of their own, NFKC."""


def _sentences(files: Sequence[str], options: Preprocessing) -> Iterator[str]:
    for path in files:
        with open(path, "rb") as fh:
            offset = 0
            for raw in fh:
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ValueError(
                        f"training file {path!r} is not UTF-8 (byte offset {offset + exc.start})"
                    ) from None
                offset += len(raw)
                text = options.apply(options.lower(line))
                if text:
                    yield text


class _Sentences:
    """The training sentences, remembering an input error (SentencePiece would bury it in its own) and
    how many sentences there were."""

    def __init__(self, files: Sequence[str], options: Preprocessing) -> None:
        self.files, self.options = files, options
        self.error: ValueError | None = None
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        try:
            for text in _sentences(self.files, self.options):
                self.count += 1
                yield text
        except ValueError as exc:
            self.error = exc
            raise


def train_vocabulary(
    files: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    vocab_size: int = 8000,
    *,
    preprocessing: Preprocessing | None = None,
    do_lower_case: bool | None = None,
    remove_space: bool | None = None,
    keep_accents: bool | None = None,
    character_coverage: float = 0.9995,
    seed_sentencepiece_size: int = 200_000,
) -> tuple[str, ...]:
    """Train a unigram vocabulary on ``files`` and save a tokenizer directory; return its files.

    ``preprocessing`` (default ALBERT's: lower-cased, spaces collapsed, accents stripped) with any of the
    three switches given on their own overriding it. Each line of the files is preprocessed as the tokenizer
    will preprocess it, and lines left empty are skipped. The vocabulary gets ALBERT's special pieces at ids
    0 to 4 and is saved with the preprocessing used, so both tokenizers load it from ``output_dir``. When the
    text yields fewer pieces than ``vocab_size``, the smaller vocabulary is saved and a
    :class:`VocabularySizeWarning` says so.

    Args:
        files: The UTF-8 text files to train on, one sentence (or paragraph) per line; at least one.
        output_dir: The tokenizer directory to write (``spiece.model``, ``tokenizer.json``,
            ``tokenizer_config.json``, ``special_tokens_map.json``); it is created when missing.
        vocab_size: How many pieces to aim for, special pieces included; an int of at least 10 (default 8000).
        preprocessing: A :class:`~albert_tok.Preprocessing` to train and save with; None (the default) for
            ALBERT's.
        do_lower_case: Lower-case the text; None (the default) keeps ``preprocessing``'s value.
        remove_space: Strip the text and collapse runs of spaces; None keeps ``preprocessing``'s value.
        keep_accents: Keep accents rather than strip them; None keeps ``preprocessing``'s value.
        character_coverage: The share of characters in the text the vocabulary must cover, passed to
            SentencePiece (default 0.9995); the rarest others become unknown.
        seed_sentencepiece_size: How many candidate pieces SentencePiece starts its pruning from, passed to
            it (default 200,000).

    Returns:
        The paths of the files written in ``output_dir``, as the tokenizer's ``save_pretrained`` returns them.

    Raises:
        ValueError: When ``files`` is empty, ``vocab_size`` is not an int of at least 10, a file is not UTF-8
            (the message gives its byte offset), the files hold no text once preprocessed, or SentencePiece
            cannot train a vocabulary of that size from them.
        FileNotFoundError: When a path in ``files`` is not an existing file.
    """
    import sentencepiece as spm

    from albert_tok.api._slow import AlbertTokenizer

    paths = [os.fspath(f) for f in files]
    if not paths:
        raise ValueError("train_vocabulary needs at least one text file")
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"training file {p!r} does not exist")
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 10:
        raise ValueError(f"vocab_size must be an int >= 10, got {vocab_size!r}")
    options = (preprocessing or Preprocessing()).with_overrides(
        do_lower_case=do_lower_case, remove_space=remove_space, keep_accents=keep_accents
    )
    model = io.BytesIO()
    sentences = _Sentences(paths, options)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            vocab_size=vocab_size,
            **ALBERT_TRAINER_FLAGS,
            character_coverage=character_coverage,
            seed_sentencepiece_size=seed_sentencepiece_size,
            hard_vocab_limit=False,
            minloglevel=2,
        )
    except RuntimeError as exc:
        if sentences.error is not None:
            raise sentences.error from None
        if sentences.count == 0:
            raise ValueError(f"no text to train on in {', '.join(paths)}") from None
        raise ValueError(
            f"SentencePiece could not train a vocabulary of {vocab_size} pieces from {', '.join(paths)}: {exc}"
        ) from exc
    tokenizer = AlbertTokenizer(model_bytes=model.getvalue(), preprocessing=options)
    if tokenizer.vocab_size < vocab_size:
        warnings.warn(
            f"the text in {', '.join(paths)} yields only {tokenizer.vocab_size} pieces, not the "
            f"{vocab_size} asked for: the vocabulary saved has {tokenizer.vocab_size} (train on more "
            f"text, or ask for fewer)",
            VocabularySizeWarning,
            stacklevel=2,
        )
    return tokenizer.save_pretrained(output_dir)


class VocabularySizeWarning(UserWarning):
    """The training text yielded fewer pieces than ``vocab_size`` asked for."""
