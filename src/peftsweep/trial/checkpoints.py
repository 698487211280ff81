"""A trial's checkpoint files: where they are, and loading them without running code.

A checkpoint is a pickle, and a pickle can name any callable to run on loading. Every
load here and in Lightning's restore is ``weights_only=True``: tensors, plain containers
and numbers only (what our checkpoints hold). A file that names anything else was not
written by a trial: it is refused in one line, before any training when the sweep is
checked, and never loaded. A sweep folder is still trusted input (docs/architecture.md):
the refusal catches a swapped file, not every way to attack a folder one can write to.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from peftsweep.errors import UserError

CHECKPOINT_DIR = "checkpoints"
LAST = "last.ckpt"


def last_checkpoint(job_dir: Path) -> Path:
    return Path(job_dir) / CHECKPOINT_DIR / LAST


def _unsafe(path: Path) -> UserError:
    return UserError(f"resume: {path} names code to run on loading, which no trial writes "
                     "(refused; a sweep folder is trusted input): delete the file to train "
                     "that trial from the start")


def check_safe(path: Path) -> None:
    """Raise UserError when ``path`` would run code on loading; torn files pass (they are
    detected and dropped on resume). Reads the pickle's names, not its tensors: cheap."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError):
        return  # not a whole zip archive: a torn write, which resume starts over from
    if unsafe:
        raise _unsafe(path)


def check_resumable(job_dirs: list[Path]) -> None:
    """Every last checkpoint of these job folders is safe to resume from (UserError)."""
    for job_dir in job_dirs:
        path = last_checkpoint(job_dir)
        if path.is_file():
            check_safe(path)


def resume_checkpoint(job_dir: Path) -> tuple[str | None, int | None]:
    """The last checkpoint of an interrupted run and its step, if readable; else start fresh.

    A torn write (a killed process) is deleted and the trial starts over; a file that
    names code is refused (UserError), never deleted: it is evidence."""
    last = last_checkpoint(job_dir)
    if not last.exists():
        return None, None
    check_safe(last)
    try:
        state = torch.load(last, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # passed the scan, still not plain data
        raise _unsafe(last) from err
    except Exception:  # noqa: BLE001 - a torn write from a killed process
        last.unlink(missing_ok=True)
        return None, None
    return str(last), int(state.get("global_step", 0))
