"""AdaLoRA's rank allocation, stepped by the trial after every optimizer step.

AdaLoRA starts every adapted matrix at ``init_r`` and, between ``tinit`` and ``total_step -
tfinal`` optimizer steps, masks the least important singular values until the ranks average
``target_r``. PEFT leaves the stepping to the training loop: ``update_and_allocate`` after each
optimizer step, while the gradients are still there. The allocator's importance estimates are
part of the training state, so a resumed trial carries them on.
"""

from __future__ import annotations

from typing import Any

from torch import nn


class RankAllocation:
    def __init__(self, model: nn.Module):
        self.model = model

    @property
    def _tuner(self):
        return self.model.base_model  # PEFT's AdaLoraModel

    def __call__(self, steps_taken: int) -> None:
        """After optimizer step number ``steps_taken`` (1, 2, ...): the last one of the
        budgeting phase, ``total_step - tfinal``, fixes the final ranks."""
        self._tuner.update_and_allocate(steps_taken)

    def state_dict(self) -> dict[str, Any]:
        allocator = self._tuner.rankallocator
        config = self._tuner.peft_config[self._tuner.trainable_adapter_name]
        return {"ipt": allocator.ipt, "exp_avg_ipt": allocator.exp_avg_ipt,
                "exp_avg_unc": allocator.exp_avg_unc, "rank_pattern": config.rank_pattern}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        allocator = self._tuner.rankallocator
        allocator.ipt = dict(state.get("ipt") or {})
        allocator.exp_avg_ipt = dict(state.get("exp_avg_ipt") or {})
        allocator.exp_avg_unc = dict(state.get("exp_avg_unc") or {})
        config = self._tuner.peft_config[self._tuner.trainable_adapter_name]
        config.rank_pattern = state.get("rank_pattern")
