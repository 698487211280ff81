"""Optuna search over the same trials, job folders and result files as a grid.

``peftsweep train -m hydra/sweeper=search search=<preset> search.n_trials=40``; see
docs/search.md.
"""
