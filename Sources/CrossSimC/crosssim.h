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
 * defaults. An evaluation (crosssim_evaluate, crosssim_evaluate_files) takes
 *   "similarity": "cosine" | "dot"          --similarity
 *   "tau": [0.05, ...]                      --tau (at least one)
 *   "siglip": [[scale, bias], ...]          --siglip SCALE:BIAS ...
 *   "k": [1, 5, 10]                         --k
 *   "top_k": K                              --top-k (lists: crosssim_result_neighbors)
 *   "queries_only": true | false            --queries-only (with top_k; no tau, k or pairs)
 *   "hard_negatives": K                     --hard-negatives (crosssim_result_hard_negatives)
 *   "margin", "relative_margin": M          --margin, --relative-margin (with hard_negatives)
 *   "range_min", "range_max": A             --range-min, --range-max (with hard_negatives)
 *   "per_query": "DIR"                      --per-query DIR (the .npy files; the report names
 *                                           DIR; columns: crosssim_result_per_query)
 *   "keep_per_query": true | false          --keep-per-query (the columns without files; a
 *                                           part keeps them in its state for the merge)
 *   "health": true | false                  --health
 *   "hubness_k": K                          --hubness-k (with health)
 *   "uniformity": true | false              --uniformity
 *   "histogram": true | false               --histogram
 *   "tile": "1024x2048"                     --tile
 *   "threads": N                            --threads
 *   "plot": "F.svg"                         --plot (the summary page, written atomically)
 * crosssim_evaluate also takes
 *   "x1_dtype", "x2_dtype": "<f2"           the dtype the caller's values had before they
 *                                           became float32 (the report's inputs.x1.dtype;
 *                                           default "<f4"); so does crosssim_gradient
 * crosssim_evaluate_files also takes
 *   "memory_limit": "8G"                    --memory-limit
 *   "part": "3/16"                          --part (needs "state"; no report)
 *   "state": "F.state"                      --state
 * crosssim_merge takes "plot", "per_query" and "keep_per_query".
 * crosssim_compare and crosssim_compare_reports take
 *   "bootstrap": B, "confidence": C, "seed": S, "tolerance": X, "plot": "F.svg"
 *                                           --bootstrap, --confidence, --seed, --tolerance,
 *                                           --plot
 *   "threads": N                            worker threads (the result does not depend on them)
 * crosssim_dedup and crosssim_dedup_files take
 *   "threshold": T                          --threshold (required)
 *   "out": "DIR"                            --out (required: the pairs go to disk as found)
 *   "similarity", "max_pairs": P, "tile", "threads"   --similarity, --max-pairs, --tile, --threads
 * and crosssim_dedup_files also
 *   "memory_limit": "8G"                    --memory-limit (SET's rows in panels, columns streamed)
 * crosssim_gradient takes the loss, one of
 *   "tau": T                                --tau (the symmetric InfoNCE)
 *   "siglip": [scale, bias]                 --siglip SCALE:BIAS
 * and "similarity", "tile", "threads", "x1_dtype", "x2_dtype".
 * Unknown keys and values of the wrong type are bad input (code 2).
 *
 * Threads. Calls may run at once on different threads, each with its own worker threads
 * (they share the cores); their reports are those of the same calls one by one. A running
 * call is watched and stopped through its run handle from another thread:
 * crosssim_run_cancel makes it return 130 at its next tile, having written nothing (a run
 * still reading its sets from disk stops once the reading is done). crosssim_merge and the
 * compare functions take no run handle: they run to their end.
 */
#ifndef CROSSSIM_H
#define CROSSSIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crosssim_run crosssim_run;
typedef struct crosssim_result crosssim_result;

/* 2; a caller built for another version refuses the library. */
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

/* `crosssim merge PATHS...`; request may hold "plot", "per_query" and "keep_per_query". */
int32_t crosssim_merge(const char *const *paths, int64_t count, const char *request,
                       crosssim_result **result, char **error);

/* `crosssim compare BASE NEW` of two report files: the result's JSON is compare's --json
 * (schema crosssim.compare/1), its summary the table compare prints. Not cancellable. */
int32_t crosssim_compare(const char *base_path, const char *new_path, const char *request,
                         crosssim_result **result, char **error);

/* The same of two reports given as their text, each with its per-query columns in memory in
 * place of the files of its per_query.path: rank[d] of direction d (0: N1 queries, 1: N2) and
 * infonce[d] (queries x T, the report's temperatures), as crosssim_result_per_query gives
 * them. The reports are named "base" and "new". */
int32_t crosssim_compare_reports(const char *base_json, const int64_t *const base_rank[2],
                                 const double *const base_infonce[2], const char *new_json,
                                 const int64_t *const new_rank[2], const double *const new_infonce[2],
                                 const char *request, crosssim_result **result, char **error);

/* `crosssim dedup` of x [rows, dim] in memory, read in place (never written), within itself,
 * or against another matrix [against_rows, dim] (NULL: within x). The files go to the
 * request's "out" as --out writes them (docs/dedup.md); the result holds the summary line. */
int32_t crosssim_dedup(const float *x, int64_t rows, const float *against, int64_t against_rows, int64_t dim,
                       const char *request, crosssim_run *run, crosssim_result **result, char **error);

/* `crosssim dedup SET [--against OTHER]` of sets on disk; against may be NULL. */
int32_t crosssim_dedup_files(const char *set, const char *against, const char *request, crosssim_run *run,
                             crosssim_result **result, char **error);

/* `crosssim grad` of x1 and x2 in memory (read in place; pairs as for crosssim_evaluate): the
 * gradients dL/dx1 [x1_rows, dim] and dL/dx2 [x2_rows, dim] into the caller's row-major
 * buffers dx1 and dx2 (overwritten; undefined when the call fails). The result's JSON is the
 * evaluation's report (grad's report.json), which holds the loss. */
int32_t crosssim_gradient(const float *x1, int64_t x1_rows, const float *x2, int64_t x2_rows, int64_t dim,
                          const int64_t *pairs, const char *request, float *dx1, float *dx2, crosssim_run *run,
                          crosssim_result **result, char **error);

/* The JSON (a report, byte for byte what --json writes, with its final newline; compare's
 * JSON), NULL for a part and for dedup. The summary the command line prints; NULL for a part.
 * The notes it prints on stderr, as a JSON array of strings. Each is valid while the result
 * lives. */
const char *crosssim_result_json(crosssim_result *result);
const char *crosssim_result_summary(crosssim_result *result);
const char *crosssim_result_notes(crosssim_result *result);

/* Top-k lists of direction 0 (x1->x2, one per x1 row) or 1 (x2->x1, one per x2 row), as
 * --neighbors writes them: indices int64 and exact similarities rounded to float32, each
 * [queries, k] row-major, best first. _shape returns 2 when the run kept none (and for
 * direction 1 under queries_only). */
int32_t crosssim_result_neighbors_shape(crosssim_result *result, int32_t direction, int64_t *queries, int64_t *k);
int32_t crosssim_result_neighbors(crosssim_result *result, int32_t direction, int64_t queries, int64_t k,
                                  int64_t *indices, float *scores);

/* Hard negatives of a direction, the same way (-1 and NaN where a query has fewer than k). */
int32_t crosssim_result_hard_negatives_shape(crosssim_result *result, int32_t direction, int64_t *queries, int64_t *k);
int32_t crosssim_result_hard_negatives(crosssim_result *result, int32_t direction, int64_t queries, int64_t k,
                                       int64_t *indices, float *scores);

/* Per-query columns of a direction, as --per-query DIR writes them (docs/report.md): rank
 * int64, best_positive and best_negative float32, best_negative_index int64, each [queries],
 * and infonce float64 [queries, temperatures]. _shape returns 2 when the run kept none. */
int32_t crosssim_result_per_query_shape(crosssim_result *result, int32_t direction, int64_t *queries,
                                        int64_t *temperatures);
int32_t crosssim_result_per_query(crosssim_result *result, int32_t direction, int64_t queries, int64_t temperatures,
                                  int64_t *rank, float *best_positive, float *best_negative,
                                  int64_t *best_negative_index, double *infonce);

void crosssim_result_free(crosssim_result *result);

#ifdef __cplusplus
}
#endif

#endif
