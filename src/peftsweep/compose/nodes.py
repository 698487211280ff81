"""The config schema as Hydra sees it: one ConfigStore node per group, from the dataclasses.

The YAML files under ``conf/`` start from these nodes (``defaults: [_schema]``,
or ``_schema_<strategy>`` for a strategy) and set only what they change. The
nodes are plain mappings of the declared defaults: every value a user writes
is then checked by :mod:`peftsweep.spec.schema`, in one place with one message
format, rather than partly by OmegaConf. Registered on import.
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from peftsweep.spec.config import GROUPS, ParallelConfig, RunConfig
from peftsweep.spec.schema import defaults
from peftsweep.spec.search import ConfirmSettings, SearchSettings
from peftsweep.strategies import STRATEGIES


def register_nodes() -> None:
    store = ConfigStore.instance()
    store.store(name="_schema", node={**defaults(RunConfig), "parallel": defaults(ParallelConfig)})
    for key, cls in GROUPS.items():
        if key != "parallel":
            store.store(group=key, name="_schema", node=defaults(cls))
    store.store(group="search", name="_schema",
                node={**defaults(SearchSettings), "confirm": defaults(ConfirmSettings)})
    for name, strategy in STRATEGIES.items():
        node = {"name": name, **defaults(strategy.Options)}
        if strategy.open_options:
            # The keys of `strategy=peft` are its method's (strategy.method=loha strategy.r=4):
            # an open node lets them through to the one checker, which knows the method.
            node = OmegaConf.create(node)
            OmegaConf.set_struct(node, False)
        store.store(group="strategy", name=f"_schema_{name}", node=node)

