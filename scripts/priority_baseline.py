#!/usr/bin/env python3
"""A linear baseline for the priority of service requests, on the model's own
n-gram features: multinomial logistic regression (L2), the regularisation
chosen by 5-fold cross-validation on the pack's training side.

    .build/release/concierge evaluate --export-split /tmp/split
    python3 scripts/priority_baseline.py /tmp/split/split.jsonl

Reports exact priority accuracy, within-one-level accuracy, P1 recall and
precision and P2 recall, pooled over the cross-validation folds (the folds
`concierge evaluate --cross-validate 5` uses) and on the held-out split (read
once, with the regularisation chosen by cross-validation). Needs numpy and
scipy; no scikit-learn.
"""
import argparse
import json
import sys

import numpy as np
from scipy import optimize, sparse

PRIORITIES = ["P1", "P2", "P3", "P4"]
BUCKETS = 1 << 18


def load(path):
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    rows = [r for r in rows if r["kind"] == "category" and r.get("priority")]
    data, indices, indptr = [], [], [0]
    for r in rows:
        indices.extend(r["features"]["indices"])
        data.extend(r["features"]["values"])
        indptr.append(len(indices))
    X = sparse.csr_matrix((np.array(data, dtype=np.float64), np.array(indices), np.array(indptr)), shape=(len(rows), BUCKETS))
    y = np.array([PRIORITIES.index(r["priority"]) for r in rows])
    return rows, X, y


def fit(X, y, l2):
    """Multinomial logistic regression with an L2 penalty `l2` on the weights (not the biases)."""
    n, d = X.shape
    k = len(PRIORITIES)
    onehot = np.eye(k)[y]

    def loss(flat):
        W = flat[: d * k].reshape(d, k)
        b = flat[d * k:]
        z = X @ W + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.sum(onehot * np.log(p + 1e-12)) / n + 0.5 * l2 * np.sum(W * W)
        g = (p - onehot) / n
        return value, np.concatenate([(X.T @ g + l2 * W).ravel(), g.sum(axis=0)])

    result = optimize.minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x[: d * k].reshape(d, k), result.x[d * k:]


def predict(model, X):
    W, b = model
    return np.argmax(X @ W + b, axis=1)


def metrics(gold, predicted):
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    def share(mask, right):
        return float(right[mask].mean()) if mask.any() else float("nan")
    return {
        "messages": int(len(gold)),
        "exact": float((gold == predicted).mean()),
        "within_one": float((np.abs(gold - predicted) <= 1).mean()),
        "p1_recall": share(gold == 0, predicted == 0),
        "p1_precision": share(predicted == 0, gold == 0),
        "p2_recall": share(gold == 1, predicted == 1),
    }


def cross_validate(X, y, folds, l2):
    predicted = np.empty_like(y)
    for fold in sorted(set(folds)):
        test = folds == fold
        model = fit(X[~test], y[~test], l2)
        predicted[test] = predict(model, X[test])
    return predicted


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("split", help="split.jsonl from concierge evaluate --export-split")
    parser.add_argument("--l2", type=float, nargs="*", default=[1e-5, 3e-5, 1e-4, 3e-4, 1e-3],
                        help="L2 strengths to choose from by cross-validation")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows, X, y = load(args.split)
    training = np.array([r["split"] == "training" for r in rows])
    folds = np.array([r.get("fold", -1) for r in rows])
    Xt, yt, ft = X[training], y[training], folds[training]

    scores = {}
    for l2 in args.l2:
        predicted = cross_validate(Xt, yt, ft, l2)
        scores[l2] = (metrics(yt, predicted), predicted)
        print(f"l2 {l2:g}: cross-validated exact {scores[l2][0]['exact']:.3f}", file=sys.stderr)
    best = max(scores, key=lambda l2: scores[l2][0]["exact"])
    model = fit(Xt, yt, best)
    held_out = metrics(y[~training], predict(model, X[~training]))
    report = {"l2": best, "cross_validation": scores[best][0], "held_out": held_out}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"linear baseline (multinomial logistic regression on the model's n-grams), L2 {best:g} chosen by 5-fold CV")
    for name, m in [("5-fold CV (training side)", report["cross_validation"]), ("held-out", held_out)]:
        print(f"  {name:28s} {m['messages']:4d} requests  exact {m['exact']:.1%}  within one {m['within_one']:.1%}  "
              f"P1 recall {m['p1_recall']:.1%}  P1 precision {m['p1_precision']:.1%}  P2 recall {m['p2_recall']:.1%}")


if __name__ == "__main__":
    main()
