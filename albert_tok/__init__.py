"""albert_tok: canonical ALBERT tokenizers, slow (SentencePiece) and fast (Rust ``tokenizers``).

Both give the ids the published ALBERT checkpoints were trained with. Importing this package never
imports torch, nor the Rust ``tokenizers`` library until :class:`AlbertTokenizerFast` is first used.
"""

from typing import TYPE_CHECKING, Any

from . import atomic
from .added_tokens import AddedToken
from .alignment import CharSpan, TokenSpan
from .base import MODEL_MAX_LENGTH
from .encoding import BatchEncoding
from .slow import AlbertTokenizer
from .special_tokens import SpecialTokens
from .text import Preprocessing

if TYPE_CHECKING:
    from .fast import AlbertTokenizerFast

__all__ = [
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
        from .fast import AlbertTokenizerFast

        return AlbertTokenizerFast
    raise AttributeError(f"module 'albert_tok' has no attribute {name!r}")
