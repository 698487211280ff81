"""Hydra sweepers of peftsweep (registered with Hydra through ``hydra_plugins``)."""
