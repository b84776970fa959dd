#!/usr/bin/env python3
"""Accuracy of `crosssim grad` against a binary64 reference (docs/gradient.md, "Accuracy").

For each case, the raw Float32 sets are written as .npy, `crosssim grad` writes
x1.grad.npy and x2.grad.npy, and each is compared with the gradient of the same loss computed
in float64 from the same Float32 inputs, with the whole N1 x N2 similarity matrix:

- cosine: rows normalised in float64; dot: rows as they are;
- InfoNCE (docs/definitions.md; SupCon L_out over x1 rows with a positive, mean over x2 rows
  the other way, symmetric the mean), SigLIP likewise;
- dL/dS from the definitions (softmax minus target over each query, scaled by its
  direction's weight; SigLIP: -y t sigmoid(-y (t s + b)) / N1), then dL/dx1 = W x2_hat,
  dL/dx2 = W^T x1_hat, and under cosine (g - (g . x_hat) x_hat) / |x|.

With PyTorch importable (`pip install torch`, CPU wheel), the same loss is also differentiated
by float64 autograd and that gradient is used as a second reference. Without it, a central
finite difference of the float64 loss along a random direction checks the analytic
reference on every case.

Cases (the issue's): N = 4096 at D = 384 and 768, cosine and dot, tau 0.05 and 0.01, SigLIP
(10, -10), and multi-positive pairs with uneven N1, N2; x2 = x1 + 4 * noise (as `crosssim
synth`), so that positives do not outscore every negative by so much that the gradient
vanishes below the reference's own rounding (a positive's softmax rounds to 1 in float64). The error of each gradient is
|g - g_ref|_F / |g_ref|_F; the tolerance is 1e-5 (tau >= 0.05 and SigLIP) or 1e-4 (tau < 0.05).

Output: a Markdown table (case, loss, errors of dx1 and dx2, tolerance, verdict). Exit code 1
if any case is out of tolerance or a run fails.

Usage: python3 scripts/gradient_accuracy.py [--binary PATH] [--quick]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    import torch  # optional second reference
except ImportError:
    torch = None


def loss_and_weights(a, b, pos_of, loss):
    """The loss and dL/dS in float64 from prepared rows a [N1, D], b [N2, D]."""
    n1, n2 = a.shape[0], b.shape[0]
    s = a @ b.T
    y = np.zeros((n1, n2), dtype=bool)
    y[pos_of, np.arange(n2)] = True
    if loss[0] == "siglip":
        t, bias = loss[1], loss[2]
        sign = np.where(y, 1.0, -1.0)
        x = -sign * (t * s + bias)
        value = np.logaddexp(0, x).sum() / n1
        w = -sign * t / (1 + np.exp(-x)) / n1
        return value, w
    tau = loss[1]
    z = s / tau
    count = y.sum(axis=1)
    q = count > 0
    row_lse = np.logaddexp.reduce(z, axis=1)
    col_lse = np.logaddexp.reduce(z, axis=0)
    l12 = (row_lse[q] - (np.where(y, z, 0).sum(axis=1)[q] / count[q])).mean()
    l21 = (col_lse - z[pos_of, np.arange(n2)]).mean()
    w_row = (np.exp(z - row_lse[:, None]) - np.where(y, 1.0 / np.maximum(count, 1)[:, None], 0)) * q[:, None]
    w_col = np.exp(z - col_lse[None, :]) - y
    w = w_row / (2 * q.sum() * tau) + w_col / (2 * n2 * tau)
    return (l12 + l21) / 2, w


def prepare(x, similarity):
    if similarity == "dot":
        return x, np.ones(x.shape[0])
    norms = np.linalg.norm(x, axis=1)
    return x / norms[:, None], norms


def reference(x1, x2, pos_of, similarity, loss):
    a, n1 = prepare(x1, similarity)
    b, n2 = prepare(x2, similarity)
    value, w = loss_and_weights(a, b, pos_of, loss)
    g1, g2 = w @ b, w.T @ a
    if similarity == "cosine":
        g1 = (g1 - (g1 * a).sum(axis=1, keepdims=True) * a) / n1[:, None]
        g2 = (g2 - (g2 * b).sum(axis=1, keepdims=True) * b) / n2[:, None]
    return value, g1, g2


def loss_only(x1, x2, pos_of, similarity, loss):
    return loss_and_weights(prepare(x1, similarity)[0], prepare(x2, similarity)[0], pos_of, loss)[0]


def autograd(x1, x2, pos_of, similarity, loss):
    a = torch.tensor(x1, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
    pa, pb = (a, b) if similarity == "dot" else (a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True))
    s = pa @ pb.T
    n1, n2 = s.shape
    y = torch.zeros((n1, n2), dtype=torch.bool)
    y[torch.tensor(pos_of), torch.arange(n2)] = True
    if loss[0] == "siglip":
        sign = torch.where(y, 1.0, -1.0).double()
        value = torch.nn.functional.softplus(-sign * (loss[1] * s + loss[2])).sum() / n1
    else:
        z = s / loss[1]
        count = y.sum(dim=1)
        q = count > 0
        l12 = (torch.logsumexp(z, dim=1) - torch.where(y, z, torch.zeros_like(z)).sum(dim=1) / count.clamp(min=1))[q].mean()
        l21 = (torch.logsumexp(z, dim=0) - z[torch.tensor(pos_of), torch.arange(n2)]).mean()
        value = (l12 + l21) / 2
    value.backward()
    return a.grad.numpy(), b.grad.numpy()


def relative(g, ref):
    return float(np.linalg.norm(g.astype(np.float64) - ref) / np.linalg.norm(ref))


def make_cases(quick):
    rng = np.random.default_rng(7)
    n = 512 if quick else 4096
    cases = []
    for d in ([64] if quick else [384, 768]):
        x1 = rng.standard_normal((n, d)).astype(np.float32)
        x2 = (x1 + 4 * rng.standard_normal((n, d))).astype(np.float32)
        ident = np.arange(n)
        for similarity in ["cosine", "dot"]:
            # Dot similarities of raw Gaussian rows are ~D: scaled so that logits stay moderate.
            scale = 1.0 if similarity == "cosine" else 1 / np.sqrt(d)
            for loss in [("infonce", 0.05), ("infonce", 0.01), ("siglip", 10.0, -10.0)]:
                cases.append((f"N={n} D={d} {similarity}", (x1 * scale).astype(np.float32),
                              (x2 * scale).astype(np.float32), ident, similarity, loss))
    # Multi-positive, uneven: N1 x1 rows, 5 captions for 90 % of them (the rest have none).
    d = 64 if quick else 384
    n1 = n // 4
    owners = np.repeat(np.arange(int(n1 * 0.9)), 5)
    rng.shuffle(owners)
    x1 = rng.standard_normal((n1, d)).astype(np.float32)
    x2 = (x1[owners] + 4 * rng.standard_normal((owners.size, d))).astype(np.float32)
    for loss in [("infonce", 0.05), ("infonce", 0.01), ("siglip", 10.0, -10.0)]:
        cases.append((f"N1={n1} N2={owners.size} D={d} cosine, 5 captions", x1, x2, owners, "cosine", loss))
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(REPO, ".build/release/crosssim"))
    parser.add_argument("--quick", action="store_true", help="small cases (N = 512)")
    args = parser.parse_args()
    failed = False
    print("| case | loss | dx1 error | dx2 error | tolerance | |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name, x1, x2, pos_of, similarity, loss in make_cases(args.quick):
            np.save(os.path.join(tmp, "x1.npy"), x1)
            np.save(os.path.join(tmp, "x2.npy"), x2)
            np.save(os.path.join(tmp, "pairs.npy"), pos_of.astype(np.int64))
            flags = ["--tau", str(loss[1])] if loss[0] == "infonce" else ["--siglip", f"{loss[1]}:{loss[2]}"]
            out = os.path.join(tmp, "out")
            run = subprocess.run([args.binary, "grad", os.path.join(tmp, "x1.npy"), os.path.join(tmp, "x2.npy"),
                                  "--pairs", os.path.join(tmp, "pairs.npy"), "--similarity", similarity, "--out", out,
                                  "--quiet"] + flags, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"| {name} | {loss} | run failed: {run.stderr.strip()} | | | FAIL |")
                failed = True
                continue
            g1, g2 = np.load(os.path.join(out, "x1.grad.npy")), np.load(os.path.join(out, "x2.grad.npy"))
            a, b = x1.astype(np.float64), x2.astype(np.float64)
            _, r1, r2 = reference(a, b, pos_of, similarity, loss)
            if torch is not None:
                t1, t2 = autograd(a, b, pos_of, similarity, loss)
                assert relative(t1, r1) < 1e-10 and relative(t2, r2) < 1e-10, f"{name} {loss}: reference vs autograd"
            else:
                rng = np.random.default_rng(1)
                v1, v2 = rng.standard_normal(a.shape), rng.standard_normal(b.shape)
                # A check of the reference's formulas (a wrong term is off by far more than 1e-4),
                # with h small against the rows and large against the loss's rounding.
                h = 1e-5
                numeric = (loss_only(a + h * v1, b + h * v2, pos_of, similarity, loss)
                           - loss_only(a - h * v1, b - h * v2, pos_of, similarity, loss)) / (2 * h)
                analytic = (r1 * v1).sum() + (r2 * v2).sum()
                assert abs(numeric - analytic) <= 1e-4 * abs(analytic), \
                    f"{name} {loss}: finite difference {numeric} against the reference's {analytic}"
            tolerance = 1e-4 if loss[0] == "infonce" and loss[1] < 0.05 else 1e-5
            e1, e2 = relative(g1, r1), relative(g2, r2)
            ok = e1 <= tolerance and e2 <= tolerance
            failed |= not ok
            label = f"InfoNCE τ={loss[1]}" if loss[0] == "infonce" else f"SigLIP {loss[1]:g}:{loss[2]:g}"
            print(f"| {name} | {label} | {e1:.1e} | {e2:.1e} | {tolerance:.0e} | {'ok' if ok else 'FAIL'} |", flush=True)
    print(f"\nreference checked by {'float64 autograd (torch ' + torch.__version__ + ')' if torch else 'finite differences'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
