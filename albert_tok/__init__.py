"""albert_tok: canonical ALBERT tokenizers, slow (SentencePiece) and fast (Rust ``tokenizers``).

Both give the ids the published ALBERT checkpoints were trained with. Importing this package never
imports torch, nor the Rust ``tokenizers`` library until :class:`AlbertTokenizerFast` is first used.
"""

from typing import TYPE_CHECKING, Any

from albert_tok.api import DEFAULT_TOKENIZER, MODEL_MAX_LENGTH, AlbertTokenizer, BatchEncoding, CharSpan, TokenSpan
from albert_tok.io import atomic
from albert_tok.rules import AddedToken, Preprocessing, SpecialTokens

if TYPE_CHECKING:
    from albert_tok.api import AlbertTokenizerFast

__all__ = [
    "DEFAULT_TOKENIZER",
    "MODEL_MAX_LENGTH",
    "AddedToken",
    "AlbertTokenizer",
    "AlbertTokenizerFast",
    "BatchEncoding",
    "CharSpan",
    "Preprocessing",
    "SpecialTokens",
    "TokenSpan",
    "__version__",
    "atomic",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The fast class pulls in the Rust library; the slow one must load and encode without it.
    if name == "AlbertTokenizerFast":
        from albert_tok.api import AlbertTokenizerFast

        return AlbertTokenizerFast
    raise AttributeError(f"module 'albert_tok' has no attribute {name!r}")
