#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (Fuzz/, scripts/fuzz.sh) under
Tests/Fixtures/fuzz/<target>/, from the fixtures next to it and from state files that a built
`crosssim` writes for tiny inputs:

    python3 Tests/Fixtures/fuzz/make_seeds.py .build/debug/crosssim

Needs numpy and the `zstd` CLI. The layout of each target's inputs (mode bytes) is described
in Fuzz/Sources/FuzzSupport/Harness.swift. Regression inputs (regressions/) are not touched.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.dirname(HERE)
TARGETS = ["npy", "fbin", "f16bin", "u8bin", "i8bin", "zstd", "manifest", "pairs", "state"]


def fixture(rel):
    with open(os.path.join(FIXTURES, rel), "rb") as f:
        return f.read()


def npy_bytes(array, version=(1, 0)):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def bigann_bytes(rows, dim, data):
    """big-ann-benchmarks' layout: int32 rows, int32 dim, then the values."""
    return np.array([rows, dim], "<i4").tobytes() + data


def unzstd(data):
    return subprocess.run(["zstd", "-d", "-c", "-q"], input=data, check=True, capture_output=True).stdout


def main():
    crosssim = os.path.abspath(sys.argv[1])
    seeds = {t: {} for t in TARGETS}

    # npy: valid files of each dtype/order/version, the bad fixtures, and a few edge cases.
    for name in ["M_le_f4_v1", "M_be_f2_v2", "M_le_f8_v3", "M_be_f8_v1", "M_le_f2_v1", "M_be_f4_v2"]:
        seeds["npy"][f"valid_{name}.npy"] = fixture(f"npy/{name}.npy")
    for name in ["bad_magic", "truncated", "fortran", "int32", "rank3", "rank1", "huge_header",
                 "header_too_long", "nan_row", "inf_row", "zero_row", "dim4"]:
        seeds["npy"][f"bad_{name}.npy"] = fixture(f"bad/{name}.npy")
    seeds["npy"]["empty_0x3.npy"] = npy_bytes(np.zeros((0, 3), "<f4"))
    seeds["npy"]["one_row_f2.npy"] = npy_bytes(np.ones((1, 2), ">f2"))

    # fbin
    seeds["fbin"]["valid_M.fbin"] = fixture("fbin/M.fbin")
    seeds["fbin"]["bad_negative.fbin"] = fixture("bad/negative.fbin")
    seeds["fbin"]["bad_truncated.fbin"] = fixture("bad/truncated.fbin")
    seeds["fbin"]["empty_0x3.fbin"] = np.array([0, 3], "<i4").tobytes()
    seeds["fbin"]["zero_row.fbin"] = np.array([1, 2], "<i4").tobytes() + np.zeros(2, "<f4").tobytes()

    # f16bin, u8bin, i8bin: M (as float16), every byte value, and the bad headers of fbin.
    M = np.frombuffer(fixture("fbin/M.fbin")[8:], "<f4").reshape(5, 3)
    every_byte = np.arange(256, dtype=np.uint8).tobytes()
    valid = {"f16bin": M.astype("<f2").tobytes(), "u8bin": every_byte, "i8bin": every_byte}
    width = {"f16bin": 2, "u8bin": 1, "i8bin": 1}
    for target in ["f16bin", "u8bin", "i8bin"]:
        rows, dim = (5, 3) if target == "f16bin" else (4, 64)
        w = width[target]
        seeds[target][f"valid.{target}"] = bigann_bytes(rows, dim, valid[target])
        seeds[target][f"bad_negative.{target}"] = bigann_bytes(-1, 3, b"\x01" * 3 * w)
        seeds[target][f"bad_truncated.{target}"] = bigann_bytes(5, 3, b"\x01" * 7 * w)
        seeds[target][f"bad_trailing.{target}"] = bigann_bytes(1, 3, b"\x01" * 4 * w)
        seeds[target][f"empty_0x3.{target}"] = bigann_bytes(0, 3, b"")
        seeds[target][f"zero_row.{target}"] = bigann_bytes(1, 2, b"\x00" * 2 * w)
    seeds["f16bin"]["inf_row.f16bin"] = bigann_bytes(2, 2, np.array([1, 2, np.inf, 4], "<f2").tobytes())

    # zstd: mode 0 = the file as it is; mode 1/3/5 = the payload compressed by the harness
    # (bits 2-4 choose the format inside: 1 fbin, 2 f16bin, 3 u8bin, 4 i8bin).
    for name, rel in [("M_le_f2", "zst/M_le_f2.npy.zst"), ("multiframe", "zst/M_le_f4_multiframe.npy.zst"),
                      ("corrupt", "bad/corrupt.npy.zst"), ("truncated", "bad/truncated.npy.zst")]:
        seeds["zstd"][f"raw_{name}"] = b"\x00" + fixture(rel)
    seeds["zstd"]["raw_fbin"] = b"\x04" + fixture("zst/M.fbin.zst")
    seeds["zstd"]["inner_M_le_f4"] = b"\x01" + fixture("npy/M_le_f4_v1.npy")
    seeds["zstd"]["inner_two_frames_f2"] = b"\x03" + fixture("npy/M_be_f2_v3.npy")
    seeds["zstd"]["inner_fbin"] = b"\x05" + fixture("fbin/M.fbin")
    seeds["zstd"]["inner_truncated"] = b"\x01" + fixture("bad/truncated.npy")
    for code, target in [(2, "f16bin"), (3, "u8bin"), (4, "i8bin")]:
        seeds["zstd"][f"inner_{target}"] = bytes([1 | code << 2]) + seeds[target][f"valid.{target}"]
        seeds["zstd"][f"inner_two_frames_{target}"] = bytes([3 | code << 2]) + seeds[target][f"valid.{target}"]

    # manifest: names of the shards the harness puts next to the manifest.
    seeds["manifest"]["valid_mixed.txt"] = b"# a manifest\n\na.npy\nb.fbin\nc.npy.zst\n  d.npy  \ne.fbin.zst\nf.npy.zst\n"
    seeds["manifest"]["valid_sub.txt"] = b"sub/g.npy\nsub/10.npy\n#sub/x.npy\n"
    seeds["manifest"]["bad_dim.txt"] = b"a.npy\ndim4.npy\n"
    seeds["manifest"]["bad_rows.txt"] = b"a.npy\nnan.npy\nzero.npy\n"
    seeds["manifest"]["bad_missing.txt"] = b"a.npy\nmissing.npy\n"
    seeds["manifest"]["bad_directory.txt"] = b"dir.npy\n"
    seeds["manifest"]["bad_truncated.txt"] = b"short.npy\n"
    seeds["manifest"]["bad_empty.txt"] = b"# nothing\n\n"
    seeds["manifest"]["bad_suffix.txt"] = b"m.txt\n"

    # pairs: [mode, x1 rows, x2 rows] + file.
    for name in ["pairs_i64", "pairs_i32", "pairs_f4", "pairs_2d"]:
        seeds["pairs"][name] = bytes([0, 5, 7]) + fixture(f"pairs/{name}.npy")
    seeds["pairs"]["pairs_out_of_range"] = bytes([0, 5, 3]) + fixture("pairs/pairs_out_of_range.npy")
    seeds["pairs"]["pairs_u1_be"] = bytes([0, 3, 4]) + npy_bytes(np.array([0, 2, 1, 1], "|u1"))
    seeds["pairs"]["pairs_be_i2"] = bytes([0, 3, 4]) + npy_bytes(np.array([0, 2, 1, 1], ">i2"))
    seeds["pairs"]["pairs_zst_inner"] = bytes([3, 5, 7]) + fixture("pairs/pairs_i64.npy")
    # mode bit 2: an .ibin (int32 rows, dim 1).
    ids = np.frombuffer(fixture("pairs/pairs_i64.npy")[-7 * 8:], "<i8").astype("<i4").tobytes()
    seeds["pairs"]["ibin"] = bytes([4, 5, 7]) + bigann_bytes(7, 1, ids)
    seeds["pairs"]["ibin_zst_inner"] = bytes([7, 5, 7]) + bigann_bytes(7, 1, ids)
    seeds["pairs"]["ibin_two_columns"] = bytes([4, 5, 7]) + bigann_bytes(7, 2, ids + ids)

    # state: real state files of tiny runs, as they are (mode 0), decompressed (mode 1), and
    # two parts of one run (mode 3).
    work = tempfile.mkdtemp()
    try:
        def run(*args):
            subprocess.run([crosssim, *args], check=True, capture_output=True)

        run("synth", f"{work}/d", "--n", "6", "--dim", "4", "--seed", "1")
        run("synth", f"{work}/c", "--n", "4", "--dim", "3", "--captions", "2", "--seed", "2")
        x1, x2 = f"{work}/d/x1", f"{work}/d/x2"
        runs = {
            "plain": [x1, x2, "--part", "0/1"],
            "everything": [x1, x2, "--part", "0/1", "--tau", "0.05", "0.1", "--siglip", "10:-10", "--top-k", "2",
                           "--uniformity", "--histogram", "--k", "1,2", "--keep-per-query", "--health", "--hubness-k", "2",
                           "--hard-negatives", "2", "--margin", "0.01"],
            "dot": [x1, x2, "--part", "0/1", "--similarity", "dot"],
            "queries": [f"{work}/c/x1", f"{work}/c/x2", "--part", "0/1", "--queries-only", "--top-k", "3"],
            "pairs": [f"{work}/c/x1", f"{work}/c/x2", "--pairs", f"{work}/c/pairs.npy", "--part", "0/1", "--top-k", "1"],
            "half0": [x1, x2, "--part", "0/2", "--top-k", "2", "--histogram"],
            "half1": [x1, x2, "--part", "1/2", "--top-k", "2", "--histogram"],
        }
        states = {}
        for name, args in runs.items():
            path = f"{work}/{name}.state"
            run("eval", *args, "--state", path, "--quiet")
            with open(path, "rb") as f:
                states[name] = f.read()
        for name in ["plain", "everything", "dot", "pairs", "queries"]:
            seeds["state"][f"raw_{name}"] = b"\x00" + states[name]
            seeds["state"][f"inner_{name}"] = b"\x01" + unzstd(states[name])
        a, b = unzstd(states["half0"]), unzstd(states["half1"])
        seeds["state"]["inner_two_parts"] = b"\x03" + len(a).to_bytes(2, "little") + a + b
        seeds["state"]["raw_two_parts"] = b"\x02" + len(states["half0"]).to_bytes(2, "little") + states["half0"] + states["half1"]
    finally:
        shutil.rmtree(work)

    for target, files in seeds.items():
        folder = os.path.join(HERE, target)
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):   # past findings (regression-*) stay
            if not name.startswith("regression-"):
                os.remove(os.path.join(folder, name))
        for name, data in files.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(files)} seeds, {sum(map(len, files.values()))} bytes")


if __name__ == "__main__":
    main()
