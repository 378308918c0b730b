"""``python -m seqselect.cli``: the same as the ``seqselect`` command."""

from seqselect.cli import main

main()
