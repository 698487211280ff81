"""Write a trained model as a Hugging Face folder, with its labels, metadata and card.

A plain model (full, BitFit, head) is a ``save_pretrained`` model + tokenizer.
A PEFT model is its adapter with the trained head in it beside the frozen backbone
(with the task's label config and the tokenizer): in the folder itself where
transformers applies the adapter on loading and gets the trial's logits (LoRA, IA3,
LoHa, ...: ``pipeline(model=folder)`` works; checked at export, see in_place.py), in
``base_model/`` for the methods only PEFT loads (prompt learning, VeRA, DoRA).
``merge=True`` adds ``merged/``, the adapter folded into a plain model where the
method allows it. Every export carries ``peftsweep_export.json``, which
``peftsweep predict`` and ``peftsweep evaluate`` read.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from torch import nn

from peftsweep.errors import UserError
from peftsweep.export.base_model import BASE_DIR, IN_PLACE, base_model
from peftsweep.export.card import model_card
from peftsweep.export.evidence import selection_evidence
from peftsweep.export.format import FORMAT, METADATA_FILE
from peftsweep.export.in_place import loads_in_place
from peftsweep.export.rebuild import Rebuilt, build_base, rebuild
from peftsweep.export.reproduce import reproduce_command
from peftsweep.report.selection import Chosen


def is_peft(model: nn.Module) -> bool:
    return hasattr(model, "peft_config")


def metadata(chosen: Chosen, built: Rebuilt, kind: str,
             evidence: dict[str, Any] | None) -> dict[str, Any]:
    result, spec, data = chosen.result, built.spec, built.data
    trainer = result["config"]["trainer"]
    return {
        "format": FORMAT,
        "kind": kind,
        "task": {"name": spec.name, "text_fields": list(spec.text_fields),
                 "label_names": list(spec.label_names) if spec.label_names else None,
                 "metrics": list(spec.metrics), "is_regression": spec.is_regression},
        "max_length": data.max_length,
        "eval_batch_size": trainer.get("eval_batch_size") or 2 * result["config"]["batch_size"],
        "data": result["config"]["data"],
        "trial": {"identity": result["identity"], "job_dir": str(chosen.job_dir),
                  "science": result["science"], "config": result["config"],
                  "metric": result["metric"], "best": result["best"], "test": result["test"],
                  "test_split": result.get("test_split"), "params": result["params"]},
        "evidence": evidence,
    }


def _finish(folder: Path, meta: dict[str, Any], tokenizer, command: str) -> None:
    tokenizer.save_pretrained(str(folder))
    (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    (folder / "README.md").write_text(model_card(meta, command), encoding="utf-8")


def _save_adapter(model, chosen: Chosen, tokenizer, staging: Path,
                  where: str) -> dict[str, Any]:
    """The adapter and the frozen backbone it applies to, in ``staging/where``; returns
    how the base is named."""
    config = model.peft_config[model.active_adapter]
    base = base_model(chosen.result["config"]["model"], where)
    config.base_model_name_or_path, config.revision = base.name_or_path, base.revision
    # PEFT adds the task head to the strategy's own list: save each module once.
    if config.modules_to_save:
        config.modules_to_save = list(dict.fromkeys(config.modules_to_save))
    model.save_pretrained(str(staging))
    backbone, _ = build_base(chosen.result)
    backbone.save_pretrained(str(staging / where))
    if where != IN_PLACE:  # a pipeline given the base folder finds its tokenizer too
        tokenizer.save_pretrained(str(staging / where))
    return {**base._asdict(), "folder": where}


def _save_peft(model, chosen: Chosen, tokenizer, staging: Path) -> dict[str, Any]:
    """In place where transformers loads the adapter exactly, else in ``base_model/``."""
    config = model.peft_config[model.active_adapter]
    if not getattr(config, "is_prompt_learning", False):  # transformers skips prompts
        base = _save_adapter(model, chosen, tokenizer, staging, IN_PLACE)
        tokenizer.save_pretrained(str(staging))
        if loads_in_place(staging, model, tokenizer):
            return base
        shutil.rmtree(staging)
        staging.mkdir()
    return _save_adapter(model, chosen, tokenizer, staging, BASE_DIR)


def _merged(model) -> nn.Module:
    config = model.peft_config[model.active_adapter]
    if getattr(config, "is_prompt_learning", False):
        raise UserError(f"--merge: {config.peft_type} has no merged form "
                        "(prompts are not weights of the backbone); export without --merge")
    return model.merge_and_unload()


def write_export(chosen: Chosen, out: Path, merge: bool = False, overwrite: bool = False,
                 sweep_dir: Path | None = None) -> Path:
    """Export one finished trial of ``sweep_dir`` (default: its job folder's parent) into
    ``out``; return the folder."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise UserError(f"--out: {out} exists (pass --overwrite to replace it)")
    built = rebuild(chosen.job_dir, chosen.result)
    model, tokenizer = built.model, built.tokenizer
    tokenizer.model_max_length = built.data.max_length
    command = reproduce_command(chosen.result)
    evidence = selection_evidence(sweep_dir or chosen.job_dir.parent,
                                  chosen.result["science"])
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if is_peft(model):
            meta = metadata(chosen, built, "adapter", evidence)
            meta["base_model"] = _save_peft(model, chosen, tokenizer, staging)
            meta["peft_type"] = str(model.peft_config[model.active_adapter].peft_type.value)
            _finish(staging, meta, tokenizer, command)
            if merge:
                merged = _merged(model)
                merged.save_pretrained(str(staging / "merged"))
                meta = metadata(chosen, built, "model", evidence)
                meta["merged_from"] = "adapter"
                _finish(staging / "merged", meta, tokenizer, command)
        else:  # a plain model is already its merged form: merge changes nothing
            model.save_pretrained(str(staging))
            _finish(staging, metadata(chosen, built, "model", evidence), tokenizer, command)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
