"""``python -m scripts.build_pretrain_corpus``: see :mod:`scripts.build_pretrain_corpus.build`."""

import sys

from .build import main

sys.exit(main())
