"""Special tokens and the ``[CLS] A [SEP] (B [SEP])`` layout: one definition for both tokenizers.

The slow tokenizer builds inputs with :func:`build_inputs`, :func:`special_tokens_mask` and
:func:`token_type_ids`; the fast tokenizer's ``TemplateProcessing`` post-processor is generated from the
same :data:`SINGLE_LAYOUT`/:data:`PAIR_LAYOUT` by :func:`template_post_processor`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    "special_tokens_mask",
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

    Frozen: a tokenizer that changes a special token (``add_special_tokens``) holds a new object.

    Args:
        unk_token: The piece given to text the vocabulary cannot spell; ``"<unk>"`` by default.
        sep_token: The separator after each sequence; ``"[SEP]"`` by default.
        pad_token: The token padding fills rows with; ``"<pad>"`` by default.
        cls_token: The token in front of the input, whose output a classifier reads; ``"[CLS]"`` by
            default.
        mask_token: The token masked language modelling predicts; ``"[MASK]"`` by default. It is the one
            special token that, written in text, swallows the whitespace on its left.
        bos_token: The beginning-of-sequence token; ``"[CLS]"`` by default, as in the original release.
        eos_token: The end-of-sequence token; ``"[SEP]"`` by default, as in the original release.

    Raises:
        ValueError: a token is not a non-empty str.
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
        ordered = [
            self.bos_token,
            self.eos_token,
            self.unk_token,
            self.sep_token,
            self.pad_token,
            self.cls_token,
            self.mask_token,
        ]
        return tuple(dict.fromkeys(ordered))

    def lstrip(self, token: str) -> bool:
        """Whether ``token`` written in text swallows the whitespace on its left.

        Args:
            token: A token string, special or not.

        Returns:
            True for the mask token only; False for every other string.
        """
        return token == self.mask_token

    def entry(self, token: str) -> dict[str, Any]:
        """The ``AddedToken`` description of ``token`` as transformers writes it.

        Args:
            token: One of this object's special token strings (any string is described the same way).

        Returns:
            A new dict with ``content`` set to ``token``, ``lstrip`` from :meth:`lstrip`, ``normalized``,
            ``rstrip`` and ``single_word`` False, in the key order of ``special_tokens_map.json``.
        """
        return {
            "content": token,
            "lstrip": self.lstrip(token),
            "normalized": False,
            "rstrip": False,
            "single_word": False,
        }

    def to_map(self) -> dict[str, Any]:
        """``special_tokens_map.json`` content.

        Returns:
            A new dict from each of the seven names (``unk_token`` ... ``eos_token``, in field order) to
            :meth:`entry` of its token; :meth:`from_map` reads it back.
        """
        return {name: self.entry(value) for name, value in asdict(self).items()}

    @classmethod
    def from_map(cls, data: dict[str, Any], source: str = "special tokens map") -> SpecialTokens:
        """Read ``special_tokens_map.json``/``tokenizer_config.json`` entries (strings or dicts).

        A malformed entry raises ``ValueError`` naming ``source`` (the file) and the key.

        Args:
            data: The parsed JSON object. Only the seven special-token keys are read (see
                :meth:`entries_of`); other keys are ignored.
            source: What ``data`` was read from, put in front of error messages; ``"special tokens map"`` by
                default.

        Returns:
            A :class:`SpecialTokens` with the tokens ``data`` sets and the defaults for the others.

        Raises:
            ValueError: an entry is neither a non-empty string nor an object whose ``"content"`` is one.
        """
        return cls(**cls.entries_of(data, source))

    @classmethod
    def entries_of(cls, data: dict[str, Any], source: str) -> dict[str, str]:
        """The special-token strings ``data`` sets (``{"mask_token": "[MASK]", ...}``), validated.

        Each value is a non-empty string or an ``AddedToken`` object whose ``"content"`` is one; None
        (transformers' "not set") is skipped. Anything else raises ``ValueError`` naming ``source`` and
        the key.

        Args:
            data: The parsed JSON object; only the seven special-token keys are read, a missing key is not
                set.
            source: What ``data`` was read from (a file name), put in front of error messages.

        Returns:
            A new dict from each key ``data`` sets to its token string (an object's ``"content"``), in field
            order.

        Raises:
            ValueError: a value is an object without ``"content"``, or the string (or the content) is not
                a non-empty str.
        """
        found: dict[str, str] = {}
        for name in cls.__dataclass_fields__:
            value = data.get(name)
            if value is None:
                continue
            if isinstance(value, dict):
                if "content" not in value:
                    raise ValueError(
                        f'{source}: {name} is an object without "content" ({value!r:.80}); '
                        f'expected a string or {{"content": "...", ...}}'
                    )
                value = value["content"]
                where = f"{name}.content"
            else:
                where = name
            if not isinstance(value, str) or not value:
                raise ValueError(f"{source}: {where} must be a non-empty string, got {value!r:.80}")
            found[name] = value
        return found


def num_special_tokens(pair: bool) -> int:
    """How many special tokens :func:`build_inputs` adds (2 for one sequence, 3 for a pair).

    Args:
        pair: True for a pair of sequences (``[CLS] A [SEP] B [SEP]``), False for one (``[CLS] A [SEP]``).

    Returns:
        The number of ``[CLS]`` and ``[SEP]`` tokens in that layout: 3 for a pair, 2 otherwise.
    """
    layout = PAIR_LAYOUT if pair else SINGLE_LAYOUT
    return sum(1 for name, _ in layout if name not in ("A", "B"))


def build_layout(a: list[T], b: list[T] | None, cls: T, sep: T) -> list[T]:
    """``cls A sep`` or ``cls A sep B sep`` for any kind of per-token item (ids, offsets, sequence ids).

    Args:
        a: The items of the first sequence.
        b: The items of the second sequence, or None for a single sequence (an empty list is still a pair).
        cls: The item standing for ``[CLS]`` (its id, its ``(0, 0)`` offset, ...).
        sep: The item standing for each ``[SEP]``.

    Returns:
        A new list: ``[cls, *a, sep]``, or ``[cls, *a, sep, *b, sep]`` when ``b`` is not None.
    """
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
    """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``.

    Args:
        ids0: The ids of the first sequence.
        ids1: The ids of the second sequence, or None for a single sequence.
        cls_id: The id of ``[CLS]``.
        sep_id: The id of ``[SEP]``.

    Returns:
        A new list of ids with the special tokens around the sequences.
    """
    return build_layout(ids0, ids1, cls_id, sep_id)


def special_tokens_mask(len0: int, len1: int | None) -> list[int]:
    """1 where :func:`build_inputs` puts a special token, 0 over the sequences.

    Args:
        len0: The number of tokens in the first sequence.
        len1: The number of tokens in the second sequence, or None for a single sequence.

    Returns:
        A list of ``len0 + 2`` ints (``len0 + len1 + 3`` for a pair), 1 at each ``[CLS]``/``[SEP]``.
    """
    return build_layout([0] * len0, None if len1 is None else [0] * len1, 1, 1)


def token_type_ids(len0: int, len1: int | None) -> list[int]:
    """Segment ids: 0 over ``[CLS] A [SEP]``, 1 over ``B [SEP]``.

    Args:
        len0: The number of tokens in the first sequence.
        len1: The number of tokens in the second sequence, or None for a single sequence.

    Returns:
        A list as long as :func:`build_inputs`' result: ``len0 + 2`` zeros, followed for a pair by
        ``len1 + 1`` ones.
    """
    layout = SINGLE_LAYOUT if len1 is None else PAIR_LAYOUT
    out: list[int] = []
    for name, type_id in layout:
        count = len0 if name == "A" else (len1 or 0) if name == "B" else 1
        out.extend([type_id] * count)
    return out


def layout_masks(
    len0: np.ndarray,
    len1: np.ndarray | None,
    width: int,
    add_special_tokens: bool = True,
    *,
    shift: np.ndarray | None = None,
    types: bool = True,
    special: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Vectorised :func:`token_type_ids` and :func:`special_tokens_mask` for a batch, padded to ``width``
    (padding: type 0, special 1). ``len0``/``len1`` are the per-row sequence lengths; ``shift`` the per-row
    left padding (None: padding on the right). A mask not asked for (``types``/``special`` False) is not
    computed and comes back as None; token types of single sequences are all zero and cost nothing.

    Args:
        len0: The length of each row's first sequence, an int array of shape ``(rows,)``.
        len1: The length of each row's second sequence, same shape, or None when the rows are single
            sequences.
        width: The padded length of every row.
        add_special_tokens: True (the default) lays the rows out with ``[CLS]``/``[SEP]``; False lays out the
            sequences alone (then only padding is marked special).
        shift: How many padding positions come before each row's tokens (left padding), shape ``(rows,)``;
            None (the default) when the tokens start at position 0.
        types: Compute the token type ids (True by default).
        special: Compute the special-tokens mask (True by default).

    Returns:
        ``(token_type_ids, special_tokens_mask)``, each an ``int64`` array of shape ``(rows, width)`` or None
        when not asked for: type 1 over ``B [SEP]`` and 0 elsewhere; special 0 over the sequences' tokens and 1
        at special tokens and padding.
    """
    if add_special_tokens:
        layout = SINGLE_LAYOUT if len1 is None else PAIR_LAYOUT
    else:
        layout = (("A", 0),) if len1 is None else (("A", 0), ("B", 1))
    rows = len(len0)
    types_out = np.zeros((rows, width), dtype=np.int64) if types else None
    special_out = np.ones((rows, width), dtype=np.int64) if special else None
    if not special and not any(type_id for _, type_id in layout):
        return types_out, special_out
    pos = np.arange(width)[None, :]
    if shift is not None:
        pos = pos - shift[:, None]
    cursor = np.zeros(rows, dtype=np.int64)
    counts = {"A": len0, "B": len0 * 0 if len1 is None else len1}
    one = np.ones(rows, dtype=np.int64)
    for name, type_id in layout:
        count = counts.get(name, one)
        in_sequence = name in ("A", "B")
        if (types_out is not None and type_id) or (special_out is not None and in_sequence):
            inside = (pos >= cursor[:, None]) & (pos < (cursor + count)[:, None])
            if types_out is not None and type_id:
                types_out[inside] = type_id
            if special_out is not None and in_sequence:
                special_out[inside] = 0
        cursor = cursor + count
    return types_out, special_out


def template_post_processor(cls_token: str, cls_id: int, sep_token: str, sep_id: int) -> Any:
    """The fast tokenizer's ``TemplateProcessing``, generated from the layouts above.

    Args:
        cls_token: The ``[CLS]`` token's string.
        cls_id: Its id.
        sep_token: The ``[SEP]`` token's string.
        sep_id: Its id.

    Returns:
        A ``tokenizers.processors.TemplateProcessing`` adding ``[CLS] $A [SEP]`` (type 0) to one sequence and
        ``[CLS] $A [SEP] $B:1 [SEP]:1`` to a pair.
    """
    from tokenizers import processors

    def template(layout: Sequence[tuple[str, int]]) -> list[str]:
        names = {"cls": cls_token, "sep": sep_token, "A": "$A", "B": "$B"}
        return [f"{names[name]}:{type_id}" for name, type_id in layout]

    return processors.TemplateProcessing(
        single=template(SINGLE_LAYOUT),
        pair=template(PAIR_LAYOUT),
        special_tokens=[(cls_token, cls_id), (sep_token, sep_id)],
    )
