"""ALBERT's pretraining examples read from ``tokenize-corpus`` shards, memory-mapped.

``albert tokenize-corpus TEXT... --out DIR --tokenizer TOK`` (one sentence per line, a blank line between
documents, the default one row per line: never ``--pair-sentences``) writes rows ``[CLS] line [SEP]``, a blank
line as the two-token row ``[CLS] [SEP]``. This module reads those rows back without tokenizing anything: the
shards are memory-mapped (``np.load(mmap_mode="r")``), a document is a run of rows between two-token rows, and
an epoch's examples are a numpy table of row indices, not Python objects::

    corpus = open_corpus(DIR, tokenizer, max_seq_length)       # checks the manifest and the tokenizer
    train, heldout = corpus.split(heldout_fraction)             # row ranges, the --heldout-fraction rule
    examples, order = epoch_examples(corpus, train, seed=seed, epoch=epoch, short_seq_prob=p,
                                     batch_size=batch_size)     # pure function of (seed, epoch)
    held = corpus.examples(heldout, np.random.default_rng([seed, 0, 2]), short_seq_prob=p)
    collator = PretrainingCollator.for_tokenizer(tokenizer, whole_word_mask=wwm, mlm_probability=..., ...)
    batches = CorpusBatches(examples, order, position, batch_size, seed, epoch, collator)   # a Dataset
    fingerprint = corpus.fingerprint()                          # what a resume must agree with

Examples are made as :func:`~albert_model.training._pretraining_data.make_examples` makes them from text: a
document's sentences (each cut to ``max_seq_length - 3`` tokens) are packed into a chunk until the next one
would overflow that budget, the chunk is split into ``A``/``B`` at a sentence boundary drawn at random (in the
middle of a one-sentence chunk) and swapped with probability 1/2 (sentence-order label 1); pairs never cross a
document. With ``short_seq_prob`` p, as in Google's ``create_pretraining_data.py``, each document of each
epoch gets with probability p a target length drawn uniformly from ``[2, max_seq_length - 3]`` instead of the
budget, and a chunk also ends once it reaches the target (``make_examples(..., short_seq_prob=p)`` follows the
same rule). With p = 0 the chunks are ``make_examples``' chunks of the same text (tested); the random draws
are taken differently (in blocks), so the split points and swaps are the same kind, not the same ones.

:class:`CorpusExamples` is a sequence of ``(A ids, B ids, label)`` examples read from the memory map when
asked for; :class:`CorpusBatches` is the map-style dataset of one epoch's batches (batch ``k`` a pure function
of ``(seed, epoch, its start)``, masks drawn there by the collator), identical whether built in this process
or in ``DataLoader`` workers. Everything pickles as the corpus directory (each process maps the files itself,
so ranks and workers share the page cache). Memory: the epoch's table (:data:`EXAMPLE_DTYPE`, 15 bytes per
example) and order (4 bytes per example), about 0.15 bytes per token at ``max_seq_length`` 128, are written to
unlinked temporary files (in ``TMPDIR``) and memory-mapped, like the shards: what the process itself holds
does not grow with the corpus (a block of 65,536 examples while an epoch's table is made), and everything
proportional to it is page cache. (A ``TMPDIR`` on tmpfs keeps those files in memory, shared.) A pickled
:class:`CorpusExamples` carries a copy of its table: ``DataLoader`` workers forked on Linux share the map.

Wiring into ``albert pretrain --corpus DIR`` (the ``--train`` path's equivalents in brackets): open the corpus
before the resume check, and put ``corpus=corpus.fingerprint()`` into the run fingerprint instead of the text
files' SHA-256 [``run_fingerprint(args.train, ...)``], with ``short_seq_prob`` and ``whole_word_mask`` among
the data settings; ``corpus.split`` [``load_corpus``], ``corpus.examples`` for the held-out set [``make_examples``
with ``[seed, 0, 2]``], ``corpus.token_count`` for ``train_tokens``/``heldout_tokens``; per epoch
``epoch_examples`` [``_epoch``] and :class:`CorpusBatches` [``_EpochBatches``, which it can replace for text
too: same batches]; ``PretrainingCollator.for_tokenizer(..., whole_word_mask=...)`` for both collators. The
held-out :class:`CorpusExamples` goes to ``evaluate`` as the list did (it slices and iterates). Each rank opens
the corpus and builds the same epoch index, and takes its share of each global batch as with text.

Not read: Parquet shards (no memory map: tokenize again with ``--format npy``), pair rows
(``--pair-sentences``), and shards cut shorter than the model's rows (``--max-length`` below
``max_seq_length - 1``). The held-out split is taken over the corpus as one stream of documents: the manifest
does not say where one input file ends, so with several files the last ``heldout_fraction`` of all documents
is held out (not of each file), and a file not ending in a blank line runs into the next one's first document.
A line that is not blank but gives no piece at all (control characters only) ends a document here, where the
text path skips it.
"""

from __future__ import annotations

import array
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np

from albert_model.training._pretraining_data import Example, PretrainingCollator
from albert_tok.data import CorpusError, ShardedCorpus, tokenizer_hash, vocabulary_hash

__all__ = ["CorpusBatches", "CorpusExamples", "PretrainingCorpus", "epoch_examples", "open_corpus"]

_BLOCK = 4096
"""Uniform draws taken from the generator at a time while an epoch's examples are made."""

_BLOCK_EXAMPLES = 1 << 16
"""Examples gathered in memory before they are appended to the epoch's table file."""

EXAMPLE_DTYPE = np.dtype([("first", "<i8"), ("rows", "<u2"), ("a", "<u2"), ("size", "<u2"), ("swapped", "u1")])
"""One example, 15 bytes: ``rows`` rows from row ``first``, ``size`` tokens of which the first ``a`` are segment A
(before any swap), and whether A and B are swapped. A chunk's rows and tokens are at most the budget, which
``max_seq_length`` <= 65,538 keeps within 16 bits."""

MAX_SEQ_LENGTH = 65_538
"""The longest row :data:`EXAMPLE_DTYPE` describes (a budget of 65,535 tokens)."""


def open_corpus(
    directory: str | os.PathLike[str], tokenizer: Any, max_seq_length: int, *, check: bool = True
) -> PretrainingCorpus:
    """Open a ``tokenize-corpus`` output directory for pretraining; see :class:`PretrainingCorpus`.

    Args:
        directory: The directory ``albert tokenize-corpus`` (or :func:`albert_tok.data.tokenize_corpus`) wrote.
        tokenizer: The tokenizer the model is trained with; it must be the one the shards were made with.
        max_seq_length: The model's row length, ``[CLS]``/``[SEP]`` included, an int in ``[5, 65538]``.
        check: If True (the default), every shard's offsets are read once to check them.

    Returns:
        The opened corpus.

    Raises:
        ValueError: see :class:`PretrainingCorpus`.
    """
    return PretrainingCorpus(directory, tokenizer, max_seq_length, check=check)


class PretrainingCorpus:
    """The rows of a ``tokenize-corpus`` directory, memory-mapped, as documents of sentences.

    Opening reads ``manifest.json`` and maps the shards (:class:`albert_tok.data.ShardedCorpus` checks them
    against the manifest); nothing is tokenized and nothing proportional to the corpus is kept in memory.
    Pickling keeps the directory and the checked identity only: an unpickled copy (in a ``DataLoader`` worker,
    another rank) maps the files again and checks that the manifest is still the one opened.

    Args:
        directory: The directory ``tokenize-corpus`` wrote.
        tokenizer: The tokenizer the model is trained with. The manifest's ``tokenizer_sha256`` must be
            :func:`albert_tok.data.tokenizer_hash` of it, or its ``vocabulary_sha256``
            :func:`albert_tok.data.vocabulary_hash` of it (the same pieces under the same ids, the same
            preprocessing switches): nothing is tokenized here, and the two tokenizers of one directory hash
            differently (the slow one, which ``tokenize-corpus`` loads, hashes its SentencePiece model bytes;
            the fast one, which ``albert pretrain`` loads, has none and hashes its vocabulary).
        max_seq_length: The model's row length, ``[CLS]``/``[SEP]`` included, an int in ``[5, 65538]``; the shards must
            have been made with ``--max-length`` of at least ``max_seq_length - 1`` so that no sentence is cut
            shorter than the ``max_seq_length - 3`` tokens an example can hold.
        check: If True (the default), every shard's offsets are read once to check them (and that every row
            holds at least ``[CLS] [SEP]``); False skips those scans.

    Raises:
        ValueError: ``max_seq_length`` is not an int in ``[5, 65538]``; the directory was made with
            ``--pair-sentences``, in Parquet, with a ``--max-length`` too small for ``max_seq_length``, or with
            another tokenizer; a row is not ``[CLS] ... [SEP]``. :class:`albert_tok.data.CorpusError` (a
            ValueError): no manifest, or a shard missing, damaged or not matching the manifest.
    """

    def __init__(
        self, directory: str | os.PathLike[str], tokenizer: Any, max_seq_length: int, *, check: bool = True
    ) -> None:
        if (
            isinstance(max_seq_length, bool)
            or not isinstance(max_seq_length, int)
            or not 5 <= max_seq_length <= MAX_SEQ_LENGTH
        ):
            raise ValueError(
                f"max_seq_length must be an int in [5, {MAX_SEQ_LENGTH}] (room for [CLS] A [SEP] B [SEP]), got "
                f"{max_seq_length!r}"
            )
        accepted = (tokenizer_hash(tokenizer), vocabulary_hash(tokenizer))
        self._open(os.fspath(directory), accepted, max_seq_length, tokenizer.cls_token_id, tokenizer.sep_token_id)
        if check:
            self._scan()

    def _open(self, directory: str, accepted: tuple[str, str], max_seq_length: int, cls_id: int, sep_id: int) -> None:
        self.directory, self.max_seq_length = directory, max_seq_length
        self._accepted, self._cls, self._sep = accepted, cls_id, sep_id
        self.budget = max_seq_length - 3
        """The most tokens of an example (A and B), a sentence's too."""
        sharded = ShardedCorpus(directory, check=False)  # manifest, shard files, counts; offsets scanned below
        manifest = self.manifest = sharded.manifest
        settings = manifest.get("settings") or {}
        where = os.path.join(directory, "manifest.json")
        if settings.get("pair_sentences"):
            raise ValueError(
                f"{where}: the corpus was made with --pair-sentences (two lines a row); pretraining needs one "
                f"sentence a row: run tokenize-corpus again without --pair-sentences"
            )
        if settings.get("format") != "npy":
            raise ValueError(
                f"{where}: the shards are {settings.get('format')!r}; pretraining memory-maps npy shards: run "
                f"tokenize-corpus again with --format npy"
            )
        if not isinstance(settings.get("max_length"), int) or settings["max_length"] < max_seq_length - 1:
            raise ValueError(
                f"{where}: the corpus was made with --max-length {settings.get('max_length')!r}, which cuts "
                f"sentences shorter than the {self.budget} tokens an example of --max-seq-length "
                f"{max_seq_length} holds; run tokenize-corpus again with --max-length {max_seq_length - 1} or "
                f"more, or lower --max-seq-length"
            )
        found = (manifest.get("tokenizer_sha256"), manifest.get("vocabulary_sha256"))
        if found[0] != accepted[0] and found[1] != accepted[1]:
            raise ValueError(
                f"{where}: the corpus was made with another tokenizer (tokenizer_sha256 {str(found[0])[:12]}..., "
                f"vocabulary_sha256 {str(found[1])[:12]}...; this tokenizer's are {accepted[0][:12]}... and "
                f"{accepted[1][:12]}...): tokenize the text again with this tokenizer, or pretrain with the "
                f"corpus's"
            )
        self._ids: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        for name in manifest["files"]:
            base = os.path.join(directory, name)
            try:
                # plain ndarray views of the maps: slicing a np.memmap runs Python code per slice
                self._ids.append(np.asarray(np.load(base + ".ids.npy", mmap_mode="r", allow_pickle=False)))
                self._offsets.append(np.asarray(np.load(base + ".offsets.npy", mmap_mode="r", allow_pickle=False)))
            except (OSError, ValueError) as exc:
                raise CorpusError(f"{base}.{{ids,offsets}}.npy: not a readable .npy array ({exc})") from None
        del sharded
        self._starts = np.cumsum([0] + [len(o) - 1 for o in self._offsets]).astype(np.int64)
        self.rows = int(self._starts[-1])
        """The rows (lines of the text, blank ones included)."""
        for k, (ids, offsets) in enumerate(zip(self._ids, self._offsets, strict=True)):
            if len(offsets) > 1 and (int(offsets[1]) < 2 or ids[0] != cls_id or ids[int(offsets[1]) - 1] != sep_id):
                raise ValueError(
                    f"{os.path.join(directory, manifest['files'][k])}.ids.npy: its first row is not "
                    f"[CLS] ... [SEP] (ids {cls_id} ... {sep_id}); the corpus was not made by tokenize-corpus "
                    f"with this tokenizer's special tokens"
                )

    def _scan(self) -> None:
        for k, offsets in enumerate(self._offsets):
            steps = np.diff(offsets)
            if len(steps) and int(steps.min()) < 2:
                row = int(np.argmax(steps < 2))
                raise ValueError(
                    f"{os.path.join(self.directory, self.manifest['files'][k])}.offsets.npy: row {row} holds fewer "
                    f"than the two tokens [CLS] [SEP]; the corpus was not made by tokenize-corpus"
                )

    def __reduce__(self) -> tuple[Any, ...]:
        # memory maps do not pickle: a worker or another rank maps the files itself (checked once, when opened)
        return (_reopen, (self.directory, self._accepted, self.max_seq_length, self._cls, self._sep))

    def __repr__(self) -> str:
        return f"PretrainingCorpus({self.directory!r}, rows={self.rows}, max_seq_length={self.max_seq_length})"

    # -- rows ---------------------------------------------------------------------------------------------
    def _shard_lengths(self, rows: range) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, tokens of each row without [CLS]/[SEP])`` for the parts of ``rows`` in each shard."""
        start, stop = max(rows.start, 0), min(rows.stop, self.rows)
        k = int(np.searchsorted(self._starts, start, side="right")) - 1
        while start < stop:
            base = int(self._starts[k])
            lo, hi = start - base, min(stop, int(self._starts[k + 1])) - base
            yield start, np.diff(np.asarray(self._offsets[k][lo : hi + 1], dtype=np.int64)) - 2
            start, k = base + hi, k + 1

    def sentence(self, row: int) -> np.ndarray:
        """Row ``row``'s token ids without ``[CLS]``/``[SEP]``, as stored (a view of the memory map).

        Args:
            row: A row index in ``[0, rows)``.

        Returns:
            The ids (``uint16`` or ``int32``); empty for a blank line.
        """
        k = int(np.searchsorted(self._starts, row, side="right")) - 1
        local = row - int(self._starts[k])
        offsets = self._offsets[k]
        return self._ids[k][int(offsets[local]) + 1 : int(offsets[local + 1]) - 1]

    def token_count(self, rows: range) -> int:
        """The tokens of ``rows`` without ``[CLS]``/``[SEP]`` (as stored, before any cut to the budget).

        Args:
            rows: A range of rows, as :meth:`split` gives.

        Returns:
            The count.
        """
        return sum(int(lengths.sum()) for _, lengths in self._shard_lengths(rows))

    def split(self, heldout_fraction: float) -> tuple[range, range]:
        """The training rows and the held-out rows, by ``albert pretrain``'s ``--heldout-fraction`` rule: the
        last ``heldout_fraction`` of the documents (``int(documents * (1 - fraction))`` kept for training), or,
        when the corpus is one document, of its non-blank lines.

        Args:
            heldout_fraction: A number in ``[0, 1)``.

        Returns:
            ``(train, heldout)``: two adjacent ranges of rows covering the corpus; ``heldout`` is empty when
            nothing is held out.

        Raises:
            ValueError: ``heldout_fraction`` is outside ``[0, 1)``, or the corpus holds no text.
        """
        if isinstance(heldout_fraction, bool) or not 0.0 <= heldout_fraction < 1.0:
            raise ValueError(f"heldout_fraction must be in [0, 1), got {heldout_fraction!r}")
        counts = []  # per shard: (document starts, non-blank rows)
        previous_blank = True
        for _, lengths in self._shard_lengths(range(self.rows)):
            text = lengths > 0
            starts = text & np.concatenate([[previous_blank], ~text[:-1]])
            counts.append((int(starts.sum()), int(text.sum())))
            previous_blank = not bool(text[-1]) if len(text) else previous_blank
        documents = sum(c[0] for c in counts)
        if not documents:
            raise ValueError(f"{self.directory!r}: the corpus holds no text (only blank lines)")
        if documents == 1:
            lines = sum(c[1] for c in counts)
            cut = int(lines * (1 - heldout_fraction))
            at = self._nth(cut, 1) if cut < lines else self.rows
        else:
            kept = int(documents * (1 - heldout_fraction))
            at = self._nth(kept, 0) if kept < documents else self.rows
        return range(0, at), range(at, self.rows)

    def _nth(self, n: int, kind: int) -> int:
        """The row of the ``n``-th (from 0) document start (``kind`` 0) or non-blank row (``kind`` 1)."""
        seen = 0
        previous_blank = True
        for first, lengths in self._shard_lengths(range(self.rows)):
            text = lengths > 0
            hits = text & np.concatenate([[previous_blank], ~text[:-1]]) if kind == 0 else text
            where = np.flatnonzero(hits)
            if seen + len(where) > n:
                return first + int(where[n - seen])
            seen += len(where)
            previous_blank = not bool(text[-1]) if len(text) else previous_blank
        return self.rows

    # -- examples -----------------------------------------------------------------------------------------
    def examples(self, rows: range, rng: np.random.Generator, short_seq_prob: float = 0.0) -> CorpusExamples:
        """The sentence-order examples of ``rows`` (see the module docstring), in corpus order.

        Args:
            rows: The rows to read (a range from :meth:`split`); its first row starts a document and its last
                ends one.
            rng: The generator of the target lengths, split points and swaps: re-run with another epoch's
                generator for other pairs.
            short_seq_prob: The probability that a document's target length is drawn from
                ``[2, max_seq_length - 3]`` instead of being the budget; a number in ``[0, 1]``.

        Returns:
            The examples, every one with non-empty ``A`` and ``B`` of at most ``max_seq_length - 3`` tokens
            together.

        Raises:
            ValueError: ``short_seq_prob`` is outside ``[0, 1]``.
        """
        if isinstance(short_seq_prob, bool) or not 0.0 <= short_seq_prob <= 1.0:
            raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob!r}")
        budget = self.budget
        table = _TableWriter()
        pool: list[float] = []
        used = 0

        def uniform() -> float:
            nonlocal pool, used
            if used == len(pool):
                pool, used = rng.random(_BLOCK).tolist(), 0
            used += 1
            return pool[used - 1]

        chunk: list[int] = []  # token counts of the current chunk's sentences
        size, first, target = 0, 0, 0  # target 0: between documents

        def emit(end: int) -> None:
            if size < 2:
                return
            # A: the sentences before a boundary drawn at random, or half of a one-sentence chunk
            a = sum(chunk[: 1 + int(uniform() * (len(chunk) - 1))]) if len(chunk) >= 2 else max(1, size // 2)
            table.add(first, end - first, a, size, uniform() < 0.5)

        for start, lengths in self._shard_lengths(rows):
            for row, length in enumerate(lengths.tolist(), start):
                if length <= 0:  # a blank line: the document ends
                    emit(row)
                    chunk, size, target = [], 0, 0
                    continue
                if not target:  # a document starts
                    target = budget
                    if uniform() < short_seq_prob:
                        target = 2 + int(uniform() * (budget - 1))
                length = min(length, budget)
                if chunk and size + length > budget:
                    emit(row)
                    chunk, size = [], 0
                if not chunk:
                    first = row
                chunk.append(length)
                size += length
                if size >= target:
                    emit(row + 1)
                    chunk, size = [], 0
        if chunk:  # the rows ended inside a document
            emit(first + len(chunk))
        return CorpusExamples(self, table.finish())

    def tokens_of(self, first: int, end: int) -> np.ndarray:
        """The token ids of rows ``first`` to ``end`` (exclusive), each cut to the budget, concatenated.

        Args:
            first: The first row.
            end: The row after the last.

        Returns:
            The ids, as an int64 array.
        """
        return np.concatenate(
            [np.asarray(self.sentence(r)[: self.budget], dtype=np.int64) for r in range(first, end)]
            or [np.zeros(0, dtype=np.int64)]
        )

    def fingerprint(self) -> dict[str, Any]:
        """What a resumed run must find again, from the manifest (nothing is read or hashed): the inputs' content
        (SHA-256 and size, in order; names may change), the tokenizer and vocabulary digests, the settings the
        ids depend on, and the row and token counts.

        Returns:
            A JSON-ready dict.
        """
        m = self.manifest
        settings = m.get("settings") or {}
        return {
            "format": m.get("format"),
            "tokenizer_sha256": m.get("tokenizer_sha256"),
            "vocabulary_sha256": m.get("vocabulary_sha256"),
            "max_length": settings.get("max_length"),
            "inputs": [
                {"file": os.path.basename(str(i.get("path"))), "sha256": i.get("sha256"), "bytes": i.get("bytes")}
                for i in m.get("inputs", [])
            ],
            "rows": m.get("rows"),
            "tokens": m.get("tokens"),
        }


def _reopen(
    directory: str, accepted: tuple[str, str], max_seq_length: int, cls_id: int, sep_id: int
) -> PretrainingCorpus:
    corpus = PretrainingCorpus.__new__(PretrainingCorpus)
    corpus._open(directory, accepted, max_seq_length, cls_id, sep_id)
    return corpus


class _TableWriter:
    """Example records gathered in small columns and appended to an unlinked temporary file a block at a time;
    :meth:`finish` maps the file. The epoch's table is then page cache (in ``TMPDIR``), not process memory."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="albert-examples-")  # noqa: SIM115 - closed by finish()
        self.columns = tuple(array.array(t) for t in "qHHHB")  # EXAMPLE_DTYPE's fields, no object per example
        self.count = 0

    def add(self, first: int, rows: int, a: int, size: int, swapped: bool) -> None:
        firsts, counts, a_sizes, sizes, swaps = self.columns
        firsts.append(first)
        counts.append(rows)
        a_sizes.append(a)
        sizes.append(size)
        swaps.append(swapped)
        if len(firsts) == _BLOCK_EXAMPLES:
            self._flush()

    def _flush(self) -> None:
        block = np.empty(len(self.columns[0]), dtype=EXAMPLE_DTYPE)
        for name, column in zip(EXAMPLE_DTYPE.names or (), self.columns, strict=True):
            block[name] = np.asarray(column)
            del column[:]
        block.tofile(self.file)
        self.count += len(block)

    def finish(self) -> np.ndarray:
        with self.file:
            self._flush()
            self.file.flush()
            if not self.count:
                return np.empty(0, dtype=EXAMPLE_DTYPE)
            return np.memmap(self.file, dtype=EXAMPLE_DTYPE, mode="r", shape=(self.count,))


def _shuffled(n: int, rng: np.random.Generator) -> np.ndarray:
    """What ``rng.permutation(n)`` gives, in the smallest integer type and in a mapped temporary file."""
    dtype = np.int32 if n < 2**31 else np.int64
    if not n:
        return np.empty(0, dtype=dtype)
    with tempfile.TemporaryFile(prefix="albert-order-") as fh:
        order = np.memmap(fh, dtype=dtype, mode="w+", shape=(n,))  # the map outlives the file object
    for start in range(0, n, _BLOCK_EXAMPLES):
        order[start : start + _BLOCK_EXAMPLES] = np.arange(start, min(n, start + _BLOCK_EXAMPLES), dtype=dtype)
    rng.shuffle(np.asarray(order))  # a plain view of the map: Generator.shuffle swaps a subclass item by item
    return order


class CorpusExamples(Sequence[Example]):
    """Examples as a table of rows into a :class:`PretrainingCorpus`: ``examples[i]`` reads
    ``(A ids, B ids, label)`` (int64 arrays; label 1 when swapped) from the memory map; a slice is another
    :class:`CorpusExamples` (nothing read).

    Args:
        corpus: The corpus the rows are of.
        table: One :data:`EXAMPLE_DTYPE` record per example.
    """

    def __init__(self, corpus: PretrainingCorpus, table: np.ndarray) -> None:
        self.corpus, self.table = corpus, table

    def __len__(self) -> int:
        return len(self.table)

    @overload
    def __getitem__(self, i: int) -> Example: ...
    @overload
    def __getitem__(self, i: slice) -> CorpusExamples: ...
    def __getitem__(self, i: int | slice) -> Example | CorpusExamples:
        if isinstance(i, slice):
            return CorpusExamples(self.corpus, self.table[i])
        first, rows, a, _, swapped = self.table[i].tolist()
        tokens = self.corpus.tokens_of(first, first + rows)
        return (tokens[a:], tokens[:a], 1) if swapped else (tokens[:a], tokens[a:], 0)

    def __iter__(self) -> Iterator[Example]:
        for i in range(len(self)):
            yield self[i]

    @property
    def tokens(self) -> int:
        """The tokens of all the examples (A and B)."""
        return int(self.table["size"].sum(dtype=np.int64))


def epoch_examples(
    corpus: PretrainingCorpus, rows: range, *, seed: int, epoch: int, short_seq_prob: float, batch_size: int
) -> tuple[CorpusExamples, np.ndarray]:
    """The examples of ``epoch`` and the order they are visited in: a pure function of ``(seed, epoch)``, with
    the generators ``albert pretrain`` uses for text (``[seed, epoch]`` for the pairs, ``[seed, epoch, 1]`` for
    the order).

    Args:
        corpus: The opened corpus.
        rows: The training rows (:meth:`PretrainingCorpus.split`).
        seed: The run's seed.
        epoch: The epoch, from 0.
        short_seq_prob: See :meth:`PretrainingCorpus.examples`.
        batch_size: The global batch size: an epoch must hold at least one batch.

    Returns:
        ``(examples, order)``: the order a permutation of ``range(len(examples))`` (int32 below 2**31
        examples, 4 bytes each, else int64), the one ``Generator.permutation`` gives, memory-mapped from a
        temporary file like the examples' table.

    Raises:
        ValueError: fewer examples than ``batch_size``, or ``short_seq_prob`` outside ``[0, 1]``.
    """
    examples = corpus.examples(rows, np.random.default_rng([seed, epoch]), short_seq_prob)
    if len(examples) < batch_size:
        raise ValueError(
            f"only {len(examples)} training examples in {corpus.directory!r}; need at least batch_size="
            f"{batch_size} (more text, or a smaller --batch-size)"
        )
    return examples, _shuffled(len(examples), np.random.default_rng([seed, epoch, 1]))


class CorpusBatches:
    """The batches of one epoch from example ``first`` of ``order`` on, a map-style dataset a torch
    ``DataLoader`` takes with ``batch_size=None``: batch ``k`` holds the examples at ``order[first + k *
    batch_size:][:batch_size]``, masked by ``collator`` with the generator ``[seed, epoch, 3, start]``, so
    it is the same in this process, in worker processes and after a resume. ``examples`` may be any sequence
    of examples (a list from ``make_examples`` too).

    Args:
        examples: The epoch's examples.
        order: The order they are visited in (int array).
        first: How many of the order were already trained on (the loop's position).
        batch_size: Examples per batch; a last partial batch is dropped.
        seed: The run's seed.
        epoch: The epoch.
        collator: Builds and masks a batch.
    """

    def __init__(
        self,
        examples: Sequence[Example],
        order: np.ndarray,
        first: int,
        batch_size: int,
        seed: int,
        epoch: int,
        collator: PretrainingCollator,
    ) -> None:
        self.examples, self.order, self.first = examples, order, first
        self.batch_size, self.seed, self.epoch, self.collator = batch_size, seed, epoch, collator

    def __len__(self) -> int:
        return max(0, (len(self.order) - self.first) // self.batch_size)

    def __getitem__(self, k: int) -> dict[str, Any]:
        if not 0 <= k < len(self):
            raise IndexError(f"batch {k} is outside the epoch's {len(self)} batches")
        start = self.first + k * self.batch_size
        picked = self.order[start : start + self.batch_size].tolist()
        rng = np.random.default_rng([self.seed, self.epoch, 3, start])
        return self.collator([self.examples[j] for j in picked], rng=rng)
