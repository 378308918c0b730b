"""The CLI's `models` and `demo` commands, and its exit-code policy, through Typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from seqselect import list_models
from seqselect.cli import app

runner = CliRunner()


def test_models_json_prints_every_card():
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    cards = json.loads(result.stdout)
    assert [c["name"] for c in cards] == list_models()
    assert all(c["time_complexity"].startswith("O(") for c in cards)


def test_models_table_names_every_model():
    result = runner.invoke(app, ["models"], terminal_width=200)
    assert result.exit_code == 0
    for name in list_models():
        assert name in result.stdout


def test_demo_runs_every_model_on_real_data():
    result = runner.invoke(app, ["demo", "--params", "20000", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["input_shape"][1] == 150  # GunPoint sequences have 150 steps
    assert {r["model"] for r in payload["results"]} == set(list_models())
    assert all(r["finite"] and r["output_shape"] == [16, 2] for r in payload["results"])


def test_unknown_option_is_a_usage_error():
    result = runner.invoke(app, ["models", "--no-such-flag"])
    assert result.exit_code == 2


def test_help_teaches():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "models" in result.stdout
