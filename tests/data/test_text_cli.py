"""The text flags on the CLI: ``--text``, ``--vocab-size`` and ``--pretrained`` on
``profile`` and ``recommend --from`` (``bakeoff``'s are covered by the bake-off tests)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from seqselect.cli import app

runner = CliRunner()


def _table(path, n: int = 60, seed: int = 0):
    """Two free-text columns (so --text must name one) and a label."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(400)]
    rows = [{"title": " ".join(rng.choice(words, 4)),
             "body": " ".join(rng.choice(words, int(rng.integers(5, 60)))),
             "label": "ab"[i % 2]} for i in range(n)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_profile_reads_the_named_text_column_in_tokens_with_the_vocabulary(tmp_path):
    path = _table(tmp_path / "t.csv")
    out = runner.invoke(app, ["profile", str(path)])
    assert out.exit_code == 2 and "2 columns hold free text" in out.output  # ambiguous
    out = runner.invoke(app, ["profile", str(path), "--text", "body", "--vocab-size", "600",
                              "--json"])
    assert out.exit_code == 0, out.output
    prof = json.loads(out.output)
    assert prof["value_type"] == "tokens" and prof["vocab_size"] <= 600
    # the body column is 5-60 words, the title 4: token lengths are the body's
    assert prof["length"]["max"] >= 50 and prof["length"]["min"] >= 5
    assert prof["length"]["min"] <= prof["length"]["median"] <= prof["length"]["p95"]
    table = runner.invoke(app, ["profile", str(path), "--text", "body"])
    assert "length (tokens)" in table.output and "tokenizer" in table.output


def test_vocab_size_on_series_data_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame({"label": ["a", "b"] * 10, "t0": range(20), "t1": range(20)}).to_csv(
        path, index=False)
    out = runner.invoke(app, ["profile", str(path), "--vocab-size", "100"])
    assert out.exit_code == 2 and "apply to text data" in out.output


def test_recommend_from_text_names_the_pretrained_flag(tmp_path):
    path = _table(tmp_path / "t.csv")
    out = runner.invoke(app, ["recommend", "--from", str(path), "--text", "body"])
    assert out.exit_code == 0, out.output
    assert "pretrained:" in out.output and "--pretrained DIR" in out.output


def test_a_missing_or_incomplete_checkpoint_is_one_clear_error(tmp_path):
    path = _table(tmp_path / "t.csv")
    out = runner.invoke(app, ["profile", str(path), "--text", "body",
                              "--pretrained", str(tmp_path / "nope")])
    assert out.exit_code == 2 and "no such folder" in out.output
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "config.json").write_text("{}")
    out = runner.invoke(app, ["profile", str(path), "--text", "body",
                              "--pretrained", str(tmp_path / "ck")])
    assert out.exit_code == 2 and "no tokenizer.json" in out.output
