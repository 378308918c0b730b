"""Tokenization throughput: tokens per second to train a tokenizer and to encode texts.

Measures :func:`seqselect.inputs.text.train_pipeline` (Hugging Face ``tokenizers``, Rust)
on the training texts of ``text:fortunes`` (short epigrams) and ``text:long_documents``
(thousands of words each), and :meth:`TextPipeline.encode` (ids + masks as torch tensors,
which includes our padding) on every text of the set, for each tokenizer kind. Tokens are
those of the trained tokenizer on the same texts. Medians of ``--repeats`` runs after one
warm-up; the machine's load, cores and threads are recorded with the result.

    python benchmarks/tokenize_throughput.py [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from seqselect.data import load_dataset
from seqselect.data.text import pipeline_from_metadata
from seqselect.inputs.text import KINDS, train_pipeline
from seqselect.system import describe_environment

SETS = ("text:fortunes", "text:long_documents")


def _median_s(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(source: str, kind: str, repeats: int) -> dict:
    splits = load_dataset(source)
    settings = pipeline_from_metadata(splits.metadata)
    train = splits.train.texts
    every = train + splits.val.texts + splits.test.texts

    def fit():
        return train_pipeline(train, kind=kind, vocab_size=settings.vocab_size,
                              max_len=settings.max_len)

    pipe = fit()
    _, train_mask = pipe.encode(train)
    _, mask = pipe.encode(every)
    train_tokens, tokens = int(train_mask.sum()), int(mask.sum())
    train_s = _median_s(fit, repeats)
    encode_s = _median_s(lambda: pipe.encode(every), repeats)
    return {
        "dataset": source, "kind": kind, "vocab_size": pipe.vocab_size,
        "texts": len(every), "tokens": tokens, "train_tokens": train_tokens,
        "train_s": train_s, "train_tokens_per_s": train_tokens / train_s,
        "encode_s": encode_s, "encode_tokens_per_s": tokens / encode_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="write the result here")
    args = parser.parse_args()
    rows = [measure(s, k, args.repeats) for s in SETS for k in KINDS]
    header = (f"{'dataset':22} {'kind':10} {'vocab':>6} {'tokens':>10} "
              f"{'train tok/s':>12} {'encode tok/s':>13}")
    lines = [header]
    for r in rows:
        lines.append(f"{r['dataset']:22} {r['kind']:10} {r['vocab_size']:>6} {r['tokens']:>10,} "
                     f"{r['train_tokens_per_s']:>12,.0f} {r['encode_tokens_per_s']:>13,.0f}")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"environment": describe_environment("cpu"), "rows": rows}, out, indent=1)


if __name__ == "__main__":
    main()
