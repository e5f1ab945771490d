"""``python -m albert_model.serving``: ``albert serve`` on its own."""

import sys

from albert_model.serving._command import main

sys.exit(main())
