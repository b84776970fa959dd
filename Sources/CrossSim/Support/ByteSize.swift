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
}
