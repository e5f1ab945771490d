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

    The object is frozen: a changed option is a new token (``dataclasses.replace``).

    Args:
        content: The text of the token, a non-empty str, matched as written (or lower-cased, see
            ``normalized``).
        single_word: If True, a match counts only where the text before it is empty or ends with a space
            and the text after it is empty or starts with one; elsewhere it stays part of that text. False
            (the default) matches it anywhere, even inside a word.
        lstrip: If True, a match also takes the whitespace at the end of the text before it. False by
            default.
        rstrip: If True, a match also takes the whitespace at the start of the text after it. False by
            default.
        normalized: If True, a tokenizer that lower-cases stores a non-special token's content
            lower-cased, so the token matches however its case is written; False keeps the content as
            given. None (the default) means ``not special``.
        special: If True, the token is a special token: written exactly, it is not lower-cased, and
            ``decode(..., skip_special_tokens=True)`` leaves it out. False by default.

    Raises:
        ValueError: ``content`` is not a non-empty str.
        TypeError: one of the five options is not True or False after ``normalized``'s default is
            filled in (an int such as 1 is refused too).
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
        """The ``added_tokens_decoder`` entry transformers writes for this token.

        Returns:
            A new dict with ``content`` and the five options (``lstrip``, ``normalized``, ``rstrip``,
            ``single_word``, ``special``), in the key order of ``tokenizer_config.json``; it reads back with
            :meth:`coerce`.
        """
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
        ``{"content": ..., "lstrip": ...}`` entry. ``source`` names the value in errors.

        Args:
            value: What to convert. An :class:`AddedToken` comes back as it is; a str becomes a token with
                default options; a mapping (an ``added_tokens_decoder`` entry read from a file) needs
                ``"content"`` and may set the five options and transformers' ``"__type"`` marker, nothing
                else; any other object must have ``content`` and the five options as attributes, as a
                ``tokenizers.AddedToken`` has.
            special: Used for a str only: True makes it a special, non-normalized token; False (the default)
                a normal, normalized one. A mapping or an object keeps its own ``special``.
            source: A name for ``value`` put in front of error messages (such as the file and id it was read
                from); ``"token"`` by default.

        Returns:
            The :class:`AddedToken`.

        Raises:
            ValueError: a mapping lacks ``"content"``, has another key, or holds a bad value (an empty
                content, an option that is not a bool): bad file content.
            TypeError: ``value`` is none of the accepted kinds, or an object with the attributes holds a bad
                option (an object with an empty content raises ValueError, as the constructor does).
        """
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
        """This token marked special; ``normalized`` is kept (transformers' ``add_special_tokens``).

        Returns:
            This same object when it is already special, otherwise a copy with ``special=True`` and every
            other option unchanged.
        """
        return self if self.special else replace(self, special=True)
