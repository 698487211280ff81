"""Helpers shared by strategies: freezing and finding modules by name."""

from __future__ import annotations

from torch import nn


def freeze_all(model: nn.Module) -> None:
    for param in model.parameters():
        param.requires_grad_(False)


def unfreeze_modules(model: nn.Module, names: tuple[str, ...]) -> None:
    """Unfreeze every module whose dotted name is, or ends with, one of ``names``."""
    found = set()
    for module_name, module in model.named_modules():
        for name in names:
            if module_name == name or module_name.endswith("." + name):
                found.add(name)
                for param in module.parameters():
                    param.requires_grad_(True)
    missing = sorted(set(names) - found)
    if missing:
        raise ValueError(f"model has no module named {', '.join(missing)}")


def module_suffixes(model: nn.Module) -> set[str]:
    """Every dotted suffix of every module name ('value', 'attention.self.value', ...)."""
    suffixes = set()
    for module_name, _ in model.named_modules():
        parts = module_name.split(".")
        for start in range(len(parts)):
            suffixes.add(".".join(parts[start:]))
    return suffixes

