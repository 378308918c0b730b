"""The model zoo: one file per family, a timm-style registry, shared layers and heads."""

from seqselect.models.base import ModelSpec, SequenceModel
from seqselect.models.registry import (
    ModelCard,
    count_parameters,
    create_model,
    list_models,
    model_card,
    register_model,
)

__all__ = [
    "ModelCard",
    "ModelSpec",
    "SequenceModel",
    "count_parameters",
    "create_model",
    "list_models",
    "model_card",
    "register_model",
]
