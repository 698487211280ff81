"""Secrets in storage URLs: every spelling taken out and scrubbed, the rest of the URL kept,
the query string reaching a real PostgreSQL server's driver."""

from __future__ import annotations

import logging
import os
import urllib.parse

import pytest

from peftsweep.errors import ConfigError
from peftsweep.study.credentials import env_name, guard_logs
from peftsweep.study.storage import (
    PASSWORD_ENV,
    check_reachable,
    connect_url,
    redact,
    scrub,
    take_password,
)

pytest_plugins = ["postgres_server"]

SECRET = "p@ss:w/rd%?&= +x'y"
ESCAPED = urllib.parse.quote(SECRET, safe="")


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch):
    for key in ("password", "sslpassword", "passwd", "pwd"):
        monkeypatch.delenv(env_name(key), raising=False)


def every_spelling(secret: str) -> list[str]:
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote(secret),
             urllib.parse.quote_plus(secret), urllib.parse.quote(secret, safe="").lower()}
    return sorted(forms)


def test_an_escaped_password_in_the_user_part_moves_to_the_environment():
    url = f"postgresql://me:{ESCAPED}@db.example:5432/studies?sslmode=require"
    redacted = take_password(url)
    assert redacted == "postgresql://me:***@db.example:5432/studies?sslmode=require"
    assert os.environ[PASSWORD_ENV] == SECRET
    back = urllib.parse.urlsplit(connect_url(redacted))
    assert urllib.parse.unquote(back.password) == SECRET and back.query == "sslmode=require"


def test_a_password_in_the_query_string_moves_too_and_comes_back_there():
    url = f"postgresql://me@db/studies?connect_timeout=10&password={ESCAPED}"
    redacted = take_password(url)
    assert redacted == "postgresql://me@db/studies?connect_timeout=10&password=***"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(connect_url(redacted)).query)
    assert query == {"connect_timeout": ["10"], "password": [SECRET]}


def test_two_different_passwords_are_refused_without_quoting_either():
    with pytest.raises(ConfigError, match=r"^search.storage: two different passwords") as err:
        take_password("postgresql://me:one-secret@db/x?password=other-secret")
    assert "secret" not in str(err.value)


def test_an_unreadable_url_is_named_without_quoting_it():
    with pytest.raises(ConfigError, match=r"^search.storage: not a database URL") as err:
        take_password("postgresql://me:p@ss:w/rd@db/x")
    assert "ss:w" not in str(err.value) and "w/rd" not in str(err.value)


@pytest.mark.parametrize("form", every_spelling(SECRET))
def test_scrub_removes_every_spelling_of_a_known_secret(form):
    take_password(f"postgresql://me:{ESCAPED}@db/x")
    assert scrub(f"storage: {form} end") == "storage: *** end"


def test_scrub_removes_any_url_password_and_query_secret():
    text = ("a postgresql://u:never-seen@h/db?sslpassword=also-unseen&sslmode=require b "
            "mysql://u:x@h/d?pwd=zz")
    assert scrub(text) == ("a postgresql://u:***@h/db?sslpassword=***&sslmode=require b "
                           "mysql://u:***@h/d?pwd=***")
    assert redact("postgresql://u@h/db?sslpassword=key-pass") == \
        "postgresql://u@h/db?sslpassword=***"


def test_log_records_and_their_tracebacks_are_scrubbed(caplog):
    take_password(f"postgresql://me:{ESCAPED}@db/x")
    guard_logs()
    log = logging.getLogger("peftsweep.test")
    with caplog.at_level(logging.INFO):
        log.info("connecting with %s", SECRET)
        try:
            raise RuntimeError(f"driver said {ESCAPED}")
        except RuntimeError:
            log.exception("failed")
    text = caplog.text
    assert SECRET not in text and ESCAPED not in text and "***" in text


def test_the_query_string_reaches_the_database_driver(postgres_server):
    """libpq takes ?sslmode= and ?connect_timeout=: the server has no SSL, so require fails
    with the server's own answer, and disable connects."""
    plain = postgres_server.url(with_password=True, query="connect_timeout=5&sslmode=disable")
    check_reachable(take_password(plain))
    strict = postgres_server.url(with_password=True, query="sslmode=require")
    with pytest.raises(ConfigError, match=r"server does not support SSL") as err:
        check_reachable(take_password(strict))
    assert "sslmode=require" in str(err.value) and "peftsweep:***@" in str(err.value)
    assert postgres_server.password not in str(err.value)
