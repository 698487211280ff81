"""Which PEFT methods train a BERT-style sequence classifier, and what peftsweep knows of each.

Every method PEFT registers is one of them unless :data:`NOT_APPLICABLE` says why not. A few
facts PEFT's config classes do not carry live here: the family-table column of default target
modules, the option a parameter budget sizes, and whether the method puts virtual tokens in
front of every input (they take positions, so they count against ``data.max_length``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

NOT_APPLICABLE = {
    "adaption_prompt": "it adapts LLaMA-style decoder attention only",
    "cpt": "it is for causal language models only",
    "multitask_prompt_tuning": "it needs a task id with every example",
    "poly": "it needs a task id with every example",
    "xlora": "it mixes several LoRA adapters trained beforehand",
    "shadow": "PEFT's implementation fails on BERT-style encoders (its forward)",
    "trainable_tokens": "it trains token embeddings only, and PEFT cannot train the task "
                        "head beside it",
}
# Methods that prepend key/value prefixes to every attention layer (a key/value cache).
KV_PREFIX = {"prefix_tuning", "cartridge"}
VIRTUAL_TOKENS = {"prompt_tuning", "p_tuning", "prefix_tuning", "cartridge"}
# The option a budget sizes: a rank, a block size, a number of tokens or of frequencies.
CAPACITY = {
    "lora": "r", "adalora": "init_r", "loha": "r", "lokr": "r", "vera": "r",
    "oft": "oft_block_size", "hra": "r", "randlora": "r", "delora": "r", "miss": "r",
    "fourierft": "n_frequency", "waveft": "n_frequency",
    **{name: "num_virtual_tokens" for name in VIRTUAL_TOKENS},
}
# Where peftsweep's default differs from PEFT's: PEFT has no length for a prompt.
OWN_DEFAULTS = {name: (("num_virtual_tokens", 20),) for name in VIRTUAL_TOKENS}
# Default targets: a family-table column, or a fixed list / regex for every family.
TARGETS = {
    "ia3": "ia3_targets",
    # Every LayerNorm: BERT's `LayerNorm`, DistilBERT's `sa_layer_norm`, `output_layer_norm`.
    "ln_tuning": r".*(LayerNorm|layer_norm)",
}
# Options a method cannot train without (PEFT's default trains nothing): none left.
REQUIRED: dict[str, str] = {}
# Named variants of a method: how reports label them.
VARIANTS = {"dora": ("lora", "use_dora"), "rslora": ("lora", "use_rslora")}


@dataclass(frozen=True)
class Method:
    name: str
    config_class: type
    has_targets: bool
    defaults: tuple = field(default=())

    @property
    def capacity(self) -> str | None:
        return CAPACITY.get(self.name)

    @property
    def virtual_tokens(self) -> bool:
        return self.name in VIRTUAL_TOKENS

    @property
    def kv_prefix(self) -> bool:
        return self.name in KV_PREFIX


@functools.cache
def methods() -> dict[str, Method]:
    """Every PEFT method that applies, by the name users write (PEFT's type in lower case)."""
    import dataclasses

    # Imported here: peft takes seconds to import, and most processes never need it.
    from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

    found = {}
    for peft_type, config_class in PEFT_TYPE_TO_CONFIG_MAPPING.items():
        name = str(peft_type.value).lower()
        if name in NOT_APPLICABLE:
            continue
        names = {f.name for f in dataclasses.fields(config_class)}
        found[name] = Method(name, config_class, "target_modules" in names,
                             OWN_DEFAULTS.get(name, ()))
    return dict(sorted(found.items()))
