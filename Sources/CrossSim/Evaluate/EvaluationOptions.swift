/// A SigLIP term: L = (1/N1) Σ_i Σ_j softplus(−y_ij (scale·s_ij + bias)).
public struct SigLIPTerm: Sendable, Equatable, Codable, CustomStringConvertible {
    public var scale: Double
    public var bias: Double

    public init(scale: Double, bias: Double) {
        self.scale = scale
        self.bias = bias
    }

    /// Parses `SCALE:BIAS`, e.g. `10:-10`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let s = Double(parts[0]), let b = Double(parts[1]), s.isFinite, b.isFinite else {
            throw InputError("bad SigLIP term '\(text)': expected SCALE:BIAS such as 10:-10")
        }
        self.init(scale: s, bias: b)
    }

    public var description: String { "\(scale):\(bias)" }
}

/// Everything docs/command-line.md lets a user choose about what is computed and how.
public struct EvaluationOptions: Sendable, Equatable, Codable {
    public var similarity: Similarity = .cosine
    public var temperatures: [Double] = [0.05]
    public var siglip: [SigLIPTerm] = []
    /// The k of recall@k (and precision/ndcg/map@k with top-k).
    public var recallAt: [Int] = [1, 5, 10]
    /// Keep the K best candidates per query, both ways (x1→x2 only with `queriesOnly`).
    public var topK: Int?
    /// Only the x1→x2 direction, unlabelled (docs/definitions.md, "Queries only"): each x1
    /// row's `topK` best x2 rows and nothing per x2 row, no pairs and no labelled figures.
    public var queriesOnly = false
    public var uniformity = false
    /// Keep what the per-query results need besides ranks and losses: each query's best
    /// negative.
    public var perQuery = false
    /// Mine hard negatives per query (docs/definitions.md).
    public var hardNegatives: HardNegativeRule?
    /// Effective rank, modality gap and hubness (docs/definitions.md, "Health").
    public var health = false
    /// The k of hubness's k-occurrence.
    public var hubnessK = 10
    /// Bins of the similarity histograms (for plots); nil gathers none.
    public var histogramBins: Int?
    public var tile: TileShape?
    public var threads: Int?
    /// The tiles' matrix product; nil is `GEMM.default`.
    public var gemm: GEMM?

    /// Worker threads a run may ask for. Each worker costs memory before it has work, so a
    /// typo such as `--threads 100000` would exhaust the machine rather than run; 4096 is
    /// above any node's core count.
    public static let threadLimit = 1...4096

    public init() {}

    /// A key left out keeps its default, so that options written as JSON by hand (a state
    /// file's header, the C interface) name only what they change.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = EvaluationOptions()
        similarity = try c.decodeIfPresent(Similarity.self, forKey: .similarity) ?? d.similarity
        temperatures = try c.decodeIfPresent([Double].self, forKey: .temperatures) ?? d.temperatures
        siglip = try c.decodeIfPresent([SigLIPTerm].self, forKey: .siglip) ?? d.siglip
        recallAt = try c.decodeIfPresent([Int].self, forKey: .recallAt) ?? d.recallAt
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        queriesOnly = try c.decodeIfPresent(Bool.self, forKey: .queriesOnly) ?? d.queriesOnly
        uniformity = try c.decodeIfPresent(Bool.self, forKey: .uniformity) ?? d.uniformity
        perQuery = try c.decodeIfPresent(Bool.self, forKey: .perQuery) ?? d.perQuery
        hardNegatives = try c.decodeIfPresent(HardNegativeRule.self, forKey: .hardNegatives)
        health = try c.decodeIfPresent(Bool.self, forKey: .health) ?? d.health
        hubnessK = try c.decodeIfPresent(Int.self, forKey: .hubnessK) ?? d.hubnessK
        histogramBins = try c.decodeIfPresent(Int.self, forKey: .histogramBins)
        tile = try c.decodeIfPresent(TileShape.self, forKey: .tile)
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        gemm = try c.decodeIfPresent(GEMM.self, forKey: .gemm)
    }

    /// Refuses a thread count outside `threadLimit`.
    public static func checkThreads(_ threads: Int) throws {
        guard threadLimit.contains(threads) else {
            throw InputError("bad --threads \(threads): give \(threadLimit.lowerBound) to \(threadLimit.upperBound) worker threads")
        }
    }

    /// Rejects values docs/inputs.md calls bad input.
    public func validate() throws {
        for tau in temperatures where !(tau > 0) || !tau.isFinite {
            throw InputError("bad temperature \(tau): τ must be > 0")
        }
        // Logits are scaled in Float32 and sums kept in binary64: beyond these bounds the
        // figures would overflow rather than mean anything.
        for tau in temperatures where tau < 1e-30 {
            throw InputError("bad temperature \(tau): τ must be at least 1e-30")
        }
        for term in siglip where abs(term.scale) > 1e30 || abs(term.bias) > 1e30 {
            throw InputError("bad SigLIP term \(term): scale and bias must lie within ±1e30")
        }
        for k in recallAt where k < 1 { throw InputError("bad k \(k): k must be ≥ 1") }
        for (position, k) in recallAt.enumerated() where recallAt[..<position].contains(k) {
            throw InputError("bad k: \(k) is given twice")
        }
        if let k = topK, k < 1 { throw InputError("bad --top-k \(k): K must be ≥ 1") }
        try hardNegatives?.validate()
        if hubnessK < 1 { throw InputError("bad --hubness-k \(hubnessK): k must be ≥ 1") }
        if let threads { try Self.checkThreads(threads) }
        if let b = histogramBins, b < 1 { throw InputError("bad histogram bins \(b)") }
        if queriesOnly { try validateQueriesOnly() }
    }

    /// `queriesOnly` computes each x1 row's top-k list and nothing that needs labels or a
    /// state per x2 row.
    private func validateQueriesOnly() throws {
        guard topK != nil else { throw InputError("--queries-only computes the x1→x2 top-k lists: give --top-k K") }
        let refused = [("--siglip", !siglip.isEmpty), ("--per-query and --keep-per-query", perQuery),
                       ("--hard-negatives", hardNegatives != nil), ("--health", health), ("--uniformity", uniformity),
                       ("--plot and --histogram", histogramBins != nil)]
        if let (option, _) = refused.first(where: { $0.1 }) {
            throw InputError("\(option) cannot go with --queries-only: its figures need labels or x2→x1 queries")
        }
    }
}

extension EvaluationOptions {
    /// `--hard-negatives K` with the flags of its rule, which mean nothing without it, and
    /// `--hubness-k`, which needs `--health` (set first): as every front end takes them.
    public mutating func setHardNegativesAndHubness(count: Int?, margin: Double?, relativeMargin: Double?, rangeMin: Int?,
                                                    rangeMax: Int?, hubnessK: Int?) throws {
        if let count {
            hardNegatives = HardNegativeRule(count: count, margin: margin, relativeMargin: relativeMargin,
                                             rangeMin: rangeMin ?? 0, rangeMax: rangeMax)
        } else if margin != nil || relativeMargin != nil || rangeMin != nil || rangeMax != nil {
            throw InputError("--margin, --relative-margin, --range-min and --range-max need --hard-negatives K")
        }
        if let hubnessK {
            guard health else { throw InputError("--hubness-k needs --health") }
            self.hubnessK = hubnessK
        }
    }
}
