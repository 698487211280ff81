"""Where a study lives: an Optuna RDB storage, with its password kept out of every file.

A password may come from the URL (its user part or ``?password=``),
``$PEFTSWEEP_STORAGE_PASSWORD``, or the database client's own means (``$PGPASSWORD``,
``~/.pgpass``). A password found in the URL is moved to the environment of this process
(which workers inherit) and the URL is only ever written or printed redacted
(credentials.py). The rest of the query string (``?sslmode=require``,
``?connect_timeout=10``) goes to the database driver as written.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from peftsweep.errors import ConfigError
from peftsweep.study.credentials import (
    HIDDEN,
    PASSWORD_ENV,
    connect_url,
    guard_logs,
    known_secrets,
    parse,
    redact,
    scrub,
    take_password,
)

STUDY_FILE = "study.db"
# What callers import from here: where a study lives and how its URL is made safe.
__all__ = ["HIDDEN", "PASSWORD_ENV", "STUDY_FILE", "check_reachable", "connect_url",
           "default_url", "open_storage", "redact", "scrub", "take_password"]


def default_url(sweep_dir: Path) -> str:
    return f"sqlite:///{Path(sweep_dir).resolve() / STUDY_FILE}"


def open_storage(url: str, heartbeat_s: int | None = None, max_retry: int | None = None):
    """Optuna's RDB storage; with a heartbeat, dead workers' trials are failed and asked again."""
    import optuna

    if known_secrets():
        guard_logs()  # this process knows a password: no log record may show it
    sqlite = url.startswith("sqlite")
    # SQLite's lock wait, unless the URL sets one (?timeout=...).
    engine = {"connect_args": {"timeout": 60}} if sqlite and "timeout" not in \
        parse(url).query else {}
    with warnings.catch_warnings():  # heartbeats are marked experimental; we rely on them
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        kwargs = {}
        if heartbeat_s:
            # Optuna 4.9 renamed the callback (the old name warns, and goes in 6.0).
            retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) \
                or optuna.storages.RetryFailedTrialCallback
            kwargs = dict(heartbeat_interval=heartbeat_s, grace_period=2 * heartbeat_s,
                          heartbeat_stale_trial_callback=retry(max_retry=max_retry))
        return optuna.storages.RDBStorage(connect_url(url), engine_kwargs=engine, **kwargs)


def check_reachable(url: str) -> None:
    """Connect once (nothing created); ConfigError with the redacted URL if that fails."""
    import sqlalchemy

    parsed = parse(url)
    if parsed.drivername.startswith("sqlite") and parsed.database:
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise ConfigError("search.storage", f"cannot open {redact(url)}: no such folder "
                              f"{folder}")
    try:
        engine = sqlalchemy.create_engine(connect_url(url))
        with engine.connect():
            pass
        engine.dispose()
    except Exception as err:  # noqa: BLE001 - any driver error means the same to the user
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = scrub(reason)
        raise ConfigError("search.storage", f"cannot connect to {redact(url)}: {reason}") \
            from None
