import CCrossSimKernels

/// Each query's k best candidates, both ways. Row lists are final per row; each worker keeps
/// column lists over the panel, merged at its end (the best k do not depend on order).
final class TopKReducer: Reducer, @unchecked Sendable {
    /// Best-k lists of `count` queries with the Float32 floor of each list's last score.
    struct Lists {
        let k: Int
        let scores: SharedBuffer<Double>
        let indices: SharedBuffer<Int32>
        let floor: SharedBuffer<Float>

        init(k: Int, count: Int) {
            self.k = k
            scores = SharedBuffer(repeating: -.infinity, count: k * count)
            indices = SharedBuffer(repeating: .max, count: k * count)
            floor = SharedBuffer(repeating: -.infinity, count: count)
        }

        func reset() {
            scores.base.update(repeating: -.infinity, count: scores.count)
            indices.base.update(repeating: .max, count: indices.count)
            floor.base.update(repeating: -.infinity, count: floor.count)
        }

        var lists: TopKLists { TopKLists(k: k, scores: scores.array, indices: indices.array) }
    }

    let run: ReducerRun
    let k: Int
    let rowTop: Lists
    private var workers: [Lists] = []
    private var totalTop: TopKLists

    static func isAsked(by options: EvaluationOptions) -> Bool { options.topK != nil }

    init(run: ReducerRun) {
        self.run = run
        k = run.options.topK!
        rowTop = Lists(k: k, count: run.rows.count)
        totalTop = TopKLists(k: k, count: run.columns)
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) { (k * 12 + 4, 0) }

    func prepare(workers count: Int, slots: Int, panelColumns: Int) {
        let k = k
        workers = (0..<count).map { _ in Lists(k: k, count: panelColumns) }
    }

    func beginPanel(_ columns: Range<Int>) {
        // A candidate that cannot beat a column's list so far cannot make its final list.
        for w in workers {
            for (local, j) in columns.enumerated() {
                w.floor[local] = Float(lowerBoundOf: totalTop.scores[j * k + k - 1])
            }
        }
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        let (r, local, top) = (strip.row, strip.local, workers[worker])
        cs_topk_rows(strip.tile, Int64(k), rowTop.scores.base + r * k, rowTop.indices.base + r * k)
        cs_topk_cols(strip.tile, Int64(k), top.scores.base + local * k, top.indices.base + local * k, top.floor.base + local)
    }

    func endPanel() {
        let panel = run.panel
        for top in workers {
            totalTop.merge(top.lists.slice(0..<panel.count), into: panel)
            top.reset()
        }
    }

    func finish(into state: inout PartialState) {
        state.rowTop = rowTop.lists
        state.columnTop = totalTop
    }
}

extension Float {
    /// The largest Float32 no greater than `value`.
    init(lowerBoundOf value: Double) {
        let rounded = Float(value)
        self = Double(rounded) > value ? rounded.nextDown : rounded
    }
}
