"""Inputs: what is accepted without a copy, what is converted, and bad inputs refused with the
CLI's message as ValueError (InputError) — never a crash."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

import crosssim
from crosssim import _native
from conftest import pairs_of_sets, run_cli

X1, X2 = pairs_of_sets(64, 8, noise=0.5, seed=11)


class OnlyDLPack:
    """A tensor-like object that offers only the DLPack protocol (as torch tensors do)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __dlpack__(self, **kwargs):  # type: ignore[no-untyped-def]
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):  # type: ignore[no-untyped-def]
        return self.array.__dlpack_device__()


class OnlyArray:
    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __array__(self, dtype=None, copy=None):  # type: ignore[no-untyped-def]
        return self.array


def test_float32_c_contiguous_is_passed_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    original = _native.call

    def spy(function, *arguments, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(arguments[:3:2])
        return original(function, *arguments, **kwargs)

    monkeypatch.setattr(_native, "call", spy)
    crosssim.evaluate(X1, X2)
    crosssim.evaluate(OnlyDLPack(X1), OnlyArray(X2))
    assert seen == [(X1.ctypes.data, X2.ctypes.data)] * 2
    crosssim.evaluate(X1.astype(np.float64), np.asfortranarray(X2))
    assert seen[2][0] != X1.ctypes.data and seen[2][1] != X2.ctypes.data


def test_converted_inputs_give_the_same_figures() -> None:
    base = crosssim.evaluate(X1, X2)
    for x1, x2 in ((np.asfortranarray(X1), X2[::1]), (X1.astype(">f4"), X2), (OnlyDLPack(X1), OnlyArray(X2)),
                   (X1.tolist(), X2)):
        x1 = np.asarray(x1) if isinstance(x1, list) else x1
        assert crosssim.evaluate(x1, x2).infonce == base.infonce
    doubled = crosssim.evaluate(X1.astype(np.float64), X2.astype(np.float64))
    assert doubled.infonce == base.infonce and doubled.inputs.x1.dtype == "<f8"


def message(error: pytest.ExceptionInfo[BaseException]) -> str:
    return str(error.value)


def test_bad_inputs_raise_value_errors_with_the_cli_message(tmp_path: Path, cli: Path) -> None:
    bad = X1.copy()
    bad[5, 3] = np.nan
    with pytest.raises(ValueError) as error:
        crosssim.evaluate(bad, X2)
    np.save(tmp_path / "bad.npy", bad)
    np.save(tmp_path / "x2.npy", X2)
    cli_message = run_cli(cli, "eval", tmp_path / "bad.npy", tmp_path / "x2.npy", "--quiet", expect=2).stderr.strip()
    assert cli_message == f"crosssim: error: {tmp_path / 'bad.npy'}: row 5: NaN or infinite value"
    assert message(error) == "x1: row 5: NaN or infinite value"
    assert isinstance(error.value, crosssim.InputError) and error.value.code == 2

    zero = X2.copy()
    zero[7] = 0
    with pytest.raises(ValueError, match=r"^x2: row 7: zero vector: it has no direction"):
        crosssim.evaluate(X1, zero)
    with pytest.raises(ValueError, match=r"^dimension mismatch between sets: x1 has D = 8, x2 has D = 4$"):
        crosssim.evaluate(X1, X2[:, :4])
    with pytest.raises(ValueError, match=r"^N1 ≠ N2 \(64 and 63 rows\) without --pairs"):
        crosssim.evaluate(X1, X2[:63])
    with pytest.raises(ValueError, match=r"^x1: wrong rank: expected a 2-D array \[rows, dim\], found shape \(512,\)"):
        crosssim.evaluate(X1.ravel(), X2)
    with pytest.raises(ValueError, match=r"^x2: unsupported dtype '<i8': expected float16, float32 or float64"):
        crosssim.evaluate(X1, X2.astype(np.int64))
    with pytest.raises(ValueError, match=r"^x1: row 2: value 1e\+39 is beyond Float32's range"):
        big = X1.astype(np.float64)
        big[2, 1] = 1e39
        crosssim.evaluate(big, X2)
    with pytest.raises(ValueError, match=r"^empty set: x1 has 0 rows"):
        crosssim.evaluate(X1[:0], X2[:0])
    with pytest.raises(ValueError, match=r"^bad dimension 0: D must be ≥ 1"):
        crosssim.evaluate(X1[:, :0], X2[:, :0])
    with pytest.raises(TypeError, match="x1: expected a numpy array"):
        crosssim.evaluate(object(), X2)


def test_bad_options_and_pairs() -> None:
    with pytest.raises(ValueError, match=r"^bad temperature -0.1: τ must be > 0$"):
        crosssim.evaluate(X1, X2, tau=-0.1)
    with pytest.raises(ValueError, match=r"^options must be finite numbers"):
        crosssim.evaluate(X1, X2, tau=float("nan"))
    with pytest.raises(ValueError, match=r"^bad similarity 'euclid': expected cosine or dot$"):
        crosssim.evaluate(X1, X2, similarity="euclid")
    with pytest.raises(ValueError, match=r"^bad k 0: k must be ≥ 1$"):
        crosssim.evaluate(X1, X2, k=(0, 1))
    with pytest.raises(ValueError, match=r"^--top-k 100 exceeds the candidates"):
        crosssim.evaluate(X1, X2, top_k=100)
    with pytest.raises(ValueError, match=r"^bad --threads 0"):
        crosssim.evaluate(X1, X2, threads=0)
    with pytest.raises(ValueError, match=r"^bad tile '0x5'"):
        crosssim.evaluate(X1, X2, tile=(0, 5))
    with pytest.raises(ValueError, match=r"^bad SigLIP term 1e\+31:0.0: scale and bias must lie within ±1e30$"):
        crosssim.evaluate(X1, X2, siglip=[(1e31, 0)])
    with pytest.raises(ValueError, match=r"^pairs: row 3: pairs out of range: entry 3 is 64, but x1 has 64 rows$"):
        crosssim.evaluate(X1, X2, pairs=[0, 1, 2, 64] + list(range(4, 64)))
    with pytest.raises(ValueError, match=r"^pairs: pairs of length 3 for 64 rows do not fit x1 \(64\) and x2 \(64\)$"):
        crosssim.evaluate(X1, X2, pairs=[0, 1, 2])
    with pytest.raises(ValueError, match=r"^pairs: unsupported dtype '<f8'"):
        crosssim.evaluate(X1, X2, pairs=np.zeros(64))


def test_bad_files_and_outputs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        crosssim.evaluate_files(tmp_path / "missing.npy", tmp_path / "missing.npy")
    np.save(tmp_path / "x.npy", X1)
    with pytest.raises(ValueError, match=r"part 0/2 needs a state path"):
        crosssim.evaluate_files(tmp_path / "x.npy", tmp_path / "x.npy", part="0/2")
    with pytest.raises(ValueError, match=r"plot: the directory .* does not exist"):
        crosssim.evaluate(X1, X2, plot=tmp_path / "no" / "page.svg")
    with pytest.raises(ValueError, match=r"bad size 'lots'"):
        crosssim.evaluate_files(tmp_path / "x.npy", tmp_path / "x.npy", memory_limit="lots")


def test_the_abi_refuses_unknown_and_mistyped_options() -> None:
    lib = _native.library()
    for request, expected in ((b'{"tua": [0.05]}', "bad request: unknown option 'tua'"),
                              (b'{"uniformity": 1}', "bad option 'uniformity': expected true or false"),
                              (b'[1]', "bad request: expected a JSON object of options")):
        result, error = ctypes.c_void_p(), ctypes.c_void_p()
        code = lib.crosssim_evaluate(X1.ctypes.data, 64, X2.ctypes.data, 64, 8, None, request, None,
                                     ctypes.byref(result), ctypes.byref(error))
        assert code == 2 and not result.value
        assert ctypes.string_at(error.value).decode().startswith(expected)
        lib.crosssim_string_free(error)
