"""ALBERT's pretraining data: documents, sentence-order pairs, and n-gram masked batches.

Text files are read line by line (a blank line ends a document) and tokenized once into compact arrays.
Each epoch packs a document's sentences into segments of up to ``max_seq_length - 3`` tokens, splits each
segment into ``A``/``B`` at a sentence boundary and swaps half of the pairs (sentence-order label 1):
:func:`make_examples`, re-run per epoch with that epoch's random generator so every pass sees other
pairs. :class:`PretrainingCollator` builds ``[CLS] A [SEP] B [SEP]`` batches with ALBERT's n-gram masking,
over tokens (:func:`ngram_mask`) or over whole words (:func:`whole_word_ngram_mask`, a word starting at a
piece that begins with ``▁``). The same examples come memory-mapped from ``tokenize-corpus`` shards in
:mod:`albert_model.training._corpus_data`.

This module holds the data half of :mod:`albert_model.training._pretrain`; it never touches the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from albert_tok.api import to_tensors
from albert_tok.io import first_invalid_utf8, regular_file
from albert_tok.rules import (
    PAD_VALUES,
    SPIECE_UNDERLINE,
    build_inputs,
    pad_batch,
    special_tokens_mask,
    token_type_ids,
)

__all__ = [
    "Example",
    "PretrainingCollator",
    "TokenizedCorpus",
    "load_corpus",
    "make_examples",
    "ngram_mask",
    "read_documents",
    "tokenize_documents",
    "whole_word_ngram_mask",
    "word_start_table",
]

Example = tuple[np.ndarray, np.ndarray, int]
"""``(segment A ids, segment B ids, sentence-order label)``; label 1 means A and B were swapped."""
Document = list[np.ndarray]
"""One document: its sentences as arrays of token ids."""

_TOKENIZE_CHUNK = 20_000  # lines tokenized per call: bounds the Python lists alive at once


def read_documents(path: str) -> list[list[str]]:
    """Documents of a UTF-8 text file: runs of non-blank lines.

    Args:
        path: The text file; a blank line ends a document.

    Returns:
        The documents, each a list of its lines stripped of surrounding whitespace (no empty document).

    Raises:
        FileNotFoundError, NotARegularFileError: ``path`` is missing, or a directory, device or FIFO.
        ValueError: ``"PATH:LINE: not UTF-8 text ..."``.
    """
    path = regular_file(path, "training file")
    docs: list[list[str]] = [[]]
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            for line in fh:
                line = line.strip()
                if line:
                    docs[-1].append(line)
                elif docs[-1]:
                    docs.append([])
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    return [d for d in docs if d]


def _not_utf8(path: str) -> ValueError:
    """The first line of ``path`` that is not UTF-8 (called after decoding failed somewhere in it)."""
    bad = first_invalid_utf8(path)
    if bad is None:
        return ValueError(f"{path}: not UTF-8 text; save the file as UTF-8")
    return ValueError(
        f"{path}:{bad.line}: not UTF-8 text ({bad.reason} at byte {bad.column + 1} of the line); save the file as UTF-8"
    )


_WORKER_TOKENIZER: Any = None


def _encode_chunk(lines: list[str]) -> list[list[int]]:
    return _encode_with(_WORKER_TOKENIZER, lines)


def _encode_with(tokenizer: Any, lines: list[str]) -> list[list[int]]:
    # verbose=False: a sentence longer than the model is no mistake here, make_examples cuts it to the budget
    ids: list[list[int]] = tokenizer(
        lines, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False, verbose=False
    )["input_ids"]
    return ids


def tokenize_documents(tokenizer: Any, docs: Sequence[Sequence[str]], workers: int = 1) -> list[Document]:
    """Token ids of every sentence, as ``uint16`` arrays when the vocabulary fits (else ``int32``).

    Args:
        tokenizer: The tokenizer (called without special tokens).
        docs: Documents as :func:`read_documents` gives them.
        workers: Processes that tokenize chunks of lines, an int >= 1 (1 by default: this process); the result
            does not depend on it.

    Returns:
        One list per document, holding one id array per sentence.

    Raises:
        ValueError: ``workers`` is not an int >= 1.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    dtype = np.uint16 if tokenizer.vocab_size <= 65536 else np.int32
    flat = [line for d in docs for line in d]
    chunks = [flat[start : start + _TOKENIZE_CHUNK] for start in range(0, len(flat), _TOKENIZE_CHUNK)]
    arrays: list[np.ndarray] = []
    if workers > 1 and len(chunks) > 1:
        import multiprocessing

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)  # spawn pickles the tokenizer (its model bytes)
        with ctx.Pool(min(workers, len(chunks)), initializer=_set_worker_tokenizer, initargs=(tokenizer,)) as pool:
            for ids in pool.imap(_encode_chunk, chunks):
                arrays.extend(np.asarray(row, dtype=dtype) for row in ids)
    else:
        for chunk in chunks:
            arrays.extend(np.asarray(row, dtype=dtype) for row in _encode_with(tokenizer, chunk))
    out: list[Document] = []
    pos = 0
    for d in docs:
        out.append(arrays[pos : pos + len(d)])
        pos += len(d)
    return out


def _set_worker_tokenizer(tokenizer: Any) -> None:
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tokenizer


@dataclass
class TokenizedCorpus:
    """Tokenized training and held-out documents, and how many non-special tokens each side has.

    Args:
        train: The training documents (each a list of sentence id arrays).
        heldout: The held-out documents.
        train_tokens: The tokens of ``train``.
        heldout_tokens: The tokens of ``heldout``.
        files: The files read, in order.
    """

    train: list[Document]
    heldout: list[Document]
    train_tokens: int = 0
    heldout_tokens: int = 0
    files: list[str] = field(default_factory=list)


def load_corpus(tokenizer: Any, paths: Iterable[str], heldout_fraction: float, workers: int = 1) -> TokenizedCorpus:
    """Tokenize ``paths`` (in ``workers`` processes); the last ``heldout_fraction`` of each file's documents
    (of its lines, for a one-document file) is held out.

    Args:
        tokenizer: The tokenizer.
        paths: The UTF-8 text files (see :func:`read_documents`).
        heldout_fraction: The share of each file held out, in [0, 1).
        workers: Processes that tokenize (see :func:`tokenize_documents`).

    Returns:
        The tokenized corpus, with its token counts.

    Raises:
        ValueError: ``heldout_fraction`` is outside [0, 1), ``workers`` is not an int >= 1, or a file is not
            UTF-8 text.
        FileNotFoundError: A file does not exist.
        NotARegularFileError: A path is a directory, a device or a FIFO.
    """
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in [0, 1), got {heldout_fraction!r}")
    corpus = TokenizedCorpus([], [], files=list(paths))
    for path in corpus.files:
        docs = read_documents(path)
        if len(docs) == 1:  # one long document: hold out its tail
            lines = docs[0]
            cut = int(len(lines) * (1 - heldout_fraction))
            docs = [lines[:cut], lines[cut:]] if cut < len(lines) else [lines]
            n_train = 1
        else:
            n_train = int(len(docs) * (1 - heldout_fraction))
        for i, doc in enumerate(tokenize_documents(tokenizer, docs, workers)):
            tokens = sum(len(s) for s in doc)
            if i < n_train:
                corpus.train.append(doc)
                corpus.train_tokens += tokens
            else:
                corpus.heldout.append(doc)
                corpus.heldout_tokens += tokens
    return corpus


def _split(chunk: list[np.ndarray], rng: np.random.Generator) -> Example:
    if len(chunk) >= 2:
        cut = int(rng.integers(1, len(chunk)))
        a, b = np.concatenate(chunk[:cut]), np.concatenate(chunk[cut:])
    else:
        tokens = chunk[0]
        cut = max(1, len(tokens) // 2)
        a, b = tokens[:cut], tokens[cut:]
    swapped = int(rng.random() < 0.5)
    return (b, a, 1) if swapped else (a, b, 0)


def make_examples(
    docs: Sequence[Document], max_seq_length: int, rng: np.random.Generator, short_seq_prob: float = 0.0
) -> list[Example]:
    """Pack tokenized sentences into ``(A, B, swapped)`` pairs of at most ``max_seq_length - 3`` tokens.

    Each document's sentences (a longer one cut to the budget) fill segments up to the budget; a segment is
    split into ``A`` and ``B`` at a sentence boundary drawn from ``rng`` (in the middle of a one-sentence
    segment), and each pair is swapped with probability 1/2. With ``short_seq_prob`` p, as in Google's
    ``create_pretraining_data.py``, a document's target length is with probability p drawn uniformly from
    ``[2, max_seq_length - 3]``, and a segment also ends once it reaches its document's target.

    Args:
        docs: Tokenized documents, as :func:`tokenize_documents` gives them.
        max_seq_length: The length of a model row, at least 5 (three special tokens and a token on each side).
        rng: The generator of the split points and swaps; re-run with another epoch's generator to get other
            pairs.
        short_seq_prob: The probability of a shorter target per document, in [0, 1]; 0 (the default) draws
            nothing for it, so the examples are those made before the option existed.

    Returns:
        The examples ``(segment A ids, segment B ids, 1 if swapped else 0)``, none with an empty segment.

    Raises:
        ValueError: ``max_seq_length`` is below 5, or ``short_seq_prob`` is outside [0, 1].
    """
    budget = max_seq_length - 3
    if budget < 2:
        raise ValueError(f"max_seq_length must be >= 5 (room for [CLS] A [SEP] B [SEP]), got {max_seq_length}")
    if isinstance(short_seq_prob, bool) or not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob!r}")
    examples: list[Example] = []
    for doc in docs:
        target = budget
        if short_seq_prob > 0 and rng.random() < short_seq_prob:
            target = int(rng.integers(2, budget + 1))
        chunk: list[np.ndarray] = []
        size = 0
        for sentence in doc:
            sentence = sentence[:budget]
            if size + len(sentence) > budget and chunk:
                examples.append(_split(chunk, rng))
                chunk, size = [], 0
            if len(sentence):
                chunk.append(sentence)
                size += len(sentence)
                if size >= target:  # at the budget: the split the next sentence would have made, made now
                    examples.append(_split(chunk, rng))
                    chunk, size = [], 0
        if chunk and size >= 2:
            examples.append(_split(chunk, rng))
    return [e for e in examples if len(e[0]) and len(e[1])]


def ngram_mask(
    length: int, candidates: np.ndarray, budget: int, max_ngram: int, rng: np.random.Generator
) -> np.ndarray:
    """Boolean mask choosing about ``budget`` of the ``candidates`` positions in n-gram spans.

    As in the ALBERT paper, n is drawn with probability proportional to 1/n for n = 1..max_ngram; a span
    never leaves the candidate positions (special and padding tokens are never masked).

    Args:
        length: The length of the row (of the mask returned).
        candidates: The positions that may be masked.
        budget: How many positions to mask; the last span is cut so that no more are.
        max_ngram: The longest span.
        rng: The generator of the span starts and lengths.

    Returns:
        A boolean array of ``length``, True at the chosen positions (``budget`` of them when the candidates
        allow).
    """
    allowed = np.zeros(length, dtype=bool)
    allowed[candidates] = True
    weights = 1.0 / np.arange(1, max_ngram + 1)
    weights /= weights.sum()
    order = rng.permutation(candidates)
    sizes = rng.choice(max_ngram, size=order.size, p=weights) + 1  # one span length per possible start
    free = allowed.tolist()  # plain lists: this loop runs once per masked span of every example
    picked: list[int] = []
    for start, n in zip(order.tolist(), sizes.tolist(), strict=False):
        if len(picked) >= budget:
            break
        for p in range(start, min(start + min(n, budget - len(picked)), length)):
            if free[p]:
                free[p] = False
                picked.append(p)
    mask = np.zeros(length, dtype=bool)
    mask[picked] = True
    return mask


def word_start_table(tokenizer: Any) -> np.ndarray:
    """Which ids of a vocabulary begin a word: those whose piece starts with ``▁`` (SentencePiece's mark of
    a preceding space), the start-piece rule of Google's whole-word masking for SentencePiece vocabularies.

    Args:
        tokenizer: An ALBERT tokenizer (any object with ``vocab_size`` and ``convert_ids_to_tokens``).

    Returns:
        A boolean array of ``vocab_size``: True at the ids that start a word.
    """
    pieces = tokenizer.convert_ids_to_tokens(list(range(tokenizer.vocab_size)))
    return np.fromiter((p.startswith(SPIECE_UNDERLINE) for p in pieces), dtype=bool, count=len(pieces))


def whole_word_ngram_mask(
    length: int, candidates: np.ndarray, starts: np.ndarray, budget: int, max_ngram: int, rng: np.random.Generator
) -> np.ndarray:
    """Boolean mask choosing at most ``budget`` of the ``candidates`` positions in n-grams of whole words.

    A word is a run of consecutive candidate positions that begins where ``starts`` is True or where the
    previous position is not a candidate (after ``[CLS]`` or ``[SEP]``). As in Google's ALBERT
    (``create_pretraining_data.py``, ``do_whole_word_mask``): the n-grams start at the words in a random order,
    n is drawn with probability proportional to 1/n for n = 1..max_ngram (cut where the words run out), an
    n-gram that would exceed the budget is shortened word by word, and skipped when even its first word does
    not fit or when it overlaps a masked word. A word is therefore masked whole or not at all, and fewer than
    ``budget`` positions may be masked.

    Args:
        length: The length of the row (of the mask returned).
        candidates: The positions that may be masked, increasing.
        starts: A boolean array of ``length``: True where a piece begins a word (:func:`word_start_table` of
            the row's ids).
        budget: The most positions to mask.
        max_ngram: The longest n-gram, in words.
        rng: The generator of the n-gram starts and lengths.

    Returns:
        A boolean array of ``length``, True at the chosen positions.
    """
    mask = np.zeros(length, dtype=bool)
    candidates = np.asarray(candidates, dtype=np.int64)
    if not candidates.size:
        return mask
    new_word = starts[candidates].astype(bool)
    new_word[0] = True
    new_word[1:] |= np.diff(candidates) != 1
    firsts = np.flatnonzero(new_word)  # index into candidates of each word's first piece
    ends = np.append(firsts[1:], candidates.size)
    words = firsts.size
    weights = 1.0 / np.arange(1, max_ngram + 1)
    weights /= weights.sum()
    order = rng.permutation(words)
    sizes = rng.choice(max_ngram, size=words, p=weights) + 1
    first, end = firsts.tolist(), ends.tolist()  # plain lists: this loop runs once per n-gram start
    covered = [False] * words
    picked = 0
    for w, n in zip(order.tolist(), sizes.tolist(), strict=False):
        if picked >= budget:
            break
        n = min(n, words - w)
        while n > 1 and picked + end[w + n - 1] - first[w] > budget:
            n -= 1
        count = end[w + n - 1] - first[w]
        if picked + count > budget or any(covered[w : w + n]):
            continue
        covered[w : w + n] = [True] * n
        mask[candidates[first[w] : end[w + n - 1]]] = True
        picked += count
    return mask


@dataclass
class PretrainingCollator:
    """ALBERT pretraining batches from ``(segment_a, segment_b, is_swapped)`` examples of token ids.

    Builds ``[CLS] A [SEP] B [SEP]``, masks ``mlm_probability`` of the non-special tokens in n-gram spans (80%
    ``[MASK]``, 10% a random token, 10% unchanged), pads the rows on the right to the longest of the batch with
    :func:`albert_tok.rules.pad_batch` (the ids with ``pad_token_id``, the labels with -100, the token types
    with 0) and returns ``input_ids``, ``attention_mask``, ``token_type_ids``, ``labels`` (-100 where not
    masked) and ``sentence_order_label`` (1 when A and B were swapped).

    ``rng`` is the collator's random generator (seeded from ``seed``): save ``rng.bit_generator.state``
    and assign it back to resume the exact masking sequence, or pass ``rng=`` to a call to make that
    batch a pure function of the generator given (what :mod:`albert_model.training._pretrain` does per step, so
    batches can be built in worker processes).

    Args:
        cls_token_id: The id of ``[CLS]``, put in front of every row.
        sep_token_id: The id of ``[SEP]``, put after each segment.
        mask_token_id: The id of ``[MASK]``, which replaces 80% of the masked tokens.
        pad_token_id: The id that fills ``input_ids`` after each row.
        vocab_size: The size of the vocabulary; random replacements are drawn below it.
        first_normal_id: The smallest id of an ordinary piece (5 in ALBERT's vocabulary, after ``<pad>``,
            ``<unk>``, ``[CLS]``, ``[SEP]`` and ``[MASK]``): tokens below it are never masked, and random
            replacements are drawn from it up.
        mlm_probability: The share of each row's maskable tokens that is masked (at least one), in (0, 1);
            0.15 by default, as in BERT and ALBERT.
        max_ngram: The longest masked span, an int >= 1; span lengths n are drawn with probability
            proportional to 1/n (3 by default, as in the ALBERT paper).
        pad_to_multiple_of: When set, the padded length is rounded up to a multiple of it; None (the default)
            pads to the longest row exactly.
        seed: The seed of the collator's own generator ``rng``.
        return_tensors: ``"pt"`` (the default) for torch tensors, ``"np"`` or None for numpy arrays.
        word_starts: None (the default) masks n-grams of tokens (:func:`ngram_mask`); a boolean array over the
            ids (:func:`word_start_table`, what ``for_tokenizer(..., whole_word_mask=True)`` passes) masks
            n-grams of whole words (:func:`whole_word_ngram_mask`); an id past its end starts a word.

    Raises:
        ValueError: ``mlm_probability`` is not in (0, 1), ``max_ngram`` is not an int >= 1,
            ``first_normal_id`` is not in [0, vocab_size), or ``word_starts`` is not a 1-D boolean array.
    """

    cls_token_id: int
    sep_token_id: int
    mask_token_id: int
    pad_token_id: int
    vocab_size: int
    first_normal_id: int = 5
    mlm_probability: float = 0.15
    max_ngram: int = 3
    pad_to_multiple_of: int | None = None
    seed: int = 0
    return_tensors: str | None = "pt"
    word_starts: np.ndarray | None = field(default=None, repr=False, compare=False)
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.mlm_probability < 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if not isinstance(self.max_ngram, int) or self.max_ngram < 1:
            raise ValueError(f"max_ngram must be an int >= 1, got {self.max_ngram!r}")
        if not 0 <= self.first_normal_id < self.vocab_size:
            raise ValueError(
                f"first_normal_id must be in [0, vocab_size={self.vocab_size}), got {self.first_normal_id}"
            )
        if self.word_starts is not None:
            starts = np.asarray(self.word_starts)
            if starts.ndim != 1 or starts.dtype != bool:
                raise ValueError(
                    f"word_starts must be a 1-D boolean array over the ids (word_start_table), got "
                    f"{starts.dtype} of shape {starts.shape}"
                )
            self.word_starts = starts
        self.rng = np.random.default_rng(self.seed)

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, *, whole_word_mask: bool = False, **kwargs: Any) -> PretrainingCollator:
        """A collator with a tokenizer's special-token ids and vocabulary size.

        Args:
            tokenizer: An ALBERT tokenizer (or any object with ``cls_token_id``, ``sep_token_id``,
                ``mask_token_id``, ``pad_token_id`` and ``vocab_size``; with ``whole_word_mask``,
                ``convert_ids_to_tokens`` too).
            whole_word_mask: If True, mask n-grams of whole words (``word_starts`` from
                :func:`word_start_table` of the tokenizer); False (the default) n-grams of tokens.
            **kwargs: The other fields of :class:`PretrainingCollator` (``mlm_probability``, ``seed``...).

        Returns:
            The collator.
        """
        if whole_word_mask:
            kwargs["word_starts"] = word_start_table(tokenizer)
        return cls(
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            mask_token_id=tokenizer.mask_token_id,
            pad_token_id=tokenizer.pad_token_id,
            vocab_size=tokenizer.vocab_size,
            **kwargs,
        )

    def _starts(self, ids: np.ndarray) -> np.ndarray:
        """Per position of ``ids``: whether its piece begins a word (an id past the table does)."""
        table = cast(np.ndarray, self.word_starts)
        starts = np.ones(len(ids), dtype=bool)
        inside = (ids >= 0) & (ids < len(table))
        starts[inside] = table[ids[inside]]
        return starts

    def __call__(
        self,
        examples: Sequence[tuple[Sequence[int] | np.ndarray, Sequence[int] | np.ndarray, int]],
        rng: np.random.Generator | None = None,
    ) -> dict[str, Any]:
        """One masked, padded pretraining batch.

        Args:
            examples: ``(segment A ids, segment B ids, sentence-order label)`` per example (the ids as int
                sequences or numpy arrays; the label 1 when A and B were swapped), as :func:`make_examples`
                makes them.
            rng: The generator that draws the masking; None (the default) uses and advances the collator's
                own ``rng``.

        Returns:
            ``input_ids`` (masked), ``attention_mask``, ``token_type_ids`` and ``labels`` as int64
            ``(examples, width)`` tensors or arrays, and ``sentence_order_label`` of shape ``(examples,)``.

        Raises:
            ValueError: ``examples`` is empty.
        """
        rng = self.rng if rng is None else rng
        if not examples:
            raise ValueError("cannot collate an empty batch")
        no_label = PAD_VALUES["labels"]  # what the loss skips: a token not masked, as padding
        rows: dict[str, list[Any]] = {"input_ids": [], "token_type_ids": [], "labels": []}
        for a, b, _ in examples:
            a, b = np.asarray(a).tolist(), np.asarray(b).tolist()
            ids = np.asarray(build_inputs(a, b, self.cls_token_id, self.sep_token_id), dtype=np.int64)
            special = np.asarray(special_tokens_mask(len(a), len(b)), dtype=bool)
            labels = np.full_like(ids, no_label)
            candidates = np.flatnonzero(~special & (ids >= self.first_normal_id))
            if candidates.size:
                budget = max(1, round(candidates.size * self.mlm_probability))
                if self.word_starts is None:
                    chosen = ngram_mask(len(ids), candidates, budget, self.max_ngram, rng)
                else:
                    chosen = whole_word_ngram_mask(len(ids), candidates, self._starts(ids), budget, self.max_ngram, rng)
                labels[chosen] = ids[chosen]
                roll = rng.random(int(chosen.sum()))
                where = np.flatnonzero(chosen)
                ids[where[roll < 0.8]] = self.mask_token_id
                random_pos = where[(roll >= 0.8) & (roll < 0.9)]
                ids[random_pos] = rng.integers(self.first_normal_id, self.vocab_size, random_pos.size)
            rows["input_ids"].append(ids)
            rows["token_type_ids"].append(token_type_ids(len(a), len(b)))
            rows["labels"].append(labels)
        padded = pad_batch(rows, self.pad_token_id, pad_to_multiple_of=self.pad_to_multiple_of, attention_mask=True)
        out = {
            "input_ids": padded["input_ids"],
            "attention_mask": padded["attention_mask"],
            "token_type_ids": padded["token_type_ids"],
            "labels": padded["labels"],
            "sentence_order_label": np.array([int(s) for _, _, s in examples], dtype=np.int64),
        }
        return to_tensors(out, self.return_tensors, True)
