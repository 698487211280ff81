"""How an adapter export names its base model, so that a copied folder still loads.

A trial that started from a pretrained hub checkpoint names it by hub id and the commit
it was trained from (the snapshot in the local Hugging Face cache, whose frozen weights
the export verified). Any other base (a random initialisation, a local folder, a model
shipped by a package) exists only inside the export, so it is named by a path relative to
the export folder, never by an absolute path of the machine that wrote it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

# Where the frozen backbone of an adapter export sits, relative to the export folder:
# in the folder itself for adapters transformers loads in place (LoRA, IA3), in
# base_model/ for prompt-learning methods, which only PEFT can load.
IN_PLACE = "."
BASE_DIR = "base_model"


class BaseModel(NamedTuple):
    name_or_path: str
    revision: str | None
    on_hub: bool


def hub_revision(repo_id: str) -> str | None:
    """The commit of ``repo_id`` in the local Hugging Face cache; None if not cached."""
    from huggingface_hub import try_to_load_from_cache

    try:
        path = try_to_load_from_cache(repo_id, "config.json")
    except ValueError:  # not a valid repo id after all
        return None
    # <cache>/models--org--name/snapshots/<commit>/config.json
    return Path(path).parent.name if isinstance(path, str) else None


def is_hub_id(ref: str) -> bool:
    return not ref.startswith(("package:", "builtin:")) and not Path(ref).expanduser().exists()


def base_model(model_config: dict[str, Any], local_path: str) -> BaseModel:
    """The name an adapter config gives its base: hub id and commit, or ``local_path``."""
    ref = model_config["name_or_path"]
    if model_config.get("pretrained", True) and is_hub_id(ref):
        revision = hub_revision(ref)
        if revision is not None:
            return BaseModel(ref, revision, True)
    return BaseModel(local_path, None, False)
