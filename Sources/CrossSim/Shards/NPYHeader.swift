/// NumPy's .npy header, versions 1.0, 2.0 and 3.0: magic, version, header length, then a
/// Python dict literal with 'descr', 'fortran_order' and 'shape'.
struct NPYHeader {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Real headers are a few hundred bytes; anything longer is not a .npy we can trust.
    static let maximumHeaderBytes = 1 << 20

    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
    /// Bytes before the first value.
    var headerBytes: Int

    static func read(from stream: ByteStream) throws -> NPYHeader {
        let file = stream.path
        let prefix = try stream.readBytes(8, what: "the .npy magic and version")
        guard Array(prefix[0..<6]) == magic else {
            throw InputError("bad magic: not a .npy file", file: file)
        }
        let major = prefix[6]
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw InputError("unsupported .npy version \(major).\(prefix[7])", file: file)
        }
        let length = Int(UInt32(littleEndianBytes: try stream.readBytes(lengthBytes, what: "the .npy header length")))
        guard length <= maximumHeaderBytes else {
            throw InputError("bad .npy header: claims \(length) header bytes", file: file)
        }
        let text = try stream.readBytes(length, what: "the .npy header (\(length) bytes)")
        let fields = try DictLiteral.parse(text, file: file)
        guard case .string(let descr)? = fields["descr"] else {
            throw InputError("bad .npy header: no 'descr'", file: file)
        }
        guard case .bool(let fortran)? = fields["fortran_order"] else {
            throw InputError("bad .npy header: no 'fortran_order'", file: file)
        }
        guard case .tuple(let shape)? = fields["shape"] else {
            throw InputError("bad .npy header: no 'shape'", file: file)
        }
        return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape, headerBytes: 8 + lengthBytes + length)
    }

    /// The layout of an embedding shard: 2-D, C order, a float dtype.
    func embeddingLayout(file: String) throws -> ShardLayout {
        let (element, bigEndian) = try Self.parse(dtype: descr, file: file)
        guard !fortranOrder else {
            throw InputError("unsupported layout: Fortran order (save with numpy.ascontiguousarray)", file: file)
        }
        guard shape.count == 2 else {
            throw InputError("wrong rank: expected a 2-D array [rows, dim], found shape \(shapeText)", file: file)
        }
        guard shape[1] > 0 else { throw InputError("bad shape \(shapeText): dimension 0", file: file) }
        return ShardLayout(rows: shape[0], dim: shape[1], element: element, bigEndian: bigEndian, headerBytes: headerBytes)
    }

    static func parse(dtype: String, file: String) throws -> (ElementType, Bool) {
        // '|' (no order) is how numpy writes single bytes; any order means the same for them.
        guard dtype.count == 3, let order = dtype.first, "<>=|".contains(order),
              let element = ElementType(rawValue: String(dtype.dropFirst())), order != "|" || element.byteCount == 1
        else {
            throw InputError("unsupported dtype '\(dtype)': expected <f2, <f4, <f8, their big-endian forms, |u1 or |i1", file: file)
        }
        // '=' is native order, which numpy only writes on a machine of that order.
        return (element, order == ">" || (order == "=" && UInt16(1).bigEndian == 1))
    }

    var shapeText: String {
        "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
    }
}

/// The subset of Python literal syntax that .npy headers use: a dict of string keys whose
/// values are strings, booleans or tuples of non-negative integers.
enum DictLiteral {
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    static func parse(_ bytes: [UInt8], file: String) throws -> [String: Value] {
        var parser = Parser(bytes: bytes, file: file)
        return try parser.dict()
    }

    private struct Parser {
        let bytes: [UInt8]
        let file: String
        var at = 0

        init(bytes: [UInt8], file: String) {
            self.bytes = bytes
            self.file = file
        }

        func fail(_ what: String) -> InputError {
            InputError("bad .npy header: \(what) at byte \(at)", file: file)
        }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
        }

        mutating func peek() -> UInt8? {
            skipSpace()
            return at < bytes.count ? bytes[at] : nil
        }

        mutating func expect(_ c: Character) throws {
            guard peek() == c.asciiValue else { throw fail("expected '\(c)'") }
            at += 1
        }

        mutating func dict() throws -> [String: Value] {
            try expect("{")
            var fields: [String: Value] = [:]
            while peek() != UInt8(ascii: "}") {
                let key = try string()
                try expect(":")
                fields[key] = try value()
                if peek() == UInt8(ascii: ",") { at += 1 } else { break }
            }
            try expect("}")
            return fields
        }

        mutating func string() throws -> String {
            guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
                throw fail("expected a string")
            }
            at += 1
            let start = at
            while at < bytes.count, bytes[at] != quote { at += 1 }
            guard at < bytes.count else { throw fail("unterminated string") }
            defer { at += 1 }
            return String(decoding: bytes[start..<at], as: UTF8.self)
        }

        mutating func value() throws -> Value {
            switch peek() {
            case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "("): return .tuple(try tuple())
            case UInt8(ascii: "T"), UInt8(ascii: "F"): return .bool(try boolean())
            default: throw fail("unexpected value")
            }
        }

        mutating func boolean() throws -> Bool {
            for (word, value) in [("True", true), ("False", false)] {
                let w = Array(word.utf8)
                if bytes.count - at >= w.count, Array(bytes[at..<at + w.count]) == w {
                    at += w.count
                    return value
                }
            }
            throw fail("expected True or False")
        }

        mutating func tuple() throws -> [Int] {
            try expect("(")
            var items: [Int] = []
            while let c = peek(), c != UInt8(ascii: ")") {
                var value = 0
                let start = at
                while at < bytes.count, let digit = bytes[at].asciiDigit {
                    let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = shifted.addingReportingOverflow(digit)
                    guard !o1 && !o2 else { throw fail("shape value too large") }
                    value = sum
                    at += 1
                }
                guard at > start else { throw fail("expected a non-negative integer in the shape") }
                if at < bytes.count, bytes[at] == UInt8(ascii: "L") { at += 1 }  // Python 2 longs
                items.append(value)
                if peek() == UInt8(ascii: ",") { at += 1 } else { break }
            }
            try expect(")")
            return items
        }
    }
}

private extension UInt8 {
    var asciiDigit: Int? { (48...57).contains(self) ? Int(self) - 48 : nil }
}
