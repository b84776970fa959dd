/*
 * The C ABI of CrossSim: libCrossSimC.so (`swift build -c release --product CrossSimC
 * -Xswiftc -static-stdlib --scratch-path .build-python`: the Swift runtime linked in, so that
 * it needs only libzstd, the BLAS and the C/C++ runtime; its own scratch folder, since the
 * flag changes how every module is compiled).
 * The Python package in python/ loads it with ctypes; this header is the contract for any
 * other caller. No Swift type crosses it.
 *
 * Codes. Every function that can fail returns the command line's exit code
 * (docs/command-line.md): 0 success, 1 internal failure, 2 bad input, 130 interrupted. On a
 * failure `*error` (when `error` is not NULL) receives the message the command line prints
 * after "crosssim: error: " (2), "crosssim: internal error: " (1) or "crosssim: " (130),
 * e.g. "x1: row 3: NaN or infinite value"; free it with crosssim_string_free.
 *
 * Requests. Options are one JSON object; absent keys (or null) take the command line's
 * defaults:
 *   "similarity": "cosine" | "dot"          --similarity
 *   "tau": [0.05, ...]                      --tau (at least one)
 *   "siglip": [[scale, bias], ...]          --siglip SCALE:BIAS ...
 *   "k": [1, 5, 10]                         --k
 *   "top_k": K                              --top-k (lists: crosssim_result_neighbors)
 *   "uniformity": true | false              --uniformity
 *   "histogram": true | false               --histogram
 *   "tile": "1024x2048"                     --tile
 *   "threads": N                            --threads
 *   "plot": "F.svg"                         --plot (the summary page, written atomically)
 * crosssim_evaluate also takes
 *   "x1_dtype", "x2_dtype": "<f2"           the dtype the caller's values had before they
 *                                           became float32 (the report's inputs.x1.dtype;
 *                                           default "<f4")
 * crosssim_evaluate_files also takes
 *   "memory_limit": "8G"                    --memory-limit
 *   "part": "3/16"                          --part (needs "state"; no report)
 *   "state": "F.state"                      --state
 * Unknown keys and values of the wrong type are bad input (code 2).
 *
 * Threads. Calls may run at once on different threads, each with its own worker threads
 * (they share the cores); their reports are those of the same calls one by one. A running
 * call is watched and stopped through its run handle from another thread:
 * crosssim_run_cancel makes it return 130 at its next tile, having written nothing (a run
 * still reading its sets from disk stops once the reading is done).
 */
#ifndef CROSSSIM_H
#define CROSSSIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crosssim_run crosssim_run;
typedef struct crosssim_result crosssim_result;

/* 1; a caller built for another version refuses the library. */
int32_t crosssim_abi_version(void);

/* The OPENBLAS_CORETYPE that would serve this CPU better than the kernels OpenBLAS chose
 * when it was loaded, or NULL (free with crosssim_string_free). OpenBLAS reads the variable
 * only as it loads: a caller that gets a name loads the library again in a new process with
 * it set, as `crosssim` re-runs itself. */
char *crosssim_better_blas_core_type(void);

void crosssim_string_free(char *string);

/* Run handles: one per call, made before it, freed after it returns. */
crosssim_run *crosssim_run_new(void);
void crosssim_run_cancel(crosssim_run *run);                              /* any thread */
void crosssim_run_progress(crosssim_run *run, int64_t *done, int64_t *total); /* tiles */
void crosssim_run_free(crosssim_run *run);

/* x1 [x1_rows, dim] and x2 [x2_rows, dim], row-major float32, read in place (never written,
 * never copied unless cosine similarity must normalise rows that are not unit length); they
 * must stay valid until the call returns. pairs: NULL (row i with row i) or x2_rows entries,
 * x2 row j a positive of x1 row pairs[j]. run may be NULL. */
int32_t crosssim_evaluate(const float *x1, int64_t x1_rows, const float *x2, int64_t x2_rows, int64_t dim,
                          const int64_t *pairs, const char *request, crosssim_run *run,
                          crosssim_result **result, char **error);

/* Sets on disk as `crosssim eval X1 X2 [--pairs F]` reads them; pairs may be NULL. */
int32_t crosssim_evaluate_files(const char *x1, const char *x2, const char *pairs, const char *request,
                                crosssim_run *run, crosssim_result **result, char **error);

/* `crosssim merge PATHS...`; request may hold "plot". */
int32_t crosssim_merge(const char *const *paths, int64_t count, const char *request,
                       crosssim_result **result, char **error);

/* The report, byte for byte what --json writes (with its final newline); NULL for a part.
 * The summary `eval` prints; NULL for a part. The notes `eval` prints on stderr, as a JSON
 * array of strings. Each is valid while the result lives. */
const char *crosssim_result_json(crosssim_result *result);
const char *crosssim_result_summary(crosssim_result *result);
const char *crosssim_result_notes(crosssim_result *result);

/* Top-k lists of direction 0 (x1->x2, one per x1 row) or 1 (x2->x1, one per x2 row), as
 * --neighbors writes them: indices int64 and exact similarities rounded to float32, each
 * [queries, k] row-major, best first. _shape returns 2 when the run kept none. */
int32_t crosssim_result_neighbors_shape(crosssim_result *result, int32_t direction, int64_t *queries, int64_t *k);
int32_t crosssim_result_neighbors(crosssim_result *result, int32_t direction, int64_t queries, int64_t k,
                                  int64_t *indices, float *scores);

void crosssim_result_free(crosssim_result *result);

#ifdef __cplusplus
}
#endif

#endif
