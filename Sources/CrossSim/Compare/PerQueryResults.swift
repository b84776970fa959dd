/// One direction's per-query results, as `--per-query DIR` writes them (docs/report.md), or
/// the same columns in memory:
/// `DIR/D.rank.npy` (int64 [queries]: the best positive's rank, 0 for a query without a
/// positive) and `DIR/D.infonce.npy` (float64 [queries, T]: the query's InfoNCE term at each τ
/// of the report, in report order). Every value is checked: a rank beyond the candidates, or a
/// loss that is not finite for a query with a positive, is an error naming the file and row.
struct PerQueryResults {
    let ranks: [Int]
    /// Row-major [queries × temperatures].
    let infonce: [Double]
    let temperatures: Int

    init(directory: String, direction: ReportMetric.Direction, queries: Int, candidates: Int, temperatures: Int) throws {
        let base = (directory.hasSuffix("/") ? directory : directory + "/") + direction.rawValue
        let rankPath = base + ".rank.npy", infoncePath = base + ".infonce.npy"
        let rankBits = try Self.read(rankPath, kind: "i", shape: [queries])
        let infonce = try Self.read(infoncePath, kind: "f", shape: [queries, temperatures]).map { Double(bitPattern: $0) }
        try self.init(ranks: rankBits.map { Int(Int64(bitPattern: $0)) }, infonce: infonce, temperatures: temperatures,
                      candidates: candidates, rankName: rankPath, infonceName: infoncePath)
    }

    /// The same columns in memory, checked the same way; `name` stands for the files in errors.
    init(columns: Comparison.Columns.Direction, name: String, queries: Int, candidates: Int, temperatures: Int) throws {
        guard columns.rank.count == queries, columns.infonce.count == queries * temperatures else {
            throw InputError("\(columns.rank.count) ranks and \(columns.infonce.count) InfoNCE terms: the report's queries need "
                             + "\(queries) and \(queries) × \(temperatures)", file: name)
        }
        try self.init(ranks: columns.rank.map { Int($0) }, infonce: columns.infonce, temperatures: temperatures,
                      candidates: candidates, rankName: name + " rank", infonceName: name + " infonce")
    }

    private init(ranks: [Int], infonce: [Double], temperatures: Int, candidates: Int, rankName: String, infonceName: String) throws {
        for (row, rank) in ranks.enumerated() where rank < 0 || rank > candidates {
            throw InputError("rank \(rank) is outside 0…\(candidates) (0: no positive; else 1 to the \(candidates) candidates)",
                             file: rankName, row: row)
        }
        for (row, rank) in ranks.enumerated() where rank > 0 {
            for t in 0..<temperatures where !infonce[row * temperatures + t].isFinite {
                throw InputError("the InfoNCE term at τ number \(t + 1) is \(infonce[row * temperatures + t]) for a query with a positive",
                                 file: infonceName, row: row)
            }
        }
        self.ranks = ranks
        self.infonce = infonce
        self.temperatures = temperatures
    }

    /// The values of a C-order .npy of 8-byte integers (`kind` "i") or floats ("f"), either
    /// byte order, of exactly `shape`, as their bits.
    private static func read(_ path: String, kind: Character, shape: [Int]) throws -> [UInt64] {
        let file = try FileByteStream(path: path)
        let header = try NPYHeader.read(from: file)
        let expected = kind == "i" ? "int64 (<i8)" : "float64 (<f8)"
        guard header.descr.count == 3, let order = header.descr.first, "<>=|".contains(order),
              header.descr.dropFirst() == "\(kind)8"
        else {
            throw InputError("unsupported dtype '\(header.descr)': expected \(expected)", file: path)
        }
        guard !header.fortranOrder || shape.count == 1 else { throw InputError("unsupported layout: Fortran order", file: path) }
        let shapeText = "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
        guard header.shape == shape else {
            throw InputError("wrong shape \(header.shapeText): the report's queries need \(shapeText)", file: path)
        }
        let count = shape.reduce(1, *)
        let fileBytes = try file.size()
        guard header.headerBytes + 8 * count == fileBytes else {
            let word = header.headerBytes + 8 * count > fileBytes ? "truncated data" : "trailing data"
            throw InputError("\(word): \(shapeText) needs \(8 * count) bytes of data, the file holds \(fileBytes - header.headerBytes)",
                             file: path)
        }
        var values = [UInt64](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { try file.readExactly(into: $0, what: "the \(count) values") }
        let bigEndian = order == ">" || (order == "=" && UInt16(1).bigEndian == 1)
        return bigEndian ? values.map { UInt64(bigEndian: $0) } : values.map { UInt64(littleEndian: $0) }
    }
}
