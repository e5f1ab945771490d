"""Files written whole or not at all (:mod:`~albert_tok.io.atomic`), and paths and JSON read safely
(a path named as a file must be a regular file; JSON read with bounded size and depth), and Hugging Face
repo ids resolved to directories of the standard cache (:func:`resolve_directory`). Shared by both
packages; imports nothing else of either.
"""

from albert_tok.io import atomic
from albert_tok.io._hub import HUB_FILES, HUB_INSTALL, LEGACY_IDS, hub_snapshot, is_repo_id, resolve_directory
from albert_tok.io._regular import (
    NotARegularFileError,
    first_invalid_utf8,
    load_json,
    read_json,
    regular_file,
    sha256_of,
)

__all__ = [
    "HUB_FILES",
    "HUB_INSTALL",
    "LEGACY_IDS",
    "NotARegularFileError",
    "atomic",
    "first_invalid_utf8",
    "hub_snapshot",
    "is_repo_id",
    "load_json",
    "read_json",
    "regular_file",
    "resolve_directory",
    "sha256_of",
]
