"""Slurm client commands (sbatch, squeue, scontrol) against one test cluster."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


class SlurmClient:
    """Mixed into LocalSlurmCluster: needs ``env`` (with SLURM_CONF) and ``log_tails()``."""

    def run(self, cmd: Sequence[str], *, check: bool = True, cwd: Path | None = None,
            timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster."""
        result = subprocess.run(list(cmd), env=self.env, cwd=cwd, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed (rc={result.returncode}):\n"
                               f"{result.stdout}{result.stderr}")
        return result

    def sbatch(self, *args: str | Path, script: Path | None = None, wrap: str | None = None,
               cwd: Path | None = None) -> int:
        """Submit a job (a script file, or a ``--wrap`` command) and return its id."""
        cmd = ["sbatch", "--parsable", *map(str, args)]
        if wrap is not None:
            cmd.append(f"--wrap={wrap}")
        if script is not None:
            cmd.append(str(script))
        # --parsable prints "<jobid>" or "<jobid>;<cluster>".
        return int(self.run(cmd, cwd=cwd).stdout.strip().split(";")[0])

    def squeue(self, *args: str) -> str:
        return self.run(["squeue", *args]).stdout

    def scontrol(self, *args: str) -> str:
        return self.run(["scontrol", *args]).stdout

    def queued_job_ids(self) -> set[int]:
        """Ids of jobs squeue still lists (pending, running, completing...)."""
        out = self.squeue("-h", "-o", "%i")
        # Array jobs show as "<id>_<task>" or "<id>_[1-3]"; the base id is what callers hold.
        return {int(line.split("_")[0]) for line in out.split()}

    def job_state(self, job_id: int) -> str:
        """The job's state (e.g. RUNNING, COMPLETED), as long as slurmctld remembers it."""
        out = self.scontrol("show", "job", "-o", str(job_id))
        for field in out.split():
            if field.startswith("JobState="):
                return field.split("=", 1)[1]
        raise RuntimeError(f"no JobState for job {job_id}: {out}")

    def job_field(self, job_id: int, name: str) -> str:
        """One ``Key=Value`` field of ``scontrol show job`` (e.g. Restarts, ExitCode)."""
        for field in self.scontrol("show", "job", "-o", str(job_id)).split():
            if field.startswith(f"{name}="):
                return field.split("=", 1)[1]
        raise KeyError(name)

    def wait_for_jobs(self, timeout: float = 60.0, job_ids: Sequence[int] | None = None,
                      poll: float = 0.5) -> None:
        """Wait until squeue lists none of `job_ids` (all jobs when None)."""
        wanted = None if job_ids is None else set(job_ids)
        deadline = time.monotonic() + timeout
        while True:
            queued = self.queued_job_ids()
            left = queued if wanted is None else queued & wanted
            if not left:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs {sorted(left)} still queued after {timeout:.0f} s:\n"
                                   f"{self.squeue()}\n{self.log_tails()}")
            time.sleep(poll)
