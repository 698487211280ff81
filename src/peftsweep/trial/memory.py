"""The peak memory of one trial, for result.json's ``peak_memory`` (a search's possible cost).

On a GPU: the most bytes torch's allocator held (``torch.cuda.max_memory_allocated``),
counted from the trial's start. On a CPU: the peak resident set size of the process
(``resource.getrusage``). A search worker runs many trials in one process, so its
high-water mark is reset when a trial starts (Linux: ``/proc/self/clear_refs``); where that
is impossible the peak is the process's since it started, and the result says so. Under
DDP this is rank 0's process.
"""

from __future__ import annotations

import resource
import sys

import torch

CLEAR_REFS = "/proc/self/clear_refs"
RESET_PEAK_RSS = "5"  # the kernel's code for "reset the peak RSS to the current RSS"


def start(on_gpu: bool) -> bool:
    """Reset the peak counters at the trial's start; whether this trial's peak can be told."""
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
        return True
    try:
        with open(CLEAR_REFS, "w") as handle:
            handle.write(RESET_PEAK_RSS)
        return True
    except OSError:
        return False


def peak(on_gpu: bool, reset: bool) -> dict:
    """``{"bytes", "measure", "since"}``: the trial's peak memory and how it was taken."""
    if on_gpu:
        return {"bytes": int(torch.cuda.max_memory_allocated()),
                "measure": "torch.cuda.max_memory_allocated", "since": "trial start"}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # macOS counts bytes, Linux KiB
    return {"bytes": int(rss * scale), "measure": "peak RSS (getrusage)",
            "since": "trial start" if reset else "process start"}
