"""Errors that stop a run before training, each rendered as one line, and the hint they
give when a hub model or dataset is not cached while the hub is switched off."""

from __future__ import annotations

import os


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


# ---- what to do when a hub model or dataset is not cached and the hub is off ----
TRUE = ("1", "true", "yes", "on")
MODEL_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
DATASET_FLAGS = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")


def _hint(flags: tuple[str, ...], cache: str, otherwise: str) -> str:
    """One parenthesised sentence naming the flags that are set; empty when none is."""
    found = [name for name in flags if os.environ.get(name, "").strip().lower() in TRUE]
    if not found:
        return ""
    return (f" ({'/'.join(found)} is set and it is not in the {cache}: load it once with "
            f"network access and those unset, or {otherwise})")


def model_hint() -> str:
    return _hint(MODEL_FLAGS, "Hugging Face cache", "give a local folder")


def dataset_hint() -> str:
    return _hint(DATASET_FLAGS, "datasets cache", "use data.source=files")
