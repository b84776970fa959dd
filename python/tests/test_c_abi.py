"""The C header (Sources/CrossSimC/crosssim.h) matches the library: a C program built against
it evaluates two small matrices, reads the top-k lists and per-query columns, computes a
gradient, and gets a bad input's code and message."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from crosssim import _native
from conftest import REPOSITORY

PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "crosssim.h"

int main(void) {
    float x1[4 * 3] = {1, 0, 0,  0, 1, 0,  0, 0, 1,  1, 1, 0};
    float x2[4 * 3] = {1, 0.1f, 0,  0, 1, 0.1f,  0.1f, 0, 1,  1, 1, 0.1f};
    crosssim_result *result = NULL;
    char *error = NULL;
    if (crosssim_abi_version() != 2) return 10;
    crosssim_run *run = crosssim_run_new();
    int32_t code = crosssim_evaluate(x1, 4, x2, 4, 3, NULL, "{\"top_k\": 2, \"k\": [1], \"keep_per_query\": true}", run,
                                     &result, &error);
    int64_t done = 0, total = 0;
    crosssim_run_progress(run, &done, &total);
    crosssim_run_free(run);
    if (code != 0) { printf("failed %d %s\n", code, error); return 11; }
    int64_t queries = 0, k = 0;
    if (crosssim_result_neighbors_shape(result, 0, &queries, &k) != 0 || queries != 4 || k != 2) return 12;
    int64_t indices[8];
    float scores[8];
    if (crosssim_result_neighbors(result, 0, queries, k, indices, scores) != 0) return 13;
    const char *json = crosssim_result_json(result);
    printf("tiles %lld/%lld first %lld schema %d\n", (long long)done, (long long)total, (long long)indices[0],
           strstr(json, "\"schema\": \"crosssim.report/1\"") != NULL);
    int64_t temperatures = 0, rank[4], negative_index[4];
    float positive[4], negative[4];
    double infonce[4];
    if (crosssim_result_per_query_shape(result, 1, &queries, &temperatures) != 0 || queries != 4 || temperatures != 1) return 14;
    if (crosssim_result_per_query(result, 1, 4, 1, rank, positive, negative, negative_index, infonce) != 0) return 15;
    printf("ranks %lld %lld %lld %lld\n", (long long)rank[0], (long long)rank[1], (long long)rank[2], (long long)rank[3]);
    crosssim_result_free(result);
    float dx1[4 * 3], dx2[4 * 3];
    code = crosssim_gradient(x1, 4, x2, 4, 3, NULL, "{\"tau\": 0.1}", dx1, dx2, NULL, &result, &error);
    if (code != 0) { printf("failed %d %s\n", code, error); return 16; }
    printf("gradient %d\n", dx1[0] == dx1[0] && dx2[11] == dx2[11] && strstr(crosssim_result_json(result), "\"infonce\"") != NULL);
    crosssim_result_free(result);
    x1[5] = 0.0f / 0.0f;
    code = crosssim_evaluate(x1, 4, x2, 4, 3, NULL, "{}", NULL, &result, &error);
    printf("code %d: %s\n", code, error);
    crosssim_string_free(error);
    return 0;
}
"""


def test_a_c_program_uses_the_header(tmp_path: Path) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.fail("no C compiler (cc or gcc) to build the ABI test with")
    library = _native.library_path()
    (tmp_path / "main.c").write_text(PROGRAM)
    subprocess.run([compiler, "-std=c99", "-Wall", "-Werror", "-I", str(REPOSITORY / "Sources" / "CrossSimC"),
                    str(tmp_path / "main.c"), str(library), f"-Wl,-rpath,{library.parent}", "-o", str(tmp_path / "main")],
                   check=True)
    process = subprocess.run([str(tmp_path / "main")], capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stdout + process.stderr
    assert process.stdout.splitlines() == ["tiles 1/1 first 0 schema 1", "ranks 1 1 1 1", "gradient 1",
                                           "code 2: x1: row 1: NaN or infinite value"]
