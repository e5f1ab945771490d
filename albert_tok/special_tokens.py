"""Special tokens and the ``[CLS] A [SEP] (B [SEP])`` layout: one definition for both tokenizers.

The slow tokenizer builds inputs with :func:`build_inputs`, :func:`special_tokens_mask` and
:func:`token_type_ids`; the fast tokenizer's ``TemplateProcessing`` post-processor is generated from the
same :data:`SINGLE_LAYOUT`/:data:`PAIR_LAYOUT` by :func:`template_post_processor`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

__all__ = [
    "PAIR_LAYOUT",
    "SINGLE_LAYOUT",
    "SpecialTokens",
    "build_inputs",
    "build_layout",
    "layout_masks",
    "num_special_tokens",
    "special_token_pattern",
    "special_token_spans",
    "special_tokens_mask",
    "split_on_special_tokens",
    "template_post_processor",
    "token_type_ids",
]

# Each entry: ("cls" | "sep" | "A" | "B", token type id). "A"/"B" stand for the sequences.
SINGLE_LAYOUT: tuple[tuple[str, int], ...] = (("cls", 0), ("A", 0), ("sep", 0))
PAIR_LAYOUT: tuple[tuple[str, int], ...] = (("cls", 0), ("A", 0), ("sep", 0), ("B", 1), ("sep", 1))


@dataclass(frozen=True)
class SpecialTokens:
    """ALBERT's special tokens, named as in ``special_tokens_map.json``.

    ``bos_token``/``eos_token`` alias ``[CLS]``/``[SEP]`` as in the original release. Only ``[MASK]``
    strips the whitespace on its left when written in text.
    """

    unk_token: str = "<unk>"
    sep_token: str = "[SEP]"
    pad_token: str = "<pad>"
    cls_token: str = "[CLS]"
    mask_token: str = "[MASK]"
    bos_token: str = "[CLS]"
    eos_token: str = "[SEP]"

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")

    @property
    def all_tokens(self) -> tuple[str, ...]:
        """Distinct special tokens in a stable order (the order transformers lists them)."""
        ordered = [self.bos_token, self.eos_token, self.unk_token, self.sep_token, self.pad_token,
                   self.cls_token, self.mask_token]
        return tuple(dict.fromkeys(ordered))

    def lstrip(self, token: str) -> bool:
        """Whether ``token`` written in text swallows the whitespace on its left."""
        return token == self.mask_token

    def entry(self, token: str) -> dict[str, Any]:
        """The ``AddedToken`` description of ``token`` as transformers writes it."""
        return {"content": token, "lstrip": self.lstrip(token), "normalized": False, "rstrip": False,
                "single_word": False}

    def to_map(self) -> dict[str, Any]:
        """``special_tokens_map.json`` content."""
        return {name: self.entry(value) for name, value in asdict(self).items()}

    @classmethod
    def from_map(cls, data: dict[str, Any], source: str = "special tokens map") -> SpecialTokens:
        """Read ``special_tokens_map.json``/``tokenizer_config.json`` entries (strings or dicts).

        A malformed entry raises ``ValueError`` naming ``source`` (the file) and the key.
        """
        return cls(**cls.entries_of(data, source))

    @classmethod
    def entries_of(cls, data: dict[str, Any], source: str) -> dict[str, str]:
        """The special-token strings ``data`` sets (``{"mask_token": "[MASK]", ...}``), validated.

        Each value is a non-empty string or an ``AddedToken`` object whose ``"content"`` is one; None
        (transformers' "not set") is skipped. Anything else raises ``ValueError`` naming ``source`` and
        the key.
        """
        found: dict[str, str] = {}
        for name in cls.__dataclass_fields__:
            value = data.get(name)
            if value is None:
                continue
            if isinstance(value, dict):
                if "content" not in value:
                    raise ValueError(f"{source}: {name} is an object without \"content\" ({value!r:.80}); "
                                     f"expected a string or {{\"content\": \"...\", ...}}")
                value = value["content"]
                where = f"{name}.content"
            else:
                where = name
            if not isinstance(value, str) or not value:
                raise ValueError(f"{source}: {where} must be a non-empty string, got {value!r:.80}")
            found[name] = value
        return found


def num_special_tokens(pair: bool) -> int:
    """How many special tokens :func:`build_inputs` adds (2 for one sequence, 3 for a pair)."""
    layout = PAIR_LAYOUT if pair else SINGLE_LAYOUT
    return sum(1 for name, _ in layout if name not in ("A", "B"))


def build_layout(a: list[T], b: list[T] | None, cls: T, sep: T) -> list[T]:
    """``cls A sep`` or ``cls A sep B sep`` for any kind of per-token item (ids, offsets, sequence ids)."""
    out: list[T] = []
    for name, _ in SINGLE_LAYOUT if b is None else PAIR_LAYOUT:
        if name == "A":
            out.extend(a)
        elif name == "B":
            out.extend(b or [])
        else:
            out.append(cls if name == "cls" else sep)
    return out


def build_inputs(ids0: list[int], ids1: list[int] | None, cls_id: int, sep_id: int) -> list[int]:
    """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``."""
    return build_layout(ids0, ids1, cls_id, sep_id)


def special_tokens_mask(len0: int, len1: int | None) -> list[int]:
    """1 where :func:`build_inputs` puts a special token, 0 over the sequences."""
    return build_layout([0] * len0, None if len1 is None else [0] * len1, 1, 1)


def token_type_ids(len0: int, len1: int | None) -> list[int]:
    """Segment ids: 0 over ``[CLS] A [SEP]``, 1 over ``B [SEP]``."""
    layout = SINGLE_LAYOUT if len1 is None else PAIR_LAYOUT
    out: list[int] = []
    for name, type_id in layout:
        count = len0 if name == "A" else (len1 or 0) if name == "B" else 1
        out.extend([type_id] * count)
    return out


def layout_masks(len0: np.ndarray, len1: np.ndarray | None, width: int,
                 add_special_tokens: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`token_type_ids` and :func:`special_tokens_mask` for a batch, right-padded to
    ``width`` (padding: type 0, special 1). ``len0``/``len1`` are the per-row sequence lengths."""
    if add_special_tokens:
        layout = SINGLE_LAYOUT if len1 is None else PAIR_LAYOUT
    else:
        layout = (("A", 0),) if len1 is None else (("A", 0), ("B", 1))
    rows = len(len0)
    col = np.arange(width)[None, :]
    types = np.zeros((rows, width), dtype=np.int64)
    special = np.ones((rows, width), dtype=np.int64)
    cursor = np.zeros(rows, dtype=np.int64)
    counts = {"A": len0, "B": len0 * 0 if len1 is None else len1}
    for name, type_id in layout:
        count = counts.get(name, np.ones(rows, dtype=np.int64))
        inside = (col >= cursor[:, None]) & (col < (cursor + count)[:, None])
        if type_id:
            types[inside] = type_id
        if name in ("A", "B"):
            special[inside] = 0
        cursor = cursor + count
    return types, special


def template_post_processor(cls_token: str, cls_id: int, sep_token: str, sep_id: int) -> Any:
    """The fast tokenizer's ``TemplateProcessing``, generated from the layouts above."""
    from tokenizers import processors

    def template(layout: Sequence[tuple[str, int]]) -> list[str]:
        names = {"cls": cls_token, "sep": sep_token, "A": "$A", "B": "$B"}
        return [f"{names[name]}:{type_id}" for name, type_id in layout]

    return processors.TemplateProcessing(
        single=template(SINGLE_LAYOUT),
        pair=template(PAIR_LAYOUT),
        special_tokens=[(cls_token, cls_id), (sep_token, sep_id)],
    )


def special_token_spans(text: str, specials: SpecialTokens,
                        pattern: re.Pattern[str]) -> list[tuple[int, int, str | None]]:
    """Split ``text`` on special tokens written in it: ``[(start, end, token or None), ...]`` in text order
    (None marks the text between special tokens).

    A token with left-strip (``[MASK]``) swallows the whitespace before it: the text part before it ends
    earlier and the token's span starts there (as in transformers' fast tokenizer). Empty text parts are
    left out. ``pattern`` is :func:`special_token_pattern` of ``specials``.
    """
    out: list[tuple[int, int, str | None]] = []
    pos = 0
    for match in pattern.finditer(text):
        start, end = match.span()
        part_end = start
        if specials.lstrip(match.group()):
            part_end = pos + len(text[pos:start].rstrip())
        if part_end > pos:
            out.append((pos, part_end, None))
        out.append((part_end, end, match.group()))
        pos = end
    if pos < len(text):
        out.append((pos, len(text), None))
    return out


def split_on_special_tokens(text: str, specials: SpecialTokens, pattern: re.Pattern[str],
                            transform: Callable[[str], str] | None = None) -> list[tuple[str, bool]]:
    """Split ``text`` on special tokens written in it: ``[(chunk, is_special), ...]``.

    ``transform`` (lower-casing) is applied to the text between special tokens; a special token's chunk
    is the token itself (not the whitespace it swallows). Empty chunks are dropped.
    """
    out: list[tuple[str, bool]] = []
    for start, end, token in special_token_spans(text, specials, pattern):
        if token is not None:
            out.append((token, True))
        else:
            out.append((text[start:end] if transform is None else transform(text[start:end]), False))
    return out


def special_token_pattern(specials: SpecialTokens) -> re.Pattern[str]:
    """A capturing regex that finds special tokens, longest first."""
    tokens = sorted(specials.all_tokens, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, tokens)) + ")")
