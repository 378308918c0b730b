"""``seqselect recommend --measured STORE``: the study evidence beside the guide's rules."""

from __future__ import annotations

from rich import box
from rich.table import Table

from seqselect.advisor.measured import Evidence
from seqselect.formatting import format_number

__all__ = ["evidence_table"]


def evidence_table(evidence: Evidence) -> Table:
    """Each model's mean rank on the stored similar datasets (caption: how many)."""
    table = Table(title="Measured on similar datasets (seqselect study)", box=box.SIMPLE,
                  caption=evidence.sentence())
    for column in ("model", "mean rank", "datasets", "firsts"):
        table.add_column(column, overflow="fold")
    for model in evidence.models:
        table.add_row(model.model, format_number(model.mean_rank, 3), str(model.n_datasets),
                      str(model.firsts))
    return table
