"""Secrets in a storage URL: taken out of it, kept in the environment, scrubbed from text.

A URL may carry a password in its user part (``postgresql://me:p%40ss@host/db``) or in
its query string (``?password=...``, ``?sslpassword=...``), written raw or percent-escaped.
:func:`take_password` moves every such secret into this process's environment (which
workers and Slurm jobs inherit) and hands back the URL with ``***`` in its place; only
that form is ever written or printed. :func:`scrub` removes the secrets from any text in
every spelling a file or a log could hold them (decoded, percent-escaped in upper or lower
case, with ``+`` for spaces, JSON-escaped), and any password in any URL besides.
"""

from __future__ import annotations

import json
import logging
import os
import re
from urllib.parse import quote, quote_plus

from peftsweep.errors import ConfigError

PASSWORD_ENV = "PEFTSWEEP_STORAGE_PASSWORD"
HIDDEN = "***"
# Query parameters whose value is a secret (libpq's and the MySQL drivers' names).
SECRET_KEYS = ("password", "sslpassword", "passwd", "pwd")
# A password in the user part of any URL, and a secret query parameter, however spelt.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][\w+.-]*://[^:/@\s'\"]*:)(?P<secret>[^@\s'\"]+)@")
_QUERY = re.compile(r"(?P<head>[?&](?:" + "|".join(SECRET_KEYS) + r")=)"
                    r"(?P<secret>[^&#\s'\"]+)", re.IGNORECASE)


def env_name(key: str) -> str:
    """Where the secret of query key ``key`` waits (the user part's password: ``password``)."""
    return f"PEFTSWEEP_STORAGE_{key.upper()}"


def parse(url: str):
    """SQLAlchemy's URL; a URL it cannot read is a ConfigError that quotes none of it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # their text may hold part of the password
        raise ConfigError("search.storage", "not a database URL, or one whose user name or "
                          "password holds @ : / unescaped", "sqlite:///path.db or a SQLAlchemy "
                          "URL, with %40 %3A %2F %25 for @ : / % in a password") from None


def _query_secrets(parsed) -> dict[str, str]:
    return {key: value for key, value in parsed.query.items()
            if key.lower() in SECRET_KEYS and isinstance(value, str)}


def _render(parsed) -> str:
    # SQLAlchemy escapes '*' as %2A; the marker reads better as written.
    return parsed.render_as_string(hide_password=False).replace(quote(HIDDEN, safe=""), HIDDEN)


def redact(url: str | None) -> str | None:
    """The URL with every secret replaced by ***; safe to write or print."""
    if not url:
        return url
    parsed = parse(url)
    secrets = _query_secrets(parsed)
    if not parsed.password and not secrets:
        return url
    if parsed.password:
        parsed = parsed.set(password=HIDDEN)
    return _render(parsed.update_query_dict({key: HIDDEN for key in secrets}))


def take_password(url: str | None) -> str | None:
    """Move every secret written in the URL into the environment; return the redacted URL."""
    if not url:
        return url
    parsed = parse(url)
    found = {key.lower(): value for key, value in _query_secrets(parsed).items()
             if value != HIDDEN}
    if parsed.password and parsed.password != HIDDEN:
        if found.get("password", parsed.password) != parsed.password:
            raise ConfigError("search.storage", "two different passwords: one in the user part "
                              "and one in ?password=", "one of them")
        found["password"] = parsed.password
    for key, value in found.items():
        os.environ[env_name(key)] = value
    if found:
        guard_logs()
    return redact(url)


def connect_url(url: str) -> str:
    """The URL to connect with: the secrets from the environment where *** stands."""
    parsed = parse(url)
    password = os.environ.get(PASSWORD_ENV)
    secrets = _query_secrets(parsed)
    hidden = {key: os.environ.get(env_name(key.lower())) for key, value in secrets.items()
              if value == HIDDEN}
    # Filled where hidden, dropped where unknown (libpq's PGPASSWORD / ~/.pgpass then apply).
    parsed = parsed.difference_update_query([k for k, v in hidden.items() if v is None])
    parsed = parsed.update_query_dict({k: v for k, v in hidden.items() if v is not None})
    in_query = "password" in {key.lower() for key in secrets}
    if password and parsed.username and parsed.password in (None, HIDDEN) and not in_query:
        parsed = parsed.set(password=password)
    elif parsed.password == HIDDEN:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def known_secrets() -> list[str]:
    """The secrets this process was given ($PEFTSWEEP_STORAGE_PASSWORD and the like)."""
    return [os.environ[env_name(key)] for key in SECRET_KEYS if os.environ.get(env_name(key))]


def spellings(secret: str) -> set[str]:
    """Every way a file or a log may spell the secret."""
    forms = {secret, json.dumps(secret)[1:-1], secret.replace("'", "\\'")}
    for safe in ("", "/", ":/", "@:/"):
        forms |= {quote(secret, safe=safe), quote_plus(secret, safe=safe)}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form) for form in forms}
    return {form for form in forms if form}


def scrub(text: str) -> str:
    """Text with every known secret, and any URL's password, replaced by ***."""
    for secret in known_secrets():
        for form in sorted(spellings(secret), key=len, reverse=True):  # longest first
            text = text.replace(form, HIDDEN)
    text = _USERINFO.sub(lambda m: m.group("head") + HIDDEN + "@", text)
    return _QUERY.sub(lambda m: m.group("head") + HIDDEN, text)


def guard_logs() -> None:
    """Scrub every log record this process makes, its traceback included (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "scrubs", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if known_secrets():
            record.msg, record.args = scrub(record.getMessage()), None
            if record.exc_info:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return record

    factory.scrubs = True
    logging.setLogRecordFactory(factory)
