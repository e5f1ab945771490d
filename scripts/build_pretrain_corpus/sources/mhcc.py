"""Matthew Henry's Concise Commentary (Debian sword-comm-mhcc): one Bible chapter per document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .. import sword
from ..packages import Inputs
from ..text import Doc

NAME = "mhcc"

MHCC_DIR = Path("/usr/share/sword/modules/comments/zcom/mhcc")


def documents(inputs: Inputs) -> Iterator[Doc]:
    return sword.documents(MHCC_DIR)


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("sword-comm-mhcc"),
        licence="public domain (Matthew Henry, 1706-1721; 'Public Domain--Copy Freely')",
        origin=str(MHCC_DIR),
        description="Matthew Henry's Concise Commentary, one Bible chapter per document",
    )
