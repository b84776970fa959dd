import CCrossSimKernels
import Foundation

/// What pass two needs to turn a tile of S into the tile of W = dL/dS (docs/gradient.md): the
/// per-row and per-column terms of the negative cells, which the kernel forms in Float32, and
/// each positive cell's weight, computed here in binary64 from the exact similarity (every x2
/// column has one positive cell, at its x1 row p(j)).
struct TileWeights: Sendable {
    enum Terms: Sendable {
        /// W_ij = rowWeight_i·e^(s_ij/τ − rowShift_i) + columnWeight·e^(s_ij/τ − columnShift_j).
        case infonce(scale: Float, rowShift: SharedBuffer<Float>, rowWeight: SharedBuffer<Float>,
                     columnShift: SharedBuffer<Float>, columnWeight: Float)
        /// W_ij = negativeWeight·sigmoid(scale·s_ij + bias).
        case siglip(scale: Float, bias: Float, negativeWeight: Float)
    }

    let terms: Terms
    /// Per x2 column j, the weight of its positive cell (p(j), j).
    let positiveWeight: SharedBuffer<Float>
    /// Per x2 column j, its x1 row p(j).
    let positiveOf: SharedBuffer<Int32>

    /// The weights of `loss` from an evaluation of every x1 row with `options` (for InfoNCE, its
    /// log-sum-exps over the negatives of every row and every column at the loss's τ).
    init(loss: GradientLoss, state: PartialState, options: EvaluationOptions) {
        precondition(state.rows == 0..<state.x1Rows && loss.isComputed(by: options), "the weights need the state of every x1 row")
        switch loss {
        case .infonce(let tau):
            let lse = state[NegativeLogSumExps.self]!, t = options.temperatures.firstIndex(of: tau)!
            let (terms, positiveWeight) = Self.infonce(tau: tau, negatives: (lse.rows[t], lse.columns[t]), positives: state.positives)
            self.init(terms: terms, positiveWeight: positiveWeight, positives: state.positives)
        case .siglip(let term):
            self.init(siglip: term, positives: state.positives)
        }
    }

    /// SigLIP's weights, which need only the positives: dL/ds = −y·t·sigmoid(−y(t·s + b)) / N1,
    /// y = +1 on positives and −1 elsewhere.
    init(siglip term: SigLIPTerm, positives p: Positives) {
        let n1 = Double(p.rowCount.count)
        self.init(terms: .siglip(scale: Float(term.scale), bias: Float(term.bias), negativeWeight: Float(term.scale / n1)),
                  positiveWeight: SharedBuffer(p.similarity.map { Float(-term.scale / n1 * Self.sigmoid(-(term.scale * $0 + term.bias))) }),
                  positives: p)
    }

    private init(terms: Terms, positiveWeight: SharedBuffer<Float>, positives: Positives) {
        self.terms = terms
        self.positiveWeight = positiveWeight
        positiveOf = SharedBuffer(positives.positiveOf)
    }

    /// dL/ds of the symmetric InfoNCE (docs/gradient.md): each x1 row with a positive is a query
    /// of weight 1/(2·Q1·τ) over its row's softmax, minus 1/|P(i)| on each positive; each x2 row
    /// a query of weight 1/(2·N2·τ) over its column's softmax, minus 1 on its positive.
    static func infonce(tau: Double, negatives: (rows: [LogSumExp], columns: [LogSumExp]), positives p: Positives)
        -> (Terms, SharedBuffer<Float>) {
        let n1 = p.rowCount.count, n2 = p.positiveOf.count
        let queries = Double(p.rowsWithPositive.count)
        let columnWeight = 1 / (2 * Double(n2) * tau)
        var positive = [LogSumExp](repeating: .empty, count: n1)
        for (j, i) in p.positiveOf.enumerated() {
            positive[Int(i)] = positive[Int(i)] ⊕ LogSumExp(max: p.similarity[j] / tau, sum: 1)
        }
        let rowWeight = p.rowCount.map { $0 > 0 ? 1 / (2 * queries * tau) : 0 }
        let rowShift = (0..<n1).map { Float((negatives.rows[$0] ⊕ positive[$0]).value) }
        let columnShift = (0..<n2).map { j in
            Float((negatives.columns[j] ⊕ LogSumExp(max: p.similarity[j] / tau, sum: 1)).value)
        }
        // A positive cell's softmax terms minus their targets, without cancellation: with A the
        // sum of a query's positive exponentials and B its negatives', the row's term is
        // (e^z/A − 1/|P|)·A/(A + B) − (B/(A + B))/|P|, and the column's e^z/(e^z + B) − 1 =
        // −B/(e^z + B); B/(A + B) = sigmoid(log B − log A).
        let positiveWeight = p.positiveOf.enumerated().map { j, owner -> Float in
            let i = Int(owner), z = p.similarity[j] / tau, count = Double(p.rowCount[i])
            let rowNegativeShare = sigmoid(negatives.rows[i].value - positive[i].value)
            let share = exp(z - positive[i].value)
            let byRow = (share - 1 / count) * (1 - rowNegativeShare) - rowNegativeShare / count
            let byColumn = -sigmoid(negatives.columns[j].value - z)
            return Float(rowWeight[i] * byRow + columnWeight * byColumn)
        }
        let terms = Terms.infonce(scale: Float(1 / tau), rowShift: SharedBuffer(rowShift), rowWeight: SharedBuffer(rowWeight.map { Float($0) }),
                                  columnShift: SharedBuffer(columnShift), columnWeight: Float(columnWeight))
        return (terms, SharedBuffer(positiveWeight))
    }

    /// 1/(1 + e^−x) without overflow; 0 at −∞ (a query without negatives).
    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// Writes the tile's W to `w` (row stride `ldw`).
    func weights(of tile: cs_tile, into w: UnsafeMutablePointer<Float>, ldw: Int) {
        let c = Int(tile.col0), r = Int(tile.row0)
        let owners = UnsafePointer(positiveOf.base + c), positive = UnsafePointer(positiveWeight.base + c)
        switch terms {
        case let .infonce(scale, rowShift, rowWeight, columnShift, columnWeight):
            cs_infonce_weights(tile, owners, scale, rowShift.base + r, rowWeight.base + r, columnShift.base + c, columnWeight,
                               positive, w, Int64(ldw))
        case let .siglip(scale, bias, negativeWeight):
            cs_siglip_weights(tile, owners, scale, bias, negativeWeight, positive, w, Int64(ldw))
        }
    }
}
