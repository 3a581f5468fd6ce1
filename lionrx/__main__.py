"""``python -m lionrx``: the same as the ``lionrx`` command."""

import sys

from lionrx.cli import main

sys.exit(main())
