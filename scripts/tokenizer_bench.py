#!/usr/bin/env python3
"""Tokenizer speed: Concierge vs Hugging Face `tokenizers`, one thread, same vocabulary.

Builds a mixed English/Chinese corpus of at least 10 MB (every text of the data
pack in intents/, plus the CLINC150 and BANKING77 training texts read from
../shared/datasets at run time, repeated and shuffled with a fixed seed), then
tokenizes it with the release build of `concierge bench tokenizer` and with
`tokenizers.BertWordPieceTokenizer` on vocab/vocab.txt, and prints both
figures and their ratio.

Usage:  swift build -c release && python3 scripts/tokenizer_bench.py
Needs:  pip install tokenizers pyyaml
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"          # tokenizers' thread pool: one thread
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "datasets")
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


def benchmark_texts():
    texts = []
    clinc = os.path.join(SHARED, "clinc150", "data_full.json")
    if os.path.exists(clinc):
        with open(clinc, encoding="utf-8") as handle:
            texts += [text for text, _ in json.load(handle)["train"]]
    banking = os.path.join(SHARED, "banking77", "train.csv")
    if os.path.exists(banking):
        import csv
        with open(banking, encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts


def build_corpus(path):
    own = pack_texts()
    public = benchmark_texts()
    rng = random.Random(20261123)
    lines, size = [], 0
    while size < TARGET_BYTES:
        # Half the messages from the (bilingual) data pack, half from the public sets.
        text = rng.choice(own) if (not public or rng.random() < 0.5) else rng.choice(public)
        lines.append(text)
        size += len(text.encode("utf-8")) + 1
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    chinese = sum(1 for line in lines if any("\u4e00" <= ch <= "\u9fff" for ch in line))
    return lines, size, chinese


def main():
    binary = os.path.join(ROOT, ".build", "release", "concierge")
    if not os.path.exists(binary):
        sys.exit("build first: swift build -c release")
    try:
        from tokenizers import BertWordPieceTokenizer
    except ImportError:
        sys.exit("pip install tokenizers pyyaml")
    vocab = os.path.join(ROOT, "vocab", "vocab.txt")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        lines, size, chinese = build_corpus(corpus)
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
