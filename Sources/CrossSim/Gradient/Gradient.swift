import Foundation

/// The loss's gradient with respect to the raw rows of x1 and x2, for matrices in memory
/// (docs/gradient.md): pass one is the evaluation (its report holds the loss; for InfoNCE its
/// log-sum-exps of every row and column give the softmaxes), pass two recomputes each tile and
/// multiplies its weights into both gradients.
public struct Gradient: Sendable {
    public let options: GradientOptions
    let evaluation: Evaluation
    /// The caller's rows, which the gradient under cosine goes through the normalisation of.
    let raw: (x1: Embeddings, x2: Embeddings)

    /// Checks the options, the sets and the pairs as `Evaluation` does. Under cosine the rows
    /// are normalised into copies (unless they already are unit length); the caller's
    /// matrices are not changed, and are read again for the normalisation's Jacobian.
    public init(x1: Embeddings, x2: Embeddings, pairs: Pairs? = nil, options: GradientOptions = .init()) throws {
        try options.validate()
        self.options = options
        evaluation = try Evaluation(x1: x1, x2: x2, pairs: pairs, options: options.evaluation)
        raw = (x1, x2)
    }

    /// The loss (as `eval` reports it), its report, and both gradients.
    public func compute(control: RunControl = .init()) throws -> (loss: Double, report: Report, dx1: Embeddings, dx2: Embeddings) {
        let dx1 = Embeddings(rows: evaluation.x1.rows, dim: evaluation.x1.dim)
        let dx2 = Embeddings(rows: evaluation.x2.rows, dim: evaluation.x2.dim)
        let report = try compute(dx1: dx1, dx2: dx2, control: control)
        return (options.loss.value(in: report)!, report, dx1, dx2)
    }

    /// Writes both gradients into the caller's matrices (the shapes of x1 and x2; their values
    /// are overwritten) and returns the evaluation's report.
    public func compute(dx1: Embeddings, dx2: Embeddings, control: RunControl = .init()) throws -> Report {
        let (x1, x2) = (evaluation.x1, evaluation.x2)
        precondition(dx1.rows == x1.rows && dx1.dim == x1.dim && dx2.rows == x2.rows && dx2.dim == x2.dim,
                     "the gradients have the shapes of x1 and x2")
        let plan = evaluation.plan
        control.progress?.expect(plan.tileCount(rows: x1.rows, cols: x2.rows))  // pass two's (the evaluation counts its own)
        let start = Date()
        let state = try evaluation.state(control: control)
        dx1.zero()
        dx2.zero()
        try GradientPass(plan: plan, weights: TileWeights(loss: options.loss, state: state, options: evaluation.options))
            .run(x1: x1, rows: 0..<x1.rows, held: 0..<x1.rows, x2Panels: HeldColumns(x2: x2), dx1: dx1, dx2: dx2, control: control)
        if options.similarity == .cosine {
            dx1.projectThroughNormalisation(raw: raw.x1)
            dx2.projectThroughNormalisation(raw: raw.x2)
        }
        let engine = Report.Engine(plan: plan, seconds: Date().timeIntervalSince(start),
                                   flops: Self.flops(rows: x1.rows, columns: x2.rows, dim: x1.dim))
        return Report(state: state, inputs: evaluation.inputs, options: evaluation.options, engine: engine)
    }

    /// Four products of x1 rows by x2 rows: S in each pass, then W·x2 and Wᵀ·x1.
    static func flops(rows: Int, columns: Int, dim: Int) -> Double {
        4 * 2 * Double(rows) * Double(columns) * Double(dim)
    }
}

extension Embeddings {
    /// Sets every value to 0.
    func zero() { baseAddress.update(repeating: 0, count: rows * dim) }

    /// Every value, in place.
    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: baseAddress, count: rows * dim) }
}
