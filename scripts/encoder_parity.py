#!/usr/bin/env python3
"""Parity between the Swift encoder and the same architecture in PyTorch.

1. Builds a tiny encoder in PyTorch with random (non-trivial) weights, saves it
   as a Concierge safetensors checkpoint, runs a fixed padded batch, and writes
   the committed fixture Tests/ModelTests/Fixtures/parity_tiny.{safetensors,json}
   (weights + inputs + expected pooled vectors and logits) that the Swift tests
   check without Python.
2. Runs the Swift encoder (release build of `concierge bench encoder
   --forward-checkpoint ... --forward-input ...`; built first unless
   --no-build or --concierge) on the SAME file and inputs and reports the max
   abs difference (must be <= 1e-4).
3. The other direction: has Swift export a random-init checkpoint, loads it in
   PyTorch, and compares again.

Usage: python scripts/encoder_parity.py [--no-swift] [--no-fixture] [--concierge PATH | --no-build]
         (neither)          swift build -c release, then run .build/release/concierge
         --no-build         run the existing .build/release/concierge, no build
         --concierge PATH   run the binary at PATH, no build
Needs: pip install torch safetensors numpy
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import concierge_binary  # noqa: E402
from encoder_torch import Encoder, load_checkpoint, pad, save_checkpoint  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "ModelTests", "Fixtures")
TOLERANCE = 1e-4

TINY = {
    "vocab_size": 64, "d_model": 32, "heads": 2, "layers": 2, "ffn_width": 64, "max_length": 16,
    "dropout": 0.1,
    "output_heads": [{"name": "category", "classes": 5}, {"name": "priority", "classes": 3}],
}
LABELS = {"category": ["billing", "maintenance", "noise", "parking", "other"],
          "priority": ["low", "normal", "urgent"]}
VOCAB_HASH = "fixture-vocab-0001"
# Different lengths, including the maximum, a single token, and padding.
SEQUENCES = [
    [5, 17, 42, 3, 9, 60, 1, 2, 33, 8, 11, 63, 0, 7, 21, 13],
    [4],
    [12, 12, 40, 2, 5, 6, 50],
    [63, 62, 61, 1, 0, 9, 9, 9, 30, 31, 32],
    [7, 8, 9],
]


def randomize(model, seed):
    """Default init is too tame for a parity check: give every parameter,
    biases and norms included, a clearly non-zero random value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "final_norm.weight":
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif "embedding" in name:
                p.copy_(0.8 * torch.randn(p.shape, generator=g))
            elif name.endswith(".weight"):
                p.copy_(torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def run_torch(model, sequences, dtype=torch.float32):
    m = model.to(dtype)
    ids, lengths = pad(sequences)
    with torch.inference_mode():
        out = m(ids, lengths)
    model.float()
    return {"pooled": out[0].double().tolist(),
            "logits": {n: out[i + 1].double().tolist() for i, n in enumerate(model.head_names)}}


def max_diff(a, b):
    flat = lambda o: [v for row in o["pooled"] for v in row] + [
        v for n in sorted(o["logits"]) for row in o["logits"][n] for v in row]
    fa, fb = flat(a), flat(b)
    assert len(fa) == len(fb), (len(fa), len(fb))
    return max(abs(x - y) for x, y in zip(fa, fb))


def run_swift(binary, checkpoint, sequences):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"token_ids": sequences}, f)
        path = f.name
    try:
        out = subprocess.run([binary, "bench", "encoder", "--forward-checkpoint", checkpoint,
                              "--forward-input", path], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-swift", action="store_true", help="only (re)generate the fixture")
    ap.add_argument("--no-fixture", action="store_true", help="write the fixture to a temp dir, not the repo")
    concierge_binary.add_arguments(ap)
    args = ap.parse_args()
    torch.manual_seed(0)

    model = Encoder(TINY)
    randomize(model, seed=20261123)
    model.eval()
    out_dir = tempfile.mkdtemp() if args.no_fixture else FIXTURES
    weights = os.path.join(out_dir, "parity_tiny.safetensors")
    save_checkpoint(model, weights, LABELS, VOCAB_HASH)
    # Reload what we wrote so the expectations come from the file itself.
    model, _, _ = load_checkpoint(weights)
    expected = run_torch(model, SEQUENCES)
    expected64 = run_torch(model, SEQUENCES, torch.float64)
    print(f"torch float32 vs float64 on the fixture: max |diff| = {max_diff(expected, expected64):.2e}")
    fixture = {"description": "generated by scripts/encoder_parity.py; do not edit",
               "config": TINY, "token_ids": SEQUENCES, "vocab_hash": VOCAB_HASH,
               "tolerance": TOLERANCE, **expected}
    with open(os.path.join(out_dir, "parity_tiny.json"), "w") as f:
        json.dump(fixture, f, indent=1)
    sizes = sum(os.path.getsize(os.path.join(out_dir, n)) for n in ("parity_tiny.safetensors", "parity_tiny.json"))
    print(f"fixture written to {out_dir} ({sizes / 1024:.0f} KiB)")

    if args.no_swift:
        return 0
    binary = concierge_binary.resolve(args)
    print(f"concierge: {binary}")
    got = run_swift(binary, weights, SEQUENCES)
    d1 = max_diff(got, expected)
    print(f"Swift vs PyTorch, PyTorch-written tiny checkpoint, {len(SEQUENCES)} padded sequences: "
          f"max |diff| = {d1:.2e} (vs float64 reference: {max_diff(got, expected64):.2e})")

    # Other direction: Swift writes a (small-config) random-init checkpoint, PyTorch reads it.
    tmp = tempfile.mkdtemp()
    subprocess.run([binary, "bench", "encoder", "--export-weights", tmp, "--config", "small", "--export-only"],
                   check=True, stdout=subprocess.DEVNULL)
    swift_ckpt = os.path.join(tmp, "encoder-small.safetensors")
    model2, _, _ = load_checkpoint(swift_ckpt)
    g = torch.Generator().manual_seed(7)
    seqs2 = [torch.randint(0, model2.config["vocab_size"], (n,), generator=g).tolist() for n in (64, 32, 5, 17, 1)]
    d2 = max_diff(run_swift(binary, swift_ckpt, seqs2), run_torch(model2, seqs2))
    print(f"Swift vs PyTorch, Swift-written small checkpoint, lengths 64/32/5/17/1: max |diff| = {d2:.2e}")
    ok = d1 <= TOLERANCE and d2 <= TOLERANCE
    print("PARITY OK" if ok else f"PARITY FAILED (tolerance {TOLERANCE})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
