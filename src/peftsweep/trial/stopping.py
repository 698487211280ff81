"""Why a trial may stop before its last epoch: early stopping on a grid, pruning in a search.

Both watch the selection metric at each validation. Early stopping ends the fit normally
(status ok, ``stopped_early_at`` in the result); pruning raises
:class:`peftsweep.study.pruning.Pruned` (status pruned).
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.callbacks import EarlyStopping

from peftsweep.spec.config import TrialConfig
from peftsweep.study.pruning import from_environment


def callbacks(cfg: TrialConfig, metric: str) -> list:
    out: list = []
    patience = cfg.trainer.early_stopping_patience
    if patience is not None:
        out.append(EarlyStopping(monitor=f"val/{metric}", mode="max", patience=int(patience),
                                 check_on_train_epoch_end=False, check_finite=False))
    reporter = from_environment(metric, cfg.trainer.val_check_interval)
    if reporter is not None:
        out.append(reporter)
    return out


def record(trainer) -> dict[str, Any]:
    """``{"stopped_early_at": {step, epoch}}`` when early stopping ended the fit, else {}."""
    for callback in trainer.callbacks:
        if isinstance(callback, EarlyStopping) and callback.wait_count >= callback.patience:
            return {"stopped_early_at": {"step": int(trainer.global_step),
                                         "epoch": int(callback.stopped_epoch)}}
    return {}
