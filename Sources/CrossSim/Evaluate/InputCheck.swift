import Foundation

/// The checks docs/inputs.md makes of two sets, their pairs and the options, shared by runs in
/// memory and runs that stream.
enum InputCheck {
    /// The pairs to use (identity when none are given), after checking every shape.
    static func pairs(_ pairs: Pairs?, x1: (rows: Int, dim: Int), x2: (rows: Int, dim: Int),
                      options: EvaluationOptions) throws -> Pairs {
        guard x1.dim == x2.dim else {
            throw InputError("dimension mismatch between sets: x1 has D = \(x1.dim), x2 has D = \(x2.dim)")
        }
        guard x1.rows > 0, x2.rows > 0 else { throw InputError("empty set: x1 has \(x1.rows) rows, x2 \(x2.rows)") }
        // Queries only: x1's rows ask, x2's answer.
        if let k = options.topK, k > (options.queriesOnly ? x2.rows : min(x1.rows, x2.rows)) {
            throw InputError("--top-k \(k) exceeds the candidates: x1 has \(x1.rows) rows, x2 \(x2.rows)")
        }
        if options.health, options.hubnessK > min(x1.rows, x2.rows) {
            throw InputError("--hubness-k \(options.hubnessK) exceeds the candidates: x1 has \(x1.rows) rows, x2 \(x2.rows)")
        }
        if options.queriesOnly {
            guard pairs == nil else {
                throw InputError("--queries-only takes no --pairs: its queries are unlabelled (x1→x2 top-k lists only)", file: pairs?.path)
            }
            return Pairs.unlabelled(x1Rows: x1.rows)
        }
        guard let pairs else {
            guard x1.rows == x2.rows else {
                throw InputError("N1 ≠ N2 (\(x1.rows) and \(x2.rows) rows) without --pairs: say which rows belong together")
            }
            return Pairs.identity(x1.rows)
        }
        guard pairs.x1Rows == x1.rows, pairs.x2Rows == x2.rows else {
            throw InputError("pairs of length \(pairs.x2Rows) for \(pairs.x1Rows) rows do not fit x1 (\(x1.rows)) and x2 (\(x2.rows))",
                             file: pairs.path)
        }
        return pairs
    }

    /// Under dot similarity a row whose squared norm reaches this is refused as it is read,
    /// naming its file and row: a similarity is at most the product of two rows' norms
    /// (Cauchy–Schwarz), so every one then stays below it, inside Float32's range (3.4e38)
    /// with room for the sums over a row (README, "Inputs").
    static let largestDotSquaredNorm: Float = 1e37

    static func tooLargeForDot(squaredNorm: Double, file: String, row: Int) -> InputError {
        InputError(String(format: "values too large for --similarity dot: the row's norm is %.3g, and from %.3g on dot "
                              + "similarities could overflow Float32 (use cosine, or scale the set down)",
                          squaredNorm.squareRoot(), Double(largestDotSquaredNorm).squareRoot()),
                   file: file, row: row)
    }

    /// The range similarities can take: [−1, 1] for cosine; for dot ±(‖x1‖max·‖x2‖max)
    /// (Cauchy–Schwarz), which must stay inside Float32's range (rows are checked against
    /// `largestDotSquaredNorm` as they are read, which keeps it there).
    static func similarityRange(maxSquaredNorms: (Float, Float), options: EvaluationOptions) throws -> (lower: Float, upper: Float) {
        guard options.similarity == .dot else { return (-1, 1) }
        let bound = (Double(maxSquaredNorms.0) * Double(maxSquaredNorms.1)).squareRoot()
        guard bound < Double(largestDotSquaredNorm) else { throw InputError("values too large: dot similarities could overflow Float32") }
        let b = max(Float(bound), .leastNormalMagnitude)
        return (-b, b)
    }
}
