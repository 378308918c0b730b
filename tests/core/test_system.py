"""seqselect.system: one device resolver, one memory probe, one environment record."""

import pytest
import torch

from seqselect.errors import SeqSelectError
from seqselect.system import describe_environment, free_memory_mb, resolve_device, total_memory_mb


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
