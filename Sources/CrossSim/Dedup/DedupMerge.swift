import Foundation

/// `part.json`, beside a part's `pairs.npy` and `similarity.npy` (docs/dedup.md): what `merge`
/// checks before it reads any pair.
struct DedupPartHeader: Codable, Equatable {
    /// A set as the part read it; paths may differ between machines, the rest may not.
    struct SetIdentity: Codable, Equatable {
        var path: String
        var rows: Int
        var dim: Int
        var dtype: String
        var shards: [ShardFingerprint]

        func isSameData(as other: SetIdentity) -> Bool {
            (rows, dim, dtype, shards) == (other.rows, other.dim, other.dtype, other.shards)
        }
    }

    static let schema = "crosssim.dedup-part/1"
    static let fileName = "part.json"

    var schema = DedupPartHeader.schema
    var part: PartIndex
    /// The part's rows of the set: [first, end).
    var rows: [Int]
    var set: SetIdentity
    var against: SetIdentity?
    var similarity: Similarity
    var threshold: Double
    var pairs: Int

    func write(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        try AtomicFile.write(text, to: (directory as NSString).appendingPathComponent(Self.fileName))
    }

    /// Reads and checks the header of the part in `directory`.
    static func read(from directory: String) throws -> DedupPartHeader {
        let path = (directory as NSString).appendingPathComponent(fileName)
        let bytes = try FileByteStream(path: path).readBytes(upTo: 1 << 20)
        let header: DedupPartHeader
        do {
            header = try JSONDecoder().decode(DedupPartHeader.self, from: Data(bytes))
        } catch {
            throw InputError("not the part.json of a `crosssim dedup --part` run (\(error))", file: path)
        }
        let set = header.set
        guard header.schema == schema else { throw InputError("unknown schema '\(header.schema)': this CrossSim reads \(schema)", file: path) }
        guard header.part.count >= 1, (0..<header.part.count).contains(header.part.index), header.part.count <= set.rows,
              set.rows > 0, set.rows < Int(Int32.max), set.dim > 0, (header.against?.rows ?? 1) > 0,
              (header.against?.rows ?? 0) < Int(Int32.max), header.threshold.isFinite, header.pairs >= 0,
              header.rows == {
                  let r = DedupRequest.rows(of: header.part, total: set.rows, triangle: header.against == nil)
                  return [r.lowerBound, r.upperBound]
              }()
        else { throw InputError("inconsistent part.json: part, rows, counts or threshold out of range", file: path) }
        return header
    }
}

/// `crosssim dedup --merge PART… --out DIR`: the parts' pairs, in part order, make the whole run's
/// files; clusters (or matches) are built as they stream past.
public enum DedupMerge {
    public static func run(parts directories: [String], directory: String) throws -> DedupResult {
        let started = DispatchTime.now().uptimeNanoseconds
        guard !directories.isEmpty else { throw InputError("--merge needs the parts' directories") }
        let headers = try directories.map(DedupPartHeader.read)
        let first = headers[0], name = directories[0]
        var byIndex: [Int: Int] = [:]
        for (k, header) in headers.enumerated() {
            let file = directories[k]
            guard header.part.count == first.part.count else {
                throw InputError("part \(header.part) belongs to a run of \(header.part.count) parts, \(name) to one of \(first.part.count)", file: file)
            }
            guard header.set.isSameData(as: first.set), (header.against == nil) == (first.against == nil),
                  header.against.map({ $0.isSameData(as: first.against!) }) ?? true else {
                throw InputError("part \(header.part) read other data than \(name) (shards, rows or fingerprints differ)", file: file)
            }
            guard header.similarity == first.similarity, header.threshold == first.threshold else {
                throw InputError("part \(header.part) was run with other options than \(name) (threshold or similarity)", file: file)
            }
            if let other = byIndex.updateValue(k, forKey: header.part.index) {
                throw InputError("part \(header.part) is given twice: here and in \(directories[other])", file: file)
            }
        }
        let missing = (0..<first.part.count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            throw InputError("missing parts of \(first.part.count): " + missing.prefix(20).map(String.init).joined(separator: ", ")
                             + (missing.count > 20 ? ", …" : ""))
        }
        var total = 0
        for header in headers {
            let (sum, overflow) = total.addingReportingOverflow(header.pairs)
            guard !overflow else { throw InputError("the parts' pair counts overflow", file: name) }
            total = sum
        }
        let order = (0..<first.part.count).map { byIndex[$0]! }
        let counts = try DedupOutput.write(directory: directory, rows: first.set.rows, against: first.against != nil, pairs: total) { body in
            for k in order {
                try PartPairs(directory: directories[k], header: headers[k]).read(body)
            }
        }
        return DedupResult(counts: counts, pairs: total, rows: first.set.rows, part: nil, directory: directory,
                           seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }
}

/// A part's `pairs.npy` and `similarity.npy`, checked as they are read: shapes against the
/// header, every pair within the part's rows and the columns, in strictly increasing order.
private struct PartPairs {
    let pairsPath: String
    let similarityPath: String
    let header: DedupPartHeader

    init(directory: String, header: DedupPartHeader) {
        pairsPath = (directory as NSString).appendingPathComponent("pairs.npy")
        similarityPath = (directory as NSString).appendingPathComponent("similarity.npy")
        self.header = header
    }

    /// Opens a file of the part, checks its header against `descr` and `shape`, and returns it
    /// at its first value.
    func open(_ path: String, descr: String, shape: [Int], width: Int) throws -> FileByteStream {
        let file = try FileByteStream(path: path)
        let npy = try NPYHeader.read(from: file)
        guard npy.descr == descr, !npy.fortranOrder, npy.shape == shape else {
            throw InputError("expected a \(descr) array of shape \(shape) (part.json says \(header.pairs) pairs), found \(npy.descr) \(npy.shapeText)", file: path)
        }
        guard try file.size() == npy.headerBytes + shape.reduce(width, *) else {
            throw InputError("truncated data or trailing bytes: the file does not hold \(header.pairs) pairs", file: path)
        }
        return file
    }

    func read(_ body: (UnsafeBufferPointer<PairRecord>) throws -> Void) throws {
        let count = header.pairs
        let pairs = try open(pairsPath, descr: "<i8", shape: [count, 2], width: 8)
        let similarities = try open(similarityPath, descr: "<f4", shape: [count], width: 4)
        let rows = header.rows[0]..<header.rows[1]
        let columns = header.against?.rows ?? header.set.rows
        let chunk = PairSpill.readRecords
        var indices = [Int64](repeating: 0, count: 2 * chunk), scores = [Float](repeating: 0, count: chunk)
        var records: [PairRecord] = []
        records.reserveCapacity(chunk)
        var previous: (Int64, Int64) = (-1, -1)
        for start in stride(from: 0, to: count, by: chunk) {
            let n = min(chunk, count - start)
            try indices.withUnsafeMutableBytes { try pairs.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<(16 * n)]), what: "pair \(start)") }
            try scores.withUnsafeMutableBytes { try similarities.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<(4 * n)]), what: "similarity \(start)") }
            records.removeAll(keepingCapacity: true)
            for p in 0..<n {
                let i = Int64(littleEndian: indices[2 * p]), j = Int64(littleEndian: indices[2 * p + 1])
                guard rows.contains(Int(truncatingIfNeeded: i)), (0..<Int64(columns)).contains(j),
                      header.against != nil || j > i, (i, j) > previous else {
                    throw InputError("pair \(start + p) (\(i), \(j)) is out of the part's rows \(rows), the columns, or order", file: pairsPath)
                }
                previous = (i, j)
                records.append(PairRecord(row: Int32(i), column: Int32(j), similarity: Float(bitPattern: UInt32(littleEndian: scores[p].bitPattern))))
            }
            try records.withUnsafeBufferPointer(body)
        }
    }
}
