"""`python -m seqselect ...`: the command line (as `python -m seqselect.cli`)."""

from seqselect.cli import main

main()
