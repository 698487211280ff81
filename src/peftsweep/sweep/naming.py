"""How sweep folders and job folders are named: the one place both names are made.

A new sweep gets ``<sweep_root>/<date>/<time>-<random>`` (two sweeps started in the same
second never collide); ``resume=<folder>`` reuses a folder. A job folder is named by
readable hyper-parameters plus the trial identity, so the same trial always lands in the
same folder, whether a grid or a search runs it. :mod:`.resolvers` puts these names into
Hydra's config; this module needs nothing but the spec, so readers of a sweep folder
(``peftsweep status``) import it cheaply.
"""

from __future__ import annotations

import datetime as dt
import secrets

from peftsweep.spec.config import TrialConfig


def new_sweep_dir(resume: str | None, base: str = "multirun") -> str:
    if resume:
        return str(resume)
    now = dt.datetime.now()
    return f"{base}/{now:%Y-%m-%d}/{now:%H-%M-%S}-{secrets.token_hex(3)}"


def trial_folder_name(cfg: TrialConfig) -> str:
    """``<strategy>_lr<lr>_bs<bs>_seed<seed>_<identity[:8]>``."""
    s = cfg.summary()
    strategy = s["strategy"].split("(")[0]
    return f"{strategy}_lr{s['lr']:g}_bs{s['batch_size']}_seed{s['seed']}_{cfg.identity()[:8]}"
