// The C ABI of CrossSim (Sources/CrossSimC/crosssim.h): plain C types only, no Swift type crosses it.
// Every function that can fail returns a code — 0 success, 1 internal failure, 2 bad input,
// 130 interrupted, the command line's exit codes (docs/command-line.md) — and, through
// `error`, the message the command line prints for it after "crosssim: error: ",
// "crosssim: internal error: " or "crosssim: ", which the caller frees with
// `crosssim_string_free`.
import CrossSim
import CrossSimPlot
import Foundation

// MARK: - Codes and messages

private let codeSuccess: Int32 = 0
private let codeInternal: Int32 = 1
private let codeInput: Int32 = 2
private let codeInterrupted: Int32 = 130

/// Runs `body`, maps what it throws to a code and the command line's message (without the
/// prefix that the code tells).
private func guarded(_ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ body: () throws -> Void) -> Int32 {
    func fail(_ code: Int32, _ message: String) -> Int32 {
        error?.pointee = strdup(message)
        return code
    }
    do {
        try body()
        return codeSuccess
    } catch let e as InputError {
        return fail(codeInput, "\(e)")
    } catch let e as InterruptedError {
        return fail(codeInterrupted, "\(e)")
    } catch let e as InternalError {
        return fail(codeInternal, "\(e)")
    } catch {
        return fail(codeInternal, "\(error)")
    }
}

/// Frees a string this library returned (an error message).
@_cdecl("crosssim_string_free")
public func crosssim_string_free(_ string: UnsafeMutablePointer<CChar>?) {
    free(string)
}

/// The version of this ABI: 2. It changes whenever a function's meaning or signature does; a
/// caller built for another version refuses to load the library.
@_cdecl("crosssim_abi_version")
public func crosssim_abi_version() -> Int32 { 2 }

/// The `OPENBLAS_CORETYPE` that would serve this CPU better than the BLAS kernels chosen
/// when the library was loaded (see `BLAS.betterCoreType`), or NULL. OpenBLAS reads the
/// variable only when it is loaded, so a caller that gets a name loads the library again, in
/// a new process, with the variable set (as the command line re-runs itself). The string
/// is the caller's to free with `crosssim_string_free`.
@_cdecl("crosssim_better_blas_core_type")
public func crosssim_better_blas_core_type() -> UnsafeMutablePointer<CChar>? {
    BLAS.betterCoreType(environment: ProcessInfo.processInfo.environment).map { strdup($0) }
}

// MARK: - Run control: cancellation and progress

/// Cancellation and progress of one call, shared with the thread that watches it.
final class RunHandle {
    let cancellation = CancellationFlag()
    let progress = ProgressCounter()
    var control: RunControl { RunControl(progress: progress, cancellation: cancellation) }
}

/// A new run handle, for one evaluation; free it with `crosssim_run_free` after the call returns.
@_cdecl("crosssim_run_new")
public func crosssim_run_new() -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(RunHandle()).toOpaque())
}

/// Asks the run to stop at its next tile; safe from any thread. The call then returns 130.
@_cdecl("crosssim_run_cancel")
public func crosssim_run_cancel(_ run: OpaquePointer) {
    Unmanaged<RunHandle>.fromOpaque(UnsafeRawPointer(run)).takeUnretainedValue().cancellation.cancel()
}

/// Tiles done so far and the run's total (0 until the run has planned its tiles); safe from
/// any thread.
@_cdecl("crosssim_run_progress")
public func crosssim_run_progress(_ run: OpaquePointer, _ done: UnsafeMutablePointer<Int64>, _ total: UnsafeMutablePointer<Int64>) {
    let handle = Unmanaged<RunHandle>.fromOpaque(UnsafeRawPointer(run)).takeUnretainedValue()
    done.pointee = Int64(handle.progress.completed)
    total.pointee = Int64(handle.progress.expected)
}

@_cdecl("crosssim_run_free")
public func crosssim_run_free(_ run: OpaquePointer?) {
    guard let run else { return }
    Unmanaged<RunHandle>.fromOpaque(UnsafeRawPointer(run)).release()
}

// MARK: - Results

/// Candidate lists of one direction, [queries, k] row-major, best first, as `--neighbors`
/// writes them: indices and exact similarities rounded to Float32.
struct CandidateLists {
    let queries: Int
    let k: Int
    let indices: [Int64]
    let scores: [Float]

    /// Top-k lists (full: K is at most the candidates).
    init(_ lists: TopKLists) {
        queries = lists.count
        k = lists.k
        indices = lists.indices.map { Int64($0) }
        scores = lists.scores.map { Float($0) }
    }

    /// Hard negatives, −1 and NaN where a query has fewer than k.
    init(queries: Int, k: Int, selected: (scores: [Double], indices: [Int64])) {
        self.queries = queries
        self.k = k
        indices = selected.indices
        scores = selected.scores.map { $0 == -.infinity ? .nan : Float($0) }
    }

    /// Copies the lists into the caller's [queries, k] buffers; false when the shape given is
    /// not theirs.
    func copy(queries: Int64, k: Int64, indices: UnsafeMutablePointer<Int64>, scores: UnsafeMutablePointer<Float>) -> Bool {
        guard queries == Int64(self.queries), k == Int64(self.k) else { return false }
        indices.update(from: self.indices, count: self.indices.count)
        scores.update(from: self.scores, count: self.scores.count)
        return true
    }
}

/// What a call returns: its JSON (a report, absent for a part; or a comparison), the summary
/// the command line prints and its notes, and the arrays an evaluation kept when asked for.
final class CallResult {
    /// The text the command line's `--json` writes, NUL-terminated.
    let json: [CChar]?
    let summary: [CChar]?
    /// A JSON array of strings: why something asked for is not in the report.
    let notes: [CChar]
    /// Per direction (x1→x2, x2→x1): top-k lists and hard negatives; x2→x1 absent under
    /// queries-only, whose x2 rows ask nothing.
    var neighbors: [CandidateLists?] = [nil, nil]
    var hardNegatives: [CandidateLists?] = [nil, nil]
    var perQuery: PerQuery?

    init(json: JSONValue?, summary: String?, notes: [String]) throws {
        if let json {
            guard json.isFinite else { throw InternalError("the result holds a number that is not finite; nothing was written") }
            self.json = Array((json.rendered() + "\n").utf8CString)
        } else {
            self.json = nil
        }
        self.summary = summary.map { Array($0.utf8CString) }
        let data = try JSONSerialization.data(withJSONObject: notes)
        self.notes = Array((String(data: data, encoding: .utf8) ?? "[]").utf8CString)
    }

    /// An evaluation's result: its report (nil for a part), the lists its state kept, and its
    /// per-query columns.
    convenience init(report: Report?, state: PartialState?, options: EvaluationOptions, perQuery: PerQuery? = nil) throws {
        try self.init(json: report?.json, summary: report?.summary, notes: report?.notes ?? [])
        self.perQuery = perQuery
        guard let state, report != nil else { return }
        if let lists = state[NearestNeighbors.self] {
            neighbors = [CandidateLists(lists.rows), options.queriesOnly ? nil : CandidateLists(lists.columns)]
        }
        if let hard = state[HardNegatives.self], let rule = options.hardNegatives {
            let selected = hard.selected(rule)
            hardNegatives = [CandidateLists(queries: state.x1Rows, k: rule.count, selected: selected.x1ToX2),
                             CandidateLists(queries: state.x2Rows, k: rule.count, selected: selected.x2ToX1)]
        }
    }
}

private func result(_ pointer: OpaquePointer) -> CallResult {
    Unmanaged<CallResult>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

/// The JSON, byte for byte what the command line's `--json` writes (`eval`, `merge`, `grad`'s
/// report.json, `compare`); NULL for a part and for dedup. Valid while the result lives.
@_cdecl("crosssim_result_json")
public func crosssim_result_json(_ pointer: OpaquePointer) -> UnsafePointer<CChar>? {
    result(pointer).json?.withUnsafeBufferPointer { $0.baseAddress }
}

/// The summary the command line prints on stdout; NULL for a part. Valid while the result lives.
@_cdecl("crosssim_result_summary")
public func crosssim_result_summary(_ pointer: OpaquePointer) -> UnsafePointer<CChar>? {
    result(pointer).summary?.withUnsafeBufferPointer { $0.baseAddress }
}

/// A JSON array of the notes the command line prints on stderr. Valid while the result lives.
@_cdecl("crosssim_result_notes")
public func crosssim_result_notes(_ pointer: OpaquePointer) -> UnsafePointer<CChar> {
    result(pointer).notes.withUnsafeBufferPointer { $0.baseAddress! }
}

/// The lists of `direction` (0: x1→x2, one list per x1 row; 1: x2→x1) in `lists`, or nil.
private func lists(_ lists: [CandidateLists?], _ direction: Int32) -> CandidateLists? {
    (0...1).contains(direction) ? lists[Int(direction)] : nil
}

private func shape(_ lists: CandidateLists?, _ queries: UnsafeMutablePointer<Int64>, _ k: UnsafeMutablePointer<Int64>) -> Int32 {
    guard let lists else { return codeInput }
    queries.pointee = Int64(lists.queries)
    k.pointee = Int64(lists.k)
    return codeSuccess
}

/// The shape of the top-k lists of `direction` (0: x1→x2, one list per x1 row; 1: x2→x1):
/// returns 0 and sets `queries` and `k`, or 2 when the run kept no such lists (no top-k, a
/// part, or x2→x1 under queries-only).
@_cdecl("crosssim_result_neighbors_shape")
public func crosssim_result_neighbors_shape(_ pointer: OpaquePointer, _ direction: Int32,
                                            _ queries: UnsafeMutablePointer<Int64>, _ k: UnsafeMutablePointer<Int64>) -> Int32 {
    shape(lists(result(pointer).neighbors, direction), queries, k)
}

/// Copies the top-k lists of `direction` into the caller's row-major [queries, k] buffers, as
/// `--neighbors` writes them: candidate indices (int64) and their exact similarities rounded to
/// float32, best first. Returns 2 when the shape given is not the lists'.
@_cdecl("crosssim_result_neighbors")
public func crosssim_result_neighbors(_ pointer: OpaquePointer, _ direction: Int32, _ queries: Int64, _ k: Int64,
                                      _ indices: UnsafeMutablePointer<Int64>, _ scores: UnsafeMutablePointer<Float>) -> Int32 {
    lists(result(pointer).neighbors, direction)?.copy(queries: queries, k: k, indices: indices, scores: scores) == true
        ? codeSuccess : codeInput
}

/// The shape of the hard negatives of `direction`, as `crosssim_result_neighbors_shape`; 2
/// when the run mined none.
@_cdecl("crosssim_result_hard_negatives_shape")
public func crosssim_result_hard_negatives_shape(_ pointer: OpaquePointer, _ direction: Int32,
                                                 _ queries: UnsafeMutablePointer<Int64>, _ k: UnsafeMutablePointer<Int64>) -> Int32 {
    shape(lists(result(pointer).hardNegatives, direction), queries, k)
}

/// Copies the hard negatives of `direction` into the caller's [queries, k] buffers, as
/// `--hard-negatives K --neighbors DIR` writes them: −1 and NaN where a query has fewer than K.
@_cdecl("crosssim_result_hard_negatives")
public func crosssim_result_hard_negatives(_ pointer: OpaquePointer, _ direction: Int32, _ queries: Int64, _ k: Int64,
                                           _ indices: UnsafeMutablePointer<Int64>, _ scores: UnsafeMutablePointer<Float>) -> Int32 {
    lists(result(pointer).hardNegatives, direction)?.copy(queries: queries, k: k, indices: indices, scores: scores) == true
        ? codeSuccess : codeInput
}

private func perQueryDirection(_ pointer: OpaquePointer, _ direction: Int32) -> (PerQuery, PerQuery.Direction)? {
    guard let columns = result(pointer).perQuery, (0...1).contains(direction) else { return nil }
    return (columns, direction == 0 ? columns.x1ToX2 : columns.x2ToX1)
}

/// The shape of the per-query columns of `direction`: `queries` rows, `temperatures` InfoNCE
/// terms each. Returns 2 when the run kept none (no "per_query" or "keep_per_query", or a part).
@_cdecl("crosssim_result_per_query_shape")
public func crosssim_result_per_query_shape(_ pointer: OpaquePointer, _ direction: Int32,
                                            _ queries: UnsafeMutablePointer<Int64>, _ temperatures: UnsafeMutablePointer<Int64>) -> Int32 {
    guard let (columns, d) = perQueryDirection(pointer, direction) else { return codeInput }
    queries.pointee = Int64(d.rank.count)
    temperatures.pointee = Int64(columns.temperatures.count)
    return codeSuccess
}

/// Copies the per-query columns of `direction` into the caller's buffers, as `--per-query DIR`
/// writes them (docs/report.md): rank int64 [queries], best_positive and best_negative float32
/// [queries], best_negative_index int64 [queries], infonce float64 [queries, temperatures].
/// Returns 2 when the shape given is not the columns'.
@_cdecl("crosssim_result_per_query")
public func crosssim_result_per_query(_ pointer: OpaquePointer, _ direction: Int32, _ queries: Int64, _ temperatures: Int64,
                                      _ rank: UnsafeMutablePointer<Int64>, _ bestPositive: UnsafeMutablePointer<Float>,
                                      _ bestNegative: UnsafeMutablePointer<Float>, _ bestNegativeIndex: UnsafeMutablePointer<Int64>,
                                      _ infonce: UnsafeMutablePointer<Double>) -> Int32 {
    guard let (columns, d) = perQueryDirection(pointer, direction), queries == Int64(d.rank.count),
          temperatures == Int64(columns.temperatures.count)
    else { return codeInput }
    rank.update(from: d.rank, count: d.rank.count)
    bestPositive.update(from: d.bestPositive, count: d.bestPositive.count)
    bestNegative.update(from: d.bestNegative, count: d.bestNegative.count)
    bestNegativeIndex.update(from: d.bestNegativeIndex, count: d.bestNegativeIndex.count)
    infonce.update(from: d.infonce, count: d.infonce.count)
    return codeSuccess
}

@_cdecl("crosssim_result_free")
public func crosssim_result_free(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Unmanaged<CallResult>.fromOpaque(UnsafeRawPointer(pointer)).release()
}

private func hand(_ value: CallResult, to out: UnsafeMutablePointer<OpaquePointer?>) {
    out.pointee = OpaquePointer(Unmanaged.passRetained(value).toOpaque())
}

private func runHandle(_ run: OpaquePointer?) -> RunHandle? {
    run.map { Unmanaged<RunHandle>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
}

/// A matrix the caller owns, read in place: `rows` × `dim` Float32 values, or none for 0 rows.
private func matrix(_ values: UnsafeMutablePointer<Float>?, rows: Int64, dim: Int64, name: String) throws -> Embeddings {
    guard rows >= 0 else { throw InputError("\(name): bad row count \(rows)") }
    if let values { return Embeddings(borrowing: values, rows: Int(rows), dim: Int(dim)) }
    guard rows == 0 else { throw InputError("\(name): no data for \(rows) rows") }
    return Embeddings(rows: 0, dim: Int(dim))
}

// MARK: - Evaluations

/// The per-query directory and plot of a request, checked before the run as the command line
/// checks them.
private func checkOutputs(_ fields: RequestFields) throws {
    if let plot = fields.plot { try OutputPath.checkFile(plot, option: "plot") }
    if let directory = fields.perQuery { try OutputPath.checkDirectory(directory, option: "per_query") }
}

/// The result of a whole run: its report, with the per-query columns kept (and written
/// where asked, before the report that names their directory) and the plot written.
private func finish(_ report: Report, state: PartialState, options: EvaluationOptions, fields: RequestFields) throws -> CallResult {
    var report = report
    let columns = options.perQuery ? try PerQuery(state: state, options: options) : nil
    if let directory = fields.perQuery {
        try columns!.write(to: directory)
        report.perQueryPath = directory
    }
    let value = try CallResult(report: report, state: state, options: options, perQuery: columns)
    try report.write(json: nil, plot: fields.plot)
    return value
}

/// Evaluates two row-major Float32 matrices in memory, read in place: x1 [x1_rows, dim] and
/// x2 [x2_rows, dim]. `pairs` is NULL (row i with row i) or x2_rows entries, x2 row j being a
/// positive of x1 row pairs[j]. `request` is a JSON object of options
/// (Sources/CrossSimC/crosssim.h). The matrices must stay valid and unchanged until the call returns; they are never written.
/// On success `*result` holds a result to free with `crosssim_result_free`.
@_cdecl("crosssim_evaluate")
public func crosssim_evaluate(
    _ x1: UnsafeMutablePointer<Float>?, _ x1Rows: Int64, _ x2: UnsafeMutablePointer<Float>?, _ x2Rows: Int64, _ dim: Int64,
    _ pairs: UnsafePointer<Int64>?, _ request: UnsafePointer<CChar>, _ run: OpaquePointer?,
    _ out: UnsafeMutablePointer<OpaquePointer?>, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        let fields = try RequestFields.parse(String(cString: request), allowed: RequestFields.memoryKeys)
        guard dim >= 1 else { throw InputError("bad dimension \(dim): D must be ≥ 1") }
        guard x1Rows >= 0, x2Rows >= 0 else { throw InputError("bad row counts \(x1Rows) and \(x2Rows)") }
        let set1 = try matrix(x1, rows: x1Rows, dim: dim, name: "x1"), set2 = try matrix(x2, rows: x2Rows, dim: dim, name: "x2")
        let options = try fields.options()
        let positives = try pairs.map { pointer in
            try Pairs(positiveOf: UnsafeBufferPointer(start: pointer, count: Int(x2Rows)).map { Int($0) }, x1Rows: Int(x1Rows))
        }
        try checkOutputs(fields)
        let evaluation = try Evaluation(x1: set1, x2: set2, pairs: positives, options: options)
        let (state, runInputs, engine) = try evaluation.run(control: runHandle(run)?.control ?? RunControl())
        var inputs = runInputs
        if let dtype = fields.x1DType { inputs.x1.dtype = dtype }
        if let dtype = fields.x2DType { inputs.x2.dtype = dtype }
        hand(try finish(Report(state: state, inputs: inputs, options: options, engine: engine), state: state, options: options,
                        fields: fields), to: out)
    }
}

/// Evaluates two sets on disk (a shard, a directory of shards or a `.txt` manifest, as
/// `crosssim eval` reads them), with an optional pairs `.npy` (NULL: identity). `request` may
/// also hold "memory_limit", "part" and "state" (Sources/CrossSimC/crosssim.h). A part writes
/// its state and returns a result without a report.
@_cdecl("crosssim_evaluate_files")
public func crosssim_evaluate_files(
    _ x1: UnsafePointer<CChar>, _ x2: UnsafePointer<CChar>, _ pairs: UnsafePointer<CChar>?, _ request: UnsafePointer<CChar>,
    _ run: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        let fields = try RequestFields.parse(String(cString: request), allowed: RequestFields.fileKeys)
        let part = try fields.part.map(PartIndex.init(parsing:))
        let statePath = fields.state
        if let part, statePath == nil { throw InputError("part \(part) needs a state path: a part's result is a state to merge") }
        if part != nil, fields.plot != nil || fields.perQuery != nil {
            throw InputError("a part writes only its state; the plot and the per-query files come from the merge "
                             + "(of parts that kept their per-query results)")
        }
        if let statePath { try OutputPath.checkFile(statePath, option: "state") }
        try checkOutputs(fields)
        let request = EvaluationRequest(x1: String(cString: x1), x2: String(cString: x2), pairs: pairs.map { String(cString: $0) },
                                        options: try fields.options(), part: part,
                                        memoryLimit: try fields.memoryLimit.map(ByteSize.parse))
        let (state, inputs, engine) = try request.run(control: runHandle(run)?.control ?? RunControl())
        if let statePath {
            try StateFile(part: part ?? PartIndex.whole, inputs: inputs, options: request.options, engine: engine, state: state)
                .write(to: statePath)
        }
        if part != nil {
            hand(try CallResult(report: nil, state: nil, options: request.options), to: out)
            return
        }
        hand(try finish(Report(state: state, inputs: inputs, options: request.options, engine: engine), state: state,
                        options: request.options, fields: fields), to: out)
    }
}

/// Merges the state files of every part of a run (`paths`, `count` of them, any order) into
/// the run's report, as `crosssim merge` does. `request` may hold "plot" and "per_query" (a
/// directory, from parts run with "keep_per_query") or "keep_per_query" (the columns without
/// files).
@_cdecl("crosssim_merge")
public func crosssim_merge(
    _ paths: UnsafePointer<UnsafePointer<CChar>?>, _ count: Int64, _ request: UnsafePointer<CChar>,
    _ out: UnsafeMutablePointer<OpaquePointer?>, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        let fields = try RequestFields.parse(String(cString: request), allowed: ["plot", "per_query", "keep_per_query"])
        guard count >= 1 else { throw InputError("merge needs at least one state file") }
        let names = try (0..<Int(count)).map { n -> String in
            guard let path = paths[n] else { throw InputError("state path \(n) is NULL") }
            return String(cString: path)
        }
        try checkOutputs(fields)
        let merged = try MergedRun(paths: names)
        var options = merged.options
        options.perQuery = fields.perQuery != nil || fields.keepPerQuery == true
        hand(try finish(merged.report, state: merged.state, options: options, fields: fields), to: out)
    }
}

// MARK: - Compare, dedup and the gradient

/// Compares two reports of the same queries, as `crosssim compare BASE NEW` does
/// (docs/command-line.md): `base` and `new` are the reports' paths. The result's JSON is the
/// `--json` text (schema crosssim.compare/1) and its summary the table `compare` prints.
/// `request` may hold "bootstrap", "confidence", "seed", "tolerance", "threads" and "plot".
@_cdecl("crosssim_compare")
public func crosssim_compare(
    _ base: UnsafePointer<CChar>, _ new: UnsafePointer<CChar>, _ request: UnsafePointer<CChar>,
    _ out: UnsafeMutablePointer<OpaquePointer?>, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        hand(try compared(request) { try Comparison(base: String(cString: base), new: String(cString: new), options: $0) }, to: out)
    }
}

/// The result of a comparison `make` makes with the request's options, and its plot.
private func compared(_ request: UnsafePointer<CChar>, _ make: (Comparison.Options) throws -> Comparison) throws -> CallResult {
    let fields = try CompareFields.parse(String(cString: request), allowed: CompareFields.keys)
    if let plot = fields.plot { try OutputPath.checkFile(plot, option: "plot") }
    let comparison = try make(fields.options)
    let value = try CallResult(json: comparison.json, summary: comparison.table, notes: comparison.notes)
    if let plot = fields.plot { try AtomicFile.write(ComparisonPlot.svg(comparison), to: plot) }
    return value
}

/// Compares two reports given as their text, with their per-query columns in memory (as
/// `crosssim_result_per_query` gives them) in place of the files of `per_query.path`; they are
/// named "base" and "new" in the result and in messages. `rank[d]` points to the report's
/// queries of direction d (N1, then N2) ranks, `infonce[d]` to queries × T terms (T the
/// report's temperatures). `request` as for `crosssim_compare`.
@_cdecl("crosssim_compare_reports")
public func crosssim_compare_reports(
    _ baseJSON: UnsafePointer<CChar>, _ baseRank: UnsafePointer<UnsafePointer<Int64>?>,
    _ baseInfonce: UnsafePointer<UnsafePointer<Double>?>, _ newJSON: UnsafePointer<CChar>,
    _ newRank: UnsafePointer<UnsafePointer<Int64>?>, _ newInfonce: UnsafePointer<UnsafePointer<Double>?>,
    _ request: UnsafePointer<CChar>, _ out: UnsafeMutablePointer<OpaquePointer?>,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        func report(_ json: UnsafePointer<CChar>, _ rank: UnsafePointer<UnsafePointer<Int64>?>,
                    _ infonce: UnsafePointer<UnsafePointer<Double>?>, name: String) throws -> (ReportFile, Comparison.Columns) {
            guard let value = try? JSONValue(parsing: Data(String(cString: json).utf8)) else {
                throw InputError("not a CrossSim report: not a JSON object", file: name)
            }
            let file = try ReportFile(path: name, json: value)
            func direction(_ d: Int, queries: Int) throws -> Comparison.Columns.Direction {
                guard let ranks = rank[d], let terms = infonce[d] else { throw InputError("per-query columns missing (NULL)", file: name) }
                return .init(rank: Array(UnsafeBufferPointer(start: ranks, count: queries)),
                             infonce: Array(UnsafeBufferPointer(start: terms, count: queries * file.temperatures.count)))
            }
            return (file, Comparison.Columns(x1ToX2: try direction(0, queries: file.x1Rows), x2ToX1: try direction(1, queries: file.x2Rows)))
        }
        let (base, baseColumns) = try report(baseJSON, baseRank, baseInfonce, name: "base")
        let (new, newColumns) = try report(newJSON, newRank, newInfonce, name: "new")
        hand(try compared(request) { try Comparison(base: base, baseColumns: baseColumns, new: new, newColumns: newColumns, options: $0) },
             to: out)
    }
}

/// Near-duplicate pairs of a row-major Float32 matrix in memory, x [rows, dim] (read in
/// place), within itself or, when `against` is not NULL, against another [against_rows, dim]:
/// `crosssim dedup` (docs/dedup.md). `request` holds "threshold" and "out" (the directory the
/// files go to, as `--out`), and may hold "similarity", "max_pairs", "tile" and "threads".
/// The result's summary is the line `dedup` prints.
@_cdecl("crosssim_dedup")
public func crosssim_dedup(
    _ x: UnsafeMutablePointer<Float>?, _ rows: Int64, _ against: UnsafeMutablePointer<Float>?, _ againstRows: Int64, _ dim: Int64,
    _ request: UnsafePointer<CChar>, _ run: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>,
    _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        let fields = try DedupFields.parse(String(cString: request), allowed: DedupFields.keys)
        guard dim >= 1 else { throw InputError("bad dimension \(dim): D must be ≥ 1") }
        let set = try matrix(x, rows: rows, dim: dim, name: "x")
        let other = against == nil ? nil : try matrix(against, rows: againstRows, dim: dim, name: "against")
        let dedup = try fields.request(set: "x", against: other == nil ? nil : "against")
        let outcome = try dedup.run(x: set, against: other, control: runHandle(run)?.control ?? RunControl())
        hand(try CallResult(json: nil, summary: outcome.summary, notes: []), to: out)
    }
}

/// `crosssim dedup SET [--against OTHER]` of sets on disk (as `eval` reads them); `against`
/// may be NULL. `request` as for `crosssim_dedup`.
@_cdecl("crosssim_dedup_files")
public func crosssim_dedup_files(
    _ set: UnsafePointer<CChar>, _ against: UnsafePointer<CChar>?, _ request: UnsafePointer<CChar>, _ run: OpaquePointer?,
    _ out: UnsafeMutablePointer<OpaquePointer?>, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        let fields = try DedupFields.parse(String(cString: request), allowed: DedupFields.fileKeys)
        let dedup = try fields.request(set: String(cString: set), against: against.map { String(cString: $0) })
        let outcome = try dedup.run(control: runHandle(run)?.control ?? RunControl())
        hand(try CallResult(json: nil, summary: outcome.summary, notes: []), to: out)
    }
}

/// The gradient of one loss with respect to the rows of x1 [x1_rows, dim] and x2 [x2_rows,
/// dim] in memory (read in place; pairs as for `crosssim_evaluate`), as `crosssim grad` computes
/// it (docs/gradient.md), written into the caller's row-major Float32 buffers dx1 (the shape of
/// x1) and dx2 (of x2), which are overwritten. `request` holds the loss, "tau": T or
/// "siglip": [scale, bias], and may hold "similarity", "tile", "threads", "x1_dtype" and
/// "x2_dtype". The result's JSON is the evaluation's report (`grad`'s report.json), which holds
/// the loss. When the call fails, what dx1 and dx2 hold is undefined.
@_cdecl("crosssim_gradient")
public func crosssim_gradient(
    _ x1: UnsafeMutablePointer<Float>?, _ x1Rows: Int64, _ x2: UnsafeMutablePointer<Float>?, _ x2Rows: Int64, _ dim: Int64,
    _ pairs: UnsafePointer<Int64>?, _ request: UnsafePointer<CChar>,
    _ dx1: UnsafeMutablePointer<Float>?, _ dx2: UnsafeMutablePointer<Float>?, _ run: OpaquePointer?,
    _ out: UnsafeMutablePointer<OpaquePointer?>, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        let fields = try GradientFields.parse(String(cString: request), allowed: GradientFields.keys)
        guard dim >= 1 else { throw InputError("bad dimension \(dim): D must be ≥ 1") }
        let set1 = try matrix(x1, rows: x1Rows, dim: dim, name: "x1"), set2 = try matrix(x2, rows: x2Rows, dim: dim, name: "x2")
        let options = try fields.options()
        let positives = try pairs.map { pointer in
            try Pairs(positiveOf: UnsafeBufferPointer(start: pointer, count: Int(x2Rows)).map { Int($0) }, x1Rows: Int(x1Rows))
        }
        let gradient = try Gradient(x1: set1, x2: set2, pairs: positives, options: options)
        let g1 = try matrix(dx1, rows: x1Rows, dim: dim, name: "dx1"), g2 = try matrix(dx2, rows: x2Rows, dim: dim, name: "dx2")
        var report = try gradient.compute(dx1: g1, dx2: g2, control: runHandle(run)?.control ?? RunControl())
        if let dtype = fields.x1DType { report.inputs.x1.dtype = dtype }
        if let dtype = fields.x2DType { report.inputs.x2.dtype = dtype }
        for gradient in [g1, g2] where !UnsafeBufferPointer(start: gradient.baseAddress, count: gradient.rows * gradient.dim).allSatisfy(\.isFinite) {
            throw InternalError("the gradient holds a number that is not finite")
        }
        hand(try CallResult(json: report.json, summary: report.summary, notes: report.notes), to: out)
    }
}
