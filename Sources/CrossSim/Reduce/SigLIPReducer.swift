import CCrossSimKernels

/// Σ softplus(t·s + b) over the negative cells, one sum per SigLIP term, folded in row-block
/// order.
final class SigLIPReducer: Reducer, @unchecked Sendable {
    let terms: [SigLIPTerm]
    /// Per slot, one sum per term.
    private var slots = SharedBuffer<Double>(repeating: 0, count: 0)
    private var sums: [Double]

    static func isAsked(by options: EvaluationOptions) -> Bool { !options.siglip.isEmpty }

    init(run: ReducerRun) {
        terms = run.options.siglip
        sums = [Double](repeating: 0, count: terms.count)
    }

    func prepare(workers: Int, slots count: Int, panelColumns: Int) {
        slots = SharedBuffer(repeating: 0, count: count * terms.count)
    }

    /// The first term, which `--gemm own` sums in its micro-kernel (cs_gemm_abt_fused).
    func fuse(into epilogue: inout cs_fused_epilogue, tile: Strip, worker: Int, slot: Int) -> FusedShare {
        guard let term = terms.first else { return .none }
        epilogue.softplus_scale = Float(term.scale)
        epilogue.softplus_bias = Float(term.bias)
        epilogue.softplus_sum = slots.base + slot * terms.count
        return terms.count == 1 ? .whole : .part
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        for (k, term) in terms.enumerated() where !(strip.fused && k == 0) {
            slots[slot * terms.count + k] += cs_softplus_sum(strip.tile, strip.owners, Float(term.scale), Float(term.bias))
        }
    }

    func fold(slot: Int) {
        for k in terms.indices {
            sums[k] += slots[slot * terms.count + k]
            slots[slot * terms.count + k] = 0
        }
    }

    func finish() -> SoftplusSums { SoftplusSums(negatives: sums) }
}

/// SigLIP's state: Σ softplus(t·s + b) over the negative cells, one sum per term (the
/// positives' terms come from their binary64 similarities at report time).
public struct SoftplusSums: StateSection {
    public var negatives: [Double]

    public static let name = "siglip"
    public static func isAsked(by options: EvaluationOptions) -> Bool { !options.siglip.isEmpty }

    public mutating func append(_ next: SoftplusSums) {
        negatives = zip(negatives, next.negatives).map { $0 + $1 }
    }

    public static func encodedBytes(_ shape: StateShape) -> Double { Double(8 * shape.options.siglip.count) }

    public func encode(into writer: inout BinaryWriter) { writer.append(negatives) }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> SoftplusSums {
        SoftplusSums(negatives: try reader.array(Double.self, count: shape.options.siglip.count, what: "SigLIP sums"))
    }

    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        // A small loss keeps its relative accuracy: the positives' terms are exact.
        report.siglip = options.siglip.enumerated().map { k, term in
            let positives = state.positives.similarity.reduce(0.0) { $0 + Report.softplus(-(term.scale * $1 + term.bias)) }
            return Report.SigLIP(scale: term.scale, bias: term.bias, loss: (negatives[k] + positives) / Double(state.x1Rows))
        }
    }
}
