#!/usr/bin/env python3
"""Concierge encoder vs PyTorch eager vs ONNX Runtime, same weights, same run.

1. Builds the Swift CLI (release; unless --no-build or --concierge) and runs
   `concierge bench encoder --json --export-weights DIR`: Swift measures itself
   and writes the exact weights it benchmarked (encoder-small.safetensors,
   encoder-large.safetensors).
2. Loads those weights into the PyTorch twin of the model (encoder_torch.py),
   measures eager mode under torch.inference_mode() with set_num_threads(1|2).
3. Exports the model to ONNX (dynamic batch and length) and measures ONNX
   Runtime with intra_op_num_threads 1|2 (graph optimisations on).
4. Prints the table and the ratios the speed targets are set on
   (docs/encoder.md, "Speed").

Each round measures the three engines' batch-1 latencies, then, for 1 and 2
threads, the three engines' batch-64 throughputs back to back (a few seconds
apart: the box is shared and its load drifts); every figure is the median over
rounds, and the per-round ratios are printed too. "Fastest pass" is 64 / the
shortest single batch-64 call: the least disturbed by other load.

Measurements: batch-1 latency p50/p99 at lengths 16/32/64 on one thread;
throughput (sequences/s) at batch 64 x length 32 on 1 and 2 threads.
Usage: python scripts/encoder_bench_compare.py [--config small] [--rounds 3] [--quick] [--json out.json]
                                              [--concierge PATH | --no-build]
         (neither)          swift build -c release, then measure .build/release/concierge
         --no-build         measure the existing .build/release/concierge, no build
         --concierge PATH   measure the binary at PATH (e.g. an older build), no build
Needs: pip install torch safetensors numpy onnx onnxruntime onnxscript
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import concierge_binary  # noqa: E402
from encoder_torch import load_checkpoint  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LENGTHS = (16, 32, 64)


def percentiles(samples):
    s = sorted(samples)
    return s[len(s) // 2], s[min(len(s) - 1, len(s) * 99 // 100)]


def time_latency(fn, iterations):
    for _ in range(max(20, iterations // 20)):
        fn()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return percentiles(samples)


def time_throughput(fn, batch, seconds):
    """Sequences/s over `seconds` of back-to-back calls, and of the fastest call."""
    for _ in range(3):
        fn()
    runs, fastest, t0 = 0, float("inf"), time.perf_counter()
    while True:
        t1 = time.perf_counter()
        fn()
        t2 = time.perf_counter()
        fastest = min(fastest, t2 - t1)
        runs += 1
        if t2 - t0 >= seconds:
            return {"seq_per_s": runs * batch / (t2 - t0), "best_seq_per_s": batch / fastest}


def inputs(vocab, batch, length, seed):
    g = np.random.default_rng(seed)
    ids = g.integers(0, vocab, size=(batch, length), dtype=np.int64)
    return ids, np.full((batch,), length, dtype=np.int64)


def torch_latency(model, vocab, iters):
    res = {}
    with torch.inference_mode():
        torch.set_num_threads(1)
        for L in LENGTHS:
            ids, lens = (torch.from_numpy(a) for a in inputs(vocab, 1, L, L))
            p50, p99 = time_latency(lambda: model(ids, lens), iters)
            res[str(L)] = {"p50_ms": p50, "p99_ms": p99}
    return res


def torch_throughput(model, vocab, threads, seconds):
    ids, lens = (torch.from_numpy(a) for a in inputs(vocab, 64, 32, 64))
    with torch.inference_mode():
        torch.set_num_threads(threads)
        return time_throughput(lambda: model(ids, lens), 64, seconds)


def export_onnx(model, path):
    ids = torch.zeros((2, 8), dtype=torch.long)
    lens = torch.tensor([8, 5], dtype=torch.long)
    names = ["pooled"] + [f"logits_{n}" for n in model.head_names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, lens), path, input_names=["ids", "lengths"], output_names=names,
                          dynamic_axes={"ids": {0: "batch", 1: "length"}, "lengths": {0: "batch"},
                                        **{n: {0: "batch"} for n in names}},
                          opset_version=17, dynamo=False)


def ort_session(path, threads):
    import onnxruntime as ort
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def ort_latency(s1, vocab, iters, reference_model):
    res = {"latency": {}}
    # Sanity: ORT computes the same thing as PyTorch.
    ids, lens = inputs(vocab, 3, 20, 5)
    with torch.inference_mode():
        ref = reference_model(torch.from_numpy(ids), torch.from_numpy(lens))[0].numpy()
    got = s1.run(None, {"ids": ids, "lengths": lens})[0]
    res["max_abs_diff_vs_torch"] = float(np.abs(ref - got).max())
    for L in LENGTHS:
        feed = dict(zip(("ids", "lengths"), inputs(vocab, 1, L, L)))
        p50, p99 = time_latency(lambda: s1.run(None, feed), iters)
        res["latency"][str(L)] = {"p50_ms": p50, "p99_ms": p99}
    return res


def ort_throughput(session, vocab, seconds):
    feed = dict(zip(("ids", "lengths"), inputs(vocab, 64, 32, 64)))
    return time_throughput(lambda: session.run(None, feed), 64, seconds)


def median_merge(runs):
    """Element-wise median of several result trees with the same shape."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: median_merge([r[k] for r in runs]) for k in first}
    if isinstance(first, (int, float)):
        return float(np.median(runs))
    return first


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", action="append", choices=["small", "large"])
    ap.add_argument("--quick", action="store_true", help="fewer iterations, one round (smoke test)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of Swift, PyTorch, ONNX Runtime in turn; every figure is the median over rounds "
                         "(the machine is shared, so load drifts; interleaving keeps the comparison fair)")
    ap.add_argument("--json", help="also write all figures to this file")
    concierge_binary.add_arguments(ap, concierge_help="benchmark this concierge binary instead of building the release "
                                                      "one (e.g. an older build, for before/after figures); implies --no-build")
    args = ap.parse_args()
    configs = args.config or ["small", "large"]
    rounds = 1 if args.quick else args.rounds
    iters = {"small": 200 if args.quick else 2000, "large": 50 if args.quick else 500}
    seconds = 0.5 if args.quick else 2.0

    binary = concierge_binary.resolve(args)
    print(f"concierge: {binary}", flush=True)
    tmp = tempfile.mkdtemp(prefix="encoder-bench-")
    per_round = {name: [] for name in configs}
    models, onnx_paths = {}, {}

    def swift(name, extra):
        cmd = [binary, "bench", "encoder", "--json", "--config", name] + extra
        print("  $ " + " ".join(cmd), flush=True)
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["swift"][name]

    # Each round: the three engines' latencies, then for 1 and 2 threads the
    # three engines' throughputs back to back, so that the figures compared
    # with each other are measured seconds apart, not minutes.
    for r in range(rounds):
        for name in configs:
            print(f"round {r + 1}/{rounds}, {name} (Concierge, PyTorch {torch.__version__} eager, ONNX Runtime)", flush=True)
            extra = ["--export-weights", tmp] if r == 0 else []
            sw = swift(name, ["--latency-only", "--latency-iterations", str(iters[name])] + extra)
            if r == 0:
                models[name], _, _ = load_checkpoint(os.path.join(tmp, f"encoder-{name}.safetensors"))
                onnx_paths[name] = os.path.join(tmp, f"encoder-{name}.onnx")
                export_onnx(models[name], onnx_paths[name])
            model = models[name]
            vocab = model.config["vocab_size"]
            sessions = {t: ort_session(onnx_paths[name], t) for t in (1, 2)}
            pt = {"latency": torch_latency(model, vocab, iters[name]), "throughput": {}}
            ort_res = ort_latency(sessions[1], vocab, iters[name], model)
            ort_res["throughput"] = {}
            sw["throughput"] = {}
            for t in (1, 2):
                sw["throughput"][str(t)] = swift(name, ["--throughput-only", "--threads", str(t), "--throughput-seconds",
                                                        str(seconds)])["throughput"][str(t)]
                pt["throughput"][str(t)] = torch_throughput(model, vocab, t, seconds)
                ort_res["throughput"][str(t)] = ort_throughput(sessions[t], vocab, seconds)
            per_round[name].append({"swift": sw, "pytorch": pt, "onnxruntime": ort_res})
    results = {name: median_merge(runs) for name, runs in per_round.items()}

    import onnxruntime
    print(f"\nPyTorch {torch.__version__}, ONNX Runtime {onnxruntime.__version__}; same weights; "
          f"latency = batch 1, 1 thread; throughput = batch 64 x length 32; median of {rounds} interleaved round(s)")
    for name in configs:
        r = results[name]
        print(f"\n== {name}   (ORT vs PyTorch max |diff| {r['onnxruntime']['max_abs_diff_vs_torch']:.1e})")
        print(f"{'':28}{'Concierge':>12}{'PyTorch':>12}{'ONNX RT':>12}{'PT/Conc.':>10}{'ORT/Conc.':>10}")
        for L in LENGTHS:
            for q in ("p50_ms", "p99_ms"):
                s_, p, o = (r[k]["latency"][str(L)][q] for k in ("swift", "pytorch", "onnxruntime"))
                print(f"latency L={L:<3} {q[:3]} (ms)     {s_:12.3f}{p:12.3f}{o:12.3f}{p / s_:10.2f}{o / s_:10.2f}")
        for t in ("1", "2"):
            s_, p, o = (r[k]["throughput"][t]["seq_per_s"] for k in ("swift", "pytorch", "onnxruntime"))
            print(f"throughput {t} thread{'s' if t == '2' else ' '} (seq/s) {s_:12.0f}{p:12.0f}{o:12.0f}{s_ / p:10.2f}{s_ / o:10.2f}")
        for t in ("1", "2"):
            s_, p, o = (r[k]["throughput"][t]["best_seq_per_s"] for k in ("swift", "pytorch", "onnxruntime"))
            print(f"fastest pass {t} thread{'s' if t == '2' else ' '} (seq/s){s_:10.0f}{p:12.0f}{o:12.0f}{s_ / p:10.2f}{s_ / o:10.2f}")
        gf = r["swift"]["latency"]["32"]["gflops"], r["swift"]["throughput"]["2"]["gflops"]
        print(f"Concierge GFLOP/s: batch-1 L=32 {gf[0]:.1f}, batch-64 2 threads {gf[1]:.1f}")

    if "small" in results:
        print("\nPer round (small, length 32): Concierge latency / ORT; 2-thread throughput Concierge / PyTorch, / ORT; "
              "1-thread the same")
        for i, rr in enumerate(per_round["small"]):
            sw, pt, ox = rr["swift"], rr["pytorch"], rr["onnxruntime"]
            lat = sw["latency"]["32"]["p50_ms"]
            thr = {t: sw["throughput"][t]["seq_per_s"] for t in ("1", "2")}
            print(f"  round {i + 1}: latency {lat:.3f} ms = {lat / ox['latency']['32']['p50_ms']:.2f} x ORT;  "
                  f"2 threads {thr['2']:.0f} seq/s = {thr['2'] / pt['throughput']['2']['seq_per_s']:.2f} x PyTorch "
                  f"({pt['throughput']['2']['seq_per_s']:.0f}), {thr['2'] / ox['throughput']['2']['seq_per_s']:.2f} x ORT "
                  f"({ox['throughput']['2']['seq_per_s']:.0f});  1 thread {thr['1']:.0f} seq/s = "
                  f"{thr['1'] / pt['throughput']['1']['seq_per_s']:.2f} x PyTorch, {thr['1'] / ox['throughput']['1']['seq_per_s']:.2f} x ORT")
        r = results["small"]
        lat = r["swift"]["latency"]["32"]["p50_ms"]
        ort_lat = r["onnxruntime"]["latency"]["32"]["p50_ms"]
        thr = r["swift"]["throughput"]["2"]["seq_per_s"]
        pt_thr = r["pytorch"]["throughput"]["2"]["seq_per_s"]
        ort_thr = r["onnxruntime"]["throughput"]["2"]["seq_per_s"]
        def ratios(f):
            return " / ".join(f"{f(rr):.2f}" for rr in per_round["small"])

        def thr_ratio(engine):
            return lambda rr: rr["swift"]["throughput"]["2"]["seq_per_s"] / rr[engine]["throughput"]["2"]["seq_per_s"]

        print("\nTargets (small, length 32, medians; per round in brackets):")
        checks = [
            (f"batch-1 latency {lat:.3f} ms <= 0.35 ms "
             f"[{ratios(lambda rr: rr['swift']['latency']['32']['p50_ms'])}]", lat <= 0.35),
            (f"batch-1 latency / ONNX Runtime = {lat / ort_lat:.2f} <= 0.7 ["
             f"{ratios(lambda rr: rr['swift']['latency']['32']['p50_ms'] / rr['onnxruntime']['latency']['32']['p50_ms'])}]",
             lat / ort_lat <= 0.7),
            (f"batch-64 2-thread throughput / PyTorch = {thr / pt_thr:.2f} >= 1.5 [{ratios(thr_ratio('pytorch'))}]",
             thr / pt_thr >= 1.5),
            (f"batch-64 2-thread throughput / ONNX Runtime = {thr / ort_thr:.2f} >= 1.2 [{ratios(thr_ratio('onnxruntime'))}]",
             thr / ort_thr >= 1.2),
        ]
        for text, ok in checks:
            print(f"  [{'met' if ok else 'MISSED'}] {text}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"median": results, "rounds": per_round}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
