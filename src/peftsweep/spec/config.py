"""The config schema: every key a user may set, with its type, default and allowed values.

These dataclasses are the only place a default is declared. Hydra receives them
as schema nodes (``hydra_schema.py``) that the YAML files under ``conf/``
extend, so a preset says only what it changes. Each dataclass checks itself on
construction (:mod:`peftsweep.spec.schema`); checks that need the model, strategy or
data registries run in :mod:`peftsweep.compose.validate`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any

from peftsweep.spec.schema import InvalidOption, Schema, identity_part, option
from peftsweep.spec.tasks import TASKS, TaskSpec

PRECISIONS = ("auto", "32-true", "32", "bf16-mixed", "16-mixed", "bf16-true")


@dataclass(frozen=True)
class ModelConfig(Schema):
    name: str = option(help="Short name used in reports and folder names.")
    name_or_path: str = option(help="Hub id, local folder, package:<module> or builtin:demo.")
    tokenizer: str | None = option(None, "Tokenizer to load instead of name_or_path's.")
    pretrained: bool = option(True, "Start from pretrained weights; false: random init.")
    family: str = option("bert", "Architecture family (models/families.py): default targets "
                                 "and heads.")
    arch: dict[str, Any] = option({}, "config.json keys to build or count the model offline.")
    dropout: float | None = option(
        None, "Every dropout rate of the model's config (hidden, attention, classifier) set to "
              "this value; 0: no dropout anywhere. null: the model's own rates.",
        ge=0, lt=1, omit_default=True)

    def check(self) -> None:
        if not self.name_or_path:
            raise InvalidOption("name_or_path", "must not be empty",
                                "a hub id, a local folder, package:<module>, builtin:demo")


@dataclass(frozen=True)
class DataConfig(Schema):
    name: str = option(help="Short name used in reports.")
    task: str = option(help="Task spec: columns, labels and metrics.", choices=tuple(TASKS))
    source: str = option("hub", "Where the rows come from.", choices=("demo", "hub", "files"))
    hub_path: str | None = option(None, "Hub dataset id; null: the task's own.")
    hub_name: str | None = option(None, "Hub dataset config name; null: the task's own.")
    data_dir: str | None = option(None, "source=files: folder with train.*, validation.* "
                                        "(or dev.*), test.*")
    train_file: str | None = option(None, "source=files: the training file (CSV/TSV/JSONL).")
    validation_file: str | None = option(None, "source=files: the validation file.")
    test_file: str | None = option(None, "source=files: the test file.")
    column_names: list[str] | None = option(None, "Header of header-less CSV/TSV (CoLA).")
    text_fields: list[str] | None = option(None, "Text columns; null: the task's own.")
    label_field: str | None = option(None, "Label column; null: the task's own.")
    label_names: list | None = option(None, "Label values in class order; null: the task's.")
    selection: str = option("validation", "Split that selects hyper-parameters: the given "
                                          "validation split, or a seeded part of train.",
                            choices=("validation", "split_train"))
    test_on: str = option("test", "Split tested once at the selected checkpoint.",
                          choices=("test", "validation"))
    validation_fraction: float = option(0.1, "selection=split_train: share of train held out.",
                                        gt=0, lt=1)
    split_seed: int = option(0, "Seed of the held-out split (not the trial seed).")
    max_length: int = option(128, "Tokens per example after truncation.", gt=0)
    max_train_samples: int | None = option(None, "Keep the first N training rows.", gt=0)
    max_eval_samples: int | None = option(None, "Keep the first N rows of each eval split.",
                                          gt=0)
    demo_size: int = option(2000, "source=demo: training rows generated.", gt=0)

    def check(self) -> None:
        if self.selection == "validation" and self.test_on == "validation":
            raise InvalidOption("test_on", "cannot test on the split used for selection "
                                "(data.selection=validation)",
                                "test, or set data.selection=split_train")


def task_spec(data: DataConfig) -> TaskSpec:
    """The task's spec with the user's column and label overrides applied."""
    spec = TASKS[data.task]
    overrides = {}
    if data.text_fields:
        overrides["text_fields"] = tuple(data.text_fields)
    if data.label_field:
        overrides["label_field"] = data.label_field
    if data.label_names:
        overrides["label_names"] = tuple(str(name) for name in data.label_names)
    if data.hub_path:
        overrides["hub_path"] = data.hub_path
    if data.hub_name:
        overrides["hub_name"] = data.hub_name
    return TaskSpec(**{**spec.__dict__, **overrides})


@dataclass(frozen=True)
class TrainerConfig(Schema):
    accelerator: str = option("auto", "auto: a GPU when there is one, else the CPU.",
                              choices=("auto", "cpu", "gpu", "cuda"))
    devices: int = option(1, "Devices per trial.", gt=0, runtime=True)
    precision: str = option("auto", "auto: 32-true on CPU, bf16-mixed on a GPU that has it.",
                            choices=PRECISIONS)
    weight_decay: float = option(0.01, "AdamW weight decay (never on biases and LayerNorms).",
                                 ge=0)
    warmup_steps: int = option(0, "Linear warmup steps; > 0 wins over warmup_ratio.", ge=0)
    warmup_ratio: float = option(0.06, "Warmup as a share of all optimizer steps.", ge=0, lt=1)
    gradient_clip_val: float | None = option(1.0, "Clip the gradient norm; null: no clipping.",
                                             ge=0)
    accumulate_grad_batches: int = option(1, "Batches per optimizer step.", gt=0)
    eval_batch_size: int | None = option(None, "null: 2 x batch_size.", gt=0, runtime=True)
    val_check_interval: float | int = option(1.0, "float: fraction of an epoch; int: every N "
                                                  "training batches.", gt=0)
    log_every_n_steps: int = option(10, "Training-loss logging and divergence check interval.",
                                    gt=0, runtime=True)
    num_threads: int | None = option(None, "torch CPU threads; null: torch default or "
                                           "$PEFTSWEEP_THREADS.", gt=0, runtime=True)
    keep_checkpoint: bool = option(False, "Keep the best checkpoint after the trial.",
                                   runtime=True)
    keep_weights: str = option("trainable", "trainable: keep the best checkpoint's trainable "
                                            "parameters for export (docs/export.md); none.",
                               choices=("trainable", "none"), runtime=True)
    full_weights: str = option("selected", "What strategies training every parameter keep: "
                                           "selected (pruned to the report's selection when the "
                                           "sweep ends), all, none.",
                               choices=("selected", "all", "none"), runtime=True)
    enable_progress_bar: bool = option(False, "Lightning's per-step progress bar.",
                                       runtime=True)
    fused_adamw: bool = option(True, "Fused AdamW kernel (CPU and GPU).")
    group_by_length: bool | str = option(
        "auto", "true: batches of similar lengths; false: random batches in HF Trainer's "
                "order; auto: true where that saves >= 10% of the padded training tokens.",
        choices=(True, False, "auto"))
    early_stopping_patience: int | None = option(
        None, "Stop after this many validations without a better selection metric (status "
              "ok, stopped_early_at in the result); null: off.", gt=0, omit_default=True)
    gradient_checkpointing: bool = option(
        False, "Recompute activations in the backward pass: less memory, more time; the same "
               "results.", runtime=True)
    feature_cache: bool = option(
        True, "strategy=head: compute the frozen backbone's features once per model, data and "
              "split, cached beside the tokenized data, and train the head on them; false: "
              "run the backbone at every step. The same results.", runtime=True)

    def check(self) -> None:
        interval = self.val_check_interval
        if isinstance(interval, float) and interval > 1:
            raise InvalidOption("val_check_interval", f"a fraction of an epoch must be <= 1.0, "
                                f"got {interval}", "a float in (0, 1] or a whole number of "
                                                   "batches")


@dataclass(frozen=True)
class MlflowConfig(Schema):
    tracking_uri: str | None = option(None, "null: a local SQLite store in the sweep folder "
                                            "(<sweep>/mlflow.db); or a tracking server, e.g. "
                                            "http://host:5000")
    experiment_name: str = option("peftsweep", "MLflow experiment the trials' runs go to.")

    def check(self) -> None:
        # Every trial writes its config (result.json, .hydra/): a password there would spread.
        if self.tracking_uri and _holds_password(self.tracking_uri):
            raise InvalidOption("tracking_uri", "holds a password, which every trial would "
                                "write into its files", "the URL without it, and the password "
                                "in $MLFLOW_TRACKING_PASSWORD or the database's own means "
                                "($PGPASSWORD, ~/.pgpass)")


def _holds_password(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    return bool(parts.password) or any(key.lower() in ("password", "sslpassword", "passwd",
                                                        "pwd") for key in query)


@dataclass(frozen=True)
class WandbConfig(Schema):
    project: str = option("peftsweep", "W&B project the trials' runs go to.")
    entity: str | None = option(None, "W&B team or user; null: your default entity.")
    mode: str = option("offline", "offline: runs stay in the sweep folder (wandb sync "
                                  "uploads them); online: streamed to W&B; $WANDB_MODE, "
                                  "when set, wins.",
                       choices=("offline", "online", "disabled"))
    tags: list[str] | None = option(None, "Tags on every run.")


@dataclass(frozen=True)
class LoggerConfig(Schema):
    tensorboard: bool = option(True, "TensorBoard scalars per step and HParams (config and "
                                     "final metrics) per trial.")
    csv: bool = option(True, "metrics.csv per trial.")
    mlflow: MlflowConfig | None = option(None, "One MLflow run per trial (logger=mlflow); "
                                               "null: off.")
    wandb: WandbConfig | None = option(None, "One W&B run per trial, grouped by sweep "
                                             "(logger=wandb); null: off.")

    def check(self) -> None:
        for name in ("mlflow", "wandb"):
            if getattr(self, name) is not None and importlib.util.find_spec(name) is None:
                raise InvalidOption(name, f"needs the {name} package, which is not installed",
                                    f"pip install 'peftsweep[{name}]', or another logger")


@dataclass(frozen=True)
class ParallelConfig(Schema):
    """Read by the local parallel launcher only (hydra/launcher=local_parallel)."""

    workers: int | None = option(None, "Trials at once; null: one per visible GPU "
                                       "(x trials_per_gpu), without a GPU cores // 4.", gt=0)
    trials_per_gpu: int = option(1, "Trials sharing one GPU.", gt=0)


@dataclass(frozen=True)
class RunConfig(Schema):
    """The top-level keys of ``conf/train.yaml``."""

    lr: float = option(1e-3, "Peak learning rate.", gt=0)
    batch_size: int = option(32, "Training examples per batch.", gt=0)
    seed: int = option(1, "Seed of the trial (initialisation, batch order, dropout).")
    epochs: int = option(4, "Training epochs.", gt=0)
    resume: str | None = option(None, "Re-run a sweep into this folder: finished trials are "
                                      "skipped, unfinished ones resume.")
    sweep_root: str = option("multirun", "Where new sweep folders go.")
    cache_dir: str | None = option(None, "Tokenized datasets and built-in tokenizers; null: "
                                         "$PEFTSWEEP_CACHE or ~/.cache/peftsweep.")
    experiment_name: str = option("peftsweep", "Job names for launchers.")
    dry_run: bool = option(False, "Compose and check every trial, print what would run and "
                                  "what a resume skips; train nothing.")
    fail_fast: bool = option(False, "Stop launching trials after the first failed or diverged "
                                    "one (trials already running finish).")
    verbose: bool = option(False, "Show every log line and library warning on the terminal; "
                                  "false: progress lines, the summary and warnings only "
                                  "(the rest is in each job's train.log).", runtime=True)
    search: dict | None = option(None, "hydra/sweeper=search: the study's settings and space "
                                       "(conf/search/, docs/search.md).", runtime=True)


# The groups under their key in a composed config (``strategy`` is checked by its registry).
GROUPS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "trainer": TrainerConfig,
                           "logger": LoggerConfig, "parallel": ParallelConfig}


@dataclass(frozen=True)
class TrialConfig:
    model: ModelConfig
    data: DataConfig
    strategy: dict
    trainer: TrainerConfig
    lr: float
    batch_size: int
    seed: int
    epochs: int
    cache_dir: str
    logger: LoggerConfig = dataclasses.field(default_factory=LoggerConfig)
    strategy_label: str = ""
    """Name plus the options that differ from their defaults, e.g. 'lora(r=2, alpha=8)'."""

    def science(self) -> dict[str, Any]:
        """The keys that change results; their hash is the trial identity."""
        return {
            "model": identity_part(self.model),
            "data": dataclasses.asdict(self.data),
            "strategy": dict(self.strategy),
            "trainer": identity_part(self.trainer),
            "lr": self.lr,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "epochs": self.epochs,
        }

    def identity(self) -> str:
        canonical = json.dumps(self.science(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def summary(self) -> dict[str, Any]:
        """The flat keys reports group and sort by."""
        return {
            "model": self.model.name,
            "data": self.data.name,
            "strategy": self.strategy_label or self.strategy["name"],
            "lr": self.lr,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "epochs": self.epochs,
            "pretrained": self.model.pretrained,
        }

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_cache_dir() -> str:
    return os.environ.get("PEFTSWEEP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "peftsweep")
