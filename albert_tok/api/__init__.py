"""The tokenizer API: :class:`AlbertTokenizer` (slow, SentencePiece) and :class:`AlbertTokenizerFast`
(Rust ``tokenizers``) on one shared base, :class:`BatchEncoding`, Hugging Face-format tokenizer directories,
and training a new vocabulary. :class:`AlbertTokenizerFast` imports the Rust library on first use.
"""

from typing import TYPE_CHECKING, Any

from albert_tok.api._alignment import CharSpan, TokenSpan
from albert_tok.api._base import MODEL_MAX_LENGTH, AlbertTokenizerBase
from albert_tok.api._encoding import MODEL_INPUT_NAMES, BatchEncoding, to_tensors
from albert_tok.api._files import SPIECE
from albert_tok.api._slow import AlbertTokenizer
from albert_tok.api._train import VocabularySizeWarning, train_vocabulary

if TYPE_CHECKING:
    from albert_tok.api._fast import AlbertTokenizerFast

from albert_tok.api._shipped import DEFAULT_TOKENIZER

__all__ = [
    "DEFAULT_TOKENIZER",
    "MODEL_INPUT_NAMES",
    "MODEL_MAX_LENGTH",
    "SPIECE",
    "AlbertTokenizer",
    "AlbertTokenizerBase",
    "AlbertTokenizerFast",
    "BatchEncoding",
    "CharSpan",
    "TokenSpan",
    "VocabularySizeWarning",
    "to_tensors",
    "train_vocabulary",
]

_RUST = {"AlbertTokenizerFast": "albert_tok.api._fast"}


def __getattr__(name: str) -> Any:
    # these import the Rust tokenizers library: the slow tokenizer must load and encode without it
    if name in _RUST:
        import importlib

        return getattr(importlib.import_module(_RUST[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
