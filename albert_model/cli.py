"""The ``albert`` command (also ``python -m albert_model``): text in, answers out.

    albert fill-mask "Plants create [MASK] through photosynthesis." [--top-k 5] [--model DIR] [--json]
    albert classify TEXT... [--model DIR]
    albert answer --question Q --context C [--model DIR]
    albert pretrain --tokenizer DIR --train FILE... --output DIR [--steps N] [--resume]
    albert tokenize TEXT... [--model DIR]
    albert train-vocab FILE... --output DIR [--vocab-size N]
    albert tokenize-corpus FILE... --out DIR [--max-length 512] [--pair-sentences] [--workers N]

The last three are the tokenizer commands of :mod:`albert_tok.cli` and need no torch: this module imports
torch (through the pipelines) only when a model command runs. Texts come from the arguments, from
standard input (one per line) when none are given, or from ``--input FILE`` with a progress bar. Bad
input ends with exit code 2 and one line on standard error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from albert_tok.cli import ArgumentParser, UsageError, add_commands, emit, read_texts, run, text_batches

__all__ = ["MODEL_COMMANDS", "TORCH_INSTALL", "build_parser", "main"]

MODEL_COMMANDS = ("fill-mask", "classify", "answer", "pretrain")
TORCH_INSTALL = "pip install torch==2.13.0"


def _fill_mask(ns: argparse.Namespace) -> None:
    from .pipelines import pipeline

    texts = read_texts(ns)
    pipe: Any = pipeline("fill-mask", model=ns.model, batch_size=ns.batch_size)
    for batch in text_batches(texts, 256, bool(ns.input)):
        for text, result in zip(batch, pipe(batch, top_k=ns.top_k)):
            emit(ns, text, result, _render_fill_mask)


def _render_fill_mask(text: str, result: Any) -> str:
    groups = result if result and isinstance(result[0], list) else [result]
    lines = [text]
    for g, answers in enumerate(groups):
        if len(groups) > 1:
            lines.append(f"  mask {g + 1}:")
        lines += [f"  {a['score']:.4f}  {a['token_str']:<15} {a['sequence']}" for a in answers]
    return "\n".join(lines)


def _classify(ns: argparse.Namespace) -> None:
    from .pipelines import pipeline

    texts = read_texts(ns)
    pipe: Any = pipeline("text-classification", model=ns.model, batch_size=ns.batch_size)
    for batch in text_batches(texts, 256, bool(ns.input)):
        for text, result in zip(batch, pipe(batch)):
            emit(ns, text, result, lambda t, r: f"{r['label']}\t{r['score']:.4f}\t{t}")


def _answer(ns: argparse.Namespace) -> None:
    from .pipelines import pipeline

    pipe: Any = pipeline("question-answering", model=ns.model)
    result = pipe(question=ns.question, context=ns.context)
    emit(ns, ns.question, result, lambda t, r: f"{r['answer']}\t(score {r['score']:.4f}, chars {r['start']}-{r['end']})")


def _pretrain(ns: argparse.Namespace) -> None:
    from .pretrain import args_from_namespace, pretrain

    print(json.dumps(pretrain(args_from_namespace(ns)), indent=1))


def _model_args(p: argparse.ArgumentParser, texts: bool = True) -> None:
    p.add_argument("--model", help="checkpoint directory (default: the model shipped with the package)")
    p.add_argument("--json", action="store_true", help="one JSON object per input on standard output")
    if texts:
        p.add_argument("text", nargs="*", help="input texts (default: lines of standard input)")
        p.add_argument("--input", help="read one text per line from FILE (shows a progress bar)")
        p.add_argument("--batch-size", type=int, default=32)


def build_parser(pretrain_arguments: bool = True) -> argparse.ArgumentParser:
    """The ``albert`` parser. ``pretrain``'s arguments come from :mod:`albert_model.pretrain`, which
    imports torch: with ``pretrain_arguments=False`` that subcommand is listed without them."""
    parser = ArgumentParser(prog="albert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("fill-mask", help="predict the [MASK] token(s) of each text",
                       description="Print the top-k fillers of each [MASK] with their probabilities.")
    _model_args(p)
    p.add_argument("--top-k", type=int, default=5)
    p.set_defaults(run=_fill_mask)
    p = sub.add_parser("classify", help="label each text with a sequence-classification model",
                       description="Print the best label and its score for each text.")
    _model_args(p)
    p.set_defaults(run=_classify)
    p = sub.add_parser("answer", help="extract the answer to a question from a context",
                       description="Print the best answer span of --context for --question.")
    _model_args(p, texts=False)
    p.add_argument("--question", required=True)
    p.add_argument("--context", required=True)
    p.set_defaults(run=_answer)
    p = sub.add_parser("pretrain", help="pretrain an ALBERT (masked LM with n-gram masking + sentence order)",
                       description="ALBERT pretraining on text files; resumable (see albert_model/pretrain.py).")
    if pretrain_arguments:
        from .pretrain import build_parser as pretrain_parser

        pretrain_parser(p)
    p.set_defaults(run=_pretrain)
    add_commands(sub)
    return parser


def _torch_missing() -> str | None:
    """Why torch cannot be imported, or None when it can."""
    try:
        importlib.import_module("torch")
    except ImportError as exc:
        return str(exc) or "No module named 'torch'"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command in MODEL_COMMANDS:
        missing = _torch_missing()
        if missing is not None:
            print(f"albert {command}: error: this command needs PyTorch, which cannot be imported ({missing}); "
                  f"install it with: {TORCH_INSTALL}", file=sys.stderr)
            return 2
    ns = build_parser(pretrain_arguments=command == "pretrain").parse_args(args)
    return run(ns, "albert", errors=(UsageError, TypeError))


if __name__ == "__main__":
    sys.exit(main())
