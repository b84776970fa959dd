/// The result of evaluating a range of x1 rows against all of x2 (docs/state-format.md: "a part"): final
/// values for its rows, mergeable partials for every x2 column, and sums. An in-memory run is
/// one part; `--memory-limit` merges one per panel; `--part I/K` writes one to disk.
public struct PartialState: Sendable, Equatable {
    public var x1Rows: Int
    public var x2Rows: Int
    /// The x1 rows this part covers.
    public var rows: Range<Int>
    /// The positive pairs' similarities. Parts computed on other machines agree on them only
    /// within the README's accuracy: a merge keeps the first part's.
    public var positives: Positives

    // Per row of `rows`.
    /// log Σ_j e^{s_ij/τ} over the row's negatives, one array per temperature.
    public var rowLogSumExp: [[LogSumExp]] = []
    /// Negatives that outrank the row's best positive (the tie rule of docs/definitions.md).
    public var rowBeaten: [Int32] = []
    public var rowTop: TopKLists? = nil

    // Per x2 column (all of them).
    /// log Σ_{i ∈ rows} e^{s_ij/τ} over the column's negatives, one array per temperature.
    public var columnLogSumExp: [[LogSumExp]] = []
    /// Negatives among `rows` that outrank the column's positive.
    public var columnBeaten: [Int32] = []
    public var columnTop: TopKLists? = nil

    // Sums over the part's cells.
    /// Σ softplus(t·s + b) over the negative cells, one per SigLIP term (the positives' terms
    /// come from their binary64 similarities).
    public var softplusSums: [Double] = []
    /// Σ s over all cells (exact: (Σ x1)·(Σ x2) in binary64).
    public var similaritySum: Double
    /// Σ s and Σ s² over the negative cells, as the tiles hold them: the negatives' spread is
    /// taken from these alone, so that a rounding error every cell shares (a collapsed set)
    /// shows no spread.
    public var negativeSimilaritySum = 0.0
    public var squaredSimilaritySum = 0.0
    public var histogram: Histogram? = nil
    /// Wang & Isola's log Σ e^{−2‖a−b‖²} over this part's share of each set's pairs.
    public var uniformity: [LogSumExp]? = nil

    /// Combines parts that together cover every x1 row exactly once, in any order.
    public static func merge(_ parts: [PartialState]) throws -> PartialState {
        guard var merged = parts.first else { throw InputError("nothing to merge") }
        let ordered = parts.sorted { $0.rows.lowerBound < $1.rows.lowerBound }
        merged = ordered[0]
        guard merged.rows.lowerBound == 0 else {
            throw InputError("missing part: no part covers x1 rows 0..<\(merged.rows.lowerBound)")
        }
        for part in ordered.dropFirst() {
            guard part.x1Rows == merged.x1Rows, part.x2Rows == merged.x2Rows,
                  part.rowLogSumExp.count == merged.rowLogSumExp.count,
                  part.softplusSums.count == merged.softplusSums.count,
                  (part.rowTop == nil) == (merged.rowTop == nil),
                  (part.histogram == nil) == (merged.histogram == nil),
                  (part.uniformity == nil) == (merged.uniformity == nil),
                  part.positives.positiveOf == merged.positives.positiveOf
            else { throw InputError("parts from different inputs or options") }
            if part.rows.lowerBound < merged.rows.upperBound {
                throw InputError("duplicate part: x1 rows \(part.rows) were already covered")
            }
            if part.rows.lowerBound > merged.rows.upperBound {
                throw InputError("missing part: no part covers x1 rows \(merged.rows.upperBound)..<\(part.rows.lowerBound)")
            }
            merged.append(part)
        }
        guard merged.rows.upperBound == merged.x1Rows else {
            throw InputError("missing part: no part covers x1 rows \(merged.rows.upperBound)..<\(merged.x1Rows)")
        }
        return merged
    }

    /// Adds the part that covers the rows right after this one's.
    mutating func append(_ next: PartialState) {
        rows = rows.lowerBound..<next.rows.upperBound
        for t in rowLogSumExp.indices {
            rowLogSumExp[t] += next.rowLogSumExp[t]
            columnLogSumExp[t] = zip(columnLogSumExp[t], next.columnLogSumExp[t]).map { $0 ⊕ $1 }
        }
        rowBeaten += next.rowBeaten
        columnBeaten = zip(columnBeaten, next.columnBeaten).map { $0 + $1 }
        if let top = next.rowTop { rowTop!.scores += top.scores; rowTop!.indices += top.indices }
        if let top = next.columnTop { columnTop = columnTop!.merged(with: top) }
        softplusSums = zip(softplusSums, next.softplusSums).map { $0 + $1 }
        similaritySum += next.similaritySum
        negativeSimilaritySum += next.negativeSimilaritySum
        squaredSimilaritySum += next.squaredSimilaritySum
        if let h = next.histogram { histogram = histogram! + h }
        if let u = next.uniformity { uniformity = zip(uniformity!, u).map { $0 ⊕ $1 } }
    }
}
