"""`seqselect datasets` and `seqselect profile`: output, JSON, exit code 2 on bad data."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
from typer.testing import CliRunner

from seqselect.cli import app

runner = CliRunner()


def test_datasets_json_and_table():
    out = runner.invoke(app, ["datasets", "--json"])
    assert out.exit_code == 0, out.output
    names = {r["name"] for r in json.loads(out.stdout)}
    assert {"ucr:GunPoint", "forecast:Airline", "task:adding"} <= names
    out = runner.invoke(app, ["datasets", "--kind", "forecast"])
    assert out.exit_code == 0 and "forecast:Airline" in out.stdout


def test_profile_bundled_json():
    out = runner.invoke(app, ["profile", "ucr:GunPoint", "--json"])
    assert out.exit_code == 0, out.output
    p = json.loads(out.stdout)
    assert p["n_classes"] == 2 and p["length"]["max"] == 150 and p["value_type"] == "float"
    assert set(p) >= {"name", "task", "n_sequences", "n_train", "n_val", "n_test", "length",
                      "n_channels", "value_type", "data_type", "n_classes", "class_balance",
                      "multivariate"}


def test_profile_file_table(tmp_path):
    df = pd.DataFrame({"a": range(20), "b": range(20), "label": ["x", "y"] * 10})
    path = tmp_path / "ok.csv"
    df.to_csv(path, index=False)
    out = runner.invoke(app, ["profile", str(path), "--task", "classify", "--target", "label"])
    assert out.exit_code == 0, out.output
    assert "valid" in out.stdout and "20 = " in out.stdout


def test_profile_bad_file_exits_2_with_one_message_and_leaves_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,label\n1,2,x\n,3,y\n5,6,x\n7,8,y\n1,1,x\n2,2,y\n")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    out = runner.invoke(app, ["profile", str(path), "--target", "label"])
    assert out.exit_code == 2
    assert "row 3, column 'a' is empty" in out.output
    assert "Traceback" not in out.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    out = runner.invoke(app, ["profile", str(path), "--target", "label", "--impute", "zero"])
    assert out.exit_code == 0, out.output


def test_profile_unknown_name_exits_2():
    out = runner.invoke(app, ["profile", "ucr:NoSuchThing"])
    assert out.exit_code == 2 and "unknown classification dataset" in out.output


def test_train_command_json_and_errors(tmp_path):
    out = runner.invoke(app, ["train", "gru", "task:adding?length=8&n=60", "--budget", "3 steps",
                              "--threads", "1", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["model"] == "gru" and result["steps"] == 3 and result["seed"] == 0
    assert result["test_metrics"]["n"] == 12  # 20% of 60
    out = runner.invoke(app, ["train", "gru", "task:adding", "--budget", "soon"])
    assert out.exit_code == 2 and "cannot read budget" in out.output
    out = runner.invoke(app, ["train", "grue", "task:adding?n=30&length=5", "--budget", "1 steps"])
    assert out.exit_code == 2 and "Did you mean" in out.output
