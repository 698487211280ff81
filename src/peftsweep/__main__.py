"""``python -m peftsweep <command>``: the same as ``peftsweep <command>``."""

import sys

from peftsweep.cli import main

sys.exit(main())
