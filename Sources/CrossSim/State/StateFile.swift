import Foundation

/// A part's state on disk (docs/state-format.md): what `eval --part I/K --state F` writes and
/// `crosssim merge` reads. The content is a magic, a format version, a JSON header naming the
/// part, inputs (with their content fingerprints) and options, the positives, then one
/// section per figure the options ask for, each written and read by its `StateSection`; all
/// of it inside a zstd frame whose XXH64 checksum the decoder verifies.
public struct StateFile: Sendable {
    public static let magic = Array("crosssim.state\n\0".utf8)
    public static let formatVersion: UInt32 = 4

    public var part: PartIndex
    public var inputs: Report.Inputs
    public var options: EvaluationOptions
    public var engine: Report.Engine
    public var state: PartialState

    public init(part: PartIndex, inputs: Report.Inputs, options: EvaluationOptions, engine: Report.Engine, state: PartialState) {
        self.part = part
        self.inputs = inputs
        self.options = options
        self.engine = engine
        self.state = state
    }

    /// What the arrays' sizes follow from.
    struct Header: Codable {
        var part: PartIndex
        var inputs: Report.Inputs
        var options: EvaluationOptions
        var engine: Report.Engine
        var x1Rows: Int
        var x2Rows: Int
        var rowsLower: Int
        var rowsUpper: Int
    }

    public func write(to path: String) throws {
        let s = state
        let header = Header(part: part, inputs: inputs, options: options, engine: engine, x1Rows: s.x1Rows, x2Rows: s.x2Rows,
                            rowsLower: s.rows.lowerBound, rowsUpper: s.rows.upperBound)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = Array(try encoder.encode(header))
        var w = BinaryWriter()
        w.append(Self.magic)
        w.append(Self.formatVersion)
        w.append(UInt32(json.count))
        w.append(json)
        w.append(s.positives.positiveOf)
        w.append(s.positives.similarity)
        w.append(s.positives.alignmentSum)
        w.append(s.similaritySum)
        for section in s.orderedSections {
            let name = Array(type(of: section).name.utf8)
            w.append(UInt32(name.count))
            w.append(name)
            section.encode(into: &w)
        }
        w.append(Self.magic)
        let file = try AtomicFile(path: path)
        let zstd = try ZstdWriter(file: file, level: 3)
        try w.bytes.withUnsafeBytes { try zstd.write($0) }
        try zstd.finish()
        try file.commit()
    }

    /// Reads and checks a state file. Its arrays are sized by what the file holds, except for
    /// per-x1-row tables (about 20 bytes per x1 row): x1's rows are at most K·(rows of the
    /// part + 1), and `crosssim merge` bounds K by the files it is given.
    public static func read(from path: String) throws -> StateFile {
        try read(from: path, maximumParts: Int.max)
    }

    /// The part a state file says it is, from its header alone (merge checks the set of parts
    /// before it reads any arrays).
    static func readPart(from path: String) throws -> PartIndex {
        let file = try FileByteStream(path: path)
        let capacity = try ZstdSizeBound.decodedBytes(of: file)
        let header = try readHeader(BinaryReader(stream: try ZstdByteStream(file: file)), capacity: capacity, path: path)
        return try PartIndex(index: header.part.index, count: header.part.count)
    }

    /// The magic, the format version and the JSON header at the start of a state's content.
    private static func readHeader(_ r: BinaryReader, capacity: Int, path: String) throws -> Header {
        func bad(_ what: String) -> InputError { InputError("not a valid CrossSim state file: \(what)", file: path) }
        guard try r.array(UInt8.self, count: magic.count, what: "the magic") == magic else { throw bad("bad magic") }
        let version = try r.scalar(UInt32.self, what: "the format version")
        guard version == formatVersion else {
            throw bad("format version \(version); this CrossSim reads version \(formatVersion)"
                        + (version < formatVersion ? " (the part was written by an older CrossSim: compute it again)" : ""))
        }
        let length = Int(try r.scalar(UInt32.self, what: "the header length"))
        guard length <= 1 << 20, length <= capacity else { throw bad("header of \(length) bytes") }
        do {
            return try JSONDecoder().decode(Header.self, from: Data(try r.array(UInt8.self, count: length, what: "the header")))
        } catch let error as InputError {
            throw error
        } catch {
            throw bad("unreadable header")
        }
    }

    /// `maximumParts`: a part of more is refused before anything is allocated (merge knows how
    /// many parts it has).
    static func read(from path: String, maximumParts: Int) throws -> StateFile {
        func bad(_ what: String) -> InputError { InputError("not a valid CrossSim state file: \(what)", file: path) }
        let file = try FileByteStream(path: path)
        let capacity = try ZstdSizeBound.decodedBytes(of: file)
        let stream = try ZstdByteStream(file: file)
        let r = BinaryReader(stream: stream)
        let header = try readHeader(r, capacity: capacity, path: path)
        let part = try PartIndex(index: header.part.index, count: header.part.count)
        guard part.count <= maximumParts else {
            throw InputError("missing parts: this is part \(part), but only \(maximumParts) state files were given", file: path)
        }
        let n1 = header.x1Rows, n2 = header.x2Rows
        guard n1 > 0, n2 > 0, n1 < Int(Int32.max), n2 < Int(Int32.max),
              0 <= header.rowsLower, header.rowsLower <= header.rowsUpper, header.rowsUpper <= n1
        else { throw bad("inconsistent sizes in the header") }
        // The part's rows are the ones `--part I/K` gives (PartIndex.rows(of:), without overflow).
        func start(_ i: Int) -> Int? {
            let (product, overflow) = n1.multipliedReportingOverflow(by: i)
            return overflow ? nil : product / part.count
        }
        guard start(part.index) == header.rowsLower, start(part.index + 1) == header.rowsUpper else {
            throw bad("x1 rows \(header.rowsLower)..<\(header.rowsUpper) are not part \(part) of \(n1) rows")
        }
        do {
            try header.options.validate()
        } catch let error as InputError {
            throw bad("options in the header: \(error.message)")
        }
        let k = header.options.topK ?? 0
        let dim = header.inputs.x1.dim
        guard header.options.temperatures.count <= 1024, header.options.siglip.count <= 1024,
              k <= n2 && (k <= n1 || header.options.queriesOnly),
              !header.options.health || header.options.hubnessK <= min(n1, n2),
              header.options.histogramBins ?? 0 <= 1 << 20, 1 <= dim && dim <= 1 << 20
        else { throw bad("inconsistent options in the header") }
        let shape = StateShape(x1Rows: n1, x2Rows: n2, dim: dim, rows: header.rowsLower..<header.rowsUpper, options: header.options)
        let sectionTypes = PartialState.sectionTypes(for: header.options)
        // Everything the header promises must fit in what the zstd frames can decode to
        // (in binary64: k·(rows + n2) can exceed Int.max).
        let columns = shape.labelledColumns
        let promised = Double(12 * columns + 16 + 2 * magic.count)
            + sectionTypes.reduce(0.0) { $0 + Double(4 + $1.name.utf8.count) + $1.encodedBytes(shape) }
        guard promised <= Double(capacity) else { throw bad("the header promises more data than the file holds") }

        let positiveOf = try r.array(Int32.self, count: columns, what: "the pairs")
        guard positiveOf.allSatisfy({ $0 >= 0 && Int($0) < n1 }) else { throw bad("pairs out of range") }
        let positives = Positives(positiveOf: positiveOf, similarity: try r.array(Double.self, count: columns, what: "the positives"),
                                  alignmentSum: try r.scalar(Double.self, what: "the alignment"), x1Rows: n1)
        var state = PartialState(x1Rows: n1, x2Rows: n2, rows: shape.rows, positives: positives,
                                 similaritySum: try r.scalar(Double.self, what: "sums"))
        for type in sectionTypes {
            let length = Int(try r.scalar(UInt32.self, what: "a section's name"))
            let name = length <= 64 ? String(decoding: try r.array(UInt8.self, count: length, what: "a section's name"), as: UTF8.self) : "?"
            guard name == type.name else { throw bad("expected the section '\(type.name)', found '\(name)'") }
            do {
                state.insert(try type.decode(from: r, shape: shape))
            } catch let error as SectionError {
                throw bad("\(type.name): \(error.message)")
            }
        }
        guard try r.array(UInt8.self, count: magic.count, what: "the end marker") == magic, try stream.isAtEnd() else {
            throw bad("trailing or missing data at the end")
        }
        return StateFile(part: part, inputs: header.inputs, options: header.options, engine: header.engine, state: state)
    }
}
