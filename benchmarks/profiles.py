"""Run sizes: tiny for --quick, moderate on CPU, bigger on a GPU (sized for ~8 minutes).

Start-up dominates small runs (each measurement is a fresh process), so the
GPU sizes give every throughput run a few seconds of steady-state training.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

ALL = ["full", "bitfit", "lora"]


@dataclass(frozen=True)
class Sizes:
    name: str
    samples: int  # training rows of each throughput run (same for every system)
    eval_samples: int  # caps validation/test of our trial in throughput runs
    # IMDb's own default (conf/data/imdb.yaml). At 128, 90% of reviews fill the whole
    # length, so there is no padding for length grouping to save.
    max_length: int = 256
    batch_size: int = 32
    epochs: int = 1
    lr: float = 1e-4
    repeats: int = 1  # throughput runs per system; the fastest counts (shared-CPU noise)
    models: dict = field(default_factory=lambda: {"bert_tiny": ALL, "minilm": ALL})
    # Fewer rows for a model whose steps are slow (same rows for every system still).
    model_samples: dict = field(default_factory=dict)
    demo_overrides: tuple = ()  # extra overrides for the 8-trial overhead grid
    # imdb: a fixed subset (first N of a seeded shuffle); rte: GLUE RTE, whose 277 validation
    # rows and near-chance start make a 1.5-point comparison mostly noise.
    parity_task: str = "imdb"
    parity_train: int | None = None  # None: the whole train split
    parity_eval: int | None = None  # caps the selection and the test split
    parity_epochs: dict = field(default_factory=lambda: dict.fromkeys(ALL, 2))
    parity_seeds: tuple = (1, 2)
    parity_max_length: int = 128
    parity_workers: int = 1
    parity_strategies: tuple = tuple(ALL)
    parity_systems: tuple = ("ours", "hf")  # of phases.PARITY_SYSTEMS
    parity_lr: dict = field(default_factory=lambda: {"full": 5e-5, "bitfit": 5e-3,
                                                     "lora": 2e-3})
    lockstep_train: int = 320  # training rows of the step-for-step check (10 steps an epoch)
    timeout_s: float = 600.0  # per child process


QUICK = Sizes(
    name="quick (CPU smoke test: tiny sizes, numbers are not meaningful)",
    samples=192, eval_samples=64, max_length=64,
    # minilm on CPU is slow: one strategy proves its path (PEFT + pretrained weights).
    models={"bert_tiny": ALL, "minilm": ["lora"]},
    demo_overrides=("epochs=1", "data.demo_size=256"),
    parity_train=96, parity_eval=64, parity_epochs=dict.fromkeys(ALL, 1), parity_seeds=(1,),
    parity_max_length=64, lockstep_train=96,
    timeout_s=300.0,
)

# ~1 hour on 2 CPU cores: throughput ~30 minutes (minilm steps are ~20x BERT-tiny's),
# parity ~45 minutes (12 minilm runs on 1,000 IMDb reviews at 128 tokens, 2 seeds).
CPU = Sizes(
    name="cpu", samples=1024, eval_samples=256, repeats=2,
    models={"bert_tiny": ALL, "minilm": ALL}, model_samples={"minilm": 256},
    parity_train=1000, parity_eval=800, parity_workers=1, timeout_s=3600.0,
    # BitFit sits near chance for an epoch or more here, and when it leaves that plateau
    # varies by seed (and batch order) by up to 20 points after 2 epochs; 4 let it converge.
    parity_epochs={"full": 2, "bitfit": 4, "lora": 2},
)

# ~8 minutes on an H100 (estimated from CPU start-up times; --budget-s guards the rest):
# 24 throughput processes, the demo grid, 12 parity runs six at a time.
GPU = Sizes(
    name="gpu", samples=16384, eval_samples=512,
    parity_train=8000, parity_eval=2000, parity_max_length=256, parity_workers=6,
    timeout_s=300.0,
)


def samples_for(sizes: Sizes, model: str) -> int:
    return sizes.model_samples.get(model, sizes.samples)


def choose(quick: bool, gpu: bool, **overrides) -> Sizes:
    """The profile for this machine, with any sizes given on the command line."""
    base = QUICK if quick else (GPU if gpu else CPU)
    given = {k: v for k, v in overrides.items() if v is not None}
    if "samples" in given:
        given["model_samples"] = {}  # rows given on the command line apply to every model
    return replace(base, **given)


def restrict(sizes: Sizes, models: list[str] | None, strategies: list[str] | None) -> Sizes:
    """Only the named models and strategies (for reruns of a part)."""
    unknown = sorted(set(models or []) - {"bert_tiny", "minilm"}) + sorted(
        set(strategies or []) - set(ALL))
    if unknown:
        raise SystemExit(f"run.py: unknown model or strategy {unknown[0]!r}")
    chosen = {m: [s for s in kept if not strategies or s in strategies]
              for m, kept in sizes.models.items() if not models or m in models}
    parity = tuple(s for s in sizes.parity_strategies if not strategies or s in strategies)
    return replace(sizes, models={m: s for m, s in chosen.items() if s},
                   parity_strategies=parity)
