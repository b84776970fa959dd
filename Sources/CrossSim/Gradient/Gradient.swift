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
        dx1.zero()
        dx2.zero()
        let state = try evaluation.gradientState(loss: options.loss, rows: 0..<x1.rows, dx1: dx1, dx2: dx2, control: control)
        if options.similarity == .cosine {
            dx1.projectThroughNormalisation(raw: raw.x1)
            dx2.projectThroughNormalisation(raw: raw.x2)
        }
        let engine = Report.Engine(plan: plan, seconds: Date().timeIntervalSince(start),
                                   flops: flops(rows: x1.rows, columns: x2.rows, dim: x1.dim))
        return Report(state: state, inputs: evaluation.inputs, options: evaluation.options, engine: engine)
    }

    /// Four products of x1 rows by x2 rows (S in each pass, then W·x2 and Wᵀ·x1), three for a
    /// loss without pass one.
    func flops(rows: Int, columns: Int, dim: Int) -> Double {
        (options.loss.needsPassOne ? 4 : 3) * 2 * Double(rows) * Double(columns) * Double(dim)
    }
}

extension Evaluation {
    /// Both passes over x1 rows `rows` (all the evaluation holds) into the zeroed `dx1`, `dx2`:
    /// the evaluation then pass two, or for a loss without pass one a single pass that gathers
    /// the evaluation's figures too. Returns the evaluation's state.
    func gradientState(loss: GradientLoss, rows: Range<Int>, dx1: Embeddings, dx2: Embeddings, control: RunControl) throws -> PartialState {
        guard loss.needsPassOne else {
            guard case .siglip(let term) = loss else { preconditionFailure("a loss without pass one is SigLIP") }
            return try stateAndGradient(rows: rows, weights: TileWeights(siglip: term, positives: positives), dx1: dx1, dx2: dx2,
                                        control: control)
        }
        let state = try self.state(rows: rows, control: control)
        try GradientPass(plan: plan, weights: TileWeights(loss: loss, state: state, options: options))
            .run(x1: x1, rows: rows, held: 0..<rows.count, x2Panels: HeldColumns(x2: x2), dx1: dx1, dx2: dx2, control: control)
        return state
    }
}

extension Embeddings {
    /// Sets every value to 0.
    func zero() { baseAddress.update(repeating: 0, count: rows * dim) }

    /// Every value, in place.
    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: baseAddress, count: rows * dim) }
}
