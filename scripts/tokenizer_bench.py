#!/usr/bin/env python3
"""Tokenizer speed: Concierge vs Hugging Face `tokenizers`, one thread, same vocabulary.

Builds a mixed English/Chinese corpus of at least 10 MB (every text of the data
pack in intents/, plus the CLINC150 and BANKING77 training texts read from
../shared/datasets at run time, repeated and shuffled with a fixed seed), then
tokenizes it with `concierge bench tokenizer` (release build) and with
`tokenizers.BertWordPieceTokenizer` on vocab/vocab.txt, and prints both
figures and their ratio.

The public datasets are required: when the datasets folder, its
clinc150/data_full.json or its banking77/train.csv is missing, the script
stops (exit status 1) with a message naming it, rather than measure a smaller
corpus whose figures would not compare with the published ones.

Usage:  python3 scripts/tokenizer_bench.py [--concierge PATH | --no-build] [--datasets DIR]
          (no option)        swift build -c release, then measure .build/release/concierge
          --no-build         measure the existing .build/release/concierge, no build
          --concierge PATH   measure the binary at PATH, no build
          --datasets DIR     the folder holding clinc150/ and banking77/
                             (default: ../shared/datasets beside the checkout)
Needs:  pip install tokenizers pyyaml
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"          # tokenizers' thread pool: one thread
os.environ["TOKENIZERS_PARALLELISM"] = "false"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import concierge_binary  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
# The public training texts (half the corpus), relative to the datasets folder.
CLINC = os.path.join("clinc150", "data_full.json")
BANKING = os.path.join("banking77", "train.csv")
TARGET_BYTES = 10_500_000


def pack_texts():
    import yaml
    texts = []

    def walk(node):
        if isinstance(node, str):
            texts.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for folder, _, files in os.walk(os.path.join(ROOT, "intents")):
        for name in sorted(files):
            if name.endswith(".yaml"):
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    walk(yaml.safe_load(handle))
    return [t.replace("\n", " ") for t in texts if len(t) > 3]


def check_datasets(shared):
    """Stops with a message naming what is missing (never a silently smaller corpus)."""
    if not os.path.isdir(shared):
        sys.exit(f"tokenizer_bench: the datasets folder {shared} is missing. Half of the corpus is the "
                 f"CLINC150 and BANKING77 training texts, read from {CLINC} and {BANKING} in that folder: "
                 f"put them there or pass --datasets DIR.")
    missing = [os.path.join(shared, name) for name in (CLINC, BANKING) if not os.path.isfile(os.path.join(shared, name))]
    if missing:
        sys.exit(f"tokenizer_bench: missing {' and '.join(missing)}: the corpus needs the CLINC150 and "
                 f"BANKING77 training texts; put them there or pass --datasets DIR.")


def benchmark_texts(shared):
    with open(os.path.join(shared, CLINC), encoding="utf-8") as handle:
        clinc = [text for text, _ in json.load(handle)["train"]]
    with open(os.path.join(shared, BANKING), encoding="utf-8") as handle:
        banking = [row["text"] for row in csv.DictReader(handle)]
    for name, texts in ((CLINC, clinc), (BANKING, banking)):
        if not texts:
            sys.exit(f"tokenizer_bench: no training texts in {os.path.join(shared, name)}")
    return clinc + banking


def build_corpus(path, shared):
    own = pack_texts()
    if not own:
        sys.exit(f"tokenizer_bench: no texts in the data pack ({os.path.join(ROOT, 'intents')})")
    public = benchmark_texts(shared)
    rng = random.Random(20261123)
    lines, size = [], 0
    while size < TARGET_BYTES:
        # Half the messages from the (bilingual) data pack, half from the public sets.
        text = rng.choice(own) if rng.random() < 0.5 else rng.choice(public)
        lines.append(text)
        size += len(text.encode("utf-8")) + 1
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    chinese = sum(1 for line in lines if any("\u4e00" <= ch <= "\u9fff" for ch in line))
    return lines, size, chinese


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    concierge_binary.add_arguments(ap)
    ap.add_argument("--datasets", metavar="DIR", default=SHARED,
                    help="the folder holding clinc150/ and banking77/ (default: ../shared/datasets beside the checkout)")
    args = ap.parse_args()
    shared = os.path.abspath(args.datasets)
    # What the run needs is checked before the (slow) build.
    check_datasets(shared)
    try:
        import yaml  # noqa: F401
        from tokenizers import BertWordPieceTokenizer
    except ImportError:
        sys.exit("pip install tokenizers pyyaml")
    binary = concierge_binary.resolve(args)
    print(f"concierge: {binary}")
    vocab = os.path.join(ROOT, "vocab", "vocab.txt")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        lines, size, chinese = build_corpus(corpus, shared)
        print(f"corpus: {len(lines)} messages, {size / 1e6:.1f} MB, {chinese / len(lines):.0%} with Chinese")
        ours = json.loads(subprocess.check_output([binary, "bench", "tokenizer", "--corpus", corpus, "--json", "--vocab", vocab]))

    tokenizer = BertWordPieceTokenizer(vocab, lowercase=True, handle_chinese_chars=True, strip_accents=False)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        tokenizer.encode_batch(lines)
        best = min(best, time.perf_counter() - start)
    theirs_mb = size / 1e6 / best
    theirs_msg = len(lines) / best
    print(f"Concierge (ICU NFKC + ICU word break + WordPiece): {ours['mb_per_s']:.2f} MB/s, {ours['messages_per_s']:,.0f} messages/s")
    print(f"HF tokenizers {__import__('tokenizers').__version__} BertWordPiece (encode_batch, 1 thread): {theirs_mb:.2f} MB/s, {theirs_msg:,.0f} messages/s")
    print(f"ratio Concierge / tokenizers: {ours['mb_per_s'] / theirs_mb:.2f}x")
    print(f"linearity (one long text vs many short, 1.0 = linear): {ours['one_long_text_vs_many_short']:.2f}")


if __name__ == "__main__":
    main()
