"""The advisor's answer as typed records: :class:`Recommendation` of :class:`Candidate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqselect.advisor.memory import MemoryEstimate

__all__ = ["Candidate", "Recommendation"]


@dataclass(frozen=True)
class Candidate:
    """One model in the answer: its net score and every reason behind it.

    ``model`` is a zoo name or ``pretrained:<name>`` (a model the zoo cannot provide; its
    ``note`` says how to use it). ``rules`` are the ids of the rules that scored it.
    """

    model: str
    score: int
    reasons: list[str]
    rules: list[str] = field(default_factory=list)
    memory: MemoryEstimate | None = None
    note: str | None = None

    def to_dict(self, with_score: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model}
        if with_score:
            out["score"] = self.score
        out["reasons"] = list(self.reasons)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        """The inverse of :meth:`to_dict` (an avoided model's dict has no score: 0)."""
        return cls(data["model"], int(data.get("score", 0)), list(data.get("reasons", [])))


@dataclass(frozen=True)
class Recommendation:
    """The advisor's answer.

    Attributes:
        ranked: best first; every entry has a score and non-empty reasons.
        avoid: models to avoid here, each with its reasons (guide rules, memory, length).
        warnings: the guide's pitfalls this situation walks into, and conflicts.
        unanswered: the decision checklist's questions not answered by the inputs.
        characteristics: the validated inputs (plus the derived ``audio_form``).
        fired: ids of the rules that fired, in the guide's order.
    """

    ranked: list[Candidate]
    avoid: list[Candidate]
    warnings: list[str]
    unanswered: list[str]
    characteristics: dict[str, Any] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)

    @property
    def top(self) -> str | None:
        """The top-ranked model name, or None when nothing ranks."""
        return self.ranked[0].model if self.ranked else None

    def names(self) -> list[str]:
        """Ranked model names, best first."""
        return [c.model for c in self.ranked]

    def to_dict(self) -> dict[str, Any]:
        """Exactly what ``seqselect recommend --json`` prints."""
        return {
            "ranked": [c.to_dict() for c in self.ranked],
            "avoid": [c.to_dict(with_score=False) for c in self.avoid],
            "warnings": list(self.warnings),
            "unanswered": list(self.unanswered),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        """The inverse of :meth:`to_dict` (rules, memory, inputs and fired ids are not in
        the JSON, so they come back empty)."""
        return cls(
            [Candidate.from_dict(c) for c in data.get("ranked", [])],
            [Candidate.from_dict(c) for c in data.get("avoid", [])],
            list(data.get("warnings", [])),
            list(data.get("unanswered", [])),
        )
