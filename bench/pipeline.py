"""fill-mask pipeline speed against transformers' pipeline("fill-mask"), same checkpoint, same ids.

    python -m bench.pipeline [--model DIR | --base] [--sentences 256] [--repeat 3] [--no-onnx] [--write-readme]

Sentences are lines of the shared corpora (variable length), each with one word replaced by [MASK]. Every
pipeline returns top-5 with batch size 32; transformers gets the canonical SentencePiece
``transformers.AlbertTokenizer`` from the same directory, so both see the same ids. Rows: our pipeline on
torch, on ONNX Runtime (fp32, and int8 weights), and transformers'; the implementations take turns in each
round and the best round counts (the machine is shared). Top-1 tokens are compared with transformers';
int8 is also compared with fp32 on fill-mask and on the shipped model's trained sentence-order head (a
classification: argmax agreement over sentence pairs). The fp32 ONNX Runtime pipeline's ceiling: its time
outside the graph plus the forward's weight products alone (bench/weight_products.py) on the batches it ran,
timed in the same rounds: no fp32 graph made of those products gives this pipeline more. ``--base``: an
albert-base-v2-shaped masked LM with random weights (and the shipped tokenizer) instead of the shipped model,
where the model's compute rather than the pipeline's overhead dominates. Writes bench/results/pipeline.json
(pipeline-base.json). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import warnings
from pathlib import Path
from typing import Any

from bench._timing import timed

ROOT = Path(__file__).resolve().parent.parent
CORPORA = sorted((ROOT.parent / "shared" / "corpora").glob("*.txt"))


def corpus_lines() -> list[str]:
    lines = [line.strip() for p in CORPORA for line in p.read_text(encoding="utf-8").split("\n")]
    return [line for line in lines if 4 <= len(line.split()) <= 60 and "<unk>" not in line and "[" not in line]


def sentences(count: int, seed: int = 0) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = corpus_lines()
    out = []
    for i in rng.choice(len(lines), count, replace=False):
        words = lines[i].split()
        words[int(rng.integers(len(words)))] = "[MASK]"
        out.append(" ".join(words))
    return out


def sentence_order_agreement(model_dir: str, tmp: str, pairs: int = 128) -> dict[str, Any] | None:
    """int8 against fp32 argmax on the checkpoint's sentence-order head (consecutive lines, in order and
    swapped); None when the checkpoint has no trained head for it."""
    import numpy as np
    import torch

    from albert_model.onnx._export import export_onnx
    from albert_model.onnx._runtime import OnnxAlbertModel
    from albert_tok import AlbertTokenizerFast

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = OnnxAlbertModel.from_onnx(export_onnx(model_dir, os.path.join(tmp, "sop.onnx"), task="pretraining"))
    if fp32.missing_head:
        return None
    int8 = OnnxAlbertModel.from_onnx(
        export_onnx(model_dir, os.path.join(tmp, "sop8.onnx"), task="pretraining", quantize="int8")
    )
    lines = corpus_lines()
    rng = np.random.default_rng(1)
    starts = rng.choice(len(lines) - 1, pairs // 2, replace=False)
    firsts = [lines[i] for i in starts] + [lines[i + 1] for i in starts]
    seconds = [lines[i + 1] for i in starts] + [lines[i] for i in starts]
    tokenizer = AlbertTokenizerFast.from_pretrained(model_dir)
    agree = 0
    for begin in range(0, len(firsts), 32):
        enc = tokenizer(
            firsts[begin : begin + 32],
            seconds[begin : begin + 32],
            padding=True,
            truncation=True,
            max_length=128,
            return_tensors="pt",
        )
        none = torch.zeros(enc["input_ids"].shape, dtype=torch.bool)  # no vocabulary projection needed
        a = fp32(**enc, masked_positions=none).sop_logits.argmax(-1)
        b = int8(**enc, masked_positions=none).sop_logits.argmax(-1)
        agree += int((a == b).sum())
    return {"pairs": len(firsts), "argmax_agreement": agree / len(firsts)}


class ForwardClock:
    """Stands in for a pipeline's ONNX Runtime session: the seconds its runs take and the ``input_ids`` shape
    of each run, since the last :meth:`reset`."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.reset()

    def reset(self) -> None:
        self.seconds = 0.0
        self.shapes: list[tuple[int, ...]] = []

    def run(self, outputs: Any, feed: dict[str, Any]) -> Any:
        seconds, result = timed(lambda: self.session.run(outputs, feed))
        self.seconds += seconds
        self.shapes.append(tuple(feed["input_ids"].shape))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", default=None, help="checkpoint directory (default: the shipped model)")
    which.add_argument("--base", action="store_true", help="an albert-base-v2-shaped masked LM, random weights")
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime rows")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    import torch
    import transformers

    from albert_model import AlbertConfig, AlbertForMaskedLM
    from albert_model.checkpoints._shipped import DEFAULT_MODEL
    from albert_model.onnx._export import export_onnx
    from albert_model.pipelines._factory import pipeline
    from albert_tok import AlbertTokenizerFast

    texts = sentences(args.sentences)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model_dir = args.model or DEFAULT_MODEL
        if args.base:
            model_dir = os.path.join(tmp, "albert-base-v2-shape")
            torch.manual_seed(0)
            AlbertForMaskedLM(AlbertConfig.base()).save_pretrained(model_dir)
            AlbertTokenizerFast.from_pretrained(DEFAULT_MODEL).save_pretrained(model_dir)
        pipes: dict[str, Any] = {"albert_model (torch)": pipeline("fill-mask", model=model_dir, batch_size=32)}
        if not args.no_onnx:
            for quantize, label in ((None, "fp32"), ("int8", "int8")):
                graph = export_onnx(
                    model_dir, os.path.join(tmp, f"fill-{label}.onnx"), task="fill-mask", quantize=quantize
                )
                pipes[f"albert_model (onnxruntime {label})"] = pipeline(
                    "fill-mask", model=graph, tokenizer=model_dir, backend="onnxruntime", batch_size=32
                )
        ref = transformers.pipeline(
            "fill-mask", model=model_dir, device=-1, tokenizer=transformers.AlbertTokenizer.from_pretrained(model_dir)
        )
        reference = f"transformers {transformers.__version__} pipeline"
        calls = {name: (lambda p=p: p(texts, top_k=5)) for name, p in pipes.items()}
        calls[reference] = lambda: ref(texts, batch_size=32, top_k=5)
        fp32 = "albert_model (onnxruntime fp32)"
        clock = None if args.no_onnx else ForwardClock(pipes[fp32].model.session)
        if clock is not None:
            pipes[fp32].model.session = clock
        for call in calls.values():  # warm-up
            call()
        floor = None
        if clock is not None:  # the forward's weight products alone, on the batches the fp32 pipeline ran
            import numpy as np

            from bench import weight_products

            chain = weight_products.chains(pipes[fp32].model.config)["onnxruntime"]
            rng = np.random.default_rng(0)
            shapes = list(clock.shapes)  # the pipeline batches the same texts the same way every call
            batches = [
                rng.standard_normal((b * t, pipes[fp32].model.config.embedding_size), np.float32) for b, t in shapes
            ]

            def floor() -> None:
                for x in batches:
                    chain(x)

            floor()
        best: dict[str, float] = {}
        outputs: dict[str, Any] = {}
        outside = products = float("inf")  # the fp32 pipeline's time outside its graph; the products' time
        for _ in range(args.repeat):
            for name, call in calls.items():
                if name == fp32:
                    clock.reset()
                seconds, outputs[name] = timed(call)
                best[name] = min(best.get(name, float("inf")), seconds)
                if name == fp32:
                    outside = min(outside, seconds - clock.seconds)
                    if clock.shapes != shapes:
                        raise RuntimeError(f"the fp32 pipeline ran batches {clock.shapes}, not {shapes} as before")
            if floor is not None:
                products = min(products, timed(floor)[0])
        sop = None if args.no_onnx else sentence_order_agreement(model_dir, tmp)

    def top1(a: list[Any], b: list[Any]) -> float:
        return sum(x[0]["token"] == y[0]["token"] for x, y in zip(a, b, strict=False)) / len(texts)

    rows = []
    for name in calls:
        rows.append(
            {
                "name": name,
                "seconds": best[name],
                "speedup": best[reference] / best[name],
                "top1_agreement": top1(outputs[name], outputs[reference]),
            }
        )
    int8_vs_fp32 = in_top5 = None
    if not args.no_onnx:
        int8, fp32 = outputs["albert_model (onnxruntime int8)"], outputs["albert_model (onnxruntime fp32)"]
        int8_vs_fp32 = top1(int8, fp32)
        # a top-1 that differs is mostly a near-tie: is int8's first answer among fp32's five?
        in_top5 = sum(x[0]["token"] in {a["token"] for a in y} for x, y in zip(int8, fp32, strict=False)) / len(texts)
    ceiling = (
        None
        if floor is None
        else {
            "seconds outside the graph": outside,
            "weight products seconds": products,
            "batches": len(shapes),
            "tokens": sum(b * t for b, t in shapes),
            "speedup": best[reference] / (outside + products),
        }
    )
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    result = {
        "sentences": len(texts),
        "rows": rows,
        "int8_top1_vs_fp32": int8_vs_fp32,
        "fp32 ceiling": ceiling,
        "int8_top1_in_fp32_top5": in_top5,
        "int8_sentence_order": sop,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "machine": machine,
    }
    header = (
        "| pipeline (fill-mask, top-5, batch 32) | seconds | sentences/s | speed vs transformers | "
        "top-1 = transformers |"
    )
    lines = [header, "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['seconds']:.2f} | {len(texts) / r['seconds']:.0f} | {r['speedup']:.2f}x | "
            f"{r['top1_agreement']:.1%} |"
        )
    model_name = "albert-base-v2 shape (random weights, the shipped tokenizer)" if args.base else Path(model_dir).name
    note = (
        f"{len(texts)} variable-length corpus sentences, one [MASK] each, model {model_name}, best of "
        f"{args.repeat} interleaved rounds, {machine}, torch {torch.__version__}; transformers is given the "
        f"canonical SentencePiece AlbertTokenizer."
    )
    if int8_vs_fp32 is not None:
        import onnxruntime

        note += (
            f" ONNX Runtime {onnxruntime.__version__}, 2 intra-op threads; int8 (dynamic quantization of the "
            f"encoder's weight products) top-1 agrees with fp32 on {int8_vs_fp32:.1%} (and is in fp32's top-5 on "
            f"{in_top5:.1%})"
        )
        note += (
            f", and its sentence-order argmax (the shipped model's trained classification head, {sop['pairs']} "
            f"sentence pairs) on {sop['argmax_agreement']:.1%}."
            if sop
            else "."
        )
    if ceiling is not None:
        note += (
            f" fp32 ceiling: {ceiling['speedup']:.2f}x transformers' pipeline, the fp32 pipeline's best time outside "
            f"its graph ({ceiling['seconds outside the graph']:.2f} s) plus the forward's weight products alone "
            f"on the {ceiling['batches']} batches it ran ({ceiling['tokens']} positions; "
            f"{ceiling['weight products seconds']:.2f} s, bench/weight_products.py), timed in the same rounds: "
            f"no fp32 graph made of those products gives this pipeline more."
        )
    lines += ["", note]
    table = "\n".join(lines)
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    name = "pipeline-base" if args.base else "pipeline"
    (out / f"{name}.json").write_text(json.dumps({**result, "model": model_name}, indent=2) + "\n")
    if args.write_readme:
        from bench._readme import write_table

        write_table(name, table)


if __name__ == "__main__":
    main()
