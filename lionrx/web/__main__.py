"""``python -m lionrx.web``: the same as ``lionrx web``."""

import sys

from lionrx.web._main import main

sys.exit(main())
