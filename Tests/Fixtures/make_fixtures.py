#!/usr/bin/env python3
"""Write CrossSim's tiny test fixtures with numpy itself (see README.md here).

    python3 Tests/Fixtures/make_fixtures.py

Needs numpy (>= 1.17 for .npy v3.0) and either the `zstandard` package or the
`zstd` command-line tool. Deterministic: the .npy/.fbin files are byte-identical
on every run; .zst files decompress to identical bytes (the compressed bytes
may differ between zstd versions). Every zstd frame written here carries the
decompressed size in its header and an XXH64 content checksum.

The script regenerates every fixture subfolder, then re-reads each file and
checks it (np.load for the valid ones, the expected failure for the bad ones),
and prints a summary.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from numpy.lib import format as npformat

HERE = os.path.dirname(os.path.abspath(__file__))
SUBDIRS = ["npy", "zst", "fbin", "sharded", "manifest", "pairs", "bad"]


def base_matrix() -> np.ndarray:
    """M[i, j] = ((i*7 + j*3) % 17 - 8) / 4, shape (5, 3); exact in float16."""
    i, j = np.meshgrid(np.arange(5), np.arange(3), indexing="ij")
    return (((i * 7 + j * 3) % 17 - 8) / 4).astype(np.float64)


M = base_matrix()
DIM4 = (np.arange(8, dtype=np.float64).reshape(2, 4) / 2 - 1)  # [[-1,-.5,0,.5],[1,1.5,2,2.5]]


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------

def npy_bytes(arr, version=(1, 0)) -> bytes:
    buf = io.BytesIO()
    npformat.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


def fbin_bytes(arr) -> bytes:
    arr = np.ascontiguousarray(arr, dtype="<f4")
    rows, dim = arr.shape
    return struct.pack("<ii", rows, dim) + arr.tobytes()


def zstd_frame(data: bytes) -> bytes:
    """One zstd frame, level 3, with content size and checksum."""
    try:
        import zstandard
    except ImportError:
        zstandard = None
    if zstandard is not None:
        c = zstandard.ZstdCompressor(level=3, write_content_size=True, write_checksum=True)
        return c.compress(data)
    # CLI: compress a file (not a pipe) so the frame records the content size.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in")
        with open(src, "wb") as f:
            f.write(data)
        return subprocess.run(["zstd", "-3", "-q", "-c", "--check", src],
                              check=True, capture_output=True).stdout


def zstd_decompress(data: bytes) -> bytes:
    """Decompress all concatenated frames (raises on any error)."""
    try:
        import zstandard
    except ImportError:
        zstandard = None
    if zstandard is not None:
        out, rest = bytearray(), data
        while rest:
            d = zstandard.ZstdDecompressor().decompressobj()
            out += d.decompress(rest)
            if not d.eof:
                raise ValueError("truncated zstd frame")
            rest = d.unused_data
        return bytes(out)
    p = subprocess.run(["zstd", "-d", "-q", "-c"], input=data, capture_output=True)
    if p.returncode != 0:
        raise ValueError("zstd: " + p.stderr.decode(errors="replace").strip())
    return p.stdout


def zstd_cli_test(path) -> bool:
    """True if `zstd -t` accepts the file."""
    return subprocess.run(["zstd", "-t", "-q", path], capture_output=True).returncode == 0


def write(rel, data: bytes):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

def make_all():
    for d in SUBDIRS:
        shutil.rmtree(os.path.join(HERE, d), ignore_errors=True)

    # npy/: every dtype x byte order x format version.
    for endian, letter in (("<", "le"), (">", "be")):
        for kind in ("f2", "f4", "f8"):
            arr = M.astype(endian + kind)
            for v in (1, 2, 3):
                write(f"npy/M_{letter}_{kind}_v{v}.npy", npy_bytes(arr, (v, 0)))

    # zst/
    write("zst/M_le_f2.npy.zst", zstd_frame(npy_bytes(M.astype("<f2"))))
    raw = npy_bytes(M.astype("<f4"))
    header_len = len(raw) - M.size * 4  # 128
    cuts = [0, 50, header_len + 20, len(raw)]  # inside the header dict, inside row 1
    write("zst/M_le_f4_multiframe.npy.zst",
          b"".join(zstd_frame(raw[a:b]) for a, b in zip(cuts, cuts[1:])))
    write("zst/M.fbin.zst", zstd_frame(fbin_bytes(M)))

    # fbin/
    write("fbin/M.fbin", fbin_bytes(M))

    # sharded/: natural order part-1, part-2, part-10 == M; mixed formats.
    write("sharded/part-1.npy", npy_bytes(M[0:1].astype("<f4"), (1, 0)))
    write("sharded/part-2.npy.zst", zstd_frame(npy_bytes(M[1:3].astype("<f4"), (1, 0))))
    write("sharded/part-10.npy", npy_bytes(M[3:5].astype("<f4"), (2, 0)))
    write("sharded/README.txt",
          b"Not a shard: a directory reader must skip files without a supported suffix.\n")

    # manifest/: order in set.txt differs from the shard names' order.
    write("manifest/shards/c.npy", npy_bytes(M[0:2].astype("<f4")))
    write("manifest/shards/a.npy.zst", zstd_frame(npy_bytes(M[2:3].astype("<f4"))))
    write("manifest/shards/b.fbin", fbin_bytes(M[3:5]))
    write("manifest/set.txt", (
        "# CrossSim manifest: one shard path per line, relative to this file's folder\n"
        "\n"
        "shards/c.npy\n"
        "shards/a.npy.zst\n"
        "shards/b.fbin\n").encode())

    # pairs/
    p = [0, 0, 1, 2, 2, 2, 4]
    write("pairs/pairs_i64.npy", npy_bytes(np.array(p, dtype="<i8")))
    write("pairs/pairs_i32.npy", npy_bytes(np.array(p, dtype="<i4")))
    write("pairs/pairs_out_of_range.npy", npy_bytes(np.array([0, 1, 5], dtype="<i8")))
    write("pairs/pairs_2d.npy", npy_bytes(np.array([[0, 1], [2, 3]], dtype="<i8")))
    write("pairs/pairs_f4.npy", npy_bytes(np.array(p, dtype="<f4")))

    # bad/
    good_f4 = npy_bytes(M.astype("<f4"))
    write("bad/bad_magic.npy", b"NOTNPY" + good_f4[6:])
    write("bad/truncated.npy", good_f4[:-5])
    write("bad/fortran.npy", npy_bytes(np.asfortranarray(M.astype("<f4"))))
    write("bad/int32.npy", npy_bytes((M * 4).astype("<i4")))
    write("bad/rank3.npy", npy_bytes((np.arange(8, dtype="<f4") / 4).reshape(2, 2, 2)))
    write("bad/rank1.npy", npy_bytes(np.array([1.0, -1.0, 0.5, 2.0], dtype="<f4")))
    hdr = io.BytesIO()
    npformat.write_array_header_1_0(
        hdr, {"descr": "<f4", "fortran_order": False, "shape": (1000000000000, 768)})
    write("bad/huge_header.npy", hdr.getvalue() + np.arange(4, dtype="<f4").tobytes())
    head = b"{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }"
    write("bad/header_too_long.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", 60000) + head)
    a = M.astype("<f4")
    a[2, 1] = np.nan
    write("bad/nan_row.npy", npy_bytes(a))
    a = M.astype("<f4")
    a[3, 0] = -np.inf
    write("bad/inf_row.npy", npy_bytes(a))
    a = M.astype("<f4")
    a[4, :] = 0
    write("bad/zero_row.npy", npy_bytes(a))
    write("bad/corrupt.npy.zst", corrupt_frame(good_f4))
    zf = zstd_frame(good_f4)
    write("bad/truncated.npy.zst", zf[: len(zf) // 2])
    write("bad/truncated.fbin", fbin_bytes(M)[: 8 + 7 * 4])  # claims 5x3, holds 7 floats
    write("bad/negative.fbin", struct.pack("<ii", -1, 3) + M[0].astype("<f4").tobytes())
    write("bad/wrongdim/part-0.npy", npy_bytes(M.astype("<f4")))
    write("bad/wrongdim/part-1.npy", npy_bytes(DIM4.astype("<f4")))
    write("bad/unknown.bin", M.astype("<f4").tobytes())
    write("bad/dim4.npy", npy_bytes(DIM4.astype("<f4")))


def corrupt_frame(payload: bytes) -> bytes:
    """A zstd frame of payload with 4 bytes in the middle XOR-ed with 0xFF,
    at the first mid-frame offset where `zstd -t` fails even with checksum
    verification turned off (so the damage is structural)."""
    good = zstd_frame(payload)
    mid = len(good) // 2
    for off in sorted(range(8, len(good) - 8), key=lambda k: (abs(k - mid), k)):
        bad = bytearray(good)
        for k in range(off, off + 4):
            bad[k] ^= 0xFF
        with tempfile.NamedTemporaryFile(suffix=".zst") as t:
            t.write(bad)
            t.flush()
            fails = subprocess.run(["zstd", "-t", "-q", t.name], capture_output=True).returncode != 0
            fails_nocheck = subprocess.run(["zstd", "-d", "-q", "-c", "--no-check", t.name],
                                           capture_output=True).returncode != 0
        if fails and fails_nocheck:
            return bytes(bad)
    raise RuntimeError("no corrupting offset found")


# --------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------

def load_npy(data: bytes):
    return np.load(io.BytesIO(data), allow_pickle=False)


def read_fbin(data: bytes):
    rows, dim = struct.unpack("<ii", data[:8])
    if rows < 0 or dim < 0:
        raise ValueError(f"negative shape {rows}x{dim}")
    need = 8 + rows * dim * 4
    if len(data) != need:
        raise ValueError(f"size {len(data)} != {need}")
    return np.frombuffer(data[8:], dtype="<f4").reshape(rows, dim)


def read_any(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".zst"):
        data = zstd_decompress(data)
        path = path[:-4]
    if path.endswith(".npy"):
        return load_npy(data)
    if path.endswith(".fbin"):
        return read_fbin(data)
    raise ValueError(f"unsupported suffix: {path}")


def fails(fn) -> str:
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {str(e)[:70]}"
    raise AssertionError("expected a failure")


def verify():
    rows = []
    P = lambda rel: os.path.join(HERE, rel)

    def ok(rel, what):
        rows.append((rel, "ok", what))

    for letter, endian in (("le", "<"), ("be", ">")):
        for kind in ("f2", "f4", "f8"):
            for v in (1, 2, 3):
                rel = f"npy/M_{letter}_{kind}_v{v}.npy"
                with open(P(rel), "rb") as f:
                    raw = f.read()
                assert raw[6:8] == bytes([v, 0]), rel
                a = np.load(P(rel))
                assert a.dtype == np.dtype(endian + kind) and a.shape == (5, 3), rel
                assert np.array_equal(a.astype(np.float64), M), rel
                ok(rel, f"{a.dtype.str} v{v}.0 header {len(raw) - a.nbytes} B")

    for rel, dt in (("zst/M_le_f2.npy.zst", "<f2"), ("zst/M_le_f4_multiframe.npy.zst", "<f4")):
        a = read_any(P(rel))
        assert a.dtype == np.dtype(dt) and np.array_equal(a.astype(np.float64), M), rel
        assert zstd_cli_test(P(rel)), rel
        ok(rel, f"{dt} == M")
    with open(P("zst/M_le_f4_multiframe.npy.zst"), "rb") as f:
        assert f.read().count(b"\x28\xb5\x2f\xfd") == 3
    for rel in ("zst/M.fbin.zst", "fbin/M.fbin"):
        a = read_any(P(rel))
        assert np.array_equal(a.astype(np.float64), M), rel
        ok(rel, "5x3 <f4 == M")

    names = sorted(os.listdir(P("sharded")))
    shards = [n for n in names if n.endswith((".npy", ".npy.zst"))]
    natural = sorted(shards, key=lambda n: int(n.split("-")[1].split(".")[0]))
    got = np.concatenate([read_any(P("sharded/" + n)) for n in natural])
    lexi = np.concatenate([read_any(P("sharded/" + n)) for n in sorted(shards)])
    assert np.array_equal(got.astype(np.float64), M) and not np.array_equal(lexi.astype(np.float64), M)
    ok("sharded/", f"natural order {natural} == M; lexicographic != M; ignored: "
       f"{[n for n in names if n not in shards]}")

    with open(P("manifest/set.txt")) as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.strip().startswith("#")]
    got = np.concatenate([read_any(P("manifest/" + ln)) for ln in lines])
    assert np.array_equal(got.astype(np.float64), M)
    ok("manifest/set.txt", f"{lines} == M")

    for rel, want in (("pairs/pairs_i64.npy", ("<i8", [0, 0, 1, 2, 2, 2, 4])),
                      ("pairs/pairs_i32.npy", ("<i4", [0, 0, 1, 2, 2, 2, 4])),
                      ("pairs/pairs_out_of_range.npy", ("<i8", [0, 1, 5])),
                      ("pairs/pairs_2d.npy", ("<i8", [[0, 1], [2, 3]])),
                      ("pairs/pairs_f4.npy", ("<f4", [0, 0, 1, 2, 2, 2, 4]))):
        a = np.load(P(rel))
        assert a.dtype == np.dtype(want[0]) and a.tolist() == want[1], rel
        ok(rel, f"{a.dtype.str} {a.shape} {a.tolist()}")

    B = lambda n: P("bad/" + n)
    rows.append(("bad/bad_magic.npy", "error", fails(lambda: np.load(B("bad_magic.npy")))))
    rows.append(("bad/truncated.npy", "error", fails(lambda: np.load(B("truncated.npy")))))
    a = np.load(B("fortran.npy"))
    assert np.isfortran(a) and np.array_equal(a.astype(np.float64), M)
    rows.append(("bad/fortran.npy", "loads in numpy", "fortran_order True, values == M"))
    a = np.load(B("int32.npy"))
    assert a.dtype == np.dtype("<i4") and np.array_equal(a, M * 4)
    rows.append(("bad/int32.npy", "loads in numpy", "<i4 (5,3) == 4*M"))
    a = np.load(B("rank3.npy"))
    assert a.shape == (2, 2, 2) and a.dtype == np.dtype("<f4")
    a = np.load(B("rank1.npy"))
    assert a.shape == (4,) and a.dtype == np.dtype("<f4")
    rows.append(("bad/rank3.npy, rank1.npy", "loads in numpy", "shapes (2,2,2) and (4,)"))
    with open(B("huge_header.npy"), "rb") as f:
        f.read(8)
        hl = struct.unpack("<H", f.read(2))[0]
        hdr = f.read(hl).decode("latin1")
        rest = f.read()
    assert "(1000000000000, 768)" in hdr and len(rest) == 16 and (10 + hl) % 64 == 0
    rows.append(("bad/huge_header.npy", "error", fails(lambda: np.load(B("huge_header.npy")))))
    rows.append(("bad/header_too_long.npy", "error", fails(lambda: np.load(B("header_too_long.npy")))))
    for n, check in (("nan_row.npy", lambda a: np.isnan(a[2, 1]) and np.isfinite(np.delete(a.ravel(), 7)).all()),
                     ("inf_row.npy", lambda a: a[3, 0] == -np.inf and np.isfinite(np.delete(a.ravel(), 9)).all()),
                     ("zero_row.npy", lambda a: (a[4] == 0).all() and np.array_equal(a[:4], M[:4]))):
        a = np.load(B(n))
        assert a.dtype == np.dtype("<f4") and a.shape == (5, 3) and check(a), n
        rows.append(("bad/" + n, "loads in numpy", "see README"))
    assert not zstd_cli_test(B("corrupt.npy.zst"))
    rows.append(("bad/corrupt.npy.zst", "error", "zstd -t fails; " + fails(lambda: read_any(B("corrupt.npy.zst")))))
    assert not zstd_cli_test(B("truncated.npy.zst"))
    rows.append(("bad/truncated.npy.zst", "error", fails(lambda: read_any(B("truncated.npy.zst")))))
    rows.append(("bad/truncated.fbin", "error", fails(lambda: read_any(B("truncated.fbin")))))
    rows.append(("bad/negative.fbin", "error", fails(lambda: read_any(B("negative.fbin")))))
    shapes = [read_any(B("wrongdim/" + n)).shape for n in ("part-0.npy", "part-1.npy")]
    assert shapes == [(5, 3), (2, 4)]
    rows.append(("bad/wrongdim/", "error (D mismatch)", f"shard shapes {shapes}"))
    rows.append(("bad/unknown.bin", "error", fails(lambda: read_any(B("unknown.bin")))))
    a = np.load(B("dim4.npy"))
    assert a.shape == (2, 4) and np.array_equal(a, DIM4)
    rows.append(("bad/dim4.npy", "loads in numpy", f"(2,4) {a.tolist()}"))

    total = 0
    nfiles = 0
    for root, _, files in os.walk(HERE):
        for n in files:
            if n.endswith(".pyc"):
                continue
            total += os.path.getsize(os.path.join(root, n))
            nfiles += 1
    assert total < 200 * 1024, total
    return rows, nfiles, total


def main():
    make_all()
    rows, nfiles, total = verify()
    print("M =")
    print(M)
    w = max(len(r[0]) for r in rows)
    for rel, status, what in rows:
        print(f"{rel:<{w}}  {status:<18} {what}")
    print(f"{nfiles} files, {total} bytes in {HERE}")


if __name__ == "__main__":
    main()
