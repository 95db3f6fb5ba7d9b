"""``python -m sharedrep.cli``: the ``sharedrep`` command."""

import sys

from . import main

sys.exit(main())
