"""Imports every model file so that its ``@register_model`` entrypoints run.

Add one line here per new model file.
"""

from seqselect.models import cnn, rnn, tcn, transformer  # noqa: F401
