#!/usr/bin/env python3
"""Writes a degraded copy of an embedding set: each row plus Gaussian noise of standard
deviation SIGMA·‖row‖/√D per value, as float16 .npy shards named as the source's (the
nightly-job example's stand-in for a worse model).

    python3 scripts/degrade.py data/functions/x2 out/nightly/degraded-x2 [--sigma 0.6] [--seed 1]

Needs numpy and, for .npy.zst shards, the `zstd` CLI.
"""
import argparse
import io
import os
import subprocess

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--sigma", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(os.listdir(args.source)):
        path = os.path.join(args.source, name)
        if name.endswith(".npy.zst"):
            raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
            rows, name = np.load(io.BytesIO(raw)), name[:-4]
        elif name.endswith(".npy"):
            rows = np.load(path)
        else:
            continue
        rows = rows.astype(np.float64)
        scale = args.sigma * np.linalg.norm(rows, axis=1, keepdims=True) / np.sqrt(rows.shape[1])
        noisy = rows + scale * random.standard_normal(rows.shape)
        np.save(os.path.join(args.out, name), noisy.astype(np.float16))


if __name__ == "__main__":
    main()
