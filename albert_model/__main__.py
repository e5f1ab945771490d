"""``python -m albert_model``: the ``albert`` command (see :mod:`albert_model.cli`)."""

import sys

from albert_model.cli import main

if __name__ == "__main__":
    sys.exit(main())
