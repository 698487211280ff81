"""Checkpoints load as plain data only: a file that names code is refused, a torn one
dropped, and a resumed grid refuses a swapped checkpoint before any training."""

from __future__ import annotations

import os

import pytest
import torch

from peftsweep.errors import UserError
from peftsweep.sweep.launch import run
from peftsweep.sweep.naming import trial_folder_name
from peftsweep.trial.checkpoints import last_checkpoint, resume_checkpoint

from helpers import FAST, one_line_error, trial_config


class RunsCode:
    """What a swapped checkpoint could hold: a callable that runs on unpickling."""

    def __reduce__(self):
        return (os.getcwd, ())


def write(job_dir, payload) -> None:
    path = last_checkpoint(job_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def test_a_plain_checkpoint_resumes_at_its_step(tmp_path):
    write(tmp_path, {"global_step": 7, "state_dict": {"w": torch.ones(2)}})
    assert resume_checkpoint(tmp_path) == (str(last_checkpoint(tmp_path)), 7)


def test_a_torn_checkpoint_is_dropped_and_the_trial_starts_over(tmp_path):
    write(tmp_path, {"global_step": 7, "state_dict": {"w": torch.ones(1000)}})
    path = last_checkpoint(tmp_path)
    path.write_bytes(path.read_bytes()[:300])
    assert resume_checkpoint(tmp_path) == (None, None)
    assert not path.exists()


def test_a_checkpoint_that_names_code_is_refused_and_kept(tmp_path):
    write(tmp_path, {"global_step": 7, "evil": RunsCode()})
    with pytest.raises(UserError, match="names code to run on loading"):
        resume_checkpoint(tmp_path)
    assert last_checkpoint(tmp_path).exists()  # evidence, not deleted


def test_a_resumed_grid_refuses_a_swapped_checkpoint_before_training(tmp_path, capsys):
    overrides = [*FAST, "seed=1"]
    job_dir = tmp_path / trial_folder_name(trial_config(*overrides))
    write(job_dir, {"global_step": 7, "evil": RunsCode()})
    one_line_error(capsys, run(["-m", *overrides, f"resume={tmp_path}"]),
                   "names code to run on loading")
    assert not list(tmp_path.rglob("result.json"))
