import CrossSim
import CrossSimPlot
import Foundation

/// A JSON object of options from a C caller (Sources/CrossSimC/crosssim.h): each key decoded
/// with its type, unknown keys refused.
protocol RequestObject: Decodable {}

extension RequestObject {
    static func parse(_ text: String, allowed: Set<String>) throws -> Self {
        let data = Data(text.utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data), let keys = (object as? [String: Any])?.keys else {
            throw InputError("bad request: expected a JSON object of options")
        }
        if let unknown = keys.sorted().first(where: { !allowed.contains($0) }) {
            throw InputError("bad request: unknown option '\(unknown)' (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        do {
            return try JSONDecoder().decode(Self.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            let key = context.codingPath.first?.stringValue ?? "?"
            throw InputError("bad option '\(key)': expected \(describe(type)) (\(context.debugDescription))")
        } catch let DecodingError.dataCorrupted(context) {
            throw InputError("bad option '\(context.codingPath.first?.stringValue ?? "?")': \(context.debugDescription)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: return "true or false"
        case is Int.Type, is UInt64.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is String.Type: return "a string"
        default: return "a list"
        }
    }
}

/// The similarity as the command line parses `--similarity`.
private func parseSimilarity(_ text: String?) throws -> Similarity? {
    try text.map {
        guard let value = Similarity(rawValue: $0) else { throw InputError("bad similarity '\($0)': expected cosine or dot") }
        return value
    }
}

/// The options of an evaluation, made into `EvaluationOptions` with the checks and messages of
/// `crosssim eval`.
struct RequestFields: RequestObject {
    var similarity: String?
    var tau: [Double]?
    var siglip: [[Double]]?
    var k: [Int]?
    var topK: Int?
    var queriesOnly: Bool?
    var uniformity: Bool?
    var histogram: Bool?
    var health: Bool?
    var hubnessK: Int?
    var hardNegatives: Int?
    var margin: Double?
    var relativeMargin: Double?
    var rangeMin: Int?
    var rangeMax: Int?
    /// A directory for the per-query .npy files (`--per-query DIR`); `keepPerQuery` computes
    /// them without writing any (`--keep-per-query`).
    var perQuery: String?
    var keepPerQuery: Bool?
    var tile: String?
    var threads: Int?
    var plot: String?
    /// In memory: the dtype the caller's values had before they became Float32, for the report.
    var x1DType: String?
    var x2DType: String?
    /// On disk: the memory limit, a part and its state file.
    var memoryLimit: String?
    var part: String?
    var state: String?

    enum CodingKeys: String, CodingKey {
        case similarity, tau, siglip, k, uniformity, histogram, health, margin, tile, threads, plot, part, state
        case topK = "top_k", queriesOnly = "queries_only", hubnessK = "hubness_k", hardNegatives = "hard_negatives"
        case relativeMargin = "relative_margin", rangeMin = "range_min", rangeMax = "range_max"
        case perQuery = "per_query", keepPerQuery = "keep_per_query"
        case x1DType = "x1_dtype", x2DType = "x2_dtype", memoryLimit = "memory_limit"
    }

    /// Keys of every evaluation: what is computed and how.
    static let optionKeys: Set<String> = [
        "similarity", "tau", "siglip", "k", "top_k", "queries_only", "uniformity", "histogram", "health", "hubness_k",
        "hard_negatives", "margin", "relative_margin", "range_min", "range_max", "per_query", "keep_per_query",
        "tile", "threads", "plot",
    ]
    static let memoryKeys = optionKeys.union(["x1_dtype", "x2_dtype"])
    static let fileKeys = optionKeys.union(["memory_limit", "part", "state"])

    /// What is computed and how, checked as `crosssim eval` checks its options.
    func options() throws -> EvaluationOptions {
        var options = EvaluationOptions()
        if let similarity = try parseSimilarity(similarity) { options.similarity = similarity }
        if queriesOnly == true, tau != nil || k != nil {
            throw InputError("--tau, --logit-scale and --k cannot go with --queries-only: its queries are unlabelled")
        }
        if let tau {
            guard !tau.isEmpty else { throw InputError("bad tau: give at least one temperature") }
            options.temperatures = tau
        }
        if let siglip {
            options.siglip = try siglip.map {
                guard $0.count == 2 else { throw InputError("bad SigLIP term \($0): expected [scale, bias]") }
                return SigLIPTerm(scale: $0[0], bias: $0[1])
            }
        }
        if let k { options.recallAt = k }
        options.topK = topK
        options.queriesOnly = queriesOnly ?? false
        options.uniformity = uniformity ?? false
        options.perQuery = perQuery != nil || keepPerQuery == true
        options.health = health ?? false
        try options.setHardNegativesAndHubness(count: hardNegatives, margin: margin, relativeMargin: relativeMargin,
                                               rangeMin: rangeMin, rangeMax: rangeMax, hubnessK: hubnessK)
        options.histogramBins = histogram == true || plot != nil ? SummaryPlot.histogramBins : nil
        options.tile = try tile.map(TileShape.init(parsing:))
        options.threads = threads
        try options.validate()
        return options
    }
}

/// The options of `crosssim compare`.
struct CompareFields: RequestObject {
    var bootstrap: Int?
    var confidence: Double?
    var seed: UInt64?
    var tolerance: Double?
    var threads: Int?
    var plot: String?

    static let keys: Set<String> = ["bootstrap", "confidence", "seed", "tolerance", "threads", "plot"]

    var options: Comparison.Options {
        var options = Comparison.Options()
        if let bootstrap { options.resamples = bootstrap }
        if let confidence { options.confidence = confidence }
        if let seed { options.seed = seed }
        if let tolerance { options.tolerance = tolerance }
        options.threads = threads
        return options
    }
}

/// The options of `crosssim dedup`: the threshold and where the files go.
struct DedupFields: RequestObject {
    var threshold: Double?
    var out: String?
    var similarity: String?
    var maxPairs: Int?
    var tile: String?
    var threads: Int?
    var memoryLimit: String?

    enum CodingKeys: String, CodingKey {
        case threshold, out, similarity, tile, threads
        case maxPairs = "max_pairs", memoryLimit = "memory_limit"
    }

    static let keys: Set<String> = ["threshold", "out", "similarity", "max_pairs", "tile", "threads"]
    /// Sets on disk may also be held in panels (`--memory-limit`).
    static let fileKeys = keys.union(["memory_limit"])

    /// The request over sets named `set` and `against` (their paths, or the names messages give
    /// matrices in memory), checked as `crosssim dedup` checks its options.
    func request(set: String, against: String?) throws -> DedupRequest {
        guard let threshold else { throw InputError("dedup needs --threshold T") }
        guard let out else { throw InputError("dedup needs --out DIR") }
        try OutputPath.checkDirectory(out, option: "out")
        var request = DedupRequest(set: set, against: against, threshold: threshold, directory: out)
        if let similarity = try parseSimilarity(similarity) { request.similarity = similarity }
        request.maxPairs = maxPairs
        request.tile = try tile.map(TileShape.init(parsing:))
        request.threads = threads
        request.memoryLimit = try memoryLimit.map(ByteSize.parse)
        return request
    }
}

/// The options of `crosssim grad`: the loss (a τ or a SigLIP term) and how to compute it.
struct GradientFields: RequestObject {
    var tau: Double?
    var siglip: [Double]?
    var similarity: String?
    var tile: String?
    var threads: Int?
    var x1DType: String?
    var x2DType: String?

    enum CodingKeys: String, CodingKey {
        case tau, siglip, similarity, tile, threads
        case x1DType = "x1_dtype", x2DType = "x2_dtype"
    }

    static let keys: Set<String> = ["tau", "siglip", "similarity", "tile", "threads", "x1_dtype", "x2_dtype"]

    func options() throws -> GradientOptions {
        var options = GradientOptions()
        if let similarity = try parseSimilarity(similarity) { options.similarity = similarity }
        switch (tau, siglip) {
        case (let tau?, nil): options.loss = .infonce(tau: tau)
        case (nil, let term?):
            guard term.count == 2 else { throw InputError("bad SigLIP term \(term): expected [scale, bias]") }
            options.loss = .siglip(SigLIPTerm(scale: term[0], bias: term[1]))
        default: throw InputError("give the loss: --tau T (InfoNCE) or --siglip SCALE:BIAS, one of them")
        }
        options.tile = try tile.map(TileShape.init(parsing:))
        options.threads = threads
        try options.validate()
        return options
    }
}
