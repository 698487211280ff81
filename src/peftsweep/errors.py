"""Errors that stop a run before training, each rendered as one line."""


class UserError(Exception):
    """Bad input from the user: printed as one line, exit code 2, no result written."""


class ConfigError(UserError):
    """A config key has a value that is not allowed."""

    def __init__(self, key: str, problem: str, allowed: str | None = None):
        message = f"{key}: {problem}"
        if allowed:
            message += f" (allowed: {allowed})"
        super().__init__(message)
        self.key = key


class DataError(UserError):
    """The data named by the config is missing or does not match its declaration."""
