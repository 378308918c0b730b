"""``recommend --measured STORE``: study evidence from similar stored datasets."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from seqselect.advisor.measured import is_results_store, measured_evidence, similar
from seqselect.cli import app
from seqselect.errors import SeqSelectError
from seqselect.study.store import DatasetRow, StudyStore


def _row(name, length, n_train, kind, ranks):
    return DatasetRow(
        study="s", dataset=name, run=f"s:{name}", task="classify", metric="accuracy",
        higher=True, characteristics={"data_type": kind, "length": length, "n_train": n_train},
        scores={m: 1.0 / r for m, r in ranks.items()}, ranks=ranks,
    )


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "runs.db"
    studies = StudyStore(path)
    studies.put(_row("short1", 100, 50, "time-series", {"gru": 1.0, "tcn": 2.0}))
    studies.put(_row("short2", 150, 80, "time-series", {"gru": 2.0, "tcn": 1.0, "lstm": 3.0}))
    studies.put(_row("short3", 120, 60, "time-series", {"gru": 1.0, "tcn": 2.0}))
    studies.put(_row("long", 5000, 60, "time-series", {"tcn": 1.0, "gru": 2.0}))
    studies.put(_row("texts", 100, 60, "text", {"lstm": 1.0, "gru": 2.0}))
    return path


def test_similarity_rule():
    stored = {"data_type": "time-series", "length": 100, "n_train": 50}
    assert similar(stored, {"data_type": "time-series", "seq_len": 399, "n_examples": 12.5})
    assert not similar(stored, {"seq_len": 401})  # length beyond x4
    assert not similar(stored, {"n_examples": 201})  # size beyond x4
    assert not similar(stored, {"data_type": "text"})
    assert similar(stored, {})  # nothing known: every dataset counts


def test_evidence_counts_only_the_similar_datasets(store):
    ev = measured_evidence(store, {"data_type": "time-series", "seq_len": 128, "n_examples": 64})
    assert ev.n_stored == 5 and ev.datasets == ["short1", "short2", "short3"]
    by_model = {m.model: m for m in ev.models}
    assert by_model["gru"].mean_rank == pytest.approx(4 / 3) and by_model["gru"].n_datasets == 3
    assert by_model["gru"].firsts == 2
    assert by_model["tcn"].mean_rank == pytest.approx(5 / 3)
    assert by_model["lstm"].n_datasets == 1
    assert ev.models[0].model == "gru"
    assert "3 of 5" in ev.sentence()
    none = measured_evidence(store, {"data_type": "audio"})
    assert none.models == [] and "no measured evidence" in none.sentence()


def test_cli_shows_the_evidence_beside_the_rules(store, tmp_path):
    runner = CliRunner()
    args = ["recommend", "--length", "128", "--data-type", "time-series", "--examples", "64",
            "--measured", str(store)]
    out = runner.invoke(app, args, terminal_width=100)
    assert out.exit_code == 0, out.output
    assert "Recommended" in out.stdout and "Measured on similar datasets" in out.stdout
    assert "rests on 3 of 5" in out.stdout.replace("\n", " ")
    doc = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert doc["measured"]["n_datasets"] == 3 and doc["ranked"]
    assert is_results_store(store) and not is_results_store(tmp_path / "missing.db")
    with pytest.raises(SeqSelectError, match="not a results store"):
        measured_evidence(tmp_path / "missing.db", {})
