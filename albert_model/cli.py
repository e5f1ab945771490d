"""The ``albert`` command (also ``python -m albert_model``): text in, answers out.

    albert fill-mask "Plants create [MASK] through photosynthesis." [--top-k 5] [--model DIR] [--json]
    albert classify TEXT... --model DIR            (a directory fine-tuned for text classification)
    albert tag TEXT... --model DIR [--aggregation simple]   (fine-tuned for token classification)
    albert answer --question Q --context C --model DIR      (fine-tuned for question answering)
    albert embed TEXT... [--pooling mean|cls|max] [--no-normalize] [--output FILE.npy|FILE.jsonl]
    albert export-onnx DIR|REPO_ID [--output OUT] [--task TASK] [--quantize int8]
    albert convert-tf CKPT [--config albert_config.json] [--spm 30k-clean.model] --out DIR   (Google's TF)
    albert pretrain --tokenizer DIR --train FILE... | --corpus SHARDS --output DIR [--max-tokens N] [--resume]
                    [--init-from DIR|REPO_ID] [--recipe albert-base] [--accumulate N] [--optimizer lamb]
    torchrun --nproc-per-node N -m albert_model pretrain ...     (data parallel; finetune the same)
    albert finetune --task TASK --train FILE... --output DIR [--eval FILE...] [--resume]
    albert serve [--model DIR] [--task TASK] [--backend onnxruntime] [--port 8080]   (HTTP on 127.0.0.1)
    albert tokenize TEXT... [--model DIR]
    albert train-vocab FILE... --output DIR [--vocab-size N]
    albert tokenize-corpus FILE... --out DIR [--max-length 512] [--pair-sentences] [--workers N]

``--model`` and ``--tokenizer`` (and ``export-onnx``'s ``DIR``) take a directory or a Hugging Face repo id
(``albert/albert-base-v2``, with ``--revision REV``): the standard cache first, a download unless
``HF_HUB_OFFLINE=1``. The prediction commands take ``--backend onnxruntime`` (the checkpoint exported once
into ``DIR/onnx/``, ``--quantize int8`` for int8 weights, ``--threads N``) and ``--device``. A model without
the command's trained task head (the shipped model is a masked language model: it cannot classify, tag or
answer) is refused: fine-tune one first. The last three are the tokenizer commands of :mod:`albert_tok.cli`
and need no torch: this module imports torch (through the pipelines) only when a model command runs. Texts
come from the arguments, from standard input (one per line) when none are given, or from ``--input FILE`` with
a progress bar. Bad input ends with exit code 2 and one line on standard error.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from albert_model._tasks import TASK_TABLE
from albert_model.serving import add_serve_parser
from albert_tok.cli import ArgumentParser, UsageError, add_commands, emit, read_texts, run, text_batches
from albert_tok.io import resolve_directory

__all__ = ["MODEL_COMMANDS", "TORCH_INSTALL", "build_parser", "main"]

MODEL_COMMANDS = (
    "fill-mask",
    "classify",
    "tag",
    "answer",
    "embed",
    "export-onnx",
    "convert-tf",
    "pretrain",
    "finetune",
    "serve",
)
TORCH_INSTALL = (
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu (CPU only), or "
    "pip install torch==2.13.0 (NVIDIA GPU on Linux: the CUDA build)"
)
_AGGREGATIONS = ("none", "simple", "first", "average", "max")
_EXPORT_TASKS = ", ".join(row.name for row in TASK_TABLE)


def _device(value: str) -> str | int:
    """``--device``: a name (``cpu``, ``cuda:0``) or transformers' ints (``-1`` is the CPU)."""
    return int(value) if value.lstrip("-").isdigit() else value


def _pipeline(ns: argparse.Namespace, task: str, **defaults: Any) -> Any:
    """The pipeline a prediction command asked for; a missing task head or onnx extra is a one-line error."""
    from albert_model.checkpoints import MissingHeadError
    from albert_model.pipelines import pipeline

    if ns.backend != "onnxruntime":
        for flag, value in (("--quantize", ns.quantize), ("--threads", ns.threads)):
            if value is not None:
                raise UsageError(f"{flag} is an option of --backend onnxruntime")
    try:
        return pipeline(
            task,
            model=ns.model,
            tokenizer=ns.tokenizer,
            device=ns.device,
            batch_size=getattr(ns, "batch_size", 32),
            backend=ns.backend,
            quantize=ns.quantize,
            threads=ns.threads,
            revision=ns.revision,
            **defaults,
        )
    except MissingHeadError:
        if ns.model is not None:
            raise  # its message names the directory, the missing weights and the fix
        raise UsageError(
            f"the shipped model is a masked language model without a {task} head: fine-tune it for "
            f"{task} first, or pass --model DIR, a directory fine-tuned for {task}"
        ) from None
    except ImportError as exc:  # --backend onnxruntime without the onnx extra
        raise UsageError(str(exc)) from None


def _predict_texts(ns: argparse.Namespace, task: str, render: Callable[[str, Any], str], **call: Any) -> None:
    """The texts of ``ns`` through the ``task`` pipeline in batches, each result emitted as it comes."""
    texts = read_texts(ns)
    pipe = _pipeline(ns, task)
    for batch in text_batches(texts, 256, bool(ns.input)):
        for text, result in zip(batch, pipe(batch, **call), strict=False):
            emit(ns, text, result, render)


def _fill_mask(ns: argparse.Namespace) -> None:
    _predict_texts(ns, "fill-mask", _render_fill_mask, top_k=ns.top_k)


def _render_fill_mask(text: str, result: Any) -> str:
    groups = result if result and isinstance(result[0], list) else [result]
    lines = [text]
    for g, answers in enumerate(groups):
        if len(groups) > 1:
            lines.append(f"  mask {g + 1}:")
        lines += [f"  {a['score']:.4f}  {a['token_str']:<15} {a['sequence']}" for a in answers]
    return "\n".join(lines)


def _classify(ns: argparse.Namespace) -> None:
    _predict_texts(ns, "text-classification", lambda t, r: f"{r['label']}\t{r['score']:.4f}\t{t}")


def _tag(ns: argparse.Namespace) -> None:
    _predict_texts(ns, "token-classification", _render_tags, aggregation_strategy=ns.aggregation)


def _render_tags(text: str, result: list[dict[str, Any]]) -> str:
    lines = [text]
    for e in result:
        label = e.get("entity_group", e.get("entity"))
        lines.append(f"  {label:<10} {e['score']:.4f}  {e['start']}-{e['end']}  {text[e['start'] : e['end']].strip()}")
    return "\n".join(lines)


def _answer(ns: argparse.Namespace) -> None:
    pipe = _pipeline(ns, "question-answering")
    result = pipe(question=ns.question, context=ns.context, top_k=ns.top_k)
    emit(ns, ns.question, result, _render_answers)


def _render_answers(question: str, result: Any) -> str:
    answers = result if isinstance(result, list) else [result]
    return "\n".join(f"{r['answer']}\t(score {r['score']:.4f}, chars {r['start']}-{r['end']})" for r in answers)


def _embed(ns: argparse.Namespace) -> None:
    """Sentence embeddings: JSON lines on standard output, or a whole ``.npy``/``.jsonl`` file written atomically."""
    import numpy as np

    from albert_tok.io import atomic

    kind = _embed_output_kind(ns.output)
    texts = read_texts(ns)
    pipe = _pipeline(ns, "sentence-embedding", pooling=ns.pooling, normalize=ns.normalize)
    if kind is None:  # standard output: each batch printed as it comes
        for batch in text_batches(texts, 256, bool(ns.input)):
            for text, vector in zip(batch, pipe(batch), strict=True):
                print(_embedding_line(text, vector))
        return
    vectors = [pipe(batch) for batch in text_batches(texts, 256, bool(ns.input))]
    matrix = np.concatenate(vectors) if vectors else pipe([])  # (texts, hidden_size) float32
    if kind == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, matrix, allow_pickle=False)
        data = buffer.getvalue()
    else:
        data = "".join(_embedding_line(t, v) + "\n" for t, v in zip(texts, matrix, strict=True)).encode("utf-8")
    atomic.write_file(ns.output, data)
    print(ns.output)


def _embed_output_kind(path: str | None) -> str | None:
    """``--output``'s format by its extension (None: standard output), checked before the model loads."""
    if path is None:
        return None
    kind = os.path.splitext(path)[1].lower()
    if kind not in (".npy", ".jsonl"):
        raise UsageError(f"--output must end with .npy or .jsonl, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"--output {path!r}: directory {folder!r} does not exist")
    return kind


def _embedding_line(text: str, vector: Any) -> str:
    """One JSON line: the text and its vector (float32 values written as the floats they are)."""
    return json.dumps({"text": text, "embedding": vector.tolist()}, ensure_ascii=False)


def _export_onnx(ns: argparse.Namespace) -> None:
    from albert_model.onnx import OnnxAlbertModel, cached_export, export_onnx

    try:
        source = resolve_directory(ns.dir, what="model", revision=ns.revision)  # a repo id: its cached snapshot
        if ns.output:
            path = export_onnx(source, ns.output, task=ns.task, quantize=ns.quantize)
        else:  # DIR/onnx/<Class>[.int8].onnx (a hub snapshot's in the user's cache), which --backend onnxruntime reads
            path = cached_export(source, task=ns.task, quantize=ns.quantize)
        graph = OnnxAlbertModel.from_onnx(path, threads=1)  # it loads, and says whether its head was trained
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    print(path)
    if graph.missing_head:
        print(
            f"albert export-onnx: warning: {ns.dir} has no trained weights for the {graph.model_class} task head "
            f"({', '.join(graph.missing_head)}): they are random in the graph, and pipelines refuse it; fine-tune "
            f"the checkpoint first",
            file=sys.stderr,
        )


def _pretrain(ns: argparse.Namespace) -> None:
    from albert_model.training import pretrain, pretrain_args

    print(json.dumps(pretrain(pretrain_args(ns)), indent=1))


def _model_args(p: argparse.ArgumentParser, texts: bool = True, needs: str | None = None) -> None:
    """Arguments every prediction command shares; ``needs``: the fine-tuned head ``--model`` must have."""
    default = (
        "the model shipped with the package"
        if needs is None
        else f"the shipped model, which has no {needs} head: pass a directory fine-tuned for {needs}"
    )
    p.add_argument(
        "--model",
        help="checkpoint directory or Hugging Face repo id (albert/albert-base-v2: the cache first, downloaded "
        f"unless HF_HUB_OFFLINE=1), or an .onnx file with --backend onnxruntime (default: {default})",
    )
    p.add_argument(
        "--tokenizer",
        help="tokenizer directory or repo id (default: --model's, or the checkpoint an .onnx file was exported into)",
    )
    p.add_argument("--revision", help="with a repo id: the branch, tag or commit to load (default: main)")
    p.add_argument("--json", action="store_true", help="one JSON object per input on standard output")
    p.add_argument("--device", type=_device, help="cpu (default), cuda, cuda:N, or -1 (CPU) / N (cuda:N)")
    p.add_argument(
        "--backend",
        choices=["torch", "onnxruntime"],
        default="torch",
        help="onnxruntime: the checkpoint exported once into DIR/onnx/ and run by ONNX Runtime",
    )
    p.add_argument(
        "--quantize",
        choices=["int8"],
        help="with --backend onnxruntime: int8 weights (faster on some CPUs, slightly different scores)",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="with --backend onnxruntime: the threads ONNX Runtime runs one forward on, 1 to 256 "
        "(default 2); more than the machine's cores only slows it down",
    )
    if texts:
        p.add_argument("text", nargs="*", help="input texts (default: lines of standard input)")
        p.add_argument("--input", help="read one text per line from FILE (shows a progress bar)")
        p.add_argument("--batch-size", type=int, default=32)


def _add_fill_mask(sub: Any) -> None:
    p = sub.add_parser(
        "fill-mask",
        help="predict the [MASK] token(s) of each text",
        description="Print the top-k fillers of each [MASK] with their probabilities.",
    )
    _model_args(p)
    p.add_argument("--top-k", type=int, default=5)
    p.set_defaults(run=_fill_mask)


def _add_classify(sub: Any) -> None:
    p = sub.add_parser(
        "classify",
        help="label each text with a fine-tuned sequence-classification model",
        description="Print the best label and its score for each text.",
    )
    _model_args(p, needs="text-classification")
    p.set_defaults(run=_classify)


def _add_tag(sub: Any) -> None:
    p = sub.add_parser(
        "tag",
        help="label the words of each text with a fine-tuned token-classification model",
        description="Print the entities (or per-token labels) of each text with their scores and character spans.",
    )
    _model_args(p, needs="token-classification")
    p.add_argument(
        "--aggregation",
        choices=_AGGREGATIONS,
        default="simple",
        help="none: one label per token; simple: adjacent tokens of one entity grouped; first, "
        "average, max: one label per word, then grouped (default: simple)",
    )
    p.set_defaults(run=_tag)


def _add_answer(sub: Any) -> None:
    p = sub.add_parser(
        "answer",
        help="extract the answer to a question from a context",
        description="Print the best answer span(s) of --context for --question.",
    )
    _model_args(p, texts=False, needs="question-answering")
    p.add_argument("--question", required=True)
    p.add_argument("--context", required=True)
    p.add_argument("--top-k", type=int, default=1)
    p.set_defaults(run=_answer)


def _add_embed(sub: Any) -> None:
    p = sub.add_parser(
        "embed",
        help="one vector per text (sentence embeddings) as JSON lines or a .npy file",
        description="Pool each text's last hidden state into one float32 vector, L2-normalised unless "
        '--no-normalize. Without --output, one JSON line per text ({"text", "embedding"}) on standard '
        "output; --output FILE.npy writes the (texts, hidden_size) float32 matrix, FILE.jsonl the JSON lines.",
    )
    _model_args(p)
    p.add_argument(
        "--pooling",
        default="mean",  # checked by the pipeline: its table is behind torch, which parsing does not import
        help="mean: the mean of the text's token vectors; max: their element-wise maximum; cls: the [CLS] "
        "vector (default: mean)",
    )
    p.add_argument(
        "--no-normalize",
        dest="normalize",
        action="store_false",
        help="keep the pooled vectors as they are (default: divided by their L2 norm)",
    )
    p.add_argument(
        "--output",
        help="FILE.npy (np.load reads it) or FILE.jsonl, written whole or not at all (default: JSON lines on "
        "standard output)",
    )
    p.set_defaults(run=_embed)


def _add_export_onnx(sub: Any) -> None:
    p = sub.add_parser(
        "export-onnx",
        help="export a checkpoint to ONNX (fp32, or int8 weights)",
        description="Write DIR's model as an ONNX graph with dynamic batch and sequence axes and print its path.",
    )
    p.add_argument("dir", help="checkpoint directory or Hugging Face repo id")
    p.add_argument("--revision", help="with a repo id: the branch, tag or commit to export (default: main)")
    p.add_argument(
        "--output",
        help="the .onnx file to write (default: DIR/onnx/<Class>[.int8].onnx, the cache "
        "that --backend onnxruntime reads)",
    )
    p.add_argument("--task", help=f"{_EXPORT_TASKS}, or an ALBERT class name (default: the checkpoint's architectures)")
    p.add_argument("--quantize", choices=["int8"], help="int8 weights (ONNX Runtime dynamic quantization)")
    p.set_defaults(run=_export_onnx)


def _add_convert_tf(sub: Any) -> None:
    from albert_model.checkpoints import add_convert_tf_arguments

    p = sub.add_parser(
        "convert-tf",
        help="convert Google's TensorFlow ALBERT checkpoint or TF-Hub module (no TensorFlow needed)",
        description="Write a checkpoint directory (config.json, model.safetensors, tokenizer, README.md card) from "
        "model.ckpt-best or a TF-Hub module, albert_config.json and the .model vocabulary.",
    )
    add_convert_tf_arguments(p)


def _finetune(ns: argparse.Namespace) -> None:
    from albert_model.training import finetune, finetune_args

    metrics = finetune(finetune_args(ns))
    print(json.dumps({k: v for k, v in metrics.items() if k != "per_type"}, indent=1))


def _add_finetune(sub: Any, arguments: bool) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a head (text/token classification, question answering) on your files",
        description="Fine-tuning on CSV/TSV/JSONL, CoNLL or SQuAD files; resumable "
        "(see albert_model/training/_finetune.py).",
    )
    if arguments:  # the arguments come from albert_model.training._finetune, which imports torch
        from albert_model.training import finetune_parser

        finetune_parser(p)
    p.set_defaults(run=_finetune)


def _add_pretrain(sub: Any, arguments: bool) -> None:
    p = sub.add_parser(
        "pretrain",
        help="pretrain an ALBERT (masked LM with n-gram masking + sentence order)",
        description="ALBERT pretraining on text files; resumable (see albert_model/training/_pretrain.py).",
    )
    if arguments:
        from albert_model.training import pretrain_parser

        pretrain_parser(p)
    p.set_defaults(run=_pretrain)


def build_parser(pretrain_arguments: bool | str = True) -> argparse.ArgumentParser:
    """The ``albert`` parser: the model commands and the tokenizer commands of :mod:`albert_tok.cli`.

    ``pretrain``'s and ``finetune``'s arguments come from modules that import torch, so they are added only
    when asked for: the other commands, and ``--help``, work without torch.

    Args:
        pretrain_arguments: True (the default) adds the arguments of both ``pretrain`` and ``finetune``; False
            adds neither (the two commands are listed without their arguments); ``"pretrain"`` or
            ``"finetune"`` adds that one command's arguments only.

    Returns:
        An :class:`albert_tok.cli.ArgumentParser` named ``albert`` (one-line errors, exit code 2) whose required
        sub-command is stored in ``command`` and whose ``run`` default is the command's function.
    """
    parser = ArgumentParser(prog="albert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_fill_mask, _add_classify, _add_tag, _add_answer, _add_embed, _add_export_onnx, _add_convert_tf):
        add(sub)
    add_serve_parser(sub)
    _add_pretrain(sub, pretrain_arguments == "pretrain" or pretrain_arguments is True)
    _add_finetune(sub, pretrain_arguments == "finetune" or pretrain_arguments is True)
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
    """``albert`` (also ``python -m albert_model``): parse ``argv``, run the command, return the exit code.

    A model command is refused before parsing when torch cannot be imported: one line on standard error
    (why, and the command that installs it) and exit code 2. Only ``pretrain`` or ``finetune`` imports its
    training module to parse its arguments; the other commands parse without torch.

    Args:
        argv: The command-line arguments without the program name; None (the default) reads ``sys.argv[1:]``.

    Returns:
        The exit code: 0 on success, 2 for bad input (``UsageError``, ``ValueError``, ``OSError``,
        ``TypeError``, and for ``pretrain``/``finetune`` a ``DistributedError``: a data-parallel job that cannot
        start or lost a rank; one line on standard error) or a missing torch, 130 when interrupted.

    Raises:
        SystemExit: From the parser: code 2 for arguments it cannot parse (one line on standard error), code 0
            after printing ``--help``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    if command in MODEL_COMMANDS:
        missing = _torch_missing()
        if missing is not None:
            print(
                f"albert {command}: error: this command needs PyTorch, which cannot be imported ({missing}); "
                f"install it with: {TORCH_INSTALL}",
                file=sys.stderr,
            )
            return 2
    training = command in ("pretrain", "finetune")
    ns = build_parser(pretrain_arguments=command if command in ("pretrain", "finetune") else False).parse_args(args)
    errors: tuple[type[BaseException], ...] = (UsageError, TypeError)
    if training:  # parsing imported the training modules already
        from albert_model.training import DistributedError

        errors = (*errors, DistributedError)
    return run(ns, "albert", errors=errors)


if __name__ == "__main__":
    sys.exit(main())
