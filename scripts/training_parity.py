#!/usr/bin/env python3
"""Swift backward passes vs PyTorch autograd on the same weights and batch.

Runs `concierge bench training --parity-dir DIR` (a small random classifier
with a sparse branch (LN + GELU), a hidden layer and two heads; a ragged batch
of lengths 16/1/7/11/3/9 where "priority" is labelled on half of the
examples; label smoothing 0.1; no dropout), which writes the checkpoint, the
batch and Swift's loss and gradients. Loads the checkpoint into the PyTorch
twin (classifier_torch.py, padded batch with a key-padding mask), computes the
same loss with autograd, and compares every parameter's gradient.

Usage: python scripts/training_parity.py [--concierge PATH | --no-build]
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
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import concierge_binary  # noqa: E402
from classifier_torch import load_classifier, loss_fn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    concierge_binary.add_arguments(ap)
    args = ap.parse_args()
    binary = concierge_binary.resolve(args)
    print(f"concierge: {binary}")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([binary, "bench", "training", "--parity-dir", d], check=True)
        model, _, _ = load_classifier(os.path.join(d, "model.safetensors"))
        model = model.double()
        swift_grads = load_file(os.path.join(d, "gradients.safetensors"))
        from safetensors import safe_open
        with safe_open(os.path.join(d, "gradients.safetensors"), framework="pt") as f:
            swift_loss = float(f.metadata()["loss"])
        examples = json.load(open(os.path.join(d, "examples.json")))
    model.train()  # dropout is 0
    lengths = torch.tensor([len(e["tokenIDs"]) for e in examples])
    ids = torch.zeros(len(examples), int(lengths.max()), dtype=torch.long)
    for i, e in enumerate(examples):
        ids[i, : len(e["tokenIDs"])] = torch.tensor(e["tokenIDs"])
    idx, offsets, vals = [], [], []
    for e in examples:
        offsets.append(len(idx))
        idx += e["sparse"]["indices"]
        vals += e["sparse"]["values"]
    sparse = (torch.tensor(idx), torch.tensor(offsets), torch.tensor(vals, dtype=torch.float64))
    labels = [torch.tensor([e["labels"].get(h, -100) for e in examples]) for h in model.head_names]
    loss = loss_fn(model(ids, lengths, sparse), labels, 0.1)
    loss.backward()
    print(f"loss: Swift {swift_loss:.7f}   PyTorch (float64) {loss.item():.7f}   |diff| {abs(swift_loss - loss.item()):.2e}")
    worst = 0.0
    for name, p in model.named_parameters():
        g = p.grad.float()
        s = swift_grads[name]
        scale = max(g.abs().max().item(), 1e-3)
        err = (g - s).abs().max().item()
        worst = max(worst, err / scale)
        print(f"  {name:36s} max|g| {g.abs().max().item():9.2e}  max|Swift − PyTorch| {err:9.2e}  relative {err / scale:8.1e}")
    print(f"worst relative difference (per tensor, vs its max |g|): {worst:.2e}")
    assert abs(swift_loss - loss.item()) < 1e-4 and worst < 1e-3, "gradients differ"
    print("OK")


if __name__ == "__main__":
    main()
