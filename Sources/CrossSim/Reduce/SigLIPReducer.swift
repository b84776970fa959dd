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

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        for (k, term) in terms.enumerated() {
            slots[slot * terms.count + k] += cs_softplus_sum(strip.tile, strip.owners, Float(term.scale), Float(term.bias))
        }
    }

    func fold(slot: Int) {
        for k in terms.indices {
            sums[k] += slots[slot * terms.count + k]
            slots[slot * terms.count + k] = 0
        }
    }

    func finish(into state: inout PartialState) {
        state.softplusSums = sums
    }
}
