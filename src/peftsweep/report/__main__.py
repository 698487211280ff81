"""``python -m peftsweep.report SWEEP``: the same as ``peftsweep-report``."""

from peftsweep.report.cli import main

raise SystemExit(main())
