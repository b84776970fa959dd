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

    func finish() -> NearestNeighbors { NearestNeighbors(rows: rowTop.lists, columns: totalTop) }
}

/// Top-k's state: each x1 row's k best x2 rows, and each x2 row's k best among the part's x1
/// rows.
public struct NearestNeighbors: StateSection {
    public var rows: TopKLists
    public var columns: TopKLists

    public static let name = "top_k"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.topK != nil }

    public mutating func append(_ next: NearestNeighbors) {
        rows.scores += next.rows.scores
        rows.indices += next.rows.indices
        columns = columns.merged(with: next.columns)
    }

    public static func encodedBytes(_ shape: StateShape) -> Double {
        Double(12 * (shape.options.topK ?? 0)) * Double(shape.rows.count + shape.x2Rows)
    }

    public func encode(into writer: inout BinaryWriter) {
        for lists in [rows, columns] {
            writer.append(lists.scores)
            writer.append(lists.indices)
        }
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> NearestNeighbors {
        let k = shape.options.topK ?? 0
        func lists(_ count: Int) throws -> TopKLists {
            TopKLists(k: k, scores: try reader.array(Double.self, count: count * k, what: "top-k scores"),
                      indices: try reader.array(Int32.self, count: count * k, what: "top-k indices"))
        }
        let section = NearestNeighbors(rows: try lists(shape.rows.count), columns: try lists(shape.x2Rows))
        // Lists name candidates (a column's only rows of this part, or the empty slot
        // Int32.max): the report indexes with them.
        guard section.rows.indices.allSatisfy({ 0 <= $0 && Int($0) < shape.x2Rows }),
              section.columns.indices.allSatisfy({ $0 == .max || shape.rows.contains(Int($0)) })
        else { throw SectionError("top-k lists out of range") }
        return section
    }

    /// The sentence-transformers metrics at each k ≤ K (the ranks' section has filled in the
    /// rest of each direction's retrieval).
    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        let p = state.positives
        report.x1ToX2.addListMetrics(rows, ks: options.recallAt, queries: p.rowsWithPositive,
                                     isRelevant: { query, candidate in p.positiveOf[Int(candidate)] == Int32(query) },
                                     relevantCount: { Int(p.rowCount[$0]) })
        report.x2ToX1.addListMetrics(columns, ks: options.recallAt, queries: Array(0..<state.x2Rows),
                                     isRelevant: { query, candidate in p.positiveOf[query] == candidate },
                                     relevantCount: { _ in 1 })
    }
}

extension Float {
    /// The largest Float32 no greater than `value`.
    init(lowerBoundOf value: Double) {
        let rounded = Float(value)
        self = Double(rounded) > value ? rounded.nextDown : rounded
    }
}
