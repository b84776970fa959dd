#!/usr/bin/env python3
"""CrossSim's whole `eval` against numpy's sgemm alone, on the same machine in the same run.

    python3 scripts/bench_vs_numpy.py [--n 16384] [--dim 768 384] [--repeats 3]
                                      [--crosssim .build/release/crosssim] [--full-loss]
                                      [--tile-rounds 0]

For each D it writes synthetic float32 sets with `crosssim synth`, times numpy's `x1 @ x2.T`
(OpenBLAS, all cores; best of --repeats), times the whole `crosssim eval` process with its
defaults (one τ, ranks both ways, diagnostics) under each `--gemm` (the BLAS, and the own GEMM
with that first pass fused into its micro-kernel), and with an extra τ or SigLIP term, in
rounds (each run right after numpy's sgemm, the better of two), and prints the median of those
paired ratios (and best over best), the median of each run's CPU time (user + sys of the
process) over the `--gemm blas` run's of its round, and what the extra terms add over the
defaults run of their round. `--full-loss` also times a numpy InfoNCE + ranks computed from
the materialised S, for reference. `--tile-rounds R` also times one 1024×2048×D tile on one
thread, R rounds: numpy's sgemm (a child process with its BLAS on one thread) against
CrossSim's GEMMs as `crosssim bench` times them, with the FMA peak that bench measures.
Needs numpy; build CrossSim first (swift build -c release --product crosssim --static-swift-stdlib,
as scripts/demo.sh builds it: the process's start counts).
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


# One tile on one thread, timed in a child (this script imported there) so that its BLAS
# starts with one thread: the best of `repeats` products, in GFLOP/s.
NUMPY_TILE = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from bench_vs_numpy import best_of
rows, cols, dim, repeats = map(int, sys.argv[2:])
rng = np.random.default_rng(0)
a = rng.standard_normal((rows, dim), dtype=np.float32)
b = rng.standard_normal((cols, dim), dtype=np.float32)
print(2 * rows * cols * dim / best_of(repeats, lambda: a @ b.T) / 1e9)
"""


def tile_rounds(crosssim, dim, rounds, tmp):
    """numpy's one-thread tile against `crosssim bench`'s, alternating, `rounds` times."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    report = os.path.join(tmp, "bench.json")
    numpy_gflops, tiles, peaks = [], [], []
    for _ in range(rounds):
        numpy_gflops.append(float(subprocess.run([sys.executable, "-c", NUMPY_TILE, os.path.dirname(os.path.abspath(__file__)),
                                                  "1024", "2048", str(dim), "25"],
                                                 env=env, check=True, capture_output=True, text=True).stdout))
        subprocess.run([crosssim, "bench", "--n", "2048", "--dim", str(dim), "--tiles", "1024x2048", "--threads", "1",
                        "--repeats", "2", "--json", report], check=True, stdout=subprocess.DEVNULL)
        bench = json.load(open(report))
        peaks.append(bench["fma_peak_gflops"])
        tiles.append({(t["gemm"], t["operands_packed"]): t for t in bench["tile_gemm"]})
    print(f"  one 1024x2048x{dim} tile, one thread, {rounds} rounds: numpy {max(numpy_gflops):.1f} GFLOP/s "
          f"(best), FMA peak {statistics.median(peaks):.1f} (median)")
    for key in sorted(tiles[0], key=str):
        gflops = [t[key]["gflops"] for t in tiles]
        ratio = statistics.median(g / n for g, n in zip(gflops, numpy_gflops))
        share = statistics.median(t[key]["peak_share"] for t in tiles)
        name = f"{tiles[0][key]['backend']}{', operands packed' if key[1] else ''}"
        print(f"    {name:48} {max(gflops):6.1f} GFLOP/s (best), × numpy {ratio:.3f} and {share:.0%} of peak "
              f"(medians of rounds)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=16384)
    p.add_argument("--dim", type=int, nargs="+", default=[768, 384])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--crosssim", default=".build/release/crosssim")
    p.add_argument("--full-loss", action="store_true")
    p.add_argument("--tile-rounds", type=int, default=0)
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
            if args.tile_rounds:
                tile_rounds(args.crosssim, dim, args.tile_rounds, tmp)
            if args.full_loss:
                full = best_of(1, lambda: numpy_full_loss(x1, x2))
                print(f"  numpy full InfoNCE + ranks from materialised S: {full:.3f} s  ratio {full / sgemm:.3f}")


if __name__ == "__main__":
    sys.exit(main())
