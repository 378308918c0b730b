"""From a dataset profile to the guide's characteristics.

``seqselect.data.profile_dataset(splits).to_dict()`` describes a dataset (lengths,
channels, value type, data type, classes); :func:`characteristics_from_profile` turns it
into keyword arguments for :func:`seqselect.recommend`. Only what the profile can tell is
filled: latency, deployment, pretrained and speed stay questions for the user.
"""

from __future__ import annotations

import math
from typing import Any

from seqselect.advisor.characteristics import ALLOWED

__all__ = ["characteristics_from_profile"]


def characteristics_from_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """Characteristics for ``recommend(**chars)`` read from a profile dict.

    * ``seq_len``: the 95th percentile of the lengths (rounded up), else the maximum,
      else the median. Not the maximum: the guide matches the architecture to the
      *typical* length, and a few outliers above p95 can be truncated or chunked rather
      than force a long-sequence model on everything. The CLI shows p95 and max side by
      side so the user can pass ``--length`` when the tail matters.
    * ``n_examples``: training sequences (``n_train``), else all (``n_sequences``).
    * ``data_type``: the profile's inferred type when it is one the guide knows.
    * ``multivariate``: the profile's flag, else ``n_channels > 1``; token input is
      univariate.

    Keys the profile cannot fill are left out, so ``{**from_profile, **flags}`` lets
    explicit flags override.
    """
    if not isinstance(profile, dict):
        raise TypeError(f"expected a profile dict, got {type(profile).__name__}")
    out: dict[str, Any] = {}
    length = profile.get("length") or {}
    for key in ("p95", "max", "median"):
        value = length.get(key)
        if value is not None and math.isfinite(float(value)) and value > 0:
            out["seq_len"] = max(1, math.ceil(float(value)))
            break
    n = profile.get("n_train") or profile.get("n_sequences")
    if n:
        out["n_examples"] = int(n)
    data_type = profile.get("data_type")
    if data_type in ALLOWED["data_type"]:
        out["data_type"] = data_type
    if profile.get("vocab_size"):  # token inputs: the memory estimate counts the embedding
        out["vocab_size"] = int(profile["vocab_size"])
    if profile.get("multivariate") is not None:
        out["multivariate"] = bool(profile["multivariate"])
    elif profile.get("value_type") == "tokens":
        out["multivariate"] = False
    elif profile.get("n_channels") is not None:
        out["multivariate"] = int(profile["n_channels"]) > 1
    return out
