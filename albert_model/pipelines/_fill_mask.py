"""``pipeline("fill-mask")``: the most likely tokens for each ``[MASK]``, as transformers returns them."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from albert_model.modeling import AlbertForMaskedLM
from albert_model.pipelines._base import Pipeline, as_batch, check_positive_int, check_text

__all__ = ["FillMaskPipeline"]


class FillMaskPipeline(Pipeline):
    """``[{"score", "token", "token_str", "sequence"}, ...]`` (best first) for a text with one ``[MASK]``;
    one such list per mask for a text with several. The vocabulary projection runs at mask positions only."""

    task = "fill-mask"
    model_class = AlbertForMaskedLM

    def predict(
        self,
        inputs: str | list[str],
        top_k: int = 5,
        targets: str | list[str] | None = None,
        batch_size: int | None = None,
    ) -> list[Any]:
        """``targets`` (a token or list of tokens) restricts the answers to those tokens; a target that is not
        a vocabulary piece (``"paris"`` rather than ``"▁paris"``) stands for its first piece, with a warning,
        as in transformers. A list in gives a list out (also of one text).

        What calling the pipeline runs. A text longer than the model's maximum length is cut at the end, as
        long as none of its masks is lost.

        Example:
            >>> from albert_model import pipeline
            >>> unmask = pipeline("fill-mask")
            >>> best = unmask("The capital of France is [MASK].", top_k=2)
            >>> sorted(best[0])
            ['score', 'sequence', 'token', 'token_str']

        Args:
            inputs: one text or a list (or tuple) of texts, each with at least one ``[MASK]`` (the
                tokenizer's ``mask_token``).
            top_k: how many answers to return per mask, an int >= 1; fewer come back when the vocabulary (or
                ``targets``) has fewer tokens.
            targets: a token or a list of tokens to score instead of the whole vocabulary (``"▁paris"``,
                or ``["▁cat", "▁dog"]``); the probabilities are still over the whole vocabulary, only the
                ranking is restricted. Duplicates are dropped; a target that tokenizes to nothing is ignored
                with a warning. None scores every token.
            batch_size: texts per forward pass for this call; None uses the pipeline's ``batch_size``.

        Returns:
            For a text with one mask, a list of ``top_k`` dicts, best first: ``score`` (the probability),
            ``token`` (its id), ``token_str`` (its text) and ``sequence`` (the text with the mask filled,
            decoded without special tokens). For a text with several masks, one such list per mask, in
            order, whose ``sequence`` keeps the special tokens and the other masks (as transformers does).
            For a list of texts, a list of those results in input order.

        Raises:
            TypeError: ``inputs`` is neither a str nor a list of str, or ``targets`` is neither a str nor a
                list of str.
            ValueError: a text has no mask token, or a mask lies beyond the maximum length and would be cut
                off (the message names the input); ``top_k`` or ``batch_size`` is not a positive int; no
                target is left to score.

        Warns:
            UserWarning: a target that is not a vocabulary piece (its first piece is used instead) or that
                tokenizes to nothing (it is ignored).
        """
        texts, batched = as_batch(inputs)
        for i, text in enumerate(texts):
            check_text(f"inputs[{i}]" if batched else "inputs", text)
        check_positive_int("top_k", top_k)
        target_ids = None if targets is None else self._target_ids(targets)
        k = min(top_k, self.tokenizer.vocab_size if target_ids is None else len(target_ids))
        mask_id = self.tokenizer.mask_token_id
        columns = None if target_ids is None else torch.tensor(target_ids)

        def step(batch: dict[str, torch.Tensor]) -> list[Any]:
            where = batch["input_ids"] == mask_id
            logits = self.model(**batch, masked_positions=where).logits.float()  # (N masks, V)
            probs = logits.softmax(-1)
            if columns is not None:
                probs = probs[:, columns.to(probs.device)]
            scores, ids = probs.topk(k, dim=-1)
            if columns is not None:
                ids = columns.to(ids.device)[ids]
            scores, ids = scores.cpu(), ids.cpu()
            out, pos = [], 0
            for n in where.sum(1).tolist():
                out.append((scores[pos : pos + n], ids[pos : pos + n]))
                pos += n
            return out

        token_strs: dict[int, str] = {}  # a token's text, decoded once per call

        def finish(texts: list[str], rows: list[dict[str, Any]], outs: list[Any]) -> list[Any]:
            return [
                self._answers(row["input_ids"], scores, ids, token_strs)
                for row, (scores, ids) in zip(rows, outs, strict=False)
            ]

        results = self._stream(
            texts, lambda window, index: self._rows(window, batched, index), step, finish, batch_size
        )
        return results if batched else results[0]

    def _rows(self, texts: list[str], batched: bool, index: int = 0) -> list[dict[str, Any]]:
        """Encodings cut to the model's length; a text whose mask would be cut off is refused (``index``:
        the place of ``texts[0]`` in the call, for messages)."""
        mask_id, sep_id = self.tokenizer.mask_token_id, self.tokenizer.sep_token_id
        with warnings.catch_warnings():  # long texts are cut below, where a lost mask can be reported
            warnings.simplefilter("ignore")
            enc = self.tokenizer(texts) if texts else {"input_ids": [], "token_type_ids": []}
        rows = []
        for i, (text, ids, types) in enumerate(
            zip(texts, enc["input_ids"], enc["token_type_ids"], strict=False), start=index
        ):
            where = f"input {i}" if batched else "the input"
            if mask_id not in ids:
                raise ValueError(f"no mask token ({self.tokenizer.mask_token}) found in {where}: {text!r:.80}")
            if len(ids) > self.max_length:
                lost = [p for p, t in enumerate(ids) if t == mask_id and p >= self.max_length - 1]
                if lost:
                    raise ValueError(
                        f"{where} is {len(ids)} tokens long; its {self.tokenizer.mask_token} at token "
                        f"{lost[0]} lies beyond the maximum length ({self.max_length} tokens) and would "
                        f"be cut off: shorten the text before the mask"
                    )
                ids, types = [*ids[: self.max_length - 1], sep_id], types[: self.max_length]
            rows.append({"input_ids": ids, "token_type_ids": types})
        return rows

    def _answers(
        self, input_ids: list[int], scores: torch.Tensor, ids: torch.Tensor, token_strs: dict[int, str]
    ) -> list[Any]:
        positions = [p for p, t in enumerate(input_ids) if t == self.tokenizer.mask_token_id]
        single = len(positions) == 1
        pad = self.tokenizer.pad_token_id
        per_mask = []
        for m, position in enumerate(positions):
            answers = []
            for score, token in zip(scores[m].tolist(), ids[m].tolist(), strict=False):
                filled = list(input_ids)
                filled[position] = token
                # as transformers: special tokens (and the other masks) stay in the sequence of a multi-mask text
                sequence = self.tokenizer.decode([t for t in filled if t != pad], skip_special_tokens=single)
                if token not in token_strs:
                    token_strs[token] = self.tokenizer.decode([token])
                answers.append({"score": score, "token": token, "token_str": token_strs[token], "sequence": sequence})
            per_mask.append(answers)
        return per_mask[0] if single else per_mask

    def _target_ids(self, targets: str | list[str]) -> list[int]:
        """transformers' semantics: a vocabulary piece as is, anything else its first piece (with a warning);
        duplicates dropped; at least one target must remain."""
        items = [targets] if isinstance(targets, str) else targets
        if not isinstance(items, (list, tuple)) or not all(isinstance(t, str) for t in items):
            raise TypeError(f"targets must be a str or a list of str, got {targets!r:.80}")
        vocab = self.tokenizer.get_vocab()
        found: list[int] = []
        for target in items:
            token_id = vocab.get(target)
            if token_id is None:
                pieces = self.tokenizer(target, add_special_tokens=False)["input_ids"]
                if not pieces:
                    warnings.warn(
                        f"target {target!r} is not in the vocabulary and tokenizes to nothing; ignored",
                        UserWarning,
                        stacklevel=4,
                    )
                    continue
                token_id = pieces[0]
                warnings.warn(
                    f"target {target!r} is not in the vocabulary; using its first piece "
                    f"{self.tokenizer.convert_ids_to_tokens(token_id)!r}",
                    UserWarning,
                    stacklevel=4,
                )
            if token_id not in found:
                found.append(token_id)
        if not found:
            raise ValueError(f"targets={targets!r} leaves no token to score; give at least one target")
        return found
