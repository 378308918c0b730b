"""How a bake-off selects (DESIGN.md, "Evaluation protocol"): hold-out or cross-validation,
and the data each trial of the protocol sees.

The rule (:func:`choose_protocol`):

* **cv** when the training split is small: fewer than :data:`CV_MAX_TRAIN` training
  sequences, or a validation split under :data:`CV_MIN_VAL` (too few to rank models or
  checkpoints on). The loader's validation rows go back into a *pool* with the training
  rows, split into :func:`folds_for` stratified folds — as many as the seeds, at least
  :data:`MIN_FOLDS` and at most :data:`N_FOLDS` (fewer when a class is rarer, or when the
  budget fit lowers them; regression: plain shuffled folds) — with
  :func:`seqselect.stats.stratified_folds` and the fold seed. **Every fold is scored**:
  seed ``s`` runs a "fold" trial on fold ``s % n_folds`` (train = pool minus the fold,
  validation = the fold, test = empty) for seeds ``0 .. max(seeds, n_folds) - 1``
  (:func:`phase_seeds`), so each pool sequence is validated at least once and a model's
  validation score is a complete k-fold estimate; then seeds ``0 .. seeds - 1`` each run
  a "refit" trial on the whole pool (no validation, so no checkpoint restore) for as
  many epochs as the model's folds trained (:func:`refit_epochs`), tested once.
  Why as many folds as seeds: every fold run is a trial that takes time from the refits,
  which give the test score. With 3 seeds, 3 folds cost 3 fold runs and score every
  sequence once; 5 folds cost 5, and at 5 minutes ACSF1's (1,460 steps) refits trained
  23% fewer epochs and tested 4 points lower (86.0 against 90.0).
* **holdout** otherwise, and always for forecasting (its windows overlap in time: shuffled
  folds would let a model see the future of its validation windows). One "trial" per
  seed: train on the training split, early stopping and best-checkpoint restore on the
  validation split (restore only when it holds at least ``CV_MIN_VAL`` sequences:
  forecasting's few windows keep the last state), tested once.

Standardisation: the loader standardised every split with the statistics of its own
training split (``data/splits.py``: per-channel mean and std of the real steps of
``train``, and of the targets for regression). Those statistics are kept as they are (the
exported model's input pipeline uses them): in cv they include the inputs of the pool rows
that were in the loader's training split, never a label and never a test row, so the test
split stays untouched and a fold's validation rows can have shifted a per-channel mean and
std by at most their share of the pool.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from seqselect.bakeoff.records import Protocol, Trial
from seqselect.data.types import DatasetSplits, SequenceData
from seqselect.stats import stratified_folds

__all__ = [
    "CV_MAX_TRAIN",
    "CV_MIN_VAL",
    "MIN_FOLDS",
    "N_FOLDS",
    "choose_protocol",
    "fold_of",
    "folds_for",
    "phase_seeds",
    "pool_folds",
    "refit_epochs",
    "trial_splits",
]

#: Fewer training sequences than this: cross-validate (the issue's "a few hundred").
CV_MAX_TRAIN = 300
#: A validation split smaller than this cannot rank: cross-validate.
CV_MIN_VAL = 50
#: The most folds of the training pool (fewer when the rarest class has fewer members) ...
N_FOLDS = 5
#: ... and the fewest the seeds or the budget fit ask for.
MIN_FOLDS = 3
#: Dataset tasks whose rows are ordered in time: always hold-out.
_TIME_ORDERED = ("forecast",)


def _pad_to(t: torch.Tensor, length: int) -> torch.Tensor:
    """``t`` (N, L, ...) right-padded with zeros to ``length`` steps."""
    if t.shape[1] == length:
        return t
    pad = torch.zeros((t.shape[0], length - t.shape[1], *t.shape[2:]), dtype=t.dtype)
    return torch.cat([t, pad], dim=1)


def pool_of(splits: DatasetSplits) -> SequenceData:
    """The training pool: training rows then validation rows, padded to one length."""
    train, val = splits.train, splits.val
    if not len(val):
        return train
    length = max(train.mask.shape[1], val.mask.shape[1])
    per_step = train.is_per_step
    y_parts = [_pad_to(p.y, length) if per_step else p.y for p in (train, val)]
    pooled = SequenceData(
        torch.cat([_pad_to(train.x, length), _pad_to(val.x, length)]),
        torch.cat([_pad_to(train.mask, length), _pad_to(val.mask, length)]),
        torch.cat(y_parts),
    )
    if getattr(train, "texts", None) is None:
        return pooled
    # text rows keep their raw texts, aligned (the TF-IDF baseline reads words, not ids)
    return type(train)(pooled.x, pooled.mask, pooled.y, texts=[*train.texts, *val.texts])


def _fold_labels(pool: SequenceData, task: str) -> np.ndarray:
    """What the folds stratify on: class ids (classification), else the row values."""
    y = pool.y.cpu().numpy()
    if task == "classify" and y.ndim == 1:
        return y.astype(np.int64)
    return y.reshape(len(y), -1).astype(np.float64)


def pool_folds(splits: DatasetSplits, protocol: Protocol) -> list[tuple[np.ndarray, np.ndarray]]:
    """The protocol's folds ``[(train_idx, val_idx), ...]`` over the pool's rows (the same
    for the same data and fold seed, in any process)."""
    pool = pool_of(splits)
    return stratified_folds(
        _fold_labels(pool, splits.task), k=protocol.n_folds, seed=protocol.fold_seed
    )


def folds_for(seeds: int) -> int:
    """Folds for ``seeds`` seeds per model: one per seed, between :data:`MIN_FOLDS` and
    :data:`N_FOLDS` (why: the module docstring)."""
    return min(N_FOLDS, max(MIN_FOLDS, seeds))


def choose_protocol(
    splits: DatasetSplits, seeds: int, *, fold_seed: int = 0, n_folds: int | None = None
) -> Protocol:
    """Hold-out or cross-validation for ``splits`` (the rule: see the module docstring).

    ``seeds`` is the number of seeds per model (the refits); ``n_folds`` the most folds
    (default :func:`folds_for` ``(seeds)``; the budget fit may ask for fewer, the rarest
    class may allow fewer still).
    """
    n_train, n_val = len(splits.train), len(splits.val)
    small = n_train < CV_MAX_TRAIN or n_val < CV_MIN_VAL
    if splits.task in _TIME_ORDERED or not small or n_train + n_val < 4:
        why = (
            "forecasting windows are ordered in time" if splits.task in _TIME_ORDERED
            else f"{n_train} training and {n_val} validation sequences are enough to rank on"
        )
        # forecasting holds out whatever windows it has (3 to 34 on the bundled series):
        # a state is restored only from a split that can rank states
        restore = n_val >= CV_MIN_VAL
        keep = "" if restore else (
            f"; the last state is kept (no restore: {n_val} validation windows are too "
            f"few to rank states on)"
        )
        return Protocol(
            kind="holdout", n_pool=n_train, n_val=n_val, restore_best=restore,
            fold_seed=fold_seed, reason=f"hold-out validation: {why}{keep}",
        )
    wanted = folds_for(seeds) if n_folds is None else n_folds
    base = Protocol(kind="cv", n_folds=max(2, wanted), fold_seed=fold_seed)
    folds = pool_folds(splits, base)
    k = len(folds)
    runs = max(k, seeds)
    return replace(
        base,
        n_folds=k,
        n_pool=n_train + n_val,
        n_val=min(len(v) for _, v in folds),
        restore_best=False,
        reason=(
            f"{k}-fold cross-validation on the {n_train + n_val} training and validation "
            f"sequences: fewer than {CV_MAX_TRAIN} training (got {n_train}) or fewer than "
            f"{CV_MIN_VAL} validation (got {n_val}) sequences are too few to rank on; "
            f"every fold is scored, seed s on fold s % {k} ({runs} fold runs, "
            f"{_seed_span(runs)}); then {_seed_span(seeds)} refit on the whole pool, each "
            "tested once"
        ),
    )


def _seed_span(n: int) -> str:
    """``seed 0`` or ``seeds 0-(n-1)``."""
    return "seed 0" if n <= 1 else f"seeds 0-{n - 1}"


def phase_seeds(protocol: Protocol, seeds: int) -> dict[str, list[int]]:
    """The seeds each phase of ``protocol`` runs, phase by phase in running order: under
    cross-validation ``{"fold": every fold at least once, "refit": seeds}``, else
    ``{"trial": seeds}``."""
    tested = list(range(max(1, seeds)))
    if protocol.kind != "cv" or not protocol.n_folds:
        return {"trial": tested}
    return {"fold": list(range(max(protocol.n_folds, len(tested)))), "refit": tested}


def fold_of(seed: int, protocol: Protocol) -> int | None:
    """The fold seed ``seed`` is scored on (None in hold-out)."""
    return seed % protocol.n_folds if protocol.kind == "cv" and protocol.n_folds else None


def _empty_like(data: SequenceData) -> SequenceData:
    return data.subset(torch.zeros(0, dtype=torch.long))


def trial_splits(
    splits: DatasetSplits, protocol: Protocol, role: str, fold: int | None
) -> DatasetSplits:
    """The splits one trial of the protocol sees.

    * ``"trial"`` (hold-out): ``splits`` as loaded.
    * ``"fold"``: train = pool minus fold ``fold``, val = that fold, test = EMPTY; the
      test split is not read (not even its length), so no selection can depend on it.
    * ``"refit"``: train = the whole pool, val = empty, test = the test split.
    """
    if role == "trial":
        return splits
    pool = pool_of(splits)
    if role == "fold":
        if fold is None:
            raise ValueError("a fold trial needs its fold")
        train_idx, val_idx = pool_folds(splits, protocol)[fold]
        return replace(
            splits,
            train=pool.subset(torch.as_tensor(train_idx)),
            val=pool.subset(torch.as_tensor(val_idx)),
            test=_empty_like(pool),
        )
    if role == "refit":
        return replace(splits, train=pool, val=_empty_like(pool))
    raise ValueError(f"unknown trial role {role!r}")


def _trained_epochs(trial: Trial) -> float | None:
    """The epochs a finished fold trial trained for (its last history point's epoch)."""
    epochs = [float(h["epoch"]) for h in trial.history or [] if h.get("epoch") is not None]
    return max(epochs) if epochs else None


def refit_epochs(fold_trials: list[Trial], task: str) -> int | None:
    """Epochs a model's refit trains for: the median of the epochs its finished fold trials
    trained for (rounded up, at least 1); None when none has a usable history (the refit is
    then bounded by its time share alone). The refit never gets more than its share of
    wall time either way.

    Why the folds' whole length and not the epoch of their best mean validation score:
    the score that ranked the model is that of the *final* state of a full one-cycle
    schedule; the points along the way were taken at a high learning rate on folds of 6-10
    series, so their best was noise, and on ArrowHead a refit stopped there tested at 0.63
    against 0.80-0.85 for the full length (issue 13). ``task`` is kept for the metric's
    direction should a rule need it again.
    """
    del task
    trained = [_trained_epochs(t) for t in fold_trials if t.status == "ok"]
    trained = [e for e in trained if e is not None]
    if not trained:
        return None
    return max(1, int(np.ceil(float(np.median(trained)))))
