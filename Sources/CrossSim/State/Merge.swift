/// `crosssim merge`: checks that state files are the parts of one run, whole and once each,
/// and combines them into the state of the whole run.
public struct MergedRun: Sendable {
    public var inputs: Report.Inputs
    public var options: EvaluationOptions
    public var parts: Report.Parts
    public var state: PartialState

    public var report: Report {
        var report = Report(state: state, inputs: inputs, options: options, engine: nil)
        report.parts = parts
        return report
    }

    public init(paths: [String]) throws {
        // The set of parts first, from the headers alone: a state's per-x1-row tables are sized
        // by x1's rows, which only a complete set of parts bounds (x1 rows ≤ K·(rows + 1)).
        try Self.checkParts(paths.map { ($0, try StateFile.readPart(from: $0)) })
        try self.init(files: paths.map { ($0, try StateFile.read(from: $0, maximumParts: paths.count)) })
    }

    public init(files: [(path: String, file: StateFile)]) throws {
        try Self.checkParts(files.map { ($0.path, $0.file.part) })
        let (firstPath, first) = files[0]
        for (path, file) in files.dropFirst() {
            guard Self.sameInputs(file.inputs, first.inputs) else {
                throw InputError("parts from different inputs: these shapes, dtypes or pairs differ from \(firstPath)", file: path)
            }
            guard Self.sameOptions(file.options, first.options) else {
                throw InputError("parts from different options (τ, SigLIP, k, top-k, similarity…) than \(firstPath)", file: path)
            }
            // What the parts read, not what they computed: similarities differ in their last
            // bits between machines.
            if let difference = Self.difference(file.inputs.identity, first.inputs.identity, otherName: firstPath) {
                throw InputError("parts from different inputs: \(difference)", file: path)
            }
            if let conflict = file.state.mergeConflict(with: first.state) {
                throw InputError("parts from different inputs: \(conflict) from \(firstPath)", file: path)
            }
        }
        state = try PartialState.merge(files.map(\.file.state))
        inputs = first.inputs
        options = first.options
        let engines = files.map(\.file.engine)
        parts = Report.Parts(backend: first.engine.backend, count: files.count,
                             cpuSeconds: engines.reduce(0) { $0 + ($1.cpuSeconds ?? $1.seconds * Double($1.threads)) },
                             slowestPartSeconds: engines.map(\.seconds).max() ?? 0,
                             peakRSSBytes: engines.map(\.peakRSSBytes).max() ?? 0)
        // Numbers a corrupt part holds (NaN, ±Inf, sums that overflow) must not reach the report.
        guard report.json.isFinite else {
            throw InputError("the parts hold numbers that are not finite (a corrupt state file?): "
                                + files.map(\.path).joined(separator: ", "))
        }
    }

    /// Every part of one run (the same K), once each.
    static func checkParts(_ parts: [(path: String, part: PartIndex)]) throws {
        guard let (firstPath, first) = parts.first else { throw InputError("merge needs at least one state file") }
        let k = first.count
        var seen: [Int: String] = [:]
        for (path, part) in parts {
            guard part.count == k else {
                throw InputError("parts from different runs: this is part \(part), \(firstPath) is part \(first)", file: path)
            }
            if let other = seen[part.index] {
                throw InputError("duplicate part \(part): also in \(other)", file: path)
            }
            seen[part.index] = path
        }
        guard parts.count < k else { return }
        // K comes from a file: name the first few missing parts without counting to K.
        var missing: [Int] = []
        var index = 0
        while missing.count < 10 && index < k {
            if seen[index] == nil { missing.append(index) }
            index += 1
        }
        let more = k - parts.count > missing.count ? ", …" : ""
        throw InputError("missing part\(k - parts.count == 1 ? "" : "s") \(missing.map { "\($0)/\(k)" }.joined(separator: ", "))\(more): "
                            + "got \(parts.count) of \(k)")
    }

    /// Paths may differ between machines; what the data is may not.
    static func sameInputs(_ a: Report.Inputs, _ b: Report.Inputs) -> Bool {
        func same(_ x: Report.SetInfo, _ y: Report.SetInfo) -> Bool {
            x.rows == y.rows && x.dim == y.dim && x.dtype == y.dtype && x.shards == y.shards
        }
        return same(a.x1, b.x1) && same(a.x2, b.x2) && (a.pairsPath == nil) == (b.pairsPath == nil)
            && a.positives == b.positives && a.similarity == b.similarity
    }

    /// How the inputs of two parts differ, or nil when they are the same.
    static func difference(_ a: InputIdentity?, _ b: InputIdentity?, otherName: String) -> String? {
        switch (a, b) {
        case (nil, nil): return nil
        case let (a?, b?): return a.difference(from: b, otherName: otherName)
        default: return "one part was computed from files, the other from matrices in memory"
        }
    }

    /// Tile, threads and GEMM may differ between parts (results agree within docs/accuracy.md);
    /// nothing else.
    static func sameOptions(_ a: EvaluationOptions, _ b: EvaluationOptions) -> Bool {
        var x = a, y = b
        x.tile = nil; y.tile = nil; x.threads = nil; y.threads = nil; x.gemm = nil; y.gemm = nil
        return x == y
    }
}
