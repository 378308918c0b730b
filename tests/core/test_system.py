"""seqselect.system: one device resolver, one memory probe, one environment record."""

import pytest
import torch

from seqselect.errors import SeqSelectError
from seqselect.system import (
    describe_environment,
    free_memory_mb,
    process_age_s,
    process_start_reading,
    resolve_device,
    total_memory_mb,
)


def test_resolve_device_returns_a_torch_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert isinstance(resolve_device("auto"), torch.device)
    assert isinstance(resolve_device(None), torch.device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_resolve_device_refuses_missing_cuda():
    with pytest.raises(SeqSelectError, match="CUDA is not available"):
        resolve_device("cuda")


def test_resolve_device_refuses_nonsense():
    with pytest.raises(SeqSelectError, match="--device 'gpu0'"):
        resolve_device("gpu0")


def test_memory_probe_is_within_the_machine():
    free, total = free_memory_mb(), total_memory_mb()
    assert total is not None and free is not None
    assert 0 < free <= total


def test_environment_names_versions_and_threads():
    env = describe_environment("cpu", threads=3)
    assert env["threads"] == 3 and env["device"] == "cpu"
    assert env["torch"] == torch.__version__
    assert env["cores"] >= 1


def test_process_age_comes_from_the_start_tick_and_the_uptime():
    # /proc/<pid>/stat: field 22 is the start in clock ticks since boot; the command name
    # in parentheses may hold spaces and ")" (a known answer: started 1200 ticks = 12 s
    # after boot at 100 ticks/s, uptime 15.5 s -> 3.5 s old).
    fields = ["S"] + [str(i) for i in range(4, 22)] + ["1200", "99", "100"]
    stat = "4242 (python (x) y) " + " ".join(fields)
    assert process_age_s(stat, "15.50 30.00\n", 100) == pytest.approx(3.5)
    assert process_age_s(stat, "11.0 1.0", 100) == 0.0  # clocks a tick apart: never negative
    with pytest.raises((ValueError, IndexError)):
        process_age_s("garbage", "1.0", 100)


def test_this_process_started_before_now():
    import time

    assert process_start_reading() <= time.perf_counter()
