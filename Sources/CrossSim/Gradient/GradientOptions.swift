/// The loss whose gradient `crosssim grad` computes (docs/gradient.md): the symmetric InfoNCE at
/// one temperature, or one SigLIP term, as docs/definitions.md defines them.
public enum GradientLoss: Sendable, Equatable, Codable, CustomStringConvertible {
    case infonce(tau: Double)
    case siglip(SigLIPTerm)

    public var description: String {
        switch self {
        case .infonce(let tau): "InfoNCE at τ = \(tau)"
        case .siglip(let term): "SigLIP \(term)"
        }
    }

    /// The loss as `report` gives it (symmetric InfoNCE, or the SigLIP loss); nil when the
    /// report's run did not compute it.
    public func value(in report: Report) -> Double? {
        switch self {
        case .infonce(let tau): report.infonce.first { $0.tau == tau }?.symmetric
        case .siglip(let term): report.siglip.first { $0.scale == term.scale && $0.bias == term.bias }?.loss
        }
    }

    /// Whether the weights need pass one's log-sum-exps (InfoNCE). SigLIP's need only the
    /// positives, and its figures are gathered in pass two's tiles.
    var needsPassOne: Bool {
        if case .infonce = self { return true }
        return false
    }

    /// Whether an evaluation with `options` computes what this loss's gradient needs: for
    /// InfoNCE its τ's log-sum-exps, for SigLIP its term (for the loss in the report).
    func isComputed(by options: EvaluationOptions) -> Bool {
        switch self {
        case .infonce(let tau): options.temperatures.contains(tau)
        case .siglip(let term): options.siglip.contains(term)
        }
    }
}

/// What a gradient run computes and how (docs/gradient.md).
public struct GradientOptions: Sendable, Equatable, Codable {
    public var similarity: Similarity = .cosine
    public var loss: GradientLoss = .infonce(tau: 0.05)
    public var tile: TileShape?
    public var threads: Int?

    public init() {}

    /// The evaluation of the same loss: its report holds the loss, and for InfoNCE its
    /// log-sum-exps are the first pass.
    public var evaluation: EvaluationOptions {
        var options = EvaluationOptions()
        options.similarity = similarity
        switch loss {
        case .infonce(let tau):
            options.temperatures = [tau]
        case .siglip(let term):
            options.temperatures = []
            options.siglip = [term]
        }
        options.tile = tile
        options.threads = threads
        return options
    }

    /// Rejects what `EvaluationOptions.validate` rejects of the same loss.
    public func validate() throws { try evaluation.validate() }
}
