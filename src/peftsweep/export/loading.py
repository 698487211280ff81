"""Open an exported folder: its metadata, model (plain or adapter) and tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from peftsweep.errors import UserError
from peftsweep.export.base_model import BASE_DIR
from peftsweep.export.format import read_metadata
from peftsweep.strategies.prefix import expose_past_key_values


class Export(NamedTuple):
    folder: Path
    meta: dict[str, Any]
    model: nn.Module
    tokenizer: Any
    device: torch.device

    @property
    def text_fields(self) -> list[str]:
        return self.meta["task"]["text_fields"]

    @property
    def label_names(self) -> list[str] | None:
        return self.meta["task"]["label_names"]


def quiet() -> None:
    """No per-file progress bars or deprecation notes from the libraries: output is ours."""
    import warnings

    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*Could not find a config file.*")


def pick_device(name: str | None) -> torch.device:
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_export(folder: Path, device: str | None = None) -> Export:
    """The model in eval mode on ``device`` (default: the GPU when there is one)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    meta = read_metadata(folder)
    quiet()
    try:
        if meta["kind"] == "adapter" and (folder / BASE_DIR).is_dir():
            # Prompt learning (and exports written before adapters were loaded in place).
            from peft import PeftModel

            base = AutoModelForSequenceClassification.from_pretrained(str(folder / BASE_DIR))
            if meta.get("peft_type") in ("PREFIX_TUNING", "CARTRIDGE"):  # key/value prefixes
                base = expose_past_key_values(base)
            model = PeftModel.from_pretrained(base, str(folder))
        else:  # a plain model, or the backbone with the adapter beside it, as users load it
            model = AutoModelForSequenceClassification.from_pretrained(str(folder))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"DIR: cannot load the model in {folder}: {first}") from err
    target = pick_device(device)
    return Export(folder, meta, model.to(target).eval(), tokenizer, target)


def tokenize(export: Export, columns: list[list[str]]) -> dict[str, torch.Tensor]:
    """One padded batch of texts (one list per text field), as training tokenized them."""
    encoded = export.tokenizer(*columns, truncation=True, max_length=export.meta["max_length"],
                               padding=True, return_tensors="pt")
    return {key: value.to(export.device) for key, value in encoded.items()}


@torch.inference_mode()
def logits(export: Export, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return export.model(**batch).logits.float().cpu()
