"""``python -m albert_tok``: the tokenizer commands (see :mod:`albert_tok.cli`)."""

import sys

from albert_tok.cli import main

if __name__ == "__main__":
    sys.exit(main())
