"""A two-layer MLP on scikit-learn's digits, trained in float with NumPy, then quantized to
ternary with each quantizer of pxos.ternary.nn and run on the packed kernels.

    PYTHONPATH=src python3 examples/ternary/mlp_digits.py [--json out.json]

Prints test accuracy and weight bytes for float32 and each quantizer (docs/ternary.md).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import pxos.ternary as T

HIDDEN = 128


def train(x, y, epochs: int = 300, lr: float = 0.1, seed: int = 0):
    """Full-batch gradient descent with momentum on softmax cross-entropy; returns the
    weights (out × in) and biases of both layers."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, np.sqrt(2 / x.shape[1]), (HIDDEN, x.shape[1]))
    w2 = rng.normal(0, np.sqrt(2 / HIDDEN), (10, HIDDEN))
    b1, b2 = np.zeros(HIDDEN), np.zeros(10)
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[y]
    for _ in range(epochs):
        h = np.maximum(x @ w1.T + b1, 0)
        z = h @ w2.T + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - onehot) / len(x)
        dh = (dz @ w2) * (h > 0)
        grads = [dh.T @ x, dh.sum(0), dz.T @ h, dz.sum(0)]
        for p_, v, g in zip(params, velocity, grads):
            v *= 0.9
            v -= lr * g
            p_ += v
    return params


def accuracy_float(params, x, y) -> float:
    w1, b1, w2, b2 = params
    h = np.maximum(x @ w1.T + b1, 0)
    return float(((h @ w2.T + b2).argmax(1) == y).mean())


def accuracy_ternary(layers, biases, x, y, device=None) -> float:
    """Both layers on the packed ternary kernels (biases and ReLU in NumPy)."""
    h = np.maximum(T.nn.matmul(x.astype(np.float32), layers[0], device) + biases[0], 0)
    z = T.nn.matmul(h, layers[1], device) + biases[1]
    return float((z.argmax(1) == y).mean())


def main(argv=None):
    """Train, quantize, evaluate; return the results as a dict."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--epochs", type=int, default=300, help="training epochs")
    ap.add_argument("--device", help="pxos device of the ternary kernels (default: auto)")
    args = ap.parse_args(argv)
    digits = load_digits()
    x = digits.data / 16.0
    xtr, xte, ytr, yte = train_test_split(x, digits.target, test_size=0.3, random_state=0)
    params = train(xtr, ytr, args.epochs)
    w1, b1, w2, b2 = params
    results = {"float32": {"accuracy": accuracy_float(params, xte, yte),
                           "weight_bytes": 4 * (w1.size + w2.size)}}
    for name, quantize in T.nn.QUANTIZERS.items():
        layers = [quantize(w1), quantize(w2)]
        results[name] = {"accuracy": accuracy_ternary(layers, [b1, b2], xte, yte, args.device),
                         "weight_bytes": sum(q.nbytes for q in layers)}
    for name, r in results.items():
        print(f"{name:>10}: test accuracy {r['accuracy']:.4f}, weights {r['weight_bytes']} "
              f"bytes")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
