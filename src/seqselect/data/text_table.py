"""The record every text source produces before splitting: :class:`TextTable`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from seqselect.data.validate import Where


@dataclass(frozen=True)
class TextTable:
    """Raw texts and targets before splitting; ``rows`` names each in messages."""

    name: str
    texts: list[str]
    labels: list[str]
    where: Where
    rows: list[str]
    split: list[str] | None = None
    target_name: str = "label"
    text_name: str | None = None  # the table's text column (None: a folder of files)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextTable:
        return cls(**{**data, "where": Where(**data["where"])})
