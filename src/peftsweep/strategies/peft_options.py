"""PEFT's config classes read as peftsweep option schemas.

Every field of a PEFT method's config dataclass that a user may set becomes a declared option
(:func:`peftsweep.spec.schema.option`) with PEFT's own type, default and help text, so that
``strategy=peft strategy.method=loha strategy.r=4`` is checked by the same code, with the same
one-line messages, as every other key. Fields peftsweep sets itself, and those that need more
than a config (calibration data, quantized weights, several adapters), are not options; a
user who names one is told why.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import types
import typing
from typing import Any, Literal

from peftsweep.spec.schema import option

# Set by peftsweep: the task, the head that trains with the adapter, the model's shape
# (PEFT reads it from the model), and bookkeeping.
RESERVED = {
    "task_type": "always sequence classification",
    "peft_type": "named by strategy.method",
    "modules_to_save": "the family's task head, which trains and is saved with the adapter",
    "total_step": "set by each trial: epochs x optimizer steps per epoch",
    "base_model_name_or_path": "written at export", "revision": "written at export",
    "inference_mode": "set at export", "auto_mapping": "set by PEFT",
    "peft_version": "set by PEFT", "runtime_config": "not a training option",
    "token_dim": "read from the model", "num_transformer_submodules": "read from the model",
    "num_attention_heads": "read from the model", "num_layers": "read from the model",
    "megatron_config": "Megatron models only", "megatron_core": "Megatron models only",
}
UNSUPPORTED = {
    "eva_config": "EVA initialisation needs a pass over calibration data",
    "corda_config": "CorDA initialisation needs a pass over calibration data",
    "lora_ga_config": "LoRA-GA initialisation needs gradients of calibration data",
    "loftq_config": "LoftQ needs a quantized backbone",
    "use_qalora": "QALoRA needs a GPTQ-quantized backbone",
    "qalora_group_size": "QALoRA needs a GPTQ-quantized backbone",
    "alora_invocation_tokens": "activated LoRA is for causal language models",
    "arrow_config": "Arrow routes between several trained adapters",
}


def _nested(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _convert(hint: Any) -> tuple[tuple[Any, ...], list | None]:
    """The schema types a PEFT type hint allows, and its closed set of values (or None)."""
    origin = typing.get_origin(hint)
    if hint is type(None) or hint in (bool, int, float, str, Any):
        return (hint,), None
    if origin is Literal:
        values = list(typing.get_args(hint))
        # 'pissa_niter_[number of iters]' is a pattern, not a value: leave such sets open.
        closed = not any(isinstance(v, str) and "[" in v for v in values)
        return tuple(dict.fromkeys(type(v) for v in values)), values if closed else None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return (str,), [member.value for member in hint]
    if origin in (list, tuple) or hint in (list, tuple):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if origin is list and args and args[0] in (bool, int, float, str):
            return (list[args[0]],), None
        return (list,), None
    if origin is dict or hint is dict or _nested(hint):
        return (dict,), None
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(hint))
    return (Any,), None


def _union(members: tuple[Any, ...]) -> tuple[tuple[Any, ...], list | None]:
    kinds: list[Any] = []
    values: list = []
    is_open = False
    with_enum = any(isinstance(m, type) and issubclass(m, enum.Enum) for m in members)
    for member in members:
        converted, closed = _convert(member)
        kinds += [kind for kind in converted if kind not in kinds]
        if member is type(None):
            continue
        if closed is not None:
            values += closed
        elif member is bool:
            values += [True, False]
        elif not (member is str and with_enum):  # PEFT takes such a str as the enum's value
            is_open = True
    return tuple(kinds), (None if is_open or not values else values)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return None
    if isinstance(value, enum.Enum):
        return value.value
    return None if dataclasses.is_dataclass(value) else value


def _help(f: dataclasses.Field, method: str) -> str:
    text = re.sub(r"<[^>]+>", "", str(f.metadata.get("help") or "")).strip()
    first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0] if text else ""
    return f"{first} (PEFT)" if first else f"PEFT's {method} option {f.name}."


def peft_fields(config_class: type) -> list[dataclasses.Field]:
    """The fields of a PEFT config that are options (not reserved, not unsupported)."""
    return [f for f in dataclasses.fields(config_class)
            if f.init and f.name not in RESERVED and f.name not in UNSUPPORTED]


@functools.cache
def options_class(method: str, config_class: type, base: type,
                  own_defaults: tuple[tuple[str, Any], ...] = ()) -> type:
    """A frozen ``base`` subclass with one option per field of ``config_class``.

    ``own_defaults`` replace PEFT's where PEFT has none that trains (a prompt's length).
    Every option is declared ``omit_default``: PEFT adds fields from release to release, and
    a trial's identity holds only what its user chose.
    """
    replaced = dict(own_defaults)
    hints = typing.get_type_hints(config_class)
    taken = {f.name for f in dataclasses.fields(base)}
    fields = []
    for f in peft_fields(config_class):
        if f.name in taken:
            raise TypeError(f"PEFT's {config_class.__name__}.{f.name} shadows a peftsweep key")
        kinds, values = _convert(hints[f.name])
        default = replaced.get(f.name, _default(f))
        if default is None and type(None) not in kinds:
            kinds += (type(None),)  # PEFT writes `num_virtual_tokens: int = None`
        if values is not None and default not in values and default is not None:
            values = None  # a default outside the set: PEFT's own check decides
        hint = kinds[0] if len(kinds) == 1 else typing.Union[kinds]  # noqa: UP007
        declared = option(default, _help(f, method), omit_default=True,
                          choices=tuple(v for v in values if v is not None) if values else None)
        fields.append((f.name, hint, declared))
    if "total_step" in {f.name for f in dataclasses.fields(config_class)}:
        fields.append(("total_step", int | None,
                       option(None, "Optimizer steps of the trial; set by each trial.",
                              omit_default=True, gt=0)))
    name = "".join(part.title() for part in method.split("_")) + "Options"
    cls = dataclasses.make_dataclass(name, fields, bases=(base,), frozen=True)
    cls.__module__ = __name__
    return cls


def peft_keywords(options: Any, config_class: type) -> dict[str, Any]:
    """The keyword arguments for ``config_class`` from the options set away from PEFT's
    defaults (nested configs built from their mappings)."""
    hints = typing.get_type_hints(config_class)
    kwargs = {}
    for f in peft_fields(config_class):
        value = getattr(options, f.name)
        if value == _default(f):
            continue
        nested = [m for m in (hints[f.name], *typing.get_args(hints[f.name])) if _nested(m)]
        if nested and isinstance(value, dict):
            value = nested[0](**value)
        kwargs[f.name] = value
    return kwargs
