#!/usr/bin/env python3
"""Writes the hand-made regression inputs under Tests/Fixtures/fuzz/regressions/ (the files
FuzzRegressionTests reads) and, for the fuzz targets, the same inputs in the targets' own
layout as seeds: Tests/Fixtures/fuzz/<target>/regression-<name>.

    python3 Tests/Fixtures/fuzz/make_regressions.py

Needs the `zstd` CLI and the state seeds that make_seeds.py wrote. The inputs that the fuzzer
itself found are kept as it found them (see regressions/README.md) and are not touched here.
"""
import json
import os
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "regressions")
MAGIC = b"crosssim.state\n\0"


def zstd(data):
    return subprocess.run(["zstd", "-3", "-c", "-q", "--content-size"], input=data, check=True,
                          capture_output=True).stdout


def unzstd(data):
    return subprocess.run(["zstd", "-d", "-c", "-q"], input=data, check=True, capture_output=True).stdout


def npy_header(descr, shape):
    dims = ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "")
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    d += " " * ((64 - (10 + len(d) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()


def state_split(payload):
    """(prefix up to the header length, header dict, body) of a decompressed state."""
    assert payload[:16] == MAGIC
    n = struct.unpack("<I", payload[20:24])[0]
    return payload[:20], json.loads(payload[24:24 + n]), bytearray(payload[24 + n:])


def state_join(prefix, header, body):
    j = json.dumps(header, separators=(",", ":")).encode()
    return prefix + struct.pack("<I", len(j)) + j + bytes(body)


def section_sizes(header):
    """Bytes of each section's content, by name, for a part of this header's shape."""
    o, n2 = header["options"], header["x2Rows"]
    rows = header["rowsUpper"] - header["rowsLower"]
    bins, k = o.get("histogramBins") or 0, o.get("topK") or 0
    return {"ranks": 4 * (rows + n2) + 16, "infonce": 16 * len(o["temperatures"]) * (rows + n2),
            "siglip": 8 * len(o["siglip"]), "histogram": 16 + 16 * bins, "top_k": 12 * k * (rows + n2), "best_negative": 12 * (rows + n2),
            "hard_negatives": (12 * sum((o.get("hardNegatives") or {}).get(key) or 0 for key in ("rangeMin", "count")) + 4) * (rows + n2),
            "hubness": 12 * (o.get("hubnessK") or 10) * (rows + n2), "geometry": 16 * header["inputs"]["x1"]["dim"] * (header["inputs"]["x1"]["dim"] + 1), "uniformity": 32}


def section_offset(header, body, wanted):
    """Where section `wanted`'s content starts in a state's body (after the positives and the
    sum over all cells, each section is its name's length, its name, then its content)."""
    n2 = header["x2Rows"]
    at, sizes = 12 * n2 + 16, section_sizes(header)
    while True:
        length = struct.unpack("<I", body[at:at + 4])[0]
        name = bytes(body[at + 4:at + 4 + length]).decode()
        at += 4 + length
        if name == wanted:
            return at
        at += sizes[name]


def section(name, content):
    return struct.pack("<I", len(name)) + name.encode() + content


def seed_state(name):
    """A state seed without its mode byte (mode 1: one decompressed payload; 3: two)."""
    with open(os.path.join(HERE, "state", name), "rb") as f:
        data = f.read()
    assert data[0] in (1, 3), name
    return data[1:]


def main():
    files = {}   # regressions/<path> -> bytes
    seeds = {}   # <target>/regression-<name> -> bytes

    # .npy: header bytes + data bytes overflow Int (the header alone passed the size check).
    files["npy/header-plus-data-overflow.npy"] = npy_header("<f2", [1, 4611686018427387903])
    # .npy: no rows, D = 2^62: nothing bounded D, and `inspect` multiplied it.
    files["npy/empty-huge-dim.npy"] = npy_header("<f4", [0, 4611686018427387904])
    # .npy.zst: two frames that declare 2^63 bytes each: the size bound overflowed.
    frame = b"\x28\xb5\x2f\xfd\xe0" + struct.pack("<Q", 1 << 63) + b"\x01\x00\x00"
    files["zstd/declared-size-overflow.npy.zst"] = frame + frame

    everything = seed_state("inner_everything")   # 6 x 6, 2 taus, top-k 2, histogram, uniformity, best negatives
    prefix, header, body = state_split(everything)

    def state(name, h=None, b=None, raw=None):
        data = raw if raw is not None else state_join(prefix, h if h is not None else header, b if b is not None else body)
        files[f"state/{name}.state"] = zstd(data)

    h = json.loads(json.dumps(header))
    h.update(x1Rows=2147483646, x2Rows=2147483646, rowsUpper=2147483646)
    h["options"]["topK"] = 2147483646
    state("promised-size-overflow", h)                      # 8·k·(rows + n2) overflowed Int
    h = json.loads(json.dumps(header))
    h["part"] = {"count": 1 << 62, "index": 0}
    state("part-count-huge", h)                             # merge counted 2^62 missing parts
    h = json.loads(json.dumps(header))
    h["options"]["recallAt"] = [-1, 1]
    state("recall-at-negative", h)                          # 0..<k with k = -1 in the report
    b = bytearray(body)
    top = section_offset(header, b, "top_k") + 8 * 6 * 2   # the rows' indices, after their binary64 scores
    b[top:top + 4] = struct.pack("<i", 0x7FFF0000)
    state("top-k-index-out-of-range", b=b)                  # the report indexed pairs with it
    n = 6
    b = bytearray(body)
    b[4 * n:4 * n + 8] = struct.pack("<d", float("nan"))
    state("nan-similarity", b=b)                            # a NaN reached the JSON writer
    # x1 = 2^31 - 2 rows, as part 0 of as many parts: ~40 GB of per-row tables for 1 row.
    h = {key: header[key] for key in ("engine", "inputs")}
    h.update(part={"count": 2147483646, "index": 0}, x1Rows=2147483646, x2Rows=1, rowsLower=0, rowsUpper=1,
             options={"similarity": "cosine", "temperatures": [0.05], "siglip": [], "recallAt": [1], "uniformity": False})
    one = struct.pack("<i", 0) + struct.pack("<d", 1.0) + struct.pack("<dd", 0.0, 1.0) \
        + section("ranks", struct.pack("<iidd", 0, 0, 1.0, 1.0)) + section("infonce", struct.pack("<dddd", 20.0, 1.0, 20.0, 1.0)) \
        + MAGIC
    state("x1-rows-huge", raw=state_join(prefix, h, one))

    # Two parts of one run (0/2 and 1/2 of 6 rows, top-k 2, histogram).
    two = seed_state("inner_two_parts")
    split = struct.unpack("<H", two[:2])[0]
    parts = [two[2:2 + split], two[2 + split:]]

    def pair(name, edit):
        out = []
        for i, p in enumerate(parts):
            pre, h, b = state_split(p)
            h, b = edit(i, h, b)
            out.append(state_join(pre, h, b))
        for i, data in enumerate(out):
            files[f"state/{name}/part-{i}.state"] = zstd(data)

    def beaten(i, h, b):
        offset = section_offset(h, b, "ranks") + 4 * 3   # column ranks of a 3-row part
        b[offset:offset + 24] = struct.pack("<6i", *[0x7FFFFFFF] * 6)
        return h, b
    pair("column-ranks-overflow", beaten)                   # Int32 sum trapped in the merge

    def ranges(i, h, b):
        if i == 1:
            offset = section_offset(h, b, "histogram")
            b[offset:offset + 8] = struct.pack("<d", -0.5)
        return h, b
    pair("histogram-ranges-differ", ranges)                 # Histogram + precondition

    def counts(i, h, b):
        offset = section_offset(h, b, "histogram") + 16   # the first positive count
        b[offset:offset + 8] = struct.pack("<Q", 1 << 63)
        return h, b
    pair("histogram-count-overflow", counts)                # Int(UInt64) and the UInt64 sum trapped

    for path, data in files.items():
        full = os.path.join(OUT, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        target, rest = path.split("/", 1)
        name = rest.replace("/", "-")
        if "/" in rest:   # the parts of a merge: one seed of the state target's two-file layout
            case = rest.split("/")[0]
            if rest.endswith("part-0.state"):
                a, b = files[f"{target}/{case}/part-0.state"], files[f"{target}/{case}/part-1.state"]
                seeds[f"state/regression-{case}"] = b"\x02" + struct.pack("<H", len(a)) + a + b
            continue
        seeds[f"{target}/regression-{name}"] = (b"\x00" if target in ("zstd", "state") else b"") + data
        print(path, len(data))
    for path, data in seeds.items():
        with open(os.path.join(HERE, path), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
