"""The settings every cell of one run shares (one configuration, so cells compare)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class BenchSettings:
    """How each cell is measured; the same for every cell of a run.

    Per-model config overrides are not here: they belong to a model's plan.
    """

    batch: int = 8  # B, the same for every cell
    params: int | None = 100_000  # budget each width is matched to (±10%); None: default
    repeats: int = 5  # timed runs, the median reported
    warmup: int = 2  # untimed runs before them
    device: str = "cpu"  # resolved (cpu, cuda, cuda:N): the child does not guess
    threads: int | None = None  # torch intra-op threads per cell (None: torch's default)
    timeout_s: float = 300.0  # per cell; past it the cell is recorded as timeout
    d_input: int = 1  # C, input channels of the random data
    d_output: int = 2  # classes of the random labels
    causal: bool = False  # build train/infer models causally (stream always is)
    memory_check: bool = True  # skip a cell whose estimate exceeds the free memory
    memory_limit_mb: float | None = None  # cap the child's extra address space (CPU)
    count_flops: bool = True  # one more pass per cell to count FLOPs
    sample_rate: int | None = None  # Hz of audio: stream cells report the real-time factor

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchSettings:
        return cls(**data)


__all__ = ["BenchSettings"]
