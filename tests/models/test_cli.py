"""The CLI's `models` and `demo` commands (``cli/models.py``) and its exit-code policy,
through Typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from seqselect import list_models, model_card
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


def test_models_table_fits_80_columns_one_line_per_model():
    result = runner.invoke(app, ["models"], terminal_width=80, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    for name in list_models():
        card = model_card(name)
        rows = [line for line in lines if line.split()[:1] == [name]]
        assert len(rows) == 1, (name, lines)
        cells = rows[0].split()  # the whole card's row, nothing cut or wrapped
        assert cells[:3] == [name, card.family, str(card.year)], rows[0]
        assert card.time_complexity in rows[0] and card.memory_complexity in rows[0]


def test_models_json_keys_are_the_card_fields():
    result = runner.invoke(app, ["models", "--json"])
    cards = json.loads(result.stdout)
    assert all(list(c) == list(model_card(c["name"]).to_dict()) for c in cards)


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
