"""The training recipe: what the bake-off passes to :func:`~seqselect.train.train` for a
candidate on a dataset, and the width it builds the candidate at when the user gives no
``--params``. One rule for every dataset (it may depend on the data's size, length and
channels, never on its name) so that results generalise.

The rules (evidence: 12-25 s runs, one thread, on GunPoint, ItalyPowerDemand,
BasicMotions, JapaneseVowels, ArrowHead, ACSF1, OSULeaf and PickupGestureWiimoteZ; the
table is in the closing note of issue 13):

* optimiser AdamW, ``lr = 3e-3``, ``weight_decay = 0.01``, gradient clipping at 1.0 —
  for every family. 1e-3 under-trained ArrowHead in the same budget (0.75 vs 0.73-0.81
  final, but the best-on-validation state 0.55); 1e-2 was no better.
* ``lr_schedule = "onecycle"`` over the budget's planned steps (warm-up 10%, cosine to
  ~0; :mod:`seqselect.train.schedule`): the last steps at a small rate settle the
  weights, so the final state is a good one to keep and to refit with.
* ``batch_size = min(32, max(8, n_train // 4))``: at least four steps per epoch on tiny
  training sets (ArrowHead's 36 series: 8), 32 from 128 series up.
* ``restore_best = None``: the best-on-validation state only with 50+ validation
  sequences (:data:`~seqselect.train.trainer.MIN_RANKING_VAL`); below that, on 5-30
  validation series, the restored state was up to 25 points worse on test than the final
  one (ArrowHead 0.53 vs 0.71, GunPoint tcn 0.89 vs 0.99).
* ``label_smoothing = 0.1`` for classification: OSULeaf +8.7 points, PickupGesture +4,
  ArrowHead within noise (0.72 vs 0.73), ACSF1 -3 (0.73 vs 0.76, one seed).
* ``precision = "auto"``: bfloat16 autocast on CPUs with native bf16 for LSTMs
  only (:mod:`seqselect.train.precision`; convolutions, attention and GRUs gained nothing).
* no augmentation: jitter + scaling lost 5-11 points on ArrowHead and ACSF1.
* no per-series z-normalisation (``seqselect.data.splits.znormalize_series`` exists for
  callers): UCR series come z-normalised already, and on multichannel JapaneseVowels it
  cost 17 points (0.81 vs 0.98); ACSF1 lost 7.

:func:`default_params`: 20,000 parameters below 1,000 training sequences (every family
fitted every training set above in 12-20 s at that size; 67k parameters were no better on
ArrowHead and took 2.5x longer per step), otherwise each model's own default width.
"""

from __future__ import annotations

import math
from typing import Any

from seqselect.data.types import DatasetSplits
from seqselect.models.cnn import CNNConfig
from seqselect.models.tcn import TCNConfig

__all__ = [
    "RECIPE_LR", "SMALL_DATA", "SMALL_DATA_PARAMS", "architecture_for", "default_params",
    "train_options_for",
]

RECIPE_LR = 3e-3
#: TCN levels the depth rule chooses between (receptive field 61 to 1,021 steps at K=3).
TCN_LEVELS = (4, 8)
#: cnn1d's averaging target: the windows learned patches bring a long series down to.
PATCHES_TO = CNNConfig.pool_to or 256
SMALL_DATA = 1_000  # training sequences below which default_params sizes models down
SMALL_DATA_PARAMS = 20_000
SMALL_DATA_TOKEN_WIDTH = 32  # embedding width counted per vocabulary entry (token inputs)


def recipe_batch_size(n_train: int) -> int:
    """At least four steps an epoch, 8 to 32 sequences a batch."""
    return min(32, max(8, n_train // 4))


def train_options_for(model: str, splits: DatasetSplits) -> dict[str, Any]:
    """Keyword arguments for ``train()`` for ``model`` on ``splits`` (the user's
    ``train_options`` are laid over them). The same for every family today."""
    del model  # the rules hold for every family measured (cnn1d, tcn, lstm, transformer)
    options: dict[str, Any] = {
        "lr": RECIPE_LR,
        "weight_decay": 0.01,
        "batch_size": recipe_batch_size(len(splits.train)),
        "lr_schedule": "onecycle",
        "restore_best": None,
        "precision": "auto",
    }
    if splits.model_task == "classify":
        options["label_smoothing"] = 0.1
    return options


def default_params(splits: DatasetSplits) -> int | None:
    """The parameter count to build candidates at when the user gives none (None: each
    model's own default width)."""
    if len(splits.train) >= SMALL_DATA:
        return None
    # Token inputs: the V x D embedding table is a lookup, not the capacity this cap limits;
    # counted at the width the cap gives a series model, the networks stay buildable.
    return SMALL_DATA_PARAMS + (splits.vocab_size or 0) * SMALL_DATA_TOKEN_WIDTH


def _levels_to_cover(length: int, kernel_size: int, convs_per_level: int = 2) -> int:
    """Dilated levels (dilation 2^i) whose receptive field ``1 + c (K-1) (2^N - 1)``
    reaches ``length`` steps."""
    reach = max(0.0, (length - 1) / (convs_per_level * max(1, kernel_size - 1)))
    return max(1, math.ceil(math.log2(reach + 1)))


def architecture_for(model: str, splits: DatasetSplits) -> dict[str, Any]:
    """Config overrides the recipe builds ``model`` with on ``splits`` (none for most).

    * ``cnn1d`` on long series (over 1.5 x 256 steps): learned patches of
      ``round(length / 256)`` steps instead of averaged windows (:mod:`seqselect.models.
      cnn`): ACSF1 0.61 -> 0.78 test accuracy at 60 epochs, OSULeaf unchanged.

    * ``tcn``: the same learned patches on long series, and enough levels that one output
      sees the whole sequence (of windows; Bai et al.'s advice), 4 to 8: at 4 levels (61
      steps) a TCN tested 0.47-0.60 on ArrowHead (251 steps); at 6 levels, the same
      parameters, 0.70-0.76 (150 epochs, two seeds; issue 13).
    """
    length = int(splits.train.mask.shape[1]) if len(splits.train) else 0
    # the stride the FCN stack would average long series with, as learned patches (the
    # models ignore it where they must keep every step: causal or per-step outputs)
    stride = round(length / PATCHES_TO)
    patch = {"patch": stride} if stride > 1 and splits.model_task != "per_step" else {}
    if model == "cnn1d":
        return patch
    if model != "tcn":
        return {}
    covered = -(-length // patch["patch"]) if patch else length  # windows the levels see
    levels = _levels_to_cover(covered, TCNConfig.kernel_size)
    low, high = TCN_LEVELS
    return {"n_layers": min(high, max(low, levels)), **patch}
