import CCrossSimKernels
import Foundation

/// Wang & Isola's uniformity, log mean_{i≠j} e^{−2‖x_i − x_j‖²}, over a set against itself:
/// a second tile pass (x·xᵀ) with its own small consumer.
enum Uniformity {
    final class Consumer: TileConsumer, @unchecked Sendable {
        let norms: SharedBuffer<Float>
        private(set) var partials = SharedBuffer<LogSumExp>(repeating: .empty, count: 0)
        /// The slots folded so far, in row-block order.
        var total = LogSumExp.empty

        init(norms: [Float]) {
            self.norms = SharedBuffer(norms)
        }

        func prepare(workers: Int, slots: Int, panelColumns: Int) {
            partials = SharedBuffer(repeating: .empty, count: slots)
        }

        func consume(_ tile: cs_tile, worker: Int, slot: Int) {
            let p = partials.base + slot
            cs_uniformity(tile, norms.base + Int(tile.row0), norms.base + Int(tile.col0), &p.pointee.max, &p.pointee.sum)
        }

        func fold(slot: Int) {
            total = total ⊕ partials[slot]
            partials[slot] = .empty
        }
    }

    /// log Σ over rows × all rows (i ≠ j); merged in row-block order. The metric does not change
    /// when a set is moved, so it is computed on a centred copy: ‖a‖² + ‖b‖² − 2a·b cancels far
    /// less when the rows sit near the origin than when they share a large offset.
    static func run(set original: Embeddings, rows: Range<Int>, plan: TilePlan, control: RunControl) throws -> LogSumExp {
        let set = centred(original)
        let consumer = Consumer(norms: set.squaredNorms())
        try TileEngine(plan: plan).run(rows: RowPanel(set, rows: rows), columns: RowPanel(set, rows: 0..<set.rows),
                                       consumer: consumer, control: control)
        return consumer.total
    }

    static func centred(_ set: Embeddings) -> Embeddings {
        let mean = set.rowSum(rows: 0..<set.rows)
        let copy = Embeddings(rows: set.rows, dim: set.dim)
        for i in 0..<set.rows {
            let from = set.row(i), to = copy.row(i)
            for d in 0..<set.dim { to[d] = Float(Double(from[d]) - mean[d] / Double(set.rows)) }
        }
        return copy
    }

    /// The metric from the merged log-sum-exp of a set of n rows.
    static func value(_ lse: LogSumExp, rows n: Int) -> Double {
        lse.value - log(Double(n) * Double(n - 1))
    }
}

/// Uniformity's state: this part's share of each set's log Σ e^{−2‖a−b‖²}.
public struct UniformitySums: StateSection {
    public var x1: LogSumExp
    public var x2: LogSumExp

    public static let name = "uniformity"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.uniformity }

    public mutating func append(_ next: UniformitySums) {
        x1 = x1 ⊕ next.x1
        x2 = x2 ⊕ next.x2
    }

    public static func encodedBytes(_ shape: StateShape) -> Double { 32 }

    public func encode(into writer: inout BinaryWriter) {
        writer.append([x1.max, x1.sum, x2.max, x2.sum])
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> UniformitySums {
        let v = try reader.array(Double.self, count: 4, what: "uniformity")
        return UniformitySums(x1: LogSumExp(max: v[0], sum: v[1]), x2: LogSumExp(max: v[2], sum: v[3]))
    }

    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        let (n1, n2) = (state.x1Rows, state.x2Rows)
        report.diagnostics.uniformityX1 = n1 > 1 ? Uniformity.value(x1, rows: n1) : nil
        report.diagnostics.uniformityX2 = n2 > 1 ? Uniformity.value(x2, rows: n2) : nil
        let single = [("x1", n1), ("x2", n2)].filter { $0.1 < 2 }.map { "\($0.0) has \($0.1) row" }
        if !single.isEmpty {
            report.notes.append("uniformity is left out: it averages over pairs of distinct rows, and " + single.joined(separator: " and "))
        }
    }
}
