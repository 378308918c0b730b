"""The auto shortlist: the advisor's top models, always with a pure convolutional and a
pure recurrent one (families read from the model cards; hybrids do not count)."""

from __future__ import annotations

import pytest

from seqselect.bakeoff.candidates import (
    CONVOLUTIONAL,
    PURE_CONVOLUTIONAL,
    PURE_RECURRENT,
    RECURRENT,
    guarantee_models,
    shortlist,
)
from seqselect.models import list_models, model_card


def _families(names):
    return {model_card(m).family for m in names}


def _advice(*ranked, avoid=()):
    return {"ranked": [{"model": m} for m in ranked], "avoid": [{"model": m} for m in avoid]}


def test_a_transformer_only_advice_gets_a_conv_and_a_recurrent_model():
    # What the advisor said for 100 series of 2,000 steps: sparse Transformers and more.
    names, added = shortlist(_advice("longformer", "bigbird", "performer", "lstm"))
    assert names[:3] == ["longformer", "bigbird", "performer"]
    assert _families(names) & set(CONVOLUTIONAL) and _families(names) & set(RECURRENT)
    assert added == names[3] and len(names) == 5


def test_the_advisors_own_ranking_of_a_missing_family_comes_first():
    names, _ = shortlist(_advice("transformer", "s4", "mamba", "tcn", "gru"))
    assert names == ["transformer", "s4", "mamba", "tcn", "gru"]


def test_nothing_is_added_when_both_families_are_there():
    names, added = shortlist(_advice("cnn1d", "lstm", "transformer"))
    assert names == ["cnn1d", "lstm", "transformer"] and added is None


def test_avoided_models_are_added_only_when_nothing_else_fits():
    names, _ = shortlist(_advice("transformer", avoid=("lstm", "cnn1d")))
    assert "lstm" not in names and "cnn1d" not in names
    assert _families(names) & set(CONVOLUTIONAL) and _families(names) & set(RECURRENT)


@pytest.mark.parametrize("top", [m for m in list_models() if m not in ("cnn1d", "lstm")][:6])
def test_every_shortlist_has_both_families(top):
    names, _ = shortlist(_advice(top))
    assert _families(names) & set(CONVOLUTIONAL) and _families(names) & set(RECURRENT)


def test_a_short_advisor_list_is_filled_to_three_with_the_workhorses():
    from seqselect.bakeoff.candidates import shortlist

    names, added = shortlist({"ranked": [{"model": "tcn"}, {"model": "lstm"}], "avoid": []})
    assert names == ["tcn", "lstm", "cnn1d"] and added == "cnn1d"


@pytest.mark.parametrize("length,levels,patch", [
    (24, 4, None), (150, 6, None), (251, 6, None), (427, 6, 2), (1460, 6, 6), (40_000, 7, 156),
])
def test_a_tcn_is_built_deep_enough_to_see_the_whole_sequence(length, levels, patch):
    """The recipe's rules: learned patches of round(L / 256) steps on long series, and the
    smallest depth (4 to 8) whose receptive field covers the (patched) sequence."""
    import torch

    from seqselect.bakeoff.candidates import prepare
    from seqselect.data.types import DatasetSplits, SequenceData
    from seqselect.models import create_model
    from seqselect.models.tcn import receptive_field

    def part(n):
        return SequenceData(torch.zeros(n, length, 1), torch.ones(n, length, dtype=torch.bool),
                            torch.zeros(n, dtype=torch.long))

    splits = DatasetSplits(name="x", task="classify", model_task="classify", train=part(8),
                           val=part(2), test=part(2), d_input=1, d_output=2,
                           class_names=["a", "b"])
    info = prepare("tcn", splits, params=20000, max_length=length)
    assert "error" not in info, info.get("error")
    config = info["config"]
    assert (config["n_layers"], config["patch"]) == (levels, patch)
    model = create_model("tcn", d_input=1, d_output=2, **config)
    assert model.backbone.receptive_field >= length  # every output sees the whole series
    windows = -(-length // (patch or 1))
    assert levels == 4 or receptive_field(config["kernel_size"], levels - 1) < windows


@pytest.mark.parametrize("length,patch", [(150, None), (300, None), (427, 2), (1460, 6)])
def test_a_long_series_cnn_gets_learned_patches_of_the_averaging_stride(length, patch):
    import torch

    from seqselect.bakeoff.candidates import prepare
    from seqselect.data.types import DatasetSplits, SequenceData

    def part(n):
        return SequenceData(torch.zeros(n, length, 1), torch.ones(n, length, dtype=torch.bool),
                            torch.zeros(n, dtype=torch.long))

    splits = DatasetSplits(name="x", task="classify", model_task="classify", train=part(8),
                           val=part(2), test=part(2), d_input=1, d_output=2,
                           class_names=["a", "b"])
    info = prepare("cnn1d", splits, params=20000, max_length=length)
    assert info["config"]["patch"] == patch


def _raw_audio_advice(length=16_000):
    advice = _advice("wavenet", "tcn", "crnn", "s4", "mamba", "conv_transformer")
    advice["characteristics"] = {"data_type": "audio", "seq_len": length, "multivariate": False}
    return advice


def test_a_short_budget_on_long_raw_audio_trains_spectrogram_models_and_a_patch_cnn():
    from seqselect.bakeoff.candidates import SHORT_AUDIO_BUDGET_S

    advice = _raw_audio_advice()
    names, added = shortlist(advice, budget_s=300)
    # the spectrogram models, and cnn1d as the raw-waveform model (learned patches)
    assert names == ["crnn", "conv_transformer", "cnn1d"] and added is None
    assert _families(names) & set(CONVOLUTIONAL) and _families(names) & set(RECURRENT)
    assert any("Short budget for raw audio" in w for w in advice["warnings"])
    # the advisor's own order when the budget is long, the clips short or no budget given
    for budget, length in ((SHORT_AUDIO_BUDGET_S, 16_000), (300, 4_000), (None, 16_000)):
        advice = _raw_audio_advice(length)
        assert shortlist(advice, budget_s=budget)[0][:3] == ["wavenet", "tcn", "crnn"]
        assert not advice.get("warnings")


def test_a_spectrogram_input_is_not_raw_audio():
    advice = _raw_audio_advice()
    advice["characteristics"]["multivariate"] = True
    assert shortlist(advice, budget_s=300)[0][0] == "wavenet"


def _series(n_examples, *ranked):
    advice = _advice(*ranked)
    advice["characteristics"] = {"data_type": "time-series", "n_examples": n_examples}
    return advice


def test_small_series_classification_trades_the_spare_model_for_the_fcn_like_cnn():
    # what the advisor ranks for 85 series of 1,460 steps: tcn, s4, lstm
    names, added = shortlist(_series(85, "tcn", "s4", "lstm"), task="classify")
    assert names == ["tcn", "lstm", "cnn1d"] and added == "cnn1d"
    assert _families(names) & set(CONVOLUTIONAL) and _families(names) & set(RECURRENT)


@pytest.mark.parametrize("advice,task", [
    (_series(85, "tcn", "s4", "lstm"), "regress"),      # not classification
    (_series(5_000, "tcn", "s4", "lstm"), "classify"),  # not small
    ({**_advice("tcn", "s4", "lstm"),
      "characteristics": {"data_type": "text", "n_examples": 85}}, "classify"),
])
def test_the_series_classifier_rule_holds_only_for_small_numeric_classification(advice, task):
    assert shortlist(advice, task=task)[0] == ["tcn", "s4", "lstm"]


def test_the_series_classifier_never_costs_a_family_its_only_model():
    # gru is the only recurrent model, tcn the only convolutional one: the spare is s4
    names, _ = shortlist(_series(85, "gru", "tcn", "s4"), task="classify")
    assert names == ["gru", "tcn", "cnn1d"]


def _pure(names):
    return _families(names) & set(PURE_CONVOLUTIONAL) and _families(names) & set(PURE_RECURRENT)


def test_the_pure_families_are_the_registrys_non_hybrid_tags():
    families = {model_card(m).family for m in list_models()}
    assert set(PURE_CONVOLUTIONAL) <= families and set(PURE_RECURRENT) <= families
    assert set(PURE_CONVOLUTIONAL) < set(CONVOLUTIONAL) and set(PURE_RECURRENT) < set(RECURRENT)
    assert not any("-" in f for f in (*PURE_CONVOLUTIONAL, *PURE_RECURRENT))


def test_hybrids_at_the_top_still_get_a_pure_conv_and_a_pure_recurrent_model():
    # a long-series advice whose ranking starts with the hybrids
    names, added = shortlist(_advice("crnn", "conv_transformer", "s4", "mamba"))
    assert names[:3] == ["crnn", "conv_transformer", "s4"]
    assert _pure(names) and added in names[3:]
    # the advisor's own pure models first, when it ranks some
    names, _ = shortlist(_advice("crnn", "conv_transformer", "mamba", "gru", "tcn"))
    assert names == ["crnn", "conv_transformer", "mamba", "tcn", "gru"]


@pytest.mark.parametrize("top", [m for m in list_models() if m not in ("cnn1d", "lstm")])
def test_every_shortlist_has_a_pure_model_of_both_families(top):
    names, _ = shortlist(_advice(top, "crnn", "conv_transformer"))
    assert _pure(names)


def test_the_guarantee_is_the_first_pure_model_of_each_family():
    assert guarantee_models(["longformer", "cnn1d", "tcn", "gru", "lstm"]) == ("cnn1d", "gru")
    # a hybrid stands in only where no pure model is listed (short raw audio)
    assert guarantee_models(["crnn", "conv_transformer", "cnn1d"]) == ("cnn1d", "crnn")
    assert guarantee_models(["longformer", "not-a-model"]) == ()
