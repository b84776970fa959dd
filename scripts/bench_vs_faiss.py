#!/usr/bin/env python3
"""Exact k-NN ground truth: `crosssim eval --queries-only` against faiss's IndexFlatIP, on the
same machine, at the same thread count, in the same run.

    python3 scripts/bench_vs_faiss.py [--base 1000000] [--queries 10000] [--dim 96] [--k 100]
                                      [--threads 2] [--repeats 3] [--data DIR]
                                      [--crosssim .build/release/crosssim]

Writes a synthetic set with `crosssim synth` (float32, one shard): the base is its x2, the
queries the first rows of its x1 (each has a planted neighbour, row i of x2). Then, in rounds
whose order alternates, times each side as a whole process, from start to its ground-truth file:

- crosssim: `eval QUERIES BASE --queries-only --top-k K --similarity dot --threads T
  --neighbors DIR --neighbors-format bigann` (reads the .npy files, exact lists);
- faiss: a Python process that imports faiss, loads the same .npy files with numpy, adds the
  base to an IndexFlatIP, searches, and writes the same `.gt` layout (OMP_NUM_THREADS and
  OPENBLAS_NUM_THREADS = T; faiss.omp_set_num_threads(T)); its search alone is printed too.

Each process's peak RSS comes from wait4's rusage (ru_maxrss of that child only). Prints each
run, the medians, and the ratio crosssim / faiss of the medians, and checks the lists agree:
the same ids except where faiss's float32 scores tie or cross within rounding (faiss ranks by
its sgemm values, CrossSim by exact similarities). Needs numpy and faiss-cpu (pip install
faiss-cpu) and a release build (swift build -c release --product crosssim --static-swift-stdlib,
as scripts/demo.sh builds it).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

FAISS_CHILD = r"""
import sys, time, os
start = time.perf_counter()
import numpy as np
import faiss
queries_path, base_path, k, threads, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
faiss.omp_set_num_threads(threads)
xq = np.load(queries_path)
xb = np.load(base_path)
index = faiss.IndexFlatIP(xb.shape[1])
index.add(xb)
search_start = time.perf_counter()
D, I = index.search(xq, k)
search = time.perf_counter() - search_start
with open(out, "wb") as f:
    np.array(I.shape, dtype="<u4").tofile(f)
    I.astype("<i4").tofile(f)
    D.astype("<f4").tofile(f)
print(f"{search:.3f} {time.perf_counter() - start:.3f}")
"""


def read_gt(path):
    n, k = np.fromfile(path, dtype="<u4", count=2)
    with open(path, "rb") as f:
        f.seek(8)
        ids = np.fromfile(f, dtype="<i4", count=n * k).reshape(n, k)
        scores = np.fromfile(f, dtype="<f4", count=n * k).reshape(n, k)
    return ids, scores


def run(command, env):
    """Wall time, peak RSS (bytes) and stdout of one child process: wait4 gives that child's
    own rusage. (The pipes hold a few lines, so waiting before reading them cannot block.)"""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    out, err = child.stdout.read().decode(), child.stderr.read().decode()
    if status != 0:
        sys.exit(f"{command[0]} failed ({status}): {err}")
    return wall, usage.ru_maxrss * 1024, out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=96)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", help="keep the synthetic set here (reused when present)")
    p.add_argument("--crosssim", default=".build/release/crosssim")
    args = p.parse_args()
    import faiss
    print(f"faiss {faiss.__version__}, numpy {np.__version__}, {args.threads} threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or os.path.join(tmp, "data")
        base = os.path.join(data, "x2", "part-0.npy")
        queries = os.path.join(data, "queries.npy")
        if not os.path.exists(queries):
            subprocess.run([args.crosssim, "synth", data, "--n", str(args.base), "--dim", str(args.dim),
                            "--dtype", "f32", "--shards", "1"], check=True, stdout=subprocess.DEVNULL)
            np.save(queries, np.load(os.path.join(data, "x1", "part-0.npy"), mmap_mode="r")[:args.queries])
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
        crosssim = [args.crosssim, "eval", queries, base, "--queries-only", "--top-k", str(args.k), "--similarity", "dot",
                    "--threads", str(args.threads), "--neighbors", os.path.join(tmp, "crosssim"),
                    "--neighbors-format", "bigann", "--quiet"]
        faiss_gt = os.path.join(tmp, "faiss.gt")
        faiss_run = [sys.executable, "-c", FAISS_CHILD, queries, base, str(args.k), str(args.threads), faiss_gt]
        print(f"base {args.base} × {args.dim} float32, {args.queries} queries, K = {args.k}, inner product")
        times = {"crosssim": [], "faiss": []}
        rss = {"crosssim": [], "faiss": []}
        searches = []
        for r in range(args.repeats):
            order = ["crosssim", "faiss"] if r % 2 == 0 else ["faiss", "crosssim"]
            for side in order:
                wall, peak, out = run(crosssim if side == "crosssim" else faiss_run, env)
                times[side].append(wall)
                rss[side].append(peak)
                extra = ""
                if side == "faiss":
                    search, _ = map(float, out.split())
                    searches.append(search)
                    extra = f" (search alone {search:.2f} s)"
                print(f"round {r + 1}: {side:8s} {wall:7.2f} s, peak RSS {peak / 2**20:7.0f} MiB{extra}", flush=True)
        mine, theirs = statistics.median(times["crosssim"]), statistics.median(times["faiss"])
        print(f"\nmedians: crosssim {mine:.2f} s, peak RSS {statistics.median(rss['crosssim']) / 2**20:.0f} MiB; "
              f"faiss {theirs:.2f} s (search alone {statistics.median(searches):.2f} s), "
              f"peak RSS {statistics.median(rss['faiss']) / 2**20:.0f} MiB")
        print(f"crosssim / faiss: time {mine / theirs:.3f} (over faiss's search alone "
              f"{mine / statistics.median(searches):.3f}), peak RSS "
              f"{statistics.median(rss['crosssim']) / statistics.median(rss['faiss']):.3f}")
        ids, scores = read_gt(os.path.join(tmp, "crosssim", "x1_to_x2.gt"))
        faiss_ids, faiss_scores = read_gt(faiss_gt)
        same = (ids == faiss_ids).mean()
        overlap = np.mean([len(np.intersect1d(a, b)) / args.k for a, b in zip(ids, faiss_ids)])
        print(f"agreement: {100 * same:.3f} % of list slots hold the same id, {100 * overlap:.4f} % of each "
              f"exact top-{args.k} set found by faiss; largest score difference {np.abs(scores - faiss_scores).max():.2e}")


if __name__ == "__main__":
    main()
