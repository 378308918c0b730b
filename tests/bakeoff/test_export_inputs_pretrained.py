"""A bake-off with ``--pretrained``: a tiny random DistilBERT-style checkpoint built here is
fine-tuned as a candidate beside a zoo model (same budget, seeds, protocol, measurement and
store), its texts truncated to the checkpoint's limit and the run saying so; exported, it
predicts raw texts without the checkpoint folder."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from tests.bakeoff.test_export_inputs import _text_csv
from tests.models.test_pretrained import tiny_checkpoint

from seqselect.bakeoff.predict import predict_file
from seqselect.bakeoff.runner import bakeoff
from seqselect.data import load_dataset

pytest.importorskip("transformers")

MAX_POSITIONS = 24  # below the longest review (~32 tokens), so truncation happens


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("pretrained")
    df = _text_csv(root / "reviews.csv")
    ckpt = root / "ckpt"
    tiny_checkpoint(ckpt, df["review"].tolist()[:40], max_positions=MAX_POSITIONS)
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    result = bakeoff(str(root / "reviews.csv"), models="cnn1d", budget="8s", seeds=1,
                     baselines="none", cpus_per_trial=1, store=root / "runs.db", run="pre",
                     data_options={"pretrained": str(ckpt)}, export=root / "model")
    mp.undo()
    return {"root": root, "ckpt": ckpt, "df": df, "result": result}


def test_the_checkpoint_is_fine_tuned_as_a_candidate(pretrained_run):
    result, ckpt = pretrained_run["result"], pretrained_run["ckpt"]
    assert result.args["models"] == ["cnn1d", "pretrained"]
    rows = {r.model: r for r in result.leaderboard}
    assert rows["pretrained"].status == "ok" and rows["cnn1d"].status == "ok"
    assert rows["pretrained"].latency_ms > 0 and rows["pretrained"].peak_mb > 0
    trial = next(t for t in result.trials if t.model == "pretrained" and t.weights)
    assert trial.extra["config"]["checkpoint"] == str(ckpt.resolve())
    tuned = load_file(trial.weights)
    start = load_file(ckpt / "model.safetensors")
    name = "distilbert.embeddings.word_embeddings.weight"
    start_w = start.get(name, start.get("embeddings.word_embeddings.weight"))
    # fine-tuned: the encoder's own weights moved from the checkpoint's
    assert not torch.equal(tuned["encoder.embeddings.word_embeddings.weight"], start_w)


def test_texts_are_truncated_to_the_checkpoint_limit_and_the_run_says_so(pretrained_run):
    splits = load_dataset(str(pretrained_run["root"] / "reviews.csv"),
                          pretrained=str(pretrained_run["ckpt"]))
    assert splits.metadata["text_pipeline"]["max_len"] == MAX_POSITIONS
    assert int(splits.train.lengths.max()) == MAX_POSITIONS
    assert splits.metadata["texts_at_max_len"] > 0
    inp = pretrained_run["result"].dataset["input"]
    assert inp["text_pipeline"]["kind"] == "pretrained"
    assert f"tokens past {MAX_POSITIONS}" in inp["truncation"]


def test_the_export_predicts_raw_texts_without_the_checkpoint(pretrained_run, tmp_path):
    root, result = pretrained_run["root"], pretrained_run["result"]
    model_dir = tmp_path / "model"
    shutil.copytree(root / "model", model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    if config["model"] == "pretrained":  # the architecture travels, the checkpoint need not
        assert config["config"]["checkpoint"] == "checkpoint"
        assert (model_dir / "checkpoint" / "config.json").is_file()
    df = pretrained_run["df"]
    df[df["split"] == "test"].drop(columns=["split"]).to_csv(tmp_path / "t.csv", index=False)
    moved = root / "ckpt-moved"
    pretrained_run["ckpt"].rename(moved)
    try:
        summary = predict_file(model_dir, tmp_path / "t.csv", tmp_path / "p.csv")
    finally:
        moved.rename(pretrained_run["ckpt"])
    row = next(r for r in result.leaderboard if r.model == config["model"])
    assert summary["accuracy"] == pytest.approx(row.value, abs=0.01)


def test_a_pretrained_model_exports_and_loads_without_its_checkpoint(tmp_path):
    from seqselect.bakeoff.export import export_model, load_model
    from seqselect.models import create_model

    ckpt = tmp_path / "ckpt"
    _, tok = tiny_checkpoint(ckpt, ["one two three", "four five six"] * 3)
    model = create_model("pretrained", vocab_size=tok.vocab_size, d_output=2,
                         checkpoint=str(ckpt)).eval()
    export_model(model, tmp_path / "out", onnx=False)
    shutil.rmtree(ckpt)
    written = json.loads((tmp_path / "out" / "config.json").read_text())
    assert written["config"]["checkpoint"] == "checkpoint"  # relative to the export folder
    loaded, _ = load_model(tmp_path / "out")
    ids = torch.tensor([[2, 7, 9, 3], [2, 8, 3, 0]])
    mask = ids != 0
    with torch.inference_mode():
        torch.testing.assert_close(loaded(ids, mask), model(ids, mask))
