"""Which component of a BERT-style encoder a parameter belongs to, by its name.

Names inside PEFT wrappers are read as the backbone's own; adapter tensors (LoRA,
IA3, ...) are a component of their layer.
"""

from __future__ import annotations

import re

# Wrapper segments added by PEFT; removing them gives the backbone's own name.
# Prompt-learning wrappers (prefix tuning) hold the backbone directly as ``base_model``.
_PEFT_SEGMENTS = re.compile(r"^base_model\.(?:model\.)?|(?<=\.)(base_layer|original_module|"
                            r"modules_to_save\.default)\.")
_ADAPTER = re.compile(r"\.(lora_[AB]|lora_embedding_[AB]|lora_magnitude_vector|ia3_l)\b")
# Any other PEFT method's tensor inside a layer: `<module>.<tensor>.default` (the adapter's name).
_LAYER_ADAPTER = re.compile(r"\.layer\.\d+\..*\.\w+\.default(\.|$)")
_LAYER = re.compile(r"^(?:encoder|transformer)\.layer\.(\d+)\.(.+)\.(?:weight|bias)$")
_TOP = {
    "embeddings.word_embeddings": "embeddings.word",
    "embeddings.position_embeddings": "embeddings.position",
    "embeddings.token_type_embeddings": "embeddings.token_type",
    "embeddings.LayerNorm": "embeddings.LayerNorm",
    "embeddings.embed_proj": "embeddings.projection",  # DeBERTa-v2 when E != H
    "embeddings_project": "embeddings.projection",  # ELECTRA when E != H
    "encoder.rel_embeddings": "relative_positions",  # DeBERTa-v2
    "encoder.LayerNorm": "relative_positions.LayerNorm",
    "pooler.dense": "pooler",
    "classifier": "head",  # BERT: Linear; RoBERTa: dense + out_proj
    "pre_classifier": "head",  # DistilBERT's head is pre_classifier + classifier
    "prompt_encoder": "virtual_tokens",  # prompt / p- / prefix tuning's tokens (and encoder)
}
# Per-layer module (BERT/RoBERTa name, DistilBERT name) -> component, in forward order.
_SUBLAYERS = {
    "attention.self.query": "attention.query", "attention.q_lin": "attention.query",
    "attention.self.key": "attention.key", "attention.k_lin": "attention.key",
    "attention.self.value": "attention.value", "attention.v_lin": "attention.value",
    "attention.self.query_proj": "attention.query", "attention.self.key_proj": "attention.key",
    "attention.self.value_proj": "attention.value",
    "attention.output.dense": "attention.output", "attention.out_lin": "attention.output",
    "attention.output.LayerNorm": "attention.LayerNorm", "sa_layer_norm": "attention.LayerNorm",
    "intermediate.dense": "ffn.intermediate", "ffn.lin1": "ffn.intermediate",
    "output.dense": "ffn.output", "ffn.lin2": "ffn.output",
    "output.LayerNorm": "output.LayerNorm", "output_layer_norm": "output.LayerNorm",
}
_LAYER_ORDER = [*dict.fromkeys(_SUBLAYERS.values()), "adapter"]
_TOP_ORDER = list(dict.fromkeys(_TOP.values()))


def component_of(name: str) -> str:
    """The component of a parameter name, PEFT-wrapped or not. Raises on unknown names."""
    plain = _PEFT_SEGMENTS.sub("", name)
    layer = re.search(r"\.layer\.(\d+)\.", plain)
    if _ADAPTER.search(plain) or _LAYER_ADAPTER.search(plain):
        return f"layer.{layer.group(1)}.adapter" if layer else "adapter"
    plain = re.sub(r"^(bert|roberta|distilbert|deberta|electra)\.", "", plain)
    match = _LAYER.match(plain)
    if match and match.group(2) in _SUBLAYERS:
        return f"layer.{match.group(1)}.{_SUBLAYERS[match.group(2)]}"
    module = plain.rsplit(".", 1)[0]
    for prefix, component in _TOP.items():
        if module == prefix or module.startswith(prefix + "."):
            return component
    raise ValueError(f"unclassified parameter {name!r} (not a BERT-style encoder name)")


def component_order(component: str) -> tuple:
    """Embeddings, then layers in order (forward order inside), then pooler and head.

    Also sorts rows folded by ``sum_layers`` ('layers.attention.query').
    """
    match = re.match(r"layers?\.(?:(\d+)\.)?(.+)", component)
    if match:
        return (1, int(match.group(1) or 0), _LAYER_ORDER.index(match.group(2)))
    rank = _TOP_ORDER.index(component) if component in _TOP_ORDER else len(_TOP_ORDER)
    return (0 if component.startswith("embeddings") else 2, 0, rank)


def sum_layers(component: str) -> str:
    """'layer.3.attention.query' -> 'layers.attention.query', to fold deep models."""
    return re.sub(r"^layer\.\d+\.", "layers.", component)
