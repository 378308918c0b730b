"""One torch thread per test process: pytest-xdist runs two workers, and oversubscribed
intra-op threads make tiny models tens of times slower on a busy machine."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
