"""seqselect.baselines.registry: names per task, cards, options."""

import pytest

from seqselect.baselines import (
    BaselineCard,
    baseline_card,
    create_baseline,
    list_baselines,
    register_baseline,
)
from seqselect.errors import SeqSelectError


def test_every_task_has_its_baselines():
    assert list_baselines("classify") == [
        "majority", "minirocket", "minirocket_logmel", "multirocket_hydra", "tfidf_logreg"
    ]
    assert list_baselines("regress") == ["mean", "minirocket_ridge"]
    assert list_baselines("forecast") == ["auto_ets", "seasonal_naive"]
    assert sorted(list_baselines()) == list_baselines()


def test_a_card_round_trips_and_names_its_task():
    card = baseline_card("minirocket")
    assert card.task == "classify" and "n_kernels" in card.options
    assert "resampled" in card.variable_length and "unequal_length" in card.options
    assert BaselineCard.from_dict(card.to_dict()) == card


def test_unknown_names_tasks_and_options_raise_with_the_choices():
    with pytest.raises(SeqSelectError, match="minirocket"):
        create_baseline("minirockett")
    with pytest.raises(SeqSelectError, match="classify"):
        list_baselines("cluster")
    with pytest.raises(SeqSelectError, match="n_kernels"):
        create_baseline("minirocket", kernels=10)
    with pytest.raises(SeqSelectError, match="no options"):
        create_baseline("majority", alpha=1)


def test_a_duplicate_name_raises():
    card = BaselineCard(name="majority", task="classify", summary="", reference="")
    with pytest.raises(ValueError, match="already registered"):
        register_baseline(card)(lambda seed: None)
