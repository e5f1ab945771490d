"""What an added token is: :class:`AddedToken`, this package's own token type, with transformers' options.

``tokenizers.AddedToken`` objects and ``tokenizer_config.json`` entries are accepted wherever one is
(:meth:`AddedToken.coerce`). How added tokens are matched in text is :mod:`albert_tok.api._added_tokens`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["AddedToken"]

_FLAGS = ("single_word", "lstrip", "rstrip", "normalized", "special")


@dataclass(frozen=True)
class AddedToken:
    """A token matched in text before tokenization, with transformers' options.

    ``lstrip``/``rstrip`` swallow the whitespace on that side; ``single_word`` matches only where the token
    is not glued to other text; ``normalized`` (default: ``not special``) makes the token match
    case-insensitively when the tokenizer lower-cases (its content is stored lower-cased, as transformers does);
    ``special`` tokens are skipped by ``decode(..., skip_special_tokens=True)``.
    """

    content: str
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool | None = None
    special: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.content, str) or not self.content:
            raise ValueError(f"AddedToken content must be a non-empty str, got {self.content!r:.60}")
        if self.normalized is None:
            object.__setattr__(self, "normalized", not self.special)
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"AddedToken {name} must be True or False, got {getattr(self, name)!r:.40}")

    def __str__(self) -> str:
        return self.content

    def entry(self) -> dict[str, Any]:
        """The ``added_tokens_decoder`` entry transformers writes for this token."""
        return {
            "content": self.content,
            "lstrip": self.lstrip,
            "normalized": self.normalized,
            "rstrip": self.rstrip,
            "single_word": self.single_word,
            "special": self.special,
        }

    @classmethod
    def coerce(cls, value: Any, *, special: bool = False, source: str = "token") -> AddedToken:
        """An :class:`AddedToken` from a str (``special`` sets its kind, as transformers' ``add_tokens`` does),
        an :class:`AddedToken`, a ``tokenizers.AddedToken`` (or any object with its attributes) or a
        ``{"content": ..., "lstrip": ...}`` entry. ``source`` names the value in errors."""
        if isinstance(value, AddedToken):
            return value
        if isinstance(value, str):
            return cls(value, normalized=not special, special=special)
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {"content", "__type", *_FLAGS})
            if "content" not in value or unknown:
                raise ValueError(
                    f'{source}: an added token needs "content" and only the keys '
                    f"{['content', *_FLAGS]}; got {dict(value)!r:.100}"
                )
            fields = {k: value[k] for k in ("content", *_FLAGS) if k in value}
        elif all(hasattr(value, name) for name in ("content", *_FLAGS)):  # tokenizers.AddedToken
            fields = {name: getattr(value, name) for name in ("content", *_FLAGS)}
        else:
            raise TypeError(
                f"{source} must be a str, an albert_tok.AddedToken or a tokenizers.AddedToken, "
                f"got {type(value).__name__} ({value!r:.60})"
            )
        try:
            return cls(**fields)
        except (TypeError, ValueError) as exc:
            # An entry read from a file is bad file content (ValueError), not a bad argument.
            kind = ValueError if isinstance(value, Mapping) else type(exc)
            raise kind(f"{source}: {exc}") from None

    def as_special(self) -> AddedToken:
        """This token marked special; ``normalized`` is kept (transformers' ``add_special_tokens``)."""
        return self if self.special else replace(self, special=True)
