"""A throwaway PostgreSQL server on a free port, for tests of a search's shared study.

Needs Debian's ``postgresql`` package (``initdb`` and ``pg_ctl`` under
/usr/lib/postgresql/<version>/bin); the fixture skips with that reason otherwise. As root
the server runs as the ``postgres`` user (PostgreSQL refuses root). Host connections need
a password (scram-sha-256), so a test can check where that password ends up; it holds
every character a URL must escape, so the test sees each way it could be spelt.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class PostgresServer:
    port: int
    user: str
    password: str

    def url(self, with_password: bool, query: str = "") -> str:
        """The URL as a user writes it: the password percent-escaped."""
        secret = urllib.parse.quote(self.password, safe="")
        auth = f"{self.user}:{secret}" if with_password else self.user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/postgres" + (f"?{query}" if query
                                                                           else "")


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    if os.getuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    # Not under pytest's 0700 temp root: the server user must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix="peftsweep-pg-", dir="/tmp"))
    os.chmod(folder, 0o777)
    server = PostgresServer(_free_port(), "peftsweep",
                            f"p@ss:w/rd%?&= {secrets.token_hex(8)}")
    pwfile = folder / "pw"
    pwfile.write_text(server.password + "\n")
    os.chmod(pwfile, 0o644)
    data = folder / "data"
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", server.user,
                                    f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8"]),
                   check=True, capture_output=True)
    pwfile.unlink()
    options = f"-p {server.port} -k {folder} -h 127.0.0.1"
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                                    "-l", str(folder / "log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield server
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                                        "immediate", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
