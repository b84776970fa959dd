#!/usr/bin/env python3
"""CrossSim's whole `eval` against numpy's sgemm alone, on the same machine in the same run.

    python3 scripts/bench_vs_numpy.py [--n 16384] [--dim 768 384] [--repeats 3]
                                      [--crosssim .build/release/crosssim] [--full-loss]

For each D it writes synthetic float32 sets with `crosssim synth`, times numpy's `x1 @ x2.T`
(OpenBLAS, all cores; best of --repeats), times the whole `crosssim eval` process with its
defaults (one τ, ranks both ways, diagnostics) under each `--gemm` (the BLAS, and the own GEMM
with that first pass fused into its micro-kernel), and with an extra τ or SigLIP term, in
rounds (each run right after numpy's sgemm, the better of two), and prints the median of those
paired ratios (and best over best), the median of each run's CPU time (user + sys of the
process) over the `--gemm blas` run's of its round, and what the extra terms add over the
defaults run of their round. `--full-loss` also times a numpy InfoNCE + ranks computed from
the materialised S, for reference. Needs numpy; build CrossSim first (swift build -c release).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def best_of(repeats, fn):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def numpy_full_loss(x1, x2, tau=0.05):
    s = x1 @ x2.T
    z = s / tau
    m1 = z.max(axis=1, keepdims=True)
    lse_rows = (m1[:, 0] + np.log(np.exp(z - m1).sum(axis=1)))
    m2 = z.max(axis=0, keepdims=True)
    lse_cols = (m2[0] + np.log(np.exp(z - m2).sum(axis=0)))
    d = np.diag(z)
    ranks = (s > np.diag(s)[:, None]).sum(axis=1) + 1
    return ((lse_rows - d).mean() + (lse_cols - d).mean()) / 2, ranks


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=16384)
    p.add_argument("--dim", type=int, nargs="+", default=[768, 384])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--crosssim", default=".build/release/crosssim")
    p.add_argument("--full-loss", action="store_true")
    args = p.parse_args()
    try:
        from threadpoolctl import threadpool_info
        blas = [(i.get("internal_api"), i.get("version"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"numpy {np.__version__}, BLAS {blas}")
    with tempfile.TemporaryDirectory() as tmp:
        for dim in args.dim:
            folder = os.path.join(tmp, f"d{dim}")
            subprocess.run([args.crosssim, "synth", folder, "--n", str(args.n), "--dim", str(dim)], check=True,
                           stdout=subprocess.DEVNULL)
            x1 = np.load(os.path.join(folder, "x1", "part-0.npy"))
            x2 = np.load(os.path.join(folder, "x2", "part-0.npy"))
            x1 @ x2[:256].T  # warm up the BLAS threads
            sgemm = best_of(args.repeats, lambda: x1 @ x2.T)
            gflops = 2 * args.n * args.n * dim / sgemm / 1e9
            print(f"\nN = {args.n}, D = {dim}: numpy x1 @ x2.T {sgemm:.3f} s ({gflops:.1f} GFLOP/s)")
            workloads = [("defaults", []), ("gemm blas", ["--gemm", "blas"]), ("gemm own", ["--gemm", "own"]),
                         ("+1 τ", ["--tau", "0.05", "0.07"]), ("+SigLIP", ["--siglip", "10:-10"])]
            report = os.path.join(tmp, "report.json")
            # Runs go in rounds, each workload once per round in an order that rotates, and each
            # run right after numpy's sgemm (the better of two, as its threads wake from sleep):
            # the clock of a shared machine drifts, and neighbours share most of the drift.
            runs = {name: [] for name, _ in workloads}
            engines = {}
            for round in range(args.repeats):
                for k in range(len(workloads)):
                    name, extra = workloads[(k + round) % len(workloads)]
                    command = [args.crosssim, "eval", os.path.join(folder, "x1"), os.path.join(folder, "x2"),
                               "--quiet", "--json", report] + extra
                    reference = best_of(2, lambda: x1 @ x2.T)
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    seconds = best_of(1, lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                    runs[name].append((seconds, reference, cpu))
                    engines[name] = json.load(open(report))["engine"]
            for name, _ in workloads:
                ratio = statistics.median(t / r for t, r, _ in runs[name])
                seconds = min(t for t, _, _ in runs[name])
                cpu = statistics.median(c / b for (_, _, c), (_, _, b) in zip(runs[name], runs["gemm blas"]))
                extra = "" if name == "defaults" or name.startswith("gemm") else "  × defaults {:.3f}".format(
                    statistics.median(t / d for (t, _, _), (d, _, _) in zip(runs[name], runs["defaults"])))
                print(f"  crosssim eval {name:9} {seconds:.3f} s  ratio {ratio:.3f} (median of {args.repeats} rounds; "
                      f"best/best {seconds / sgemm:.3f}), CPU × gemm blas {cpu:.3f}{extra}  "
                      f"peak RSS {engines[name]['peak_rss_bytes'] / 2**20:.0f} MiB, {engines[name]['backend']}")
            if args.full_loss:
                full = best_of(1, lambda: numpy_full_loss(x1, x2))
                print(f"  numpy full InfoNCE + ranks from materialised S: {full:.3f} s  ratio {full / sgemm:.3f}")


if __name__ == "__main__":
    sys.exit(main())
