"""Export carries the input pipeline: a bake-off winner on raw text and on raw audio,
exported, then ``predict`` on the raw test files reproduces the leaderboard's test score.

Each bake-off is one small model, one seed and a few seconds (the property is that the
export + raw-input path equals the path training measured, not that the model is good).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile
import torch

from seqselect.bakeoff.predict import predict_file
from seqselect.bakeoff.runner import bakeoff
from seqselect.data import load_dataset
from seqselect.data.splits import seeded_split
from seqselect.errors import DataError

_COMMON = {"seeds": 1, "params": 3000, "baselines": "none", "cpus_per_trial": 1}


def _text_csv(path, n: int = 96, seed: int = 0) -> pd.DataFrame:
    """Reviews whose class is carried by one of two word sets, amid shared filler words,
    with an explicit split column (so the test rows are known)."""
    rng = np.random.default_rng(seed)
    good = ["great", "lovely", "superb", "fine", "enjoyed"]
    bad = ["awful", "boring", "dull", "poor", "hated"]
    filler = ["the", "film", "was", "a", "story", "of", "people", "and", "time", "it"]
    rows = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = list(rng.choice(filler, size=int(rng.integers(6, 30))))
        words.insert(int(rng.integers(0, len(words))), rng.choice(good if i % 2 == 0 else bad))
        pair = i // 2  # both classes in every split
        split = "test" if pair % 4 == 3 else ("val" if pair % 8 == 1 else "train")
        rows.append({"review": " ".join(words), "label": label, "split": split})
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False)
    return df


def _check_reproduces(config: dict, result, summary: dict) -> None:
    row = next(r for r in result.leaderboard if r.model == config["model"])
    assert summary["accuracy"] == pytest.approx(config["metrics"]["accuracy"], abs=0.01)
    assert summary["accuracy"] == pytest.approx(row.value, abs=0.01)  # one seed: its score


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("text_export")
    df = _text_csv(root / "reviews.csv")
    result = bakeoff(str(root / "reviews.csv"), models="cnn1d", budget="4s",
                     store=root / "runs.db", run="text", export=root / "model", **_COMMON)
    test = df[df["split"] == "test"].drop(columns=["split"])
    test.to_csv(root / "test.csv", index=False)
    return {"root": root, "result": result, "test": test}


def test_text_export_holds_the_tokenizer_and_its_truncation(text_run):
    model_dir = text_run["root"] / "model"
    config = json.loads((model_dir / "config.json").read_text())
    inp = config["input"]
    assert (model_dir / "tokenizer.json").is_file() and "tokenizer" not in inp
    assert inp["tokenizer_file"] == "tokenizer.json" and inp["text_column"] == "review"
    assert inp["truncation"]["max_len"] == inp["text_pipeline"]["max_len"] > 0
    saved = json.loads((model_dir / "tokenizer.json").read_text())
    assert len(saved["model"]["vocab"]) == config["spec"]["vocab_size"]


def test_predict_on_raw_test_texts_reproduces_the_test_accuracy(text_run, tmp_path):
    model_dir = text_run["root"] / "model"
    config = json.loads((model_dir / "config.json").read_text())
    summary = predict_file(model_dir, text_run["root"] / "test.csv", tmp_path / "p.csv")
    _check_reproduces(config, text_run["result"], summary)
    out = pd.read_csv(tmp_path / "p.csv")
    assert len(out) == len(text_run["test"]) and set(out["prediction"]) <= {"pos", "neg"}
    # the same texts as a folder of .txt files (one sub-folder per class): same answers
    folder = tmp_path / "texts"
    for i, (text, label) in enumerate(zip(text_run["test"]["review"],
                                          text_run["test"]["label"], strict=True)):
        (folder / label).mkdir(parents=True, exist_ok=True)
        (folder / label / f"{i:03d}.txt").write_text(text)
    again = predict_file(model_dir, folder, tmp_path / "q.csv")
    assert again["accuracy"] == pytest.approx(summary["accuracy"], abs=1e-9)


def test_predict_names_an_empty_text(text_run, tmp_path):
    bad = text_run["test"].copy()
    bad.iloc[2, bad.columns.get_loc("review")] = "   "
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="1 empty or whitespace-only text.*row 2"):
        predict_file(text_run["root"] / "model", tmp_path / "bad.csv", tmp_path / "p.csv")


def _tone_folder(root, per_class: int = 16, rate: int = 8000, seed: int = 0):
    """Two classes of 0.25 s tones in noise (low: 300-500 Hz, high: 1500-2000 Hz)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.25 * rate)) / rate
    for label, (lo, hi) in (("high", (1500, 2000)), ("low", (300, 500))):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            wave = 0.5 * np.sin(2 * np.pi * rng.uniform(lo, hi) * t)
            wave = wave + 0.05 * rng.standard_normal(len(t))
            soundfile.write(root / label / f"{label}{i:02d}.wav", wave.astype(np.float32), rate)
    return root


def test_predict_on_raw_test_audio_reproduces_the_test_accuracy(tmp_path):
    torch.set_num_threads(1)
    folder = _tone_folder(tmp_path / "tones")
    source = f"{folder}?sample_rate=8000&clip_seconds=0.25"
    result = bakeoff(source, models="crnn", budget="4s", store=tmp_path / "runs.db",
                     run="audio", export=tmp_path / "model", **_COMMON)
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    audio = config["input"]["audio"]
    assert (audio["sample_rate"], audio["clip_seconds"]) == (8000, 0.25)
    assert audio["frontend"] == {k: config["config"][k] for k in ("frontend", "n_fft", "hop",
                                                                   "n_mels")}
    # the test files: the loader's seeded stratified split, checked against its clips
    splits = load_dataset(source)
    files = sorted(folder.glob("*/*.wav"))
    labels = np.asarray([f.parent.name for f in files], dtype=object)
    _, _, test = seeded_split(len(files), 0.15, 0.2, 0, labels, str(folder))
    test_dir = tmp_path / "test"
    for i in test:
        (test_dir / labels[i]).mkdir(parents=True, exist_ok=True)
        (test_dir / labels[i] / files[i].name).write_bytes(files[i].read_bytes())
    summary = predict_file(tmp_path / "model", test_dir, tmp_path / "p.csv")
    assert summary["rows"] == len(splits.test) == len(test)
    _check_reproduces(config, result, summary)
    # a flat folder (no classes): predictions only, the same ones
    flat = tmp_path / "flat"
    flat.mkdir()
    for f in test_dir.glob("*/*.wav"):
        (flat / f.name).write_bytes(f.read_bytes())
    plain = predict_file(tmp_path / "model", flat, tmp_path / "q.csv")
    assert "accuracy" not in plain
    by_class = pd.read_csv(tmp_path / "p.csv")
    by_class["file"] = by_class["file"].str.split("/").str[-1]
    merged = by_class.merge(pd.read_csv(tmp_path / "q.csv"), on="file")
    assert len(merged) == len(test)
    assert (merged["prediction_x"] == merged["prediction_y"]).all()


def test_the_cross_validation_pool_keeps_each_rows_raw_text(tmp_path):
    """The small-data protocol pools train + validation rows; the TF-IDF baseline reads
    their raw texts, so they must stay aligned with the token ids."""
    from seqselect.bakeoff.protocol import pool_of
    from seqselect.data.text import pipeline_from_metadata

    _text_csv(tmp_path / "r.csv")
    splits = load_dataset(str(tmp_path / "r.csv"))
    pool = pool_of(splits)
    assert pool.texts == [*splits.train.texts, *splits.val.texts]
    ids, _ = pipeline_from_metadata(splits.metadata).encode(pool.texts)
    assert torch.equal(ids, pool.x[:, : ids.shape[1]])
    assert pool.subset(torch.tensor([3, 0])).texts == [pool.texts[3], pool.texts[0]]
