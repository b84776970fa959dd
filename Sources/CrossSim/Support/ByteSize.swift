import Foundation

/// Sizes as users write them: `1073741824`, `512M`, `2G`, `1.5GiB` (K, M, G, T are powers of 1024).
public enum ByteSize {
    public static func parse(_ text: String) throws -> Int {
        let units: [(String, Double)] = [("t", 0x1p40), ("g", 0x1p30), ("m", 0x1p20), ("k", 0x1p10), ("", 1)]
        var body = text.lowercased().trimmingCharacters(in: .whitespaces)
        for suffix in ["ib", "b"] where body.hasSuffix(suffix) { body.removeLast(suffix.count); break }
        for (unit, scale) in units where body.hasSuffix(unit) {
            if let value = Double(body.dropLast(unit.count)), value > 0, value * scale < 0x1p62 {
                return Int(value * scale)
            }
            break
        }
        throw InputError("bad size '\(text)': expected bytes or a number with K, M, G or T, such as 512M")
    }

    /// `bytes` for a message, in the largest unit it makes at least one of (so never "0 MiB"),
    /// with a decimal where it is not whole: `200 KiB`, `1.5 GiB`, `512 bytes`.
    public static func text(_ bytes: Int) -> String {
        let units: [(String, Double)] = [("TiB", 0x1p40), ("GiB", 0x1p30), ("MiB", 0x1p20), ("KiB", 0x1p10)]
        guard let (unit, scale) = units.first(where: { Double(bytes) >= $0.1 }) else { return "\(bytes) bytes" }
        let value = Double(bytes) / scale
        return (value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)) + " " + unit
    }
}
