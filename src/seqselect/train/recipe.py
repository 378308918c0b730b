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

from typing import Any

from seqselect.data.types import DatasetSplits

__all__ = ["RECIPE_LR", "SMALL_DATA", "SMALL_DATA_PARAMS", "default_params", "train_options_for"]

RECIPE_LR = 3e-3
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
