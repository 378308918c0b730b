"""Imports every model file so that its ``@register_model`` entrypoints run.

``seqselect.models`` imports this module after the registry; add a new model file's
name here. The registry itself never imports this module (no import cycle).
"""

from seqselect.models import cnn, mamba, rnn, s4, s4d, sparse, tcn, transformer  # noqa: F401
from seqselect.models import mamba2  # noqa: F401
from seqselect.models import mingru  # noqa: F401
from seqselect.models import xlstm  # noqa: F401
from seqselect.models import gla  # noqa: F401
