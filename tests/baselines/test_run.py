"""seqselect.baselines.run: fitted and measured like a candidate; failures are recorded."""

import json
import math

import numpy as np
import pytest
import torch

from seqselect.baselines import BaselineRun, run_baseline
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.errors import SeqSelectError


def _part(labels, length=16, tokens=False):
    n = len(labels)
    gen = torch.Generator().manual_seed(len(labels))
    if tokens:
        x = torch.randint(0, 5, (n, length), generator=gen)  # (N, L) token ids
    else:
        x = torch.randn(n, length, 1, generator=gen)  # (N, L, C)
    return SequenceData(x, torch.ones(n, length, dtype=torch.bool), torch.tensor(labels))


def _splits(train, val, test, tokens=False, task="classify"):
    return DatasetSplits(
        name="toy", task=task, model_task="classify", train=_part(train, tokens=tokens),
        val=_part(val, tokens=tokens), test=_part(test, tokens=tokens), d_output=2,
        d_input=None if tokens else 1, vocab_size=5 if tokens else None, class_names=["a", "b"],
    )


def test_a_run_records_metrics_predictions_and_costs_and_round_trips():
    run = run_baseline("majority", _splits([0, 1, 1], [1, 0], [0, 1, 1, 1]), seed=4)
    assert run.status == "ok" and run.seed == 4 and run.error is None
    assert run.test_metrics == {"accuracy": 0.75, "macro_f1": pytest.approx(3 / 7), "n": 4}
    assert run.val_metrics["accuracy"] == 0.5
    assert run.test_predictions == [1, 1, 1, 1]
    # the costs are measured (finite numbers), their size is the benchmarks' business
    assert all(math.isfinite(v) for v in (run.latency_ms, run.peak_mb, run.fit_s))
    data = json.loads(json.dumps(run.to_dict()))
    assert BaselineRun.from_dict(data) == run


def test_a_failing_baseline_returns_status_failed_with_the_error():
    run = run_baseline("minirocket", _splits([1, 1, 1], [1], [0, 1]), seed=0)
    assert run.status == "failed" and not run.ok
    assert "single class" in run.error
    assert run.test_metrics == {} and run.test_predictions == []


def test_a_baseline_for_another_task_or_input_raises_before_any_work():
    with pytest.raises(SeqSelectError, match="regress"):
        run_baseline("mean", _splits([0, 1], [1], [0]))
    with pytest.raises(SeqSelectError, match="token"):
        run_baseline("minirocket", _splits([0, 1], [1], [0], tokens=True))


def test_majority_takes_tokens_because_it_ignores_the_inputs():
    run = run_baseline("majority", _splits([0, 0, 1], [1], [0, 1], tokens=True))
    assert run.ok and run.predictions().tolist() == [0, 0]
    assert np.asarray(run.predictions()).dtype == np.int64
