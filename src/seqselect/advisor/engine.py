"""``recommend()``: apply every rule of the guide (``rules.json``) and explain the answer.

Scoring is additive and transparent. Each rule that fires gives points to the models it
names, by role and by how specific the guide section is (weights in ``rules.json``):

* ``best``/``alternative`` add points; ``penalize`` subtracts;
* ``avoid`` subtracts 6 and flags the model: it goes to the avoid list when its net score
  is <= 0, and stays ranked (with a warning that the guide disagrees with itself) when
  other sections outweigh it;
* ``exclude`` moves the model to avoid whatever its score (the guide's "never": basic RNN);
  so do a fixed maximum length below the sequence length and an estimated (or measured)
  memory above ``memory_gb``.

Every point carries a reason that cites the guide section; seqselect's own judgements
(beyond or against the guide) start with ``[seqselect]``. Ties are broken by the single
strongest supporting rule, then by the guide's order of mention, then by name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch

from seqselect.advisor.characteristics import (
    ALLOWED,
    CHECKLIST_FIELDS,
    DEFAULT_BATCH_SIZE,
    validate_characteristics,
)
from seqselect.advisor.memory import (
    MemoryEstimate,
    estimate_memory,
    format_bytes,
    measured_memory,
)
from seqselect.advisor.recommendation import Candidate, Recommendation
from seqselect.advisor.rules import ROLES, condition_holds, load_rules
from seqselect.formatting import format_number
from seqselect.system import MB, free_memory_mb

log = logging.getLogger(__name__)

__all__ = ["ALLOWED", "Candidate", "Recommendation", "recommend", "validate_characteristics"]


# ----------------------------------------------------------------------------- the zoo


def _zoo_cards() -> dict[str, Any]:
    """The registered models' cards, by name (tests substitute a fuller zoo here)."""
    from seqselect.models import list_models, model_card

    return {name: model_card(name) for name in list_models()}


def _device_budget_gb(device: str) -> float | None:
    """Free memory of a CUDA device, GB, when no memory_gb is given (None on CPU/MPS)."""
    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    free_mb = free_memory_mb(device)
    return None if free_mb is None else free_mb * MB / 1e9


# ----------------------------------------------------------------------------- scoring


#: Guide sections specific enough that a companion model must not outrank their picks.
_SPECIFIC = ("decision_tree", "scenario", "quick_reference", "checklist")


@dataclass
class _Point:
    model: str
    points: int
    reason: str
    rule: str
    role: str
    order: tuple[int, ...]  # (rule index, target position, family member): guide's order


class _Scorer:
    def __init__(self, chars: dict[str, Any], zoo: dict[str, Any]):
        self.data = load_rules()
        self.chars = chars
        self.zoo = zoo
        self.names = self.data["display_names"]
        self.pretrained = {
            f"pretrained:{n}": p for n, p in self.data["pretrained"].items()
            if chars["pretrained"] is not False and chars["data_type"] in p["data_types"]
        }
        self.points: list[_Point] = []
        self.fired: list[str] = []
        self.excluded: dict[str, list[str]] = {}

    def catalog_order(self, model: str) -> int:
        """Position in the guide's architecture catalog (newer zoo models after it)."""
        order = list(self.names)
        return order.index(model) if model in order else len(order)

    def resolve(self, target: str) -> list[str]:
        """Zoo or pretrained models a rule target stands for, here and now (a family in
        the guide's catalog order: Longformer, BigBird, Linformer, Performer)."""
        if target.startswith("family:"):
            family = target.split(":", 1)[1]
            members = [n for n, c in self.zoo.items() if c.family == family]
            return sorted(members, key=lambda n: (self.catalog_order(n), n))
        if target.startswith("card:"):
            key, _, value = target.split(":", 1)[1].partition("=")
            return [n for n, c in self.zoo.items()
                    if str(getattr(c, key, None)).lower() == value.lower()]
        if target.startswith("pretrained:"):
            return [target] if target in self.pretrained else []
        if target not in self.zoo:
            log.debug("rules.json names %r, which is not registered in this install", target)
            return []
        return [target]

    def reason(self, rule: dict[str, Any], model: str, points: int) -> str:
        if rule["kind"] == "seqselect":
            head = "[seqselect]" if points == 0 else f"{points:+d} [seqselect]"
            text = f"{head} {rule['text']}"
        else:
            text = f"{points:+d} {rule['section']}: {rule['text']}"
        note = rule.get("notes", {}).get(model)
        return f"{text} (note: {note})" if note else text

    def apply_rules(self) -> None:
        rules = self.data["rules"]
        weights = self.data["weights"]
        active = [r for r in rules if "special" not in r and condition_holds(r["when"], self.chars)]
        lifted = {(rid, m) for r in active for rid, ms in r.get("lifts", {}).items() for m in ms}
        index = {r["id"]: i for i, r in enumerate(rules)}
        for rule in active:
            self.fired.append(rule["id"])
            for role in ROLES:
                for pos, target in enumerate(rule.get(role, [])):
                    for sub, model in enumerate(self.resolve(target)):
                        if (rule["id"], model) in lifted:
                            continue
                        if role == "exclude":
                            self.excluded.setdefault(model, []).append(
                                f"{rule['section']}: {rule['text']}")
                            continue
                        pts = rule.get("points", {}).get(target, weights[rule["kind"]][role])
                        self.points.append(_Point(model, pts, self.reason(rule, model, pts),
                                                  rule["id"], role, (index[rule["id"]], pos, sub)))

    def score(self, model: str) -> int:
        return sum(p.points for p in self.points if p.model == model)

    def guide_floor(self) -> int | None:
        """The lowest score among the models a specific section of the guide (decision
        tree, scenario, quick reference, checklist) names as best or alternative here: a
        companion marked ``below_guide`` stays under it, so it never displaces them."""
        kinds = {r["id"]: r["kind"] for r in self.data["rules"]}
        named = {p.model for p in self.points if p.points > 0
                 and p.role in ("best", "alternative") and kinds.get(p.rule) in _SPECIFIC}
        return min((self.score(m) for m in named), default=None)

    def apply_companions(self) -> None:
        """Models newer than the guide follow the score of the guide model they refine."""
        done: set[str] = set()
        n_rules = len(self.data["rules"])
        floor = self.guide_floor()
        for i, item in enumerate(self.data["companions"]["items"]):
            model, follows = item["model"], item["follows"]
            if model in done or model not in self.zoo:
                continue
            if not condition_holds(item["when"], self.chars):
                continue
            done.add(model)
            base = self.score(follows)
            if not any(p.model == follows and p.points > 0 for p in self.points) or base <= 0:
                continue
            pts = base + item["offset"]
            # At the floor it still ranks below: a tie goes to the model with the stronger
            # rule of the guide's own, and a companion has none.
            capped = item.get("below_guide", False) and floor is not None and pts > floor
            if capped:
                pts = floor
            if pts <= 0:
                continue
            shown = self.names.get(follows, follows)
            kept = ", kept below the guide's own picks" if capped else ""
            reason = (f"{pts:+d} [seqselect] {item['text']} (score follows {shown}'s "
                      f"{base} {item['offset']:+d}{kept})")
            self.points.append(
                _Point(model, pts, reason, item["id"], "companion", (n_rules + i, 0, 0)))
            self.fired.append(item["id"])


def _sort_key(model: str, pts: list[_Point]) -> tuple:
    """Score, then the strongest single supporting rule (the most specific section wins a
    tie), then where the guide first names the model in such a rule, then the name."""
    positive = [p for p in pts if p.points > 0 and p.role != "companion"]
    strongest = max((p.points for p in positive), default=0)
    first = min((p.order for p in positive if p.points == strongest), default=(10**6,))
    return (-sum(p.points for p in pts), -strongest, first, model)


def recommend(
    seq_len: int | None = None,
    data_type: str | None = None,
    n_examples: int | None = None,
    latency: str | None = None,
    deployment: str | None = None,
    pretrained: bool | None = None,
    speed_critical: bool | None = None,
    multivariate: bool | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    memory_gb: float | None = None,
    device: str = "cpu",
    d_model: int | None = None,
    measured: list[dict[str, Any]] | None = None,
    vocab_size: int | None = None,
) -> Recommendation:
    """Which sequence model for this data? The guide's whole selection framework, applied.

    Args:
        seq_len: typical sequence length in steps (tokens for text, samples for audio).
        data_type: one of text, time-series, audio, other. For audio the form is read from
            the other answers: ``pretrained=True`` brings in pretrained speech models,
            ``multivariate=True`` means a spectrogram (mel bins as channels), otherwise a
            raw waveform.
        n_examples: training examples.
        latency: realtime, batch or offline.
        deployment: cloud, edge or mobile (mobile is read as edge, as the guide groups them).
        pretrained: a pre-trained model is available for this data (None: unknown; text and
            audio then list ``pretrained:<name>`` candidates; False removes them).
        speed_critical: training speed matters more than the last point of accuracy.
        multivariate: several channels per step.
        batch_size, d_model: the size at which memory is estimated (d_model None: each
            model's default width).
        memory_gb: the memory budget; a candidate estimated above it moves to avoid.
            None: on ``cuda`` the device's free memory, on cpu no limit.
        device: cpu, cuda[:i] or mps.
        measured: ``seqselect.bench`` rows (``model, length, batch, mode, peak_mb,
            status``); a row at this length and batch replaces that model's estimate.
        vocab_size: token inputs' vocabulary: the memory estimate adds each zoo model's
            V x D embedding table (weights, gradient, Adam state).

    Returns:
        A :class:`Recommendation` (``.ranked``, ``.avoid``, ``.warnings``, ``.unanswered``,
        ``.to_dict()``).

    Raises:
        ValueError: a bad value, naming the allowed ones.
    """
    chars = validate_characteristics(
        seq_len=seq_len, data_type=data_type, n_examples=n_examples, latency=latency,
        deployment=deployment, pretrained=pretrained, speed_critical=speed_critical,
        multivariate=multivariate, batch_size=batch_size, memory_gb=memory_gb, device=device,
        d_model=d_model, vocab_size=vocab_size,
    )
    scorer = _Scorer(chars, _zoo_cards())
    scorer.apply_rules()
    scorer.apply_companions()
    by_model: dict[str, list[_Point]] = {}
    for p in scorer.points:
        by_model.setdefault(p.model, []).append(p)
    order = {m: _sort_key(m, by_model.get(m, [])) for m in set(by_model) | set(scorer.excluded)}
    pool = sorted(order, key=order.__getitem__)
    memory = _exclude_over_limits(scorer, pool, measured)
    ranked, avoid, conflicts = _ranked_and_avoided(scorer, pool, by_model, memory)
    avoid.sort(key=lambda c: (c.model not in scorer.excluded, order[c.model]))

    data = scorer.data
    warnings = _pitfall_warnings(data, chars, [c.model for c in ranked])
    warnings += conflicts + _situation_warnings(chars, ranked)
    unanswered = [q["question"] for q in data["checklist"] if chars[q["field"]] is None]
    characteristics = {k: chars[k] for k in (*CHECKLIST_FIELDS, "batch_size", "memory_gb", "device",
                                             "d_model", "audio_form")}
    return Recommendation(ranked, avoid, warnings, unanswered, characteristics,
                          list(dict.fromkeys(scorer.fired)))


def _exclude_over_limits(scorer: _Scorer, pool: list[str],
                  measured: list[dict[str, Any]] | None) -> dict[str, MemoryEstimate]:
    """Exclude models whose fixed maximum length or memory the situation exceeds; return
    the memory estimate (or measurement) of every model in the pool."""
    chars = scorer.chars
    special = {r["special"]: r for r in scorer.data["rules"] if "special" in r}
    limit = chars["memory_gb"]
    if limit is None:
        limit = _device_budget_gb(chars["device"])
    length, batch = chars["seq_len"], chars["batch_size"]
    memory: dict[str, MemoryEstimate] = {}
    if length is None:
        return memory
    for model in pool:
        max_len = (scorer.pretrained[model]["max_len"] if model in scorer.pretrained
                   else getattr(scorer.zoo.get(model), "max_len", None))
        if max_len is not None and length > max_len:
            scorer.excluded.setdefault(model, []).append(
                f"[seqselect] {special['max_len']['text']}: it takes at most {max_len} "
                f"steps, and L={length}")
        est = measured_memory(model, length, batch, measured) or estimate_memory(
            model, length, batch, chars["d_model"], vocab_size=chars.get("vocab_size"))
        memory[model] = est
        if est.status != "ok":
            scorer.excluded.setdefault(model, []).append(
                f"[seqselect] memory: {est.describe()}: it did not fit when measured")
        elif limit is not None and est.bytes > limit * 1e9:
            scorer.excluded.setdefault(model, []).append(
                f"[seqselect] memory: {est.describe()}; more than memory_gb={limit:g}")
    return memory


def _ranked_and_avoided(scorer: _Scorer, pool: list[str], by_model: dict[str, list[_Point]],
              memory: dict[str, MemoryEstimate]) -> tuple[list, list, list[str]]:
    """(ranked, avoid, conflict warnings) in pool order (best first)."""
    flagged = {p.model for p in scorer.points if p.role == "avoid"}
    ranked: list[Candidate] = []
    avoid: list[Candidate] = []
    conflicts: list[str] = []
    for model in pool:
        pts = by_model.get(model, [])
        total = sum(p.points for p in pts)
        positive = [p.reason for p in pts if p.points >= 0]
        negative = [p.reason for p in pts if p.points < 0]
        note = scorer.pretrained[model]["use"] if model in scorer.pretrained else None
        rules = [p.rule for p in pts]
        if model in scorer.excluded or (model in flagged and total <= 0):
            reasons = scorer.excluded.get(model, []) + negative + positive
            if model in memory and not any("memory:" in r for r in reasons):
                reasons.append(f"Memory: {memory[model].describe()}")
            avoid.append(Candidate(model, total, reasons, rules, memory.get(model), note))
            continue
        if total <= 0:
            continue  # only penalties: not worth listing either way
        reasons = positive + negative
        if model in memory:
            reasons.append(f"Memory: {memory[model].describe()}")
        if note:
            reasons.append(f"How to use: {note}")
        cand = Candidate(model, total, reasons, rules, memory.get(model), note)
        ranked.append(cand)
        if model in flagged:
            against = "; ".join(p.reason for p in pts if p.role == "avoid")
            conflicts.append(
                f"The guide disagrees with itself on {model}: {against}; other sections "
                f"outweigh it here (net score {total:+d}), so it stays ranked.")
    return ranked, avoid, conflicts


class _UnknownAsQuestionMark(dict):
    """Fills a warning template; a field this situation does not know reads ``?``."""

    def __missing__(self, key: str) -> str:
        return "?"


def _pitfall_warnings(data: dict[str, Any], chars: dict[str, Any],
                      ranked: list[str]) -> list[str]:
    """The guide's pitfalls this situation walks into, with its numbers filled in."""
    out = []
    for pit in data["pitfalls"]:
        if not condition_holds(pit["when"], chars):
            continue
        if any(m not in ranked for m in pit.get("requires_ranked", [])):
            continue
        fields = {k: v for k, v in chars.items() if v is not None}
        if chars["seq_len"] is not None:
            # Always the analytic count: the guide's point is the naive L x L matrix.
            dense = estimate_memory(
                "transformer", chars["seq_len"], chars["batch_size"], chars["d_model"])
            if dense.naive_attention_bytes is not None:
                fields["naive_attention"] = format_bytes(dense.naive_attention_bytes)
                fields["heads"] = dense.config.get("n_heads")
                fields["layers"] = dense.config.get("n_layers")
        if "n_examples" in fields:
            fields["n_examples"] = format_number(fields["n_examples"])
        out.append(pit["warning"].format_map(_UnknownAsQuestionMark(fields)))
    return out


def _situation_warnings(chars: dict[str, Any], ranked: list[Candidate]) -> list[str]:
    out = []
    if chars["data_type"] == "audio":
        form = chars["audio_form"]
        how = {
            "speech": "pre-trained speech models are available (the guide's speech "
            "recognition scenario)",
            "spectrogram": "several channels per step (mel bins)",
            "waveform": "one channel per step (pass --multivariate for a spectrogram, "
            "--pretrained for speech with pre-trained models)",
        }[form]
        out.append(f"Audio read as a {form}: {how}.")
    if chars["data_type"] == "other":
        out.append("Data type 'other': the guide's language, time-series and audio "
                   "scenarios do not apply; only the length, data, latency and deployment "
                   "rules rank the models.")
    if not ranked:
        out.append("No rule of the guide favours any model for these characteristics: "
                   "answer more of the checklist questions below.")
    return out
