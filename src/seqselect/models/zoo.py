"""Imports every model file so that its ``@register_model`` entrypoints run.

``seqselect.models`` imports this module after the registry; add a new model file's
name here. The registry itself never imports this module (no import cycle).
"""

from seqselect.models import (  # noqa: F401
    cnn,
    conv_transformer,
    crnn,
    gla,
    hierarchical,
    mamba,
    mamba2,
    mingru,
    pretrained,
    rnn,
    s4,
    s4d,
    sparse,
    tcn,
    transformer,
    wavenet,
    xlstm,
)
