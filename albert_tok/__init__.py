"""albert_tok: canonical ALBERT tokenizers, slow (SentencePiece) and fast (Rust ``tokenizers``).

Both give the ids the published ALBERT checkpoints were trained with. Importing this package never
imports torch.
"""

from .base import MODEL_MAX_LENGTH
from .encoding import BatchEncoding
from .fast import AlbertTokenizerFast
from .slow import AlbertTokenizer
from .special_tokens import SpecialTokens

__all__ = ["AlbertTokenizer", "AlbertTokenizerFast", "BatchEncoding", "SpecialTokens", "MODEL_MAX_LENGTH",
           "__version__"]
__version__ = "0.1.0"
