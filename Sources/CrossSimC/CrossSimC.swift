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

/// The version of this ABI: 1. It changes whenever a function's meaning or signature does; a
/// caller built for another version refuses to load the library.
@_cdecl("crosssim_abi_version")
public func crosssim_abi_version() -> Int32 { 1 }

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

/// What an evaluation returns: the JSON report (absent for a part, which writes only its
/// state), its summary and notes, and the top-k lists when asked for.
final class EvaluationResult {
    /// The text `crosssim eval --json` writes, NUL-terminated.
    let json: [CChar]?
    let summary: [CChar]?
    /// A JSON array of strings: why something asked for is not in the report.
    let notes: [CChar]
    /// x1→x2 lists (one per x1 row) and x2→x1 lists (one per x2 row).
    let neighbors: [TopKLists?]

    init(report: Report?, state: PartialState?) throws {
        if let report {
            let value = report.json
            guard value.isFinite else {
                throw InternalError("the report holds a number that is not finite; nothing was written")
            }
            json = Array((value.rendered() + "\n").utf8CString)
            summary = Array(report.summary.utf8CString)
            let data = try JSONSerialization.data(withJSONObject: report.notes)
            notes = Array((String(data: data, encoding: .utf8) ?? "[]").utf8CString)
        } else {
            json = nil
            summary = nil
            notes = Array("[]".utf8CString)
        }
        let lists = state?[NearestNeighbors.self]
        neighbors = [lists?.rows, lists?.columns]
    }
}

private func result(_ pointer: OpaquePointer) -> EvaluationResult {
    Unmanaged<EvaluationResult>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

/// The JSON report, byte for byte what `crosssim eval --json` (or `merge --json`) writes;
/// NULL for a part. Valid while the result lives.
@_cdecl("crosssim_result_json")
public func crosssim_result_json(_ pointer: OpaquePointer) -> UnsafePointer<CChar>? {
    result(pointer).json?.withUnsafeBufferPointer { $0.baseAddress }
}

/// The summary `crosssim eval` prints on stdout; NULL for a part. Valid while the result lives.
@_cdecl("crosssim_result_summary")
public func crosssim_result_summary(_ pointer: OpaquePointer) -> UnsafePointer<CChar>? {
    result(pointer).summary?.withUnsafeBufferPointer { $0.baseAddress }
}

/// A JSON array of the notes the command line prints on stderr. Valid while the result lives.
@_cdecl("crosssim_result_notes")
public func crosssim_result_notes(_ pointer: OpaquePointer) -> UnsafePointer<CChar> {
    result(pointer).notes.withUnsafeBufferPointer { $0.baseAddress! }
}

/// The shape of the top-k lists of `direction` (0: x1→x2, one list per x1 row; 1: x2→x1):
/// returns 0 and sets `queries` and `k`, or 2 when the run kept no lists (no top-k, or a part).
@_cdecl("crosssim_result_neighbors_shape")
public func crosssim_result_neighbors_shape(_ pointer: OpaquePointer, _ direction: Int32,
                                            _ queries: UnsafeMutablePointer<Int64>, _ k: UnsafeMutablePointer<Int64>) -> Int32 {
    guard (0...1).contains(direction), let lists = result(pointer).neighbors[Int(direction)] else { return codeInput }
    queries.pointee = Int64(lists.count)
    k.pointee = Int64(lists.k)
    return codeSuccess
}

/// Copies the top-k lists of `direction` into the caller's row-major [queries, k] buffers, as
/// `--neighbors` writes them: candidate indices (int64) and their exact similarities rounded to
/// float32, best first. Returns 2 when the shape given is not the lists'.
@_cdecl("crosssim_result_neighbors")
public func crosssim_result_neighbors(_ pointer: OpaquePointer, _ direction: Int32, _ queries: Int64, _ k: Int64,
                                      _ indices: UnsafeMutablePointer<Int64>, _ scores: UnsafeMutablePointer<Float>) -> Int32 {
    guard (0...1).contains(direction), let lists = result(pointer).neighbors[Int(direction)],
          queries == Int64(lists.count), k == Int64(lists.k)
    else { return codeInput }
    for (n, index) in lists.indices.enumerated() { indices[n] = Int64(index) }
    for (n, score) in lists.scores.enumerated() { scores[n] = Float(score) }
    return codeSuccess
}

@_cdecl("crosssim_result_free")
public func crosssim_result_free(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Unmanaged<EvaluationResult>.fromOpaque(UnsafeRawPointer(pointer)).release()
}

private func hand(_ value: EvaluationResult, to out: UnsafeMutablePointer<OpaquePointer?>) {
    out.pointee = OpaquePointer(Unmanaged.passRetained(value).toOpaque())
}

// MARK: - Evaluations

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
        func matrix(_ values: UnsafeMutablePointer<Float>?, rows: Int64, name: String) throws -> Embeddings {
            if let values { return Embeddings(borrowing: values, rows: Int(rows), dim: Int(dim)) }
            guard rows == 0 else { throw InputError("\(name): no data for \(rows) rows") }
            return Embeddings(rows: 0, dim: Int(dim))
        }
        let set1 = try matrix(x1, rows: x1Rows, name: "x1"), set2 = try matrix(x2, rows: x2Rows, name: "x2")
        let options = try fields.options()
        let positives = try pairs.map { pointer in
            try Pairs(positiveOf: UnsafeBufferPointer(start: pointer, count: Int(x2Rows)).map { Int($0) }, x1Rows: Int(x1Rows))
        }
        if let plot = fields.plot { try OutputPath.checkFile(plot, option: "plot") }
        let handle = run.map { Unmanaged<RunHandle>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
        let evaluation = try Evaluation(x1: set1, x2: set2, pairs: positives, options: options)
        let (state, runInputs, engine) = try evaluation.run(control: handle?.control ?? RunControl())
        var inputs = runInputs
        if let dtype = fields.x1DType { inputs.x1.dtype = dtype }
        if let dtype = fields.x2DType { inputs.x2.dtype = dtype }
        let report = Report(state: state, inputs: inputs, options: options, engine: engine)
        let value = try EvaluationResult(report: report, state: state)
        try report.write(json: nil, plot: fields.plot)
        hand(value, to: out)
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
        let statePath = fields.state, plot = fields.plot
        if let part, statePath == nil { throw InputError("part \(part) needs a state path: a part's result is a state to merge") }
        if part != nil, plot != nil { throw InputError("a part writes only its state; the plot comes from the merge") }
        for (option, path) in [("state", statePath), ("plot", plot)] {
            if let path { try OutputPath.checkFile(path, option: option) }
        }
        let request = EvaluationRequest(x1: String(cString: x1), x2: String(cString: x2), pairs: pairs.map { String(cString: $0) },
                                        options: try fields.options(), part: part,
                                        memoryLimit: try fields.memoryLimit.map(ByteSize.parse))
        let handle = run.map { Unmanaged<RunHandle>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
        let (state, inputs, engine) = try request.run(control: handle?.control ?? RunControl())
        if let statePath {
            try StateFile(part: part ?? PartIndex.whole, inputs: inputs, options: request.options, engine: engine, state: state)
                .write(to: statePath)
        }
        if part != nil {
            hand(try EvaluationResult(report: nil, state: nil), to: out)
            return
        }
        let report = Report(state: state, inputs: inputs, options: request.options, engine: engine)
        let value = try EvaluationResult(report: report, state: state)
        try report.write(json: nil, plot: plot)
        hand(value, to: out)
    }
}

/// Merges the state files of every part of a run (`paths`, `count` of them, any order) into
/// the run's report, as `crosssim merge` does. `request` may hold "plot".
@_cdecl("crosssim_merge")
public func crosssim_merge(
    _ paths: UnsafePointer<UnsafePointer<CChar>?>, _ count: Int64, _ request: UnsafePointer<CChar>,
    _ out: UnsafeMutablePointer<OpaquePointer?>, _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(error) {
        let fields = try RequestFields.parse(String(cString: request), allowed: ["plot"])
        guard count >= 1 else { throw InputError("merge needs at least one state file") }
        let names = try (0..<Int(count)).map { n -> String in
            guard let path = paths[n] else { throw InputError("state path \(n) is NULL") }
            return String(cString: path)
        }
        let plot = fields.plot
        if let plot { try OutputPath.checkFile(plot, option: "plot") }
        let merged = try MergedRun(paths: names)
        let report = merged.report
        let value = try EvaluationResult(report: report, state: nil)
        try report.write(json: nil, plot: plot)
        hand(value, to: out)
    }
}
