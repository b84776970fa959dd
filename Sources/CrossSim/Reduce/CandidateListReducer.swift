import CCrossSimKernels

/// Each query's k best candidates, both ways (top-k; with positives left out, best
/// negatives). Row lists are final per row; each worker keeps column lists over the panel,
/// merged at its end (the best k do not depend on order). Under `--queries-only`
/// (`ReducerRun.keepsColumns` false) there are no column lists, per panel or in total.
final class CandidateListReducer<Section: CandidateListSection>: Reducer, @unchecked Sendable {
    /// Best-k lists of `count` queries.
    struct Lists {
        let k: Int
        let scores: SharedBuffer<Double>
        let indices: SharedBuffer<Int32>

        init(k: Int, count: Int) {
            self.k = k
            scores = SharedBuffer(repeating: -.infinity, count: k * count)
            indices = SharedBuffer(repeating: .max, count: k * count)
        }

        func reset() {
            scores.base.update(repeating: -.infinity, count: scores.count)
            indices.base.update(repeating: .max, count: indices.count)
        }

        var lists: TopKLists { TopKLists(k: k, scores: scores.array, indices: indices.array) }
    }

    let run: ReducerRun
    let k: Int
    let rowTop: Lists
    /// Per query, a threshold its candidates must not beat (hard negatives), or nil.
    let ceilings: (rows: ReducerRun.Thresholds, columns: ReducerRun.Thresholds)?
    private var workers: [Lists] = []
    /// Per panel column, a Float32 value no greater than the k-th best exact similarity of any
    /// worker's list: a cell below it cannot make the column's final list, whichever worker
    /// holds it. Shared, so that each worker's lists start from what the others found (every
    /// worker's raising keeps it a lower bound, so results do not depend on their timing).
    private var columnFloor = SharedBuffer<Float>(repeating: -.infinity, count: 0)
    /// Per worker, the kernel's scratch of per-strip column gates.
    private var gates: [SharedBuffer<Float>] = []
    private var totalTop: TopKLists

    convenience init(run: ReducerRun) { self.init(run: run, ceilings: nil) }

    init(run: ReducerRun, ceilings: (rows: ReducerRun.Thresholds, columns: ReducerRun.Thresholds)?) {
        self.run = run
        self.ceilings = ceilings
        k = Section.listLength(run.options)
        rowTop = Lists(k: k, count: run.rows.count)
        totalTop = TopKLists(k: k, count: run.keepsColumns ? run.columns : 0)
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) { (run.keepsColumns ? k * 12 + 8 : 0, 0) }

    func prepare(workers count: Int, slots: Int, panelColumns: Int) {
        guard run.keepsColumns else { return }
        let k = k
        workers = (0..<count).map { _ in Lists(k: k, count: panelColumns) }
        gates = (0..<count).map { _ in SharedBuffer(repeating: -.infinity, count: panelColumns) }
        columnFloor = SharedBuffer(repeating: -.infinity, count: panelColumns)
    }

    func beginPanel(_ columns: Range<Int>) {
        // A candidate that cannot beat a column's list so far cannot make its final list.
        guard run.keepsColumns else { return }
        for (local, j) in columns.enumerated() {
            columnFloor[local] = Float(lowerBoundOf: totalTop.scores[j * k + k - 1])
        }
    }

    /// `--gemm own` fills top-k's lists (every cell a candidate, no ceilings) in its micro-kernel
    /// (cs_gemm_abt_fused), but in a tile where rows' lists are not full yet or columns have no
    /// floor: cs_topk, which sees the whole tile stored, bounds their first k from its maxima at
    /// once (offering about half the cells that lists filling from empty take in).
    func fuse(into epilogue: inout cs_fused_epilogue, tile: Strip, worker: Int, slot: Int) -> FusedShare {
        let (r, local) = (tile.row, tile.local)
        guard Section.keepsPositives && ceilings == nil && rowTop.scores[r * k + k - 1] > -.infinity,
              !run.keepsColumns || columnFloor[local] > -.infinity
        else { return .none }
        epilogue.top = cs_topk_lists(k: Int64(k), row_scores: rowTop.scores.base + r * k, row_indices: rowTop.indices.base + r * k,
                                     col_scores: nil, col_indices: nil, col_floor: nil, col_gate: nil)
        if run.keepsColumns {
            let top = workers[worker]
            epilogue.top.col_scores = top.scores.base + local * k
            epilogue.top.col_indices = top.indices.base + local * k
            epilogue.top.col_floor = columnFloor.base + local
            epilogue.top.col_gate = gates[worker].base + local
        }
        return .whole
    }

    /// Columns no list has reached yet get their floors from the whole tile (without ceilings).
    func beginTile(_ tile: Strip, worker: Int) {
        guard run.keepsColumns && ceilings == nil else { return }
        cs_topk_seed_column_floors(tile.tile, Section.keepsPositives ? nil : tile.owners, Int64(k), columnFloor.base + tile.local)
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        guard !strip.fused else { return }
        let (r, local) = (strip.row, strip.local)
        let owners = Section.keepsPositives ? nil : strip.owners
        let rowScores = rowTop.scores.base + r * k, rowIndices = rowTop.indices.base + r * k
        // One kernel pass serves both directions: each cell is read, and recomputed exactly
        // when it may enter a list, once for its row's list and its column's.
        Self.withPointer(to: ceilings?.rows.at(r)) { rowCeiling in
            Self.withPointer(to: ceilings?.columns.at(Int(strip.tile.col0))) { colCeiling in
                guard run.keepsColumns else {
                    return cs_topk(strip.tile, owners, rowCeiling, nil, Int64(k), rowScores, rowIndices, nil, nil, nil, nil)
                }
                let top = workers[worker]
                cs_topk(strip.tile, owners, rowCeiling, colCeiling, Int64(k), rowScores, rowIndices,
                        top.scores.base + local * k, top.indices.base + local * k, columnFloor.base + local,
                        gates[worker].base + local)
            }
        }
    }

    static func withPointer(to ceiling: cs_thresholds?, _ body: (UnsafePointer<cs_thresholds>?) -> Void) {
        guard var ceiling else { return body(nil) }
        withUnsafePointer(to: &ceiling) { body($0) }
    }

    func endPanel() {
        let panel = run.panel
        for top in workers {
            totalTop.merge(top.lists.slice(0..<panel.count), into: panel)
            top.reset()
        }
    }

    func finish() -> Section { Section(rows: rowTop.lists, columns: totalTop) }
}

/// A section made of best-candidate lists both ways: each x1 row's best x2 rows, and each x2
/// row's best among the part's x1 rows.
protocol CandidateListSection: StateSection {
    /// How many candidates a query keeps.
    static func listLength(_ options: EvaluationOptions) -> Int
    /// Whether a query's positives are among its candidates.
    static var keepsPositives: Bool { get }
    var rows: TopKLists { get set }
    var columns: TopKLists { get set }
    init(rows: TopKLists, columns: TopKLists)
}

extension CandidateListSection {
    public mutating func append(_ next: Self) { appendLists(next) }

    mutating func appendLists(_ next: Self) {
        rows.scores += next.rows.scores
        rows.indices += next.rows.indices
        columns = columns.merged(with: next.columns)
    }

    public static func encodedBytes(_ shape: StateShape) -> Double { listBytes(shape) }

    static func listBytes(_ shape: StateShape) -> Double {
        Double(12 * listLength(shape.options)) * Double(shape.rows.count + shape.labelledColumns)
    }

    public func encode(into writer: inout BinaryWriter) { encodeLists(into: &writer) }

    func encodeLists(into writer: inout BinaryWriter) {
        for lists in [rows, columns] {
            writer.append(lists.scores)
            writer.append(lists.indices)
        }
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> Self { try decodeLists(from: reader, shape: shape) }

    static func decodeLists(from reader: BinaryReader, shape: StateShape) throws -> Self {
        let k = listLength(shape.options)
        func lists(_ count: Int) throws -> TopKLists {
            TopKLists(k: k, scores: try reader.array(Double.self, count: count * k, what: "candidate scores"),
                      indices: try reader.array(Int32.self, count: count * k, what: "candidate indices"))
        }
        let section = Self(rows: try lists(shape.rows.count), columns: try lists(shape.labelledColumns))
        // Lists name candidates, or the empty slot Int32.max where a query has fewer than k (a
        // column's list holds only rows of this part; a row's list of every x2 row is full
        // when positives count): the report indexes with them.
        guard section.rows.indices.allSatisfy({ ($0 == .max && !keepsPositives) || (0 <= $0 && Int($0) < shape.x2Rows) }),
              section.columns.indices.allSatisfy({ $0 == .max || shape.rows.contains(Int($0)) })
        else { throw SectionError("candidate lists out of range") }
        return section
    }
}

extension Float {
    /// The largest Float32 no greater than `value`.
    init(lowerBoundOf value: Double) {
        let rounded = Float(value)
        self = Double(rounded) > value ? rounded.nextDown : rounded
    }
}
