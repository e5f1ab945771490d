"""The ``albert`` command (also ``python -m albert_model``): text in, answers out.

    albert fill-mask "Plants create [MASK] through photosynthesis." [--top-k 5] [--model DIR] [--json]
    albert classify TEXT... [--model DIR]
    albert answer --question Q --context C [--model DIR]
    albert tokenize TEXT... [--model DIR]
    albert train-vocab FILE... --output DIR [--vocab-size N]
    albert tokenize-corpus FILE... --out DIR [--max-length 512] [--pair-sentences] [--workers N]
    albert pretrain --tokenizer DIR --train FILE... --output DIR [--steps N] [--resume]

Texts come from the arguments, from standard input (one per line) when none are given, or from
``--input FILE`` with a progress bar. Bad input ends with exit code 2 and one line on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Iterable, Sequence

__all__ = ["main", "build_parser"]


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


def _texts(ns: argparse.Namespace) -> list[str]:
    if getattr(ns, "input", None):
        try:
            with open(ns.input, encoding="utf-8") as fh:
                lines = [line.rstrip("\n") for line in fh]
        except FileNotFoundError:
            raise UsageError(f"input file {ns.input!r} does not exist") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"input file {ns.input!r} is not UTF-8 (byte offset {exc.start})") from None
        return [line for line in lines if line.strip()]
    if ns.text:
        return list(ns.text)
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("no text given: pass TEXT arguments, --input FILE, or pipe lines on standard input")
    return [line.rstrip("\n") for line in sys.stdin if line.strip()]


def _chunks(texts: list[str], size: int, progress: bool) -> Iterable[list[str]]:
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), unit="line", file=sys.stderr)
        except ImportError:  # progress is optional
            bar = None
    for i in range(0, len(texts), size):
        chunk = texts[i:i + size]
        yield chunk
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()


def _emit(ns: argparse.Namespace, text: str, result: Any, render: Any) -> None:
    if ns.json:
        print(json.dumps({"input": text, "result": result}, ensure_ascii=False))
    else:
        print(render(text, result))


def _fill_mask(ns: argparse.Namespace) -> None:
    from .pipelines import pipeline

    texts = _texts(ns)
    pipe = pipeline("fill-mask", model=ns.model, batch_size=ns.batch_size)
    for chunk in _chunks(texts, 256, bool(ns.input)):
        results = pipe(chunk, top_k=ns.top_k)
        for text, result in zip(chunk, results):
            def render(t: str, r: Any) -> str:
                groups = r if r and isinstance(r[0], list) else [r]
                lines = [t]
                for g, answers in enumerate(groups):
                    if len(groups) > 1:
                        lines.append(f"  mask {g + 1}:")
                    lines += [f"  {a['score']:.4f}  {a['token_str']:<15} {a['sequence']}" for a in answers]
                return "\n".join(lines)

            _emit(ns, text, result, render)


def _classify(ns: argparse.Namespace) -> None:
    from .pipelines import pipeline

    texts = _texts(ns)
    pipe = pipeline("text-classification", model=ns.model, batch_size=ns.batch_size)
    for chunk in _chunks(texts, 256, bool(ns.input)):
        for text, result in zip(chunk, pipe(chunk)):
            _emit(ns, text, result, lambda t, r: f"{r['label']}\t{r['score']:.4f}\t{t}")


def _answer(ns: argparse.Namespace) -> None:
    from .pipelines import pipeline

    pipe = pipeline("question-answering", model=ns.model)
    result = pipe(question=ns.question, context=ns.context)
    _emit(ns, ns.question, result, lambda t, r: f"{r['answer']}\t(score {r['score']:.4f}, chars {r['start']}-{r['end']})")


def _tokenize(ns: argparse.Namespace) -> None:
    from albert_tok import AlbertTokenizerFast

    from .pipelines import DEFAULT_MODEL

    tok = AlbertTokenizerFast.from_pretrained(ns.model or DEFAULT_MODEL)
    texts = _texts(ns)
    for chunk in _chunks(texts, 4096, bool(ns.input)):
        for text, ids in zip(chunk, tok(chunk)["input_ids"]):
            tokens = tok.convert_ids_to_tokens(ids)
            _emit(ns, text, {"tokens": tokens, "input_ids": ids},
                  lambda t, r: " ".join(r["tokens"]) + "\n" + " ".join(map(str, r["input_ids"])))


def _train_vocab(ns: argparse.Namespace) -> None:
    from albert_tok.train import train_vocabulary

    paths = train_vocabulary(ns.files, ns.output, vocab_size=ns.vocab_size)
    print("\n".join(paths))


def _tokenize_corpus(ns: argparse.Namespace) -> None:
    from albert_tok import AlbertTokenizerFast
    from albert_tok.corpus import tokenize_corpus

    from .pipelines import DEFAULT_MODEL

    tok = AlbertTokenizerFast.from_pretrained(ns.tokenizer or DEFAULT_MODEL)
    manifest = tokenize_corpus(ns.inputs, ns.out, tok, max_length=ns.max_length, pair_sentences=ns.pair_sentences,
                               workers=ns.workers, shard_lines=ns.shard_lines, errors=ns.errors,
                               format=ns.format, progress=not ns.no_progress)
    print(json.dumps({k: manifest[k] for k in ("shards", "rows", "tokens", "vocabulary_sha256")}))


def _pretrain(ns: argparse.Namespace) -> None:
    from .pretrain import args_from_namespace, pretrain

    print(json.dumps(pretrain(args_from_namespace(ns)), indent=1))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="albert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def model_args(p: argparse.ArgumentParser, texts: bool = True) -> None:
        p.add_argument("--model", help="checkpoint directory (default: the model shipped with the package)")
        p.add_argument("--json", action="store_true", help="one JSON object per input on standard output")
        if texts:
            p.add_argument("text", nargs="*", help="input texts (default: lines of standard input)")
            p.add_argument("--input", help="read one text per line from FILE (shows a progress bar)")
            p.add_argument("--batch-size", type=int, default=32)

    p = sub.add_parser("fill-mask", help="predict the [MASK] token(s) of each text",
                       description="Print the top-k fillers of each [MASK] with their probabilities.")
    model_args(p)
    p.add_argument("--top-k", type=int, default=5)
    p.set_defaults(run=_fill_mask)
    p = sub.add_parser("classify", help="label each text with a sequence-classification model",
                       description="Print the best label and its score for each text.")
    model_args(p)
    p.set_defaults(run=_classify)
    p = sub.add_parser("answer", help="extract the answer to a question from a context",
                       description="Print the best answer span of --context for --question.")
    model_args(p, texts=False)
    p.add_argument("--question", required=True)
    p.add_argument("--context", required=True)
    p.set_defaults(run=_answer)
    p = sub.add_parser("tokenize", help="show the canonical ALBERT tokens and ids of each text",
                       description="Print the tokens and ids of each text ([CLS] ... [SEP]).")
    model_args(p)
    p.set_defaults(run=_tokenize)
    p = sub.add_parser("train-vocab", help="train a new ALBERT-style SentencePiece vocabulary",
                       description="Train a unigram vocabulary with <pad>=0 <unk>=1 [CLS]=2 [SEP]=3 [MASK]=4 and "
                                   "save it as a tokenizer directory.")
    p.add_argument("files", nargs="+")
    p.add_argument("--output", required=True)
    p.add_argument("--vocab-size", type=int, default=8000)
    p.set_defaults(run=_train_vocab)
    p = sub.add_parser("tokenize-corpus", help="tokenize text files into memory-mappable shards (resumable)",
                       description="Stream text files (or - for standard input) into shards of token ids under "
                                   "--out, across worker processes; a rerun skips shards already complete. "
                                   "Read them back with albert_tok.corpus.ShardedCorpus.")
    p.add_argument("inputs", nargs="+", help="UTF-8 text files, one text per line; - for standard input")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--tokenizer", help="tokenizer directory (default: the shipped model's)")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--pair-sentences", action="store_true", help="encode consecutive lines as [CLS] A [SEP] B [SEP]")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: min(2, CPUs))")
    p.add_argument("--shard-lines", type=int, default=50_000)
    p.add_argument("--format", choices=["npy", "parquet"], default="npy")
    p.add_argument("--errors", choices=["strict", "replace"], default="strict",
                   help="on invalid UTF-8: stop with the file and byte offset (strict) or replace it")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_tokenize_corpus)
    from .pretrain import build_parser as pretrain_parser

    p = sub.add_parser("pretrain", help="pretrain an ALBERT (masked LM with n-gram masking + sentence order)",
                       description="ALBERT pretraining on text files; resumable (see albert_model/pretrain.py).")
    pretrain_parser(p)
    p.set_defaults(run=_pretrain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        ns.run(ns)
    except (UsageError, ValueError, FileNotFoundError, NotADirectoryError, TypeError, PermissionError) as exc:
        print(f"albert {ns.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
