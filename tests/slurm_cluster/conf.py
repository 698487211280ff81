"""The slurm.conf of the one-node test cluster (see tests/slurm_cluster/__init__.py).

* ``AuthInfo=cred_expire`` also sets how long a requeued job waits before it may start again
  (default 120 s, minimum 5 s): 10 s here. ``sched_interval``/``bf_interval`` of 1 s make the
  scheduler start it promptly after that; with the default intervals a requeue still took
  ~23 s, and ``batch_sched_delay=0`` cuts a new job's start from ~3 s to <1 s.
* Requests must fit the 1-node partition. Too much memory is refused at submission ("Requested
  node configuration is not available"); too many CPUs would pend forever
  (Reason=PartitionConfig), hence ``EnforcePartLimits=ALL`` to refuse it at submission too.
  slurm.yaml's defaults (4 CPUs, 16 GB) exceed small machines: tests override
  ``hydra.launcher.cpus_per_task=1 hydra.launcher.mem_gb=1``. The partition is ``debug``
  (the default partition, so ``partition: null`` works too).
"""

from __future__ import annotations

import os

CRED_EXPIRE_S = 10


def _total_memory_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 1024


def conf_text(cluster, ctld_port: int, slurmd_port: int) -> str:
    """slurm.conf of `cluster` (a LocalSlurmCluster): one node, no cgroups, no accounting."""
    cpus = len(os.sched_getaffinity(0))
    # Below the real total, so slurmd never drains the node for "Low RealMemory".
    memory_mb = max(int(_total_memory_mb() * 0.9), 256)
    settings = {
        "ClusterName": "peftsweep-test",
        "SlurmctldHost": "localhost",
        "SlurmctldPort": ctld_port,
        "SlurmdPort": slurmd_port,
        "SlurmUser": "root",
        "SlurmdUser": "root",
        "AuthType": "auth/munge",
        "CredType": "cred/munge",
        "AuthInfo": f"socket={cluster.munge_socket},cred_expire={CRED_EXPIRE_S}",
        "ProctrackType": "proctrack/linuxproc",
        "TaskPlugin": "task/none",
        "JobContainerType": "job_container/none",
        "SwitchType": "switch/none",
        "MpiDefault": "none",
        "SelectType": "select/cons_tres",
        "SelectTypeParameters": "CR_CPU",
        "SchedulerType": "sched/backfill",
        # Tests wait on the scheduler: start jobs at submission, and retry pending ones
        # (e.g. requeued jobs whose begin time passed) every second, not every 30-60 s.
        "SchedulerParameters": "batch_sched_delay=0,sched_interval=1,bf_interval=1",
        "AccountingStorageType": "accounting_storage/none",
        "JobAcctGatherType": "jobacct_gather/none",
        "JobCompType": "jobcomp/none",
        "JobRequeue": 1,
        # Refuse jobs that can never fit (e.g. more CPUs than the node has) at submission,
        # instead of leaving them pending forever (Reason=PartitionConfig) and a test hanging.
        "EnforcePartLimits": "ALL",
        "ReturnToService": 2,
        "MailProg": "/bin/true",
        # Quick turnaround for tests: short kill grace time, no waiting on step teardown.
        "KillWait": 5,
        "InactiveLimit": 0,
        "MinJobAge": 300,
        "StateSaveLocation": cluster.root / "state",
        "SlurmdSpoolDir": cluster.root / "spool",
        "SlurmctldPidFile": cluster.pid_file("slurmctld"),
        "SlurmdPidFile": cluster.pid_file("slurmd"),
        "SlurmctldLogFile": cluster.log_file("slurmctld"),
        "SlurmdLogFile": cluster.log_file("slurmd"),
        "SlurmctldDebug": "info",
        "SlurmdDebug": "info",
    }
    lines = [f"{key}={value}" for key, value in settings.items()]
    lines.append(f"NodeName={cluster.nodename} NodeAddr=127.0.0.1 CPUs={cpus} "
                 f"RealMemory={memory_mb} State=UNKNOWN")
    lines.append(f"PartitionName={cluster.partition} Nodes={cluster.nodename} Default=YES "
                 "MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"
