"""The tokenizer commands, which need no torch (also ``python -m albert_tok``):

    albert tokenize TEXT... [--model DIR|REPO_ID] [--json] [--input FILE]
    albert train-vocab FILE... --output DIR [--vocab-size N]
    albert tokenize-corpus FILE... --out DIR [--tokenizer DIR] [--max-length 512] [--pair-sentences] [--workers N]

The ``albert`` command (:mod:`albert_model.cli`) offers these beside the model commands. Texts come from
the arguments, from standard input (one per line) when none are given, or from ``--input FILE`` with a
progress bar. The default tokenizer is the one of the model shipped with the package. Bad input ends
with exit code 2 and one line on standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

from albert_tok.api import DEFAULT_TOKENIZER
from albert_tok.io import first_invalid_utf8, regular_file

__all__ = [
    "ArgumentParser",
    "UsageError",
    "add_commands",
    "build_parser",
    "default_tokenizer_dir",
    "emit",
    "main",
    "read_texts",
    "run",
    "text_batches",
]


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` whose errors are one line (``prog: error: message``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message (see prog --help)`` on standard error and exit with code 2.

        ``argparse`` calls this for every parsing error (unknown option, missing argument, bad choice); the
        stock parser prints its whole usage first, this one keeps the error to one line.

        Args:
            message: What ``argparse`` found wrong with the arguments, as it words it.

        Returns:
            Never: it always exits.

        Raises:
            SystemExit: Always, with code 2 (raised by ``self.exit`` after printing the line).
        """
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def default_tokenizer_dir() -> str:
    """The tokenizer of the model shipped with the package (``albert_model/default_model``), found by
    path: neither torch nor :mod:`albert_model` is imported.

    Returns:
        The path of the shipped model's directory (``albert_tok.api.DEFAULT_TOKENIZER``), which holds its
        tokenizer files.

    Raises:
        UsageError: When that directory does not exist (the package was installed without the shipped
            model); the message says to pass ``--model DIR`` (``--tokenizer DIR`` for ``tokenize-corpus``).
    """
    if os.path.isdir(DEFAULT_TOKENIZER):
        return DEFAULT_TOKENIZER
    raise UsageError(
        "no tokenizer given and the shipped model (albert_model/default_model) is not installed: "
        "pass --model DIR (--tokenizer DIR for tokenize-corpus)"
    )


def read_texts(ns: argparse.Namespace) -> list[str]:
    """The texts of a command: ``--input FILE`` (non-blank lines), the TEXT arguments, or standard input.

    Args:
        ns: The parsed command line. ``ns.input`` (optional, may be absent) is a UTF-8 file read one text per
            line, blank lines skipped; otherwise ``ns.text`` (the TEXT arguments) when it is not empty;
            otherwise the non-blank lines of standard input, which must not be a terminal.

    Returns:
        The texts in order, without their trailing newlines.

    Raises:
        UsageError: When ``--input`` is not valid UTF-8 (the message gives the byte offset and line of the first
            bad byte), when no TEXT is given and standard input is a terminal or closed, or when standard input
            is not valid UTF-8.
        OSError: When ``--input`` does not exist (``FileNotFoundError``), is not a regular file (a directory, a
            device, a FIFO: ``NotARegularFileError``, refused before any read) or cannot be opened.
    """
    if getattr(ns, "input", None):
        try:  # a directory, a device such as /dev/zero or a FIFO is refused, never read (forever)
            with open(regular_file(ns.input, "input file"), encoding="utf-8") as fh:
                lines = [line.rstrip("\n") for line in fh]
        except UnicodeDecodeError:
            bad = first_invalid_utf8(ns.input)
            offset, line = (bad.offset, bad.line) if bad is not None else (0, 1)
            raise UsageError(f"input file {ns.input!r} is not UTF-8 (byte offset {offset}) on line {line}") from None
        return [line for line in lines if line.strip()]
    if ns.text:
        return list(ns.text)
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no text given: pass TEXT arguments, --input FILE, or pipe lines on standard input")
    try:
        return [line.rstrip("\n") for line in sys.stdin if line.strip()]
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not UTF-8 (byte offset {exc.start} of a read block)") from None


def text_batches(texts: list[str], size: int, progress: bool) -> Iterable[list[str]]:
    """``texts`` in batches of ``size``, with a progress bar on standard error when asked.

    Args:
        texts: The texts to split, in order.
        size: How many texts each batch holds (the last one may hold fewer); a positive int.
        progress: True to show a ``tqdm`` bar counting lines on standard error (only when standard error is a
            terminal); it advances after each batch has been consumed and is closed at the end.

    Yields:
        Consecutive slices of ``texts`` of ``size`` texts each; nothing when ``texts`` is empty.
    """
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), unit="line", file=sys.stderr, disable=None)  # terminals only
    for i in range(0, len(texts), size):
        batch = texts[i : i + size]
        yield batch
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()


def emit(ns: argparse.Namespace, text: str, result: Any, render: Callable[[str, Any], str]) -> None:
    """Print one result: a JSON line with ``--json``, else ``render(text, result)``.

    Args:
        ns: The parsed command line; ``ns.json`` True prints ``{"input": text, "result": result}`` as one JSON
            line (non-ASCII characters kept as they are).
        text: The input the result belongs to.
        result: What the command computed for ``text``; it must be JSON-serialisable when ``ns.json`` is set.
        render: Turns ``(text, result)`` into the human-readable lines printed without ``--json``.
    """
    if ns.json:
        print(json.dumps({"input": text, "result": result}, ensure_ascii=False))
    else:
        print(render(text, result))


def _tokenizer_dir(name: str | None) -> str:
    """``--model``/``--tokenizer``: a directory as it is, a Hugging Face repo id as its snapshot in the standard
    cache (downloaded unless ``HF_HUB_OFFLINE=1``), None as the shipped tokenizer."""
    from albert_tok.io import resolve_directory

    return default_tokenizer_dir() if name is None else resolve_directory(name, what="tokenizer")


def _render_tokens(text: str, result: dict[str, Any]) -> str:
    return " ".join(result["tokens"]) + "\n" + " ".join(map(str, result["input_ids"]))


def _tokenize(ns: argparse.Namespace) -> None:
    from albert_tok.data import load_tokenizer

    tok = load_tokenizer(_tokenizer_dir(ns.model))
    texts = read_texts(ns)
    for batch in text_batches(texts, 4096, bool(ns.input)):
        for text, ids in zip(batch, tok(batch)["input_ids"], strict=False):
            emit(ns, text, {"tokens": tok.convert_ids_to_tokens(ids), "input_ids": ids}, _render_tokens)


def _train_vocab(ns: argparse.Namespace) -> None:
    import warnings

    from albert_tok.api import VocabularySizeWarning, train_vocabulary

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VocabularySizeWarning)
        files = train_vocabulary(ns.files, ns.output, vocab_size=ns.vocab_size)
    print("\n".join(files))
    for w in caught:
        print(f"albert train-vocab: warning: {w.message}", file=sys.stderr)


def _tokenize_corpus(ns: argparse.Namespace) -> None:
    from albert_tok.data import load_tokenizer, tokenize_corpus

    tok = load_tokenizer(_tokenizer_dir(ns.tokenizer))
    manifest = tokenize_corpus(
        ns.inputs,
        ns.out,
        tok,
        max_length=ns.max_length,
        pair_sentences=ns.pair_sentences,
        workers=ns.workers,
        shard_lines=ns.shard_lines,
        errors=ns.errors,
        format=ns.format,
        progress=not ns.no_progress,
    )
    print(json.dumps({k: manifest[k] for k in ("shards", "rows", "tokens", "vocabulary_sha256")}))


def add_commands(sub: Any) -> None:
    """Add ``tokenize``, ``train-vocab`` and ``tokenize-corpus`` to a subparsers object.

    Each sub-parser sets ``run`` to the function carrying out its command (called by :func:`run`).

    Args:
        sub: The object ``ArgumentParser.add_subparsers()`` returned; the three commands are added to it, so the
            ``albert`` parser of :mod:`albert_model.cli` can offer them beside its own.
    """
    p = sub.add_parser(
        "tokenize",
        help="show the canonical ALBERT tokens and ids of each text",
        description="Print the tokens and ids of each text ([CLS] ... [SEP]).",
    )
    p.add_argument("text", nargs="*", help="input texts (default: lines of standard input)")
    p.add_argument(
        "--model",
        help="tokenizer or model directory, or a Hugging Face repo id such as albert/albert-base-v2 (the cache "
        "first, downloaded unless HF_HUB_OFFLINE=1; default: the model shipped with the package)",
    )
    p.add_argument("--input", help="read one text per line from FILE (shows a progress bar)")
    p.add_argument("--json", action="store_true", help="one JSON object per input on standard output")
    p.set_defaults(run=_tokenize)
    p = sub.add_parser(
        "train-vocab",
        help="train a new ALBERT-style SentencePiece vocabulary",
        description="Train a unigram vocabulary with <pad>=0 <unk>=1 [CLS]=2 [SEP]=3 [MASK]=4 and "
        "save it as a tokenizer directory.",
    )
    p.add_argument("files", nargs="+")
    p.add_argument("--output", required=True)
    p.add_argument("--vocab-size", type=int, default=8000)
    p.set_defaults(run=_train_vocab)
    p = sub.add_parser(
        "tokenize-corpus",
        help="tokenize text files into memory-mappable shards (resumable)",
        description="Stream text files (or - for standard input) into shards of token ids under "
        "--out, across worker processes. A rerun keeps the shards whose lines, tokenizer "
        "and settings are unchanged and redoes the others. Read them back with "
        "albert_tok.data.ShardedCorpus.",
    )
    p.add_argument("inputs", nargs="+", help="UTF-8 text files, one text per line; - for standard input")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--tokenizer", help="tokenizer directory or Hugging Face repo id (default: the shipped model's)")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--pair-sentences", action="store_true", help="encode consecutive lines as [CLS] A [SEP] B [SEP]")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: min(2, CPUs))")
    p.add_argument("--shard-lines", type=int, default=50_000)
    p.add_argument("--format", choices=["npy", "parquet"], default="npy")
    p.add_argument(
        "--errors",
        choices=["strict", "replace"],
        default="strict",
        help="on invalid UTF-8: stop with the file and byte offset (strict) or replace it",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_tokenize_corpus)


def build_parser(prog: str = "python -m albert_tok") -> ArgumentParser:
    """The parser of the tokenizer commands alone, named ``prog`` in its messages.

    Args:
        prog: The program name shown in usage and error messages (default: ``python -m albert_tok``).

    Returns:
        An :class:`ArgumentParser` (one-line errors, exit code 2) with the tokenizer commands as required
        sub-commands, stored in ``command``.
    """
    parser = ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def run(ns: argparse.Namespace, prog: str, errors: tuple[type[BaseException], ...] = ()) -> int:
    """Run the parsed command; bad input (``UsageError``, ``ValueError``, ``OSError`` and ``errors``)
    becomes one line on standard error and exit code 2.

    A closed standard output (``BrokenPipeError``, e.g. piped into ``head``) stops quietly with code 0, and
    Ctrl-C prints ``prog COMMAND: interrupted`` and gives 130. Any other exception propagates.

    Args:
        ns: The parsed command line; ``ns.run`` is the command's function (called with ``ns``) and
            ``ns.command`` its name, used in the messages.
        prog: The program name the messages start with (``albert``, ``python -m albert_tok``).
        errors: More exception types to report as bad input, beside the three always caught (default: none).

    Returns:
        The exit code: 0 on success or a broken pipe, 2 for bad input, 130 when interrupted.
    """
    caught: tuple[type[BaseException], ...] = (UsageError, ValueError, OSError, *errors)
    try:
        ns.run(ns)
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prog} {ns.command}: interrupted", file=sys.stderr)
        return 130
    except caught as exc:
        message = " ".join(str(exc).splitlines())  # one line, whatever the exception holds
        print(f"{prog} {ns.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m albert_tok``: parse ``argv`` (None: ``sys.argv[1:]``), run the command, return the exit code.

    Args:
        argv: The command-line arguments without the program name; None (the default) reads ``sys.argv[1:]``.

    Returns:
        The exit code of :func:`run`: 0 on success, 2 for bad input, 130 when interrupted.

    Raises:
        SystemExit: From the parser: code 2 for arguments it cannot parse (one line on standard error), code 0
            after printing ``--help``.
    """
    parser = build_parser()
    return run(parser.parse_args(argv), parser.prog)


if __name__ == "__main__":
    sys.exit(main())
