import Foundation

/// A JSON value whose objects keep their keys in the order they were built, so that a report
/// is written the same way, byte for byte, every time.
public indirect enum JSONValue: Sendable, Equatable {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// Two-space indented text.
    public func rendered(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .number(let x):
            precondition(x.isFinite, "a report number must be finite")
            return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
        case .integer(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return Self.quote(s)
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) { return "[" + items.map { $0.rendered() }.joined(separator: ", ") + "]" }
            return "[\n" + items.map { inner + $0.rendered(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            return "{\n" + fields.map { inner + Self.quote($0.0) + ": " + $0.1.rendered(indent: inner) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    /// Whether every number in it is finite (JSON has no NaN or infinity).
    public var isFinite: Bool {
        switch self {
        case .number(let x): return x.isFinite
        case .array(let items): return items.allSatisfy(\.isFinite)
        case .object(let fields): return fields.allSatisfy { $0.1.isFinite }
        case .integer, .string, .bool: return true
        }
    }

    var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
