"""The engines under the tokenizers: a SentencePiece ``.model`` read (and rebuilt from a ``tokenizer.json``) without
protobuf, the SentencePiece engine
both tokenizers encode canonically with (:class:`SentencePieceEngine`), and the model's conversion to a Rust
``tokenizers`` pipeline that tokenizes canonically. The conversion's names import the Rust
library on first use, so the slow tokenizer loads and encodes without it.
"""

from typing import TYPE_CHECKING, Any

from albert_tok.engines._sentencepiece import SentencePieceEngine, load_spiece_bytes
from albert_tok.engines._spm_model import ModelFormatError, PieceType, parse_model, parse_pieces_with_spans
from albert_tok.engines._spm_writer import ALBERT_CONTROL_PIECES, model_from_tokenizer_json

if TYPE_CHECKING:
    from albert_tok.engines._convert import (
        hidden_piece,
        register_added_tokens,
        sentencepiece_rows_pattern,
        tokenizer_from_spiece,
        tokenizer_json_bytes,
    )

__all__ = [
    "ALBERT_CONTROL_PIECES",
    "ModelFormatError",
    "PieceType",
    "SentencePieceEngine",
    "hidden_piece",
    "load_spiece_bytes",
    "model_from_tokenizer_json",
    "parse_model",
    "parse_pieces_with_spans",
    "register_added_tokens",
    "sentencepiece_rows_pattern",
    "tokenizer_from_spiece",
    "tokenizer_json_bytes",
]

_RUST = {
    "hidden_piece": "albert_tok.engines._convert",
    "register_added_tokens": "albert_tok.engines._convert",
    "sentencepiece_rows_pattern": "albert_tok.engines._convert",
    "tokenizer_from_spiece": "albert_tok.engines._convert",
    "tokenizer_json_bytes": "albert_tok.engines._convert",
}


def __getattr__(name: str) -> Any:
    # these import the Rust tokenizers library: the slow tokenizer must load and encode without it
    if name in _RUST:
        import importlib

        return getattr(importlib.import_module(_RUST[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
