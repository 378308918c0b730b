"""A child's fate as a row part: its result, a time-out, a kill, a crash."""

import json

import pytest

from seqselect.bench.cell import MARKER, PARTIAL_MARKER
from seqselect.bench.process import failure_row, parse_output, start_method
from seqselect.errors import SeqSelectError


def test_the_last_result_and_progress_lines_are_read():
    progress = {"partial": True, "runs_done": 2, "peak_mb": 3.0, "run_ms": [1.0, 2.0]}
    out = "\n".join(["noise", PARTIAL_MARKER + json.dumps({**progress, "runs_done": 1}),
                     PARTIAL_MARKER + json.dumps(progress), MARKER + json.dumps({"status": "ok"})])
    assert parse_output(out) == ({"status": "ok"}, progress)
    assert parse_output(out.encode()) == ({"status": "ok"}, progress)
    assert parse_output(None) == (None, None)


@pytest.mark.parametrize("code, tail, status, text", [
    (None, "", "timeout", "2 s time-out"),
    (-9, "", "oom", "SIGKILL"),
    (-11, "", "error", "signal 11"),
    (1, "MemoryError: x", "oom", "exit code 1"),
    (1, "ValueError: y", "error", "ValueError: y"),
    (3, "", "error", "no output"),
])
def test_a_child_without_a_result_is_classified(code, tail, status, text):
    row = failure_row(code, tail, timeout_s=2)
    assert row["status"] == status and text in row["error"]


def test_the_start_method_is_checked(monkeypatch):
    monkeypatch.setenv("SEQSELECT_BENCH_START", "subprocess")
    assert start_method() == "subprocess"
    monkeypatch.setenv("SEQSELECT_BENCH_START", "thread")
    with pytest.raises(SeqSelectError, match="SEQSELECT_BENCH_START"):
        start_method()
