"""What to do when a hub model or dataset is not in the local cache and the hub is off."""

from __future__ import annotations

import os

TRUE = ("1", "true", "yes", "on")


def _set(*names: str) -> list[str]:
    return [name for name in names if os.environ.get(name, "").strip().lower() in TRUE]


def model_hint() -> str:
    flags = _set("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    if not flags:
        return ""
    return (f" ({'/'.join(flags)} is set and it is not in the Hugging Face cache: run once with "
            "network access and those unset to download it, or give a local folder)")


def dataset_hint() -> str:
    flags = _set("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
    if not flags:
        return ""
    return (f" ({'/'.join(flags)} is set and it is not in the datasets cache: load it once "
            "with network access and those unset, or use data.source=files)")
