"""Many trials as one sweep: folder names, the plan, preflight, launching (grid sweeper,
parallel placement, Slurm through Hydra's launchers), progress lines, status, dry run
and the end summary; :mod:`.search` runs an Optuna search over the same job folders.

Inside this package :mod:`.launch`, :mod:`.dry_run` and :mod:`.status` (which know both
grids and searches) sit above :mod:`.search`, which sits above the rest.
"""
