"""Which models a bake-off trains: the advisor's shortlist for the data, completed so that
it always holds a pure convolutional and a pure recurrent model (the guide's small-data
workhorses: with a few hundred series a list of Transformers alone is a list of models
near chance; a hybrid such as crnn does not count, see :data:`PURE_RECURRENT`), or the
user's own list; and how each is built (causal or not).

The non-network baselines (MiniRocket, the majority class, ...) are rows of their own,
chosen by :func:`seqselect.bakeoff.baseline_trials.parse_baselines`.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from seqselect.advisor import characteristics_from_profile, recommend
from seqselect.errors import SeqSelectError
from seqselect.models import count_parameters, create_model, list_models, model_card
from seqselect.system import free_memory_mb
from seqselect.train.recipe import architecture_for

log = logging.getLogger(__name__)

__all__ = [
    "BASELINES",
    "SHORTLIST",
    "advise",
    "guarantee_models",
    "parse_models",
    "prepare",
    "shortlist",
    "train_causal",
]

#: How many of the advisor's ranked models ``--models auto`` trains.
SHORTLIST = 3
#: The guide's workhorse networks, in the order ``auto`` prefers them when it must add a
#: family the advisor's top models lack (after the advisor's own ranking of that family).
BASELINES = ("lstm", "cnn1d", "gru", "tcn")
#: Model families (``ModelCard.family``) with a convolutional / a recurrent part, hybrids
#: included (ranking.py reads RECURRENT for its tie rule).
CONVOLUTIONAL = ("cnn", "tcn", "cnn-rnn", "cnn-transformer")
RECURRENT = ("rnn", "cnn-rnn")  # crnn: convolutions over frames, then a BiLSTM
#: The families the auto shortlist always includes one of each: a network that is only
#: convolutional and one that is only recurrent. A hybrid does not stand for either: crnn's
#: convolutions shorten the sequence before its BiLSTM, so it does not show what a
#: recurrent network does over every step (the guide's comparison), nor conv_transformer
#: what a convolutional one does. Hybrids stand in only where no pure model is listed
#: (:func:`guarantee_models`; the short raw-audio list holds no pure recurrent model).
PURE_CONVOLUTIONAL = ("cnn", "tcn")
PURE_RECURRENT = ("rnn",)

#: Numeric-series classification with fewer training series than this: the auto shortlist
#: holds :data:`SERIES_CLASSIFIER`. The best deep classifiers on the UCR/UEA archive are
#: plain convolutional networks with global average pooling - FCN and ResNet were the best
#: of nine in Fawaz et al. 2019 (GunPoint 100.0, JapaneseVowels 99.3 for FCN;
#: ../shared/reference/published-results.md), InceptionTime after them - and the zoo's
#: cnn1d is that network; a TCN (causal dilations, no global pooling) is not. Measured in
#: 5-minute bake-offs here: on 100 series of 1,460 steps the advisor's tcn/s4/lstm reached
#: 0.74/near chance/near chance where cnn1d reached 0.84-0.85 in the same time.
SMALL_CLASSIFICATION = 1_000
SERIES_CLASSIFIER = "cnn1d"

#: Raw audio longer than this (samples; a quarter second at 16 kHz) is costly to train on
#: sample by sample, and a bake-off budget below SHORT_AUDIO_BUDGET_S seconds is short for
#: it. On the 2-core CPU a training step of batch 16 at 16,000 samples and 20k parameters
#: took 9.1 s for wavenet, 2.1 s for s4d and 1.5 s for tcn, but 0.08 s for crnn and
#: 0.02 s for conv_transformer (their log-mel front-ends leave 101 frames); in a 5-minute
#: bake-off of audio:spoken-digits, tcn (the cheapest raw-waveform model) got one training
#: step per trial, stayed at chance (validation 0.08-0.10) and its six trials with their
#: evaluation over 16,000-sample clips took about 200 of the 300 s the networks shared.
RAW_AUDIO_STEPS = 4_000
SHORT_AUDIO_BUDGET_S = 1_800

#: Dataset tasks whose predictions must not look ahead (candidates are built causal).
_CAUSAL_TASKS = ("forecast",)


def parse_models(text: str | list[str] | tuple[str, ...] | None) -> list[str] | None:
    """``"auto"``/None -> None (ask the advisor); ``"a,b,c"`` -> validated names.

    Raises:
        SeqSelectError: an unknown name (the message lists the known ones) or an empty list.
    """
    if text is None:
        return None
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text)]
    items = [t for t in items if t]
    if items in ([], ["auto"]):
        if not items:
            raise SeqSelectError("--models is empty: give 'auto' or model names such as lstm,tcn")
        return None
    known = list_models()
    unknown = [t for t in items if t not in known]
    if unknown:
        raise SeqSelectError(
            f"unknown model(s) in --models: {', '.join(unknown)}. Known models: {', '.join(known)}"
        )
    seen: list[str] = []
    for t in items:
        if t not in seen:
            seen.append(t)
    return seen


def advise(profile: dict[str, Any], *, device: str = "cpu") -> dict[str, Any]:
    """Ask the advisor about a profiled dataset; a JSON-able dict.

    Keys: ``ranked`` ([{model, score, reasons}]), ``avoid``, ``warnings``, ``pick`` (its
    top model that the bake-off can train), ``characteristics``, and ``error`` when the
    advisor could not answer (the bake-off then falls back to the baselines).
    """
    try:
        characteristics = dict(characteristics_from_profile(profile))
        free_mb = free_memory_mb("cpu")
        if free_mb is not None and "memory_gb" not in characteristics:
            characteristics["memory_gb"] = round(free_mb / 1024, 1)
        out = dict(recommend(**characteristics).to_dict())
    # The advisor refuses characteristics it cannot read (SeqSelectError is a ValueError):
    # the bake-off still runs, on the baselines, and says why.
    except ValueError as exc:
        log.warning("advisor unavailable: %s", exc)
        return {
            "ranked": [], "avoid": [], "warnings": [], "pick": None,
            "error": f"{type(exc).__name__}: {exc}",
        }
    out.setdefault("characteristics", characteristics)
    known = set(list_models())
    trainable = [r for r in out.get("ranked", []) if _model_name(r) in known]
    out["pick"] = _model_name(trainable[0]) if trainable else None
    return out


def _model_name(entry: Any) -> str:
    return entry.get("model") if isinstance(entry, dict) else str(entry)


def _first_of(families: tuple[str, ...], order: list[str], avoid: set[str]) -> str | None:
    """The first model of ``order`` whose card is of one of ``families`` (avoided last)."""
    fits = [m for m in order if model_card(m).family in families]
    return next((m for m in fits if m not in avoid), fits[0] if fits else None)


def _spectrogram_models(known: list[str]) -> list[str]:
    """Models with a log-mel front-end (their config takes the audio's sample rate)."""
    return [m for m in known if "sample_rate" in model_card(m).accepts]


def short_audio_budget(advice: dict[str, Any], budget_s: float | None) -> bool:
    """Raw audio of more than :data:`RAW_AUDIO_STEPS` samples and a budget under
    :data:`SHORT_AUDIO_BUDGET_S` seconds (None: no budget, never short)."""
    chars = advice.get("characteristics") or {}
    # the advisor's own reading of the audio form when given, else its rule: one channel
    # and no pretrained speech model is a raw waveform
    form = chars.get("audio_form") or (
        "waveform" if not chars.get("multivariate") and not chars.get("pretrained") else None)
    return (budget_s is not None and budget_s < SHORT_AUDIO_BUDGET_S
            and chars.get("data_type") == "audio" and form == "waveform"
            and (chars.get("seq_len") or 0) > RAW_AUDIO_STEPS)


#: The raw-waveform model a short audio budget can still train: cnn1d, whose first layer
#: embeds learned patches of ``round(L / 256)`` samples (D filters of 62 samples at 16 kHz,
#: a learned filterbank; :func:`seqselect.train.recipe.architecture_for`), so its
#: convolutions run over about 256 windows, not 16,000 samples.
RAW_WAVEFORM_SHORT = "cnn1d"


def _short_audio_order(advice: dict[str, Any], ranked: list[str], known: list[str],
                       n: int) -> list[str]:
    """What a short budget on long raw audio trains: the spectrogram models (the advisor's
    order, then the zoo's) and :data:`RAW_WAVEFORM_SHORT` over the raw samples, at most
    ``n``; says why in ``advice["warnings"]``."""
    spectro = _spectrogram_models(known)
    order = ([m for m in ranked if m in spectro] + [m for m in spectro if m not in ranked])
    if RAW_WAVEFORM_SHORT in known:
        order = [*order[: n - 1], RAW_WAVEFORM_SHORT]
    order = order[:n]
    raw = [m for m in ranked if m not in spectro and m != RAW_WAVEFORM_SHORT][:3]
    length = advice["characteristics"]["seq_len"]
    advice.setdefault("warnings", []).append(
        f"Short budget for raw audio: clips of {length:,} samples and a bake-off budget under "
        f"{SHORT_AUDIO_BUDGET_S // 60} minutes, where a model over every sample "
        f"({', '.join(raw) or 'wavenet, s4, tcn'}) gets a few training steps at most (tcn, the "
        "cheapest, got one per trial in a 5-minute bake-off of audio:spoken-digits and stayed "
        f"at chance), so the auto shortlist trains the spectrogram models "
        f"({', '.join(m for m in order if m in spectro)}: 100 log-mel frames a second of "
        f"audio) and, over the raw samples, {RAW_WAVEFORM_SHORT} with learned patches of "
        f"{max(1, round(length / 256))} samples as its first layer; give --budget 30m or "
        "more, or --models, for the advisor's own ranking with raw-waveform models.")
    return order


def shortlist(advice: dict[str, Any], n: int = SHORTLIST, budget_s: float | None = None,
              task: str | None = None) -> tuple[list[str], str | None]:
    """``(models, added)``: the advisor's top ``n`` trainable models, plus a pure
    convolutional and a pure recurrent model when they have none (:data:`PURE_RECURRENT`:
    a hybrid does not count; the advisor's best-ranked of that family, else the first of
    :data:`BASELINES`), filled up to ``n`` with :data:`BASELINES` when
    the advisor ranks fewer; ``added`` is the first model added (None when the advisor's
    top models already had both and were ``n``).

    So the list is never attention models only, whatever the data's size (the guide:
    "small dataset -> LSTM/TCN, Transformer overfits"; with a large one the comparison
    with the workhorses is still what a verdict needs).
    ``pretrained:...`` entries and anything outside the zoo are skipped. On long raw
    audio with a short ``budget_s`` the list is :func:`_short_audio_order`'s. When ``task``
    is ``"classify"`` on a small numeric series set, :data:`SERIES_CLASSIFIER` takes the
    place of the lowest-ranked model the two families can spare
    (:func:`_with_series_classifier`).
    """
    known = list_models()
    ranked = [_model_name(e) for e in advice.get("ranked", [])]
    ranked = list(dict.fromkeys(m for m in ranked if m in known))
    if short_audio_budget(advice, budget_s):
        # crnn is both convolutional and recurrent, and no workhorse over every sample
        # could train here: nothing is added
        return _short_audio_order(advice, ranked, known, n), None
    avoid = {_model_name(e) for e in advice.get("avoid", [])}
    names = ranked[:n]
    order = ranked + [m for m in BASELINES if m in known] + known
    added: list[str] = []
    for families in (PURE_CONVOLUTIONAL, PURE_RECURRENT):
        if _has_family(names, families):
            continue
        pick = _first_of(families, order, avoid)
        if pick is not None and pick not in names:
            names.append(pick)
            added.append(pick)
    # an advisor that ranks fewer than n trainable models (small data rules many out)
    # still gets a comparison of n: the workhorses fill the list, in BASELINES order
    for pick in (m for m in BASELINES if m in known and m not in avoid):
        if len(names) >= n:
            break
        if pick not in names:
            names.append(pick)
            added.append(pick)
    if _small_series_classification(advice, task) and SERIES_CLASSIFIER in known:
        names = _with_series_classifier(names, n, avoid, added)
    return names, (added[0] if added else None)


def _small_series_classification(advice: dict[str, Any], task: str | None) -> bool:
    chars = advice.get("characteristics") or {}
    return (task == "classify" and chars.get("data_type") == "time-series"
            and (chars.get("n_examples") or 0) < SMALL_CLASSIFICATION)


def _with_series_classifier(names: list[str], n: int, avoid: set[str],
                            added: list[str]) -> list[str]:
    """``names`` with :data:`SERIES_CLASSIFIER` in: appended while shorter than ``n``, else
    in place of the lowest-ranked model whose removal keeps a convolutional and a
    recurrent model on the list (unchanged when none can go, or the advisor avoids it)."""
    pick = SERIES_CLASSIFIER
    if pick in names or pick in avoid:
        return names
    if len(names) < n:
        added.append(pick)
        return [*names, pick]
    for drop in reversed(names):
        kept = [m for m in names if m != drop] + [pick]
        if _has_family(kept, PURE_CONVOLUTIONAL) and _has_family(kept, PURE_RECURRENT):
            added.append(pick)
            return kept
    return names


def _family(name: str) -> str | None:
    """``name``'s family, None outside the zoo (a budget fit may be given any names)."""
    return model_card(name).family if name in list_models() else None


def _has_family(names: list[str], families: tuple[str, ...]) -> bool:
    return any(_family(m) in families for m in names)


def guarantee_models(names: list[str]) -> tuple[str, ...]:
    """The models of ``names`` the shortlist's guarantee rests on: its first (best-ranked)
    pure convolutional and first pure recurrent model, a hybrid of the kind standing in
    where no pure one is listed. A budget fit never drops them (:mod:`.budget_fit`)."""
    kept: list[str] = []
    for pure, any_of_kind in ((PURE_CONVOLUTIONAL, CONVOLUTIONAL), (PURE_RECURRENT, RECURRENT)):
        pick = next((m for m in names if _family(m) in pure), None) or next(
            (m for m in names if _family(m) in any_of_kind), None)
        if pick is not None and pick not in kept:
            kept.append(pick)
    return tuple(kept)


def train_causal(name: str, task: str) -> bool:
    """Build ``name`` causal for this dataset task? Forecasting must not look ahead; models
    that are causal by construction (unidirectional RNNs) are causal whatever we pass."""
    card = model_card(name)
    return bool(card.causal and (task in _CAUSAL_TASKS or card.requires_causal))


def prepare(name: str, splits, *, params: int | None, max_length: int | None) -> dict[str, Any]:
    """Build ``name`` once for this data: ``{"model", "causal", "config", "params"}``, or
    ``{"model", "error"}`` when it cannot run here (parameter budget unreachable, a
    maximum length below the data's). Every seed then trains this same architecture."""
    causal = train_causal(name, splits.task)
    # A model the data configures (a --pretrained checkpoint fixes its own width).
    fixed = (getattr(splits, "metadata", None) or {}).get("model_overrides", {}).get(name)
    try:
        if fixed:
            model = create_model(name, **splits.model_kwargs(), causal=causal, **fixed)
        else:
            model = create_model(
                name, **splits.model_kwargs(), causal=causal, params=params,
                **architecture_for(name, splits),
            )
    except ValueError as exc:  # e.g. a parameter budget no width of this model meets
        return {"model": name, "causal": causal, "error": f"cannot build: {exc}"}
    limit = getattr(model, "max_len", None)
    if limit is not None and max_length is not None and max_length > limit:
        return {
            "model": name,
            "causal": causal,
            "error": f"takes at most {limit} steps and the data has sequences of {max_length}",
        }
    return {
        "model": name,
        "causal": causal,
        "config": dataclasses.asdict(model.config),
        "params": count_parameters(model),
    }
