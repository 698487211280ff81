"""What to do when a hub model or dataset is not in the local cache and the hub is off."""

from __future__ import annotations

import os

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
