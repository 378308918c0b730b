"""The model zoo: one file per family, a timm-style registry, shared layers and heads.

``zoo`` imports every model file, whose ``@register_model`` entrypoints fill the
registry (which itself imports no model file). Any import of ``seqselect.models`` or of
one of its modules runs this file first, so ``list_models()`` always sees the whole zoo.
"""

from seqselect.models import zoo  # noqa: F401  (fills the registry)
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
