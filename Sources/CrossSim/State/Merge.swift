/// `crosssim merge`: checks that state files are the parts of one run, whole and once each,
/// and combines them into the state of the whole run.
public struct MergedRun: Sendable {
    public var inputs: Report.Inputs
    public var options: EvaluationOptions
    public var engine: Report.Engine
    public var state: PartialState

    public var report: Report { Report(state: state, inputs: inputs, options: options, engine: engine) }

    public init(paths: [String]) throws {
        try self.init(files: paths.map { ($0, try StateFile.read(from: $0)) })
    }

    public init(files: [(path: String, file: StateFile)]) throws {
        guard let (firstPath, first) = files.first else { throw InputError("merge needs at least one state file") }
        let k = first.part.count
        var seen: [Int: String] = [:]
        for (path, file) in files {
            guard file.part.count == k else {
                throw InputError("parts from different runs: this is part \(file.part), \(firstPath) is part \(first.part)", file: path)
            }
            if let other = seen[file.part.index] {
                throw InputError("duplicate part \(file.part): also in \(other)", file: path)
            }
            seen[file.part.index] = path
            guard Self.sameInputs(file.inputs, first.inputs) else {
                throw InputError("parts from different inputs: these shapes, dtypes or pairs differ from \(firstPath)", file: path)
            }
            guard Self.sameOptions(file.options, first.options) else {
                throw InputError("parts from different options (τ, SigLIP, k, top-k, similarity…) than \(firstPath)", file: path)
            }
            guard file.state.positives == first.state.positives else {
                throw InputError("parts from different inputs: the positive pairs' similarities differ from \(firstPath)", file: path)
            }
        }
        let missing = (0..<k).filter { seen[$0] == nil }
        guard missing.isEmpty else {
            throw InputError("missing part\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(k)" }.joined(separator: ", ")): "
                                + "got \(files.count) of \(k)")
        }
        state = try PartialState.merge(files.map(\.file.state))
        inputs = first.inputs
        options = first.options
        let seconds = files.reduce(0) { $0 + $1.file.engine.seconds }
        let work = files.reduce(0) { $0 + $1.file.engine.gflops * $1.file.engine.seconds }
        engine = Report.Engine(backend: first.engine.backend, threads: first.engine.threads, tile: first.engine.tile,
                               seconds: seconds, gflops: seconds > 0 ? work / seconds : 0,
                               peakRSSBytes: files.map(\.file.engine.peakRSSBytes).max() ?? 0)
    }

    /// Paths may differ between machines; what the data is may not.
    static func sameInputs(_ a: Report.Inputs, _ b: Report.Inputs) -> Bool {
        func same(_ x: Report.SetInfo, _ y: Report.SetInfo) -> Bool {
            x.rows == y.rows && x.dim == y.dim && x.dtype == y.dtype && x.shards == y.shards
        }
        return same(a.x1, b.x1) && same(a.x2, b.x2) && (a.pairsPath == nil) == (b.pairsPath == nil)
            && a.positives == b.positives && a.similarity == b.similarity
    }

    /// Tile and threads may differ between parts (results agree within SPEC §3); nothing else.
    static func sameOptions(_ a: EvaluationOptions, _ b: EvaluationOptions) -> Bool {
        var x = a, y = b
        x.tile = nil; y.tile = nil; x.threads = nil; y.threads = nil
        return x == y
    }
}
