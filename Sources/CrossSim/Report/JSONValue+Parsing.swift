import Foundation

extension JSONValue: Decodable {
    /// Reads JSON text (a report, a comparison); objects' keys come in sorted order. JSON's
    /// null has no place in CrossSim's files and is refused.
    public init(parsing data: Data) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "null or an unreadable value")
        }
    }

    /// The number, whether written as an integer or not.
    public var number: Double? {
        switch self {
        case .number(let x): return x
        case .integer(let n): return Double(n)
        default: return nil
        }
    }

    /// The integer, where the value is one.
    public var integer: Int? {
        switch self {
        case .integer(let n): return n
        case .number(let x) where x == x.rounded() && abs(x) < 9e15: return Int(x)
        default: return nil
        }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var object: [(String, JSONValue)]? {
        if case .object(let fields) = self { return fields }
        return nil
    }
}
