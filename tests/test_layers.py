"""The layer rules of docs/architecture.md hold: the import contracts in pyproject.toml are kept.

CI also runs ``lint-imports`` on its own; this runs it from the test suite so ``python -m pytest`` alone sees a
broken layer. Imports inside functions count; imports under ``if TYPE_CHECKING:`` do not.
"""

from __future__ import annotations

import shutil
import subprocess

from .conftest import ROOT


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports")
    assert exe is not None, "lint-imports (import-linter, in the test extra) is not installed"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
