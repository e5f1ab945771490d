"""C. H. Spurgeon, *The Treasury of David* (Debian sword-comm-tdavid): one Psalm per document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .. import sword
from ..packages import Inputs
from ..text import Doc

NAME = "tdavid"

TDAVID_DIR = Path("/usr/share/sword/modules/comments/zcom/tdavid")


def documents(inputs: Inputs) -> Iterator[Doc]:
    return sword.documents(TDAVID_DIR)


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("sword-comm-tdavid"),
        licence="public domain (C. H. Spurgeon, 1869-1885)",
        origin=str(TDAVID_DIR),
        description="Spurgeon's Treasury of David (commentary on the Psalms, with "
        "quoted older authors), one Psalm per document",
    )
