"""Advisor tests run against the full zoo the design names.

Models another helper has not registered yet get a stand-in card (the metadata the
advisor reads: family, complexity, causal, streaming, max_len), so that the guide's
answers can be checked today; registered models always use their real cards.
"""

from __future__ import annotations

import pytest

from seqselect.models import ModelCard

ZOO = ("rnn", "lstm", "gru", "bilstm", "cnn1d", "transformer", "tcn", "longformer",
       "bigbird", "linformer", "performer", "s4", "s4d", "mamba", "wavenet", "crnn",
       "conv_transformer", "hierarchical")

_STANDINS = {
    "longformer": ("sparse-transformer", "O(L·w)", True, True, None),
    "bigbird": ("sparse-transformer", "O(L·b)", False, False, None),
    "linformer": ("sparse-transformer", "O(L·k)", False, False, 4096),
    "performer": ("sparse-transformer", "O(L·m)", True, True, None),
    "s4": ("ssm", "O(L)", True, True, None),
    "s4d": ("ssm", "O(L)", True, True, None),
    "mamba": ("ssm", "O(L)", True, True, None),
}


def full_zoo() -> dict[str, ModelCard]:
    from seqselect.models import list_models, model_card

    cards = {name: model_card(name) for name in list_models()}
    for name in ZOO:
        if name not in cards:
            family, memory, causal, streaming, max_len = _STANDINS[name]
            cards[name] = ModelCard(
                name=name, family=family, year=2020, time_complexity=memory,
                memory_complexity=memory, causal=causal, streaming=streaming,
                max_len=max_len, summary="stand-in card for a model not registered yet",
            )
    return cards


@pytest.fixture(autouse=True)
def _full_zoo(monkeypatch):
    monkeypatch.setattr("seqselect.advisor.engine._zoo_cards", full_zoo)


@pytest.fixture
def zoo_names() -> tuple[str, ...]:
    return ZOO
