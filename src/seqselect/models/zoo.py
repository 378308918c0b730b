"""Imports every model file so that its ``@register_model`` entrypoints run.

Add one line here per new model file.
"""

import seqselect.models.mamba
import seqselect.models.s4
import seqselect.models.s4d  # noqa: F401
from seqselect.models import cnn, rnn, sparse, tcn, transformer  # noqa: F401
