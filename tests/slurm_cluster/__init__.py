"""A throwaway one-node Slurm cluster on localhost, for tests that need real ``sbatch``.

Requirements (Debian 12): ``apt-get install -y slurm-wlm munge`` (Slurm 22.05, MUNGE 0.5.15),
and running as root: the daemons run as root (``SlurmUser=root``) so that no ``slurm``
account, ``/etc/slurm`` or ``/run/munge`` is needed. Nothing outside the work folder is
touched, except the MUNGE socket, which may get its own ``/tmp/munge-*`` folder (see below).

Findings that shaped this module (checked with a throwaway Hydra app: a 2-job multirun with
``hydra/launcher=slurm`` from conf/hydra/launcher/slurm.yaml against this cluster):

* munged refuses a socket unless every folder above it is executable by all; pytest's
  ``/tmp/pytest-of-root`` is 0700, so the socket goes to a fresh 0755 folder under /tmp when
  the work folder is not world-traversable. Key, pid, log and seed files stay in the work folder.
* Clients (sbatch, squeue, scontrol, sinfo, srun) find the cluster only through ``SLURM_CONF``;
  without it sbatch fails with "fetch_config: DNS SRV lookup failed". The conf's
  ``AuthInfo=socket=...`` points clients and daemons at the private munged.
* What submitted jobs need: only the *submitting* process must have ``SLURM_CONF`` (use
  `LocalSlurmCluster.env`) and ``sbatch`` on ``PATH``: a multirun started with nothing but
  ``SLURM_CONF`` and ``PATH=/usr/bin:/bin`` works. sbatch's default ``--export=ALL`` copies the
  submitter's environment into the job, and submitit's job script runs the submitter's
  ``sys.executable`` (the venv python) by absolute path through ``srun``, so neither an
  activated venv nor ``VIRTUAL_ENV`` is needed inside the job. The job's cwd is the submitter's.
* There is no accounting, so ``sacct`` fails; submitit logs "Bypassing sacct error ... status may
  be inaccurate" while polling and still collects results from its pickles. Harmless.
* A 2-trial multirun through hydra-submitit takes ~3-5 s end to end here.
* Start-up (munged, slurmctld, slurmd, node idle in sinfo) takes ~0.1-0.3 s on a 2-CPU VM;
  stop (cancel jobs, SIGTERM the three daemons, remove files) ~0.3 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from .client import SlurmClient
from .conf import conf_text

DAEMONS = ("munged", "slurmctld", "slurmd")  # in start-up order
REQUIRED_BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")
# Unix socket paths are limited to 108 bytes; keep a margin for munged's ".lock" suffix.
MAX_SOCKET_PATH = 90


def is_slurm_available() -> tuple[bool, str]:
    """Whether this machine can run `LocalSlurmCluster`, and if not, why."""
    missing = [name for name in REQUIRED_BINARIES if _which(name) is None]
    if missing:
        return False, (f"Slurm/MUNGE binaries not found: {', '.join(missing)} "
                       "(apt-get install -y slurm-wlm munge)")
    if os.geteuid() != 0:
        return False, "a local Slurm cluster needs root (daemons run as SlurmUser=root)"
    return True, "ok"


def _which(name: str) -> str | None:
    # The daemons live in /usr/sbin, which is often not on a non-login PATH.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which(name, path=search)


def _free_port() -> int:
    # Good enough: the port is released right away, but the daemons bind it within seconds.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _world_traversable(path: Path) -> bool:
    """True when every folder from / down to `path` is executable by all (munged's rule)."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _pid_alive(pid: int) -> bool:
    # A daemon re-parented to a process that does not reap it stays a zombie: count it as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log file)"


class LocalSlurmCluster(SlurmClient):
    """A one-node Slurm cluster whose files all live under ``workdir``.

    Use as a context manager, or call `start` and `stop`. Clients must run with `env`
    (which sets ``SLURM_CONF``); the helpers here do that for you.
    """

    def __init__(self, workdir: Path, *, start_timeout: float = 60.0) -> None:
        self.root = Path(workdir).resolve() / "slurm-cluster"
        self.start_timeout = start_timeout
        self.nodename = socket.gethostname().split(".")[0]
        self.partition = "debug"
        self.conf = self.root / "etc" / "slurm.conf"
        self.logs = self.root / "log"
        self.run_dir = self.root / "run"
        self.munge_dir = self.root / "munge"
        self.socket_dir = self.munge_dir
        self._own_socket_dir = False
        self._started: list[str] = []

    # ----- paths -------------------------------------------------------------------------

    @property
    def munge_socket(self) -> Path:
        return self.socket_dir / "munge.sock"

    def pid_file(self, daemon: str) -> Path:
        return self.run_dir / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        return self.logs / f"{daemon}.log"

    @property
    def env(self) -> dict[str, str]:
        """Environment for Slurm clients and for anything that submits jobs (e.g. submitit)."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        # Client tools are in /usr/bin, but scontrol & co. may be looked up next to the daemons.
        env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/sbin"])
        # An outer Slurm job's variables would redirect or confuse nested submissions.
        for key in [k for k in env if k.startswith(("SLURM_JOB", "SBATCH_", "SQUEUE_"))]:
            del env[key]
        return env

    # ----- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> LocalSlurmCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> LocalSlurmCluster:
        ok, reason = is_slurm_available()
        if not ok:
            raise RuntimeError(reason)
        # A crashed earlier run on this same workdir may have left its daemons behind; they hold
        # our pid files and socket, so stop them (only those, see _is_ours) and start clean.
        for daemon in DAEMONS[::-1]:
            self._stop_daemon(daemon)
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            self._make_folders()
            self._start_munged()
            self._write_conf()
            # -c: a fresh state folder, nothing to recover; -N: our node, whatever the FQDN.
            self._start_daemon("slurmctld", ["-c"])
            self._start_daemon("slurmd", ["-N", self.nodename])
            self._wait_for_idle_node()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, remove_files: bool = True) -> None:
        """Cancel our jobs, stop the daemons we started (newest first), remove our files."""
        if "slurmctld" in self._started and "slurmd" in self._started:
            self._cancel_all_jobs()
        for daemon in reversed(self._started):
            self._stop_daemon(daemon)
        self._started.clear()
        if remove_files:
            shutil.rmtree(self.root, ignore_errors=True)
            if self._own_socket_dir:
                shutil.rmtree(self.socket_dir, ignore_errors=True)

    def _make_folders(self) -> None:
        for folder in (self.conf.parent, self.logs, self.run_dir, self.root / "state",
                       self.root / "spool"):
            folder.mkdir(parents=True, exist_ok=True)
        # munged insists on a key folder nobody else can write to, and a world-traversable
        # socket folder (all the way up).
        self.munge_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.munge_dir.chmod(0o755)
        if not _world_traversable(self.munge_dir) or len(str(self.munge_dir)) > MAX_SOCKET_PATH:
            self.socket_dir = Path(tempfile.mkdtemp(prefix="munge-", dir="/tmp"))
            self.socket_dir.chmod(0o755)
            self._own_socket_dir = True

    def _start_munged(self) -> None:
        key = self.munge_dir / "munge.key"
        if not key.exists():
            # Same as `dd if=/dev/urandom bs=1 count=1024`: munged wants >= 32 random bytes.
            key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._start_daemon("munged", [
            f"--socket={self.munge_socket}",
            f"--key-file={key}",
            f"--pid-file={self.pid_file('munged')}",
            f"--log-file={self.log_file('munged')}",
            f"--seed-file={self.munge_dir / 'munged.seed'}",
        ])

    def _write_conf(self) -> None:
        self.conf.write_text(conf_text(self, _free_port(), _free_port()))

    # ----- daemons -----------------------------------------------------------------------

    def _daemon_args(self, daemon: str) -> list[str]:
        return [] if daemon == "munged" else ["-f", str(self.conf)]

    def _start_daemon(self, daemon: str, extra: Sequence[str]) -> None:
        pid_file = self.pid_file(daemon)
        pid_file.unlink(missing_ok=True)
        cmd = [_which(daemon) or daemon, *self._daemon_args(daemon), *extra]
        # The daemons fork into the background; the parent exits once they are set up.
        # New session: a Ctrl-C to pytest must not reach them before stop() can run.
        result = subprocess.run(cmd, env=self.env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60,
                                start_new_session=True)
        # Record it before checking: a daemon that wrote its pid file must be stopped later.
        self._started.append(daemon)
        if result.returncode != 0:
            raise RuntimeError(f"{daemon} failed to start (rc={result.returncode}):\n"
                               f"{result.stdout}{result.stderr}\n{self.log_tails()}")
        self._wait_for_pid_file(daemon)

    def _wait_for_pid_file(self, daemon: str, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._read_pid(daemon)
            if pid is not None:
                return pid
            time.sleep(0.1)
        raise RuntimeError(f"{daemon} wrote no pid file within {timeout:.0f} s\n"
                           f"{self.log_tails()}")

    def _read_pid(self, daemon: str) -> int | None:
        try:
            return int(self.pid_file(daemon).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _is_ours(self, daemon: str, pid: int) -> bool:
        """Guards against pid reuse: the process must be `daemon` started with our files."""
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            return False
        # munged's socket folder may differ between runs (see _make_folders); its pid file not.
        marker = str(self.pid_file(daemon) if daemon == "munged" else self.conf).encode()
        return bool(argv) and argv[0].endswith(daemon.encode()) and any(
            marker in arg for arg in argv)

    def _stop_daemon(self, daemon: str, timeout: float = 15.0) -> None:
        pid = self._read_pid(daemon)
        if pid is None or not self._is_ours(daemon, pid):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)

    def _cancel_all_jobs(self) -> None:
        # slurmstepd and job processes outlive slurmd; cancelling lets slurmd reap them first.
        self.run(["scancel", f"--partition={self.partition}"], check=False)
        try:
            self.wait_for_jobs(timeout=30)
        except TimeoutError:
            pass

    def _wait_for_idle_node(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        state = ""
        while time.monotonic() < deadline:
            result = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False)
            state = result.stdout.strip()
            if result.returncode == 0 and state == "idle":
                return
            time.sleep(0.25)
        raise RuntimeError(f"node {self.nodename} not idle after {self.start_timeout:.0f} s "
                           f"(sinfo state: {state or 'none'})\n{self.log_tails()}")

    def log_tails(self, lines: int = 30) -> str:
        """The end of each daemon's log, for error messages."""
        return "\n".join(f"--- {daemon} log ---\n{_tail(self.log_file(daemon), lines)}"
                         for daemon in DAEMONS)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSlurmCluster]:
    """A running one-node cluster shared by the whole session; skips when Slurm is missing."""
    ok, reason = is_slurm_available()
    if not ok:
        pytest.skip(f"no local Slurm cluster: {reason}")
    with LocalSlurmCluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster
