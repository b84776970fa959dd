import Foundation

/// A part's gradient on disk (docs/gradient.md): what `grad --part I/K --state F` writes and
/// `crosssim merge` sums. One zstd stream with an XXH64 content checksum holding a magic, a
/// format version, a JSON header (the part, the inputs with their content fingerprints, the
/// options, the sizes and the loss's report), then the part's x1 rows' gradient and its share
/// of x2's, Float32, and the magic again (`GradientOutput` writes it).
public struct GradientPartFile: Sendable {
    public static let magic = Array("crosssim.grad\n\0\0".utf8)
    public static let formatVersion: UInt32 = 1

    struct Header: Codable {
        var part: PartIndex
        var inputs: Report.Inputs
        var options: GradientOptions
        var x1Rows: Int
        var x2Rows: Int
        var dim: Int
        var rowsLower: Int
        var rowsUpper: Int
        /// The evaluation's report (docs/report.md), as `merge` writes it to report.json.
        var report: String
        /// The loss in it: the same bits in every part of one run, whose reports differ in
        /// when and where they were made.
        var loss: Double

        var rows: Range<Int> { rowsLower..<rowsUpper }
    }

    /// The content's start: magic, version, header length and header.
    static func start(_ header: Header) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = Array(try encoder.encode(header))
        var start = BinaryWriter()
        start.append(magic)
        start.append(formatVersion)
        start.append(UInt32(json.count))
        start.append(json)
        return start.bytes
    }

    /// Whether the file at `path` is a gradient part (a zstd stream that starts with the magic);
    /// a file that cannot be opened is an error.
    public static func isGradientPart(_ path: String) throws -> Bool {
        let file = try FileByteStream(path: path)
        guard let stream = try? ZstdByteStream(file: file), let start = try? stream.readBytes(magic.count, what: "the magic") else {
            return false
        }
        return start == magic
    }

    /// An open part: its header, checked, and the stream positioned at its arrays.
    struct Reader {
        let path: String
        let header: Header
        private let stream: ZstdByteStream

        init(path: String) throws {
            func bad(_ what: String) -> InputError { InputError("not a valid CrossSim gradient part: \(what)", file: path) }
            self.path = path
            let file = try FileByteStream(path: path)
            let capacity = try ZstdSizeBound.decodedBytes(of: file)
            stream = try ZstdByteStream(file: file)
            let r = BinaryReader(stream: stream)
            guard try r.array(UInt8.self, count: magic.count, what: "the magic") == magic else { throw bad("bad magic") }
            let version = try r.scalar(UInt32.self, what: "the format version")
            guard version == formatVersion else { throw bad("format version \(version); this CrossSim reads version \(formatVersion)") }
            let length = Int(try r.scalar(UInt32.self, what: "the header length"))
            guard length <= 1 << 24, length <= capacity else { throw bad("header of \(length) bytes") }
            do {
                header = try JSONDecoder().decode(Header.self, from: Data(try r.array(UInt8.self, count: length, what: "the header")))
            } catch let error as InputError {
                throw error
            } catch {
                throw bad("unreadable header")
            }
            let h = header
            guard h.x1Rows > 0, h.x2Rows > 0, h.dim > 0, h.x1Rows < Int(Int32.max), h.x2Rows < Int(Int32.max), h.dim <= 1 << 20,
                  h.part.count >= 1, (0..<h.part.count).contains(h.part.index),
                  h.rows == h.part.rows(of: h.x1Rows), h.inputs.x1.rows == h.x1Rows, h.inputs.x2.rows == h.x2Rows
            else { throw bad("inconsistent sizes in the header") }
            // The arrays the header promises must fit in what the frames can decode to.
            guard Double(4 * h.dim) * Double(h.rows.count + h.x2Rows) + Double(length + 3 * magic.count + 8) <= Double(capacity) else {
                throw bad("the header promises more data than the file holds")
            }
        }

        /// Reads the part's x1 rows into `dx1` (from its row `rowsLower`), then adds its share
        /// of x2's gradient to `dx2`, a panel of rows at a time.
        func read(into dx1: Embeddings, addingTo dx2: Embeddings) throws {
            let rows = header.rows, dim = header.dim
            try stream.readExactly(into: UnsafeMutableRawBufferPointer(start: dx1.row(rows.lowerBound), count: rows.count * dim * 4),
                                   what: "the x1 gradient")
            let panel = Embeddings(rows: max(1, (4 << 20) / (dim * 4)), dim: dim)
            for first in stride(from: 0, to: header.x2Rows, by: panel.rows) {
                let count = min(panel.rows, header.x2Rows - first)
                try stream.readExactly(into: UnsafeMutableRawBufferPointer(start: panel.baseAddress, count: count * dim * 4),
                                       what: "the x2 gradient")
                let to = dx2.row(first)
                for v in 0..<(count * dim) { to[v] += panel.baseAddress[v] }
            }
            guard try stream.readBytes(magic.count, what: "the end marker") == magic, try stream.isAtEnd() else {
                throw InputError("not a valid CrossSim gradient part: trailing or missing data at the end", file: path)
            }
        }
    }

    /// `crosssim merge` of gradient parts: checks that they are the parts of one run, whole
    /// and once each, concatenates their x1 rows and sums their shares of x2's gradient in
    /// part order, and writes both with the loss's report into `directory`.
    public static func merge(paths: [String], into directory: String) throws -> (report: String, parts: Int) {
        let readers = try paths.map(Reader.init(path:))
        try MergedRun.checkParts(readers.map { ($0.path, $0.header.part) })
        let first = readers[0]
        for reader in readers.dropFirst() {
            let (a, b) = (reader.header, first.header)
            guard MergedRun.sameInputs(a.inputs, b.inputs), a.dim == b.dim else {
                throw InputError("parts from different inputs: these shapes, dtypes or pairs differ from \(first.path)", file: reader.path)
            }
            if let difference = MergedRun.difference(a.inputs.identity, b.inputs.identity, otherName: first.path) {
                throw InputError("parts from different inputs: \(difference)", file: reader.path)
            }
            var (x, y) = (a.options, b.options)
            (x.tile, y.tile, x.threads, y.threads) = (nil, nil, nil, nil)
            guard x == y, a.loss.bitPattern == b.loss.bitPattern else {
                throw InputError("parts from different runs: another loss, similarity or column state than \(first.path)", file: reader.path)
            }
        }
        var whole = first.header
        (whole.part, whole.rowsLower, whole.rowsUpper) = (.whole, 0, whole.x1Rows)
        let dx1 = Embeddings(rows: whole.x1Rows, dim: whole.dim), dx2 = Embeddings(rows: whole.x2Rows, dim: whole.dim)
        dx2.zero()
        for reader in readers.sorted(by: { $0.header.part.index < $1.header.part.index }) {
            try reader.read(into: dx1, addingTo: dx2)
        }
        let output = try GradientOutput(.directory(directory), header: whole)
        try output.append(x1: dx1, count: dx1.rows)
        try output.finish(dx2: dx2)
        return (whole.report, readers.count)
    }
}
