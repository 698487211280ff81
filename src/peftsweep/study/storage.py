"""Where a study lives: an Optuna RDB storage, with its password kept out of every file.

A password may come from the URL, ``$PEFTSWEEP_STORAGE_PASSWORD``, or the database client's
own means (``$PGPASSWORD``, ``~/.pgpass``). A password found in the URL is moved to the
environment of this process (which workers inherit) and the URL is only ever written or
printed redacted.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from peftsweep.errors import ConfigError

PASSWORD_ENV = "PEFTSWEEP_STORAGE_PASSWORD"
STUDY_FILE = "study.db"
HIDDEN = "***"


def default_url(sweep_dir: Path) -> str:
    return f"sqlite:///{Path(sweep_dir).resolve() / STUDY_FILE}"


def _parse(url: str):
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError as err:
        raise ConfigError("search.storage", f"not a database URL ({err})",
                          "sqlite:///path.db or a SQLAlchemy URL") from None


def redact(url: str | None) -> str | None:
    """The URL with any password replaced by ***; safe to write or print."""
    if not url:
        return url
    parsed = _parse(url)
    return parsed.render_as_string(hide_password=True) if parsed.password else url


def take_password(url: str | None) -> str | None:
    """Move a password written in the URL into the environment; return the redacted URL."""
    if not url:
        return url
    parsed = _parse(url)
    if parsed.password and parsed.password != HIDDEN:
        os.environ[PASSWORD_ENV] = parsed.password
    return redact(url)


def scrub(text: str) -> str:
    """Text with the storage password (if one is known) replaced by ***."""
    password = os.environ.get(PASSWORD_ENV)
    return text.replace(password, HIDDEN) if password else text


def connect_url(url: str) -> str:
    """The URL to connect with: the password from the environment filled in where hidden."""
    parsed = _parse(url)
    password = os.environ.get(PASSWORD_ENV)
    if password and parsed.username and parsed.password in (None, HIDDEN):
        parsed = parsed.set(password=password)
    elif parsed.password == HIDDEN:
        parsed = parsed.set(password=None)  # libpq's own PGPASSWORD / ~/.pgpass then apply
    return parsed.render_as_string(hide_password=False)


def open_storage(url: str, heartbeat_s: int | None = None, max_retry: int | None = None):
    """Optuna's RDB storage; with a heartbeat, dead workers' trials are failed and asked again."""
    import optuna

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
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

    parsed = _parse(url)
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
