import CrossSim
import Foundation

/// One SVG element: a name, attributes in the order given (so output is deterministic),
/// children and optional text content. Rendering escapes text and attribute values.
struct SVGElement: Sendable {
    var name: String
    var attributes: [(String, String)]
    var children: [SVGElement]
    var text: String?

    init(_ name: String, _ attributes: [(String, String)] = [], children: [SVGElement] = [], text: String? = nil) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// Adds a `<title>` child: the tooltip browsers show, and a label for screen readers.
    func titled(_ title: String) -> SVGElement {
        var copy = self
        copy.children.insert(SVGElement("title", text: title), at: 0)
        return copy
    }

    func with(_ more: [(String, String)]) -> SVGElement {
        var copy = self
        copy.attributes += more
        return copy
    }

    func write(to out: inout String, indent: Int) {
        out += String(repeating: " ", count: indent)
        out += "<" + name
        for (key, value) in attributes {
            out += " " + key + "=\"" + SVGDocument.escape(value, attribute: true) + "\""
        }
        if children.isEmpty && text == nil {
            out += "/>\n"
            return
        }
        out += ">"
        if let text { out += SVGDocument.escape(text, attribute: false) }
        if children.isEmpty {
            out += "</" + name + ">\n"
            return
        }
        out += "\n"
        for child in children { child.write(to: &out, indent: indent + 1) }
        out += String(repeating: " ", count: indent) + "</" + name + ">\n"
    }
}

/// A self-contained SVG page with a fixed viewBox: no scripts, no external resources, one
/// generic font family, so that browsers and rsvg-convert draw the same picture.
struct SVGDocument {
    var width: Double
    var height: Double
    var title: String
    var description: String?
    var defs: [SVGElement] = []
    var items: [SVGElement] = []

    init(width: Double, height: Double, title: String, description: String? = nil) {
        self.width = width
        self.height = height
        self.title = title
        self.description = description
    }

    mutating func add(_ element: SVGElement) { items.append(element) }
    mutating func add(_ elements: [SVGElement]) { items += elements }

    func rendered() -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        var root = SVGElement("svg", [
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("version", "1.1"),
            ("width", SVG.num(width)), ("height", SVG.num(height)),
            ("viewBox", "0 0 \(SVG.num(width)) \(SVG.num(height))"),
            ("font-family", "sans-serif"),
            ("font-size", "12"),
            ("fill", "#222222"),
        ])
        root.children.append(SVGElement("title", text: title))
        if let description { root.children.append(SVGElement("desc", text: description)) }
        if !defs.isEmpty { root.children.append(SVGElement("defs", children: defs)) }
        root.children.append(SVG.rect(x: 0, y: 0, width: width, height: height, fill: "#ffffff"))
        root.children += items
        root.write(to: &out, indent: 0)
        return out
    }

    /// Characters XML 1.0 does not allow at all become U+FFFD.
    static func clean(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return scalar
        default: return "\u{FFFD}"
        }
    }

    /// Escapes text content, or (with `attribute`) an attribute value, whose quotes and
    /// white space must survive too.
    static func escape(_ text: String, attribute: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            case "'" where attribute: out += "&apos;"
            case "\n" where attribute: out += "&#10;"
            case "\r" where attribute: out += "&#13;"
            case "\t" where attribute: out += "&#9;"
            default: out.unicodeScalars.append(clean(scalar))
            }
        }
        return out
    }
}

/// Shapes, text and number formatting for the plots.
enum SVG {
    /// A coordinate: at most two decimals, no trailing zeros.
    static func num(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        var s = String(format: "%.2f", x)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// A value as data: the shortest text that reads back as the same Double.
    static func data(_ x: Double) -> String { "\(x)" }

    static func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                     _ more: [(String, String)] = []) -> SVGElement {
        SVGElement("rect", [("x", num(x)), ("y", num(y)), ("width", num(max(0, width))),
                            ("height", num(max(0, height))), ("fill", fill)] + more)
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#222222",
                     width: Double = 1, dash: String? = nil, _ more: [(String, String)] = []) -> SVGElement {
        var attributes = [("x1", num(x1)), ("y1", num(y1)), ("x2", num(x2)), ("y2", num(y2)),
                          ("stroke", stroke), ("stroke-width", num(width))]
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        return SVGElement("line", attributes + more)
    }

    enum Anchor: String { case start, middle, end }

    /// Text whose baseline is placed so that the glyphs are centred on `y` when `centred`,
    /// else sitting on `y`. (No dominant-baseline: renderers disagree on it.)
    static func text(_ content: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                     weight: String? = nil, fill: String? = nil, centred: Bool = false, rotate: Double? = nil,
                     _ more: [(String, String)] = []) -> SVGElement {
        let baseline = centred ? y + 0.35 * size : y
        var attributes = [("x", num(x)), ("y", num(baseline)), ("font-size", num(size))]
        if anchor != .start { attributes.append(("text-anchor", anchor.rawValue)) }
        if let weight { attributes.append(("font-weight", weight)) }
        if let fill { attributes.append(("fill", fill)) }
        if let rotate { attributes.append(("transform", "rotate(\(num(rotate)) \(num(x)) \(num(y)))")) }
        return SVGElement("text", attributes + more, text: content)
    }

    static func group(_ attributes: [(String, String)] = [], _ children: [SVGElement]) -> SVGElement {
        SVGElement("g", attributes, children: children)
    }

    /// A rough width of `text` in a sans-serif font (DejaVu Sans is among the widest), for
    /// layout decisions that must avoid overlap.
    static func textWidth(_ text: String, size: Double) -> Double {
        var em = 0.0
        for c in text.unicodeScalars {
            switch c {
            case "i", "l", "j", "'", "|", ".", ",", ":", ";", "!", " ": em += 0.32
            case "f", "t", "r", "(", ")", "[", "]", "-": em += 0.42
            case "m", "w", "M", "W", "@", "%": em += 0.92
            case "\u{2212}", "\u{2192}", "\u{2194}", "\u{00D7}", "\u{2014}": em += 0.84
            case "A"..."Z": em += 0.72
            default: em += 0.64
            }
        }
        return em * size
    }

    /// `text` shortened in the middle with "…" to fit `width`.
    static func fit(_ text: String, width: Double, size: Double) -> String {
        guard textWidth(text, size: size) > width else { return text }
        var chars = Array(text)
        while chars.count > 3 {
            chars.remove(at: chars.count / 2)
            let half = chars.count / 2
            let candidate = String(chars[..<half]) + "…" + String(chars[half...])
            if textWidth(candidate, size: size) <= width { return candidate }
        }
        return "…"
    }

    /// Splits `items` joined by `separator` into at most `maxLines` lines of `width`; the
    /// last line ends with "…" when they do not all fit.
    static func wrap(_ items: [String], separator: String, width: Double, size: Double, maxLines: Int) -> [String] {
        var lines: [String] = [], current = ""
        for item in items {
            let candidate = current.isEmpty ? item : current + separator + item
            if SVG.textWidth(candidate, size: size) <= width || current.isEmpty {
                current = candidate
                continue
            }
            lines.append(current)
            current = item
            if lines.count == maxLines { break }
        }
        if lines.count < maxLines && !current.isEmpty { lines.append(current) }
        else if !current.isEmpty, var last = lines.popLast() {
            last += separator.trimmingCharacters(in: .whitespaces) + " …"
            lines.append(last)
        }
        return lines.map { SVG.fit($0, width: width, size: size) }
    }

    /// An integer with thousands separators: 26,527,650.
    static func grouped<T: BinaryInteger>(_ n: T) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "\u{2212}" : "") + out
    }

    /// A number for a label, with a typographic minus sign.
    static func label(_ x: Double, decimals: Int) -> String {
        var s = String(format: "%.\(max(0, decimals))f", x)
        if s.hasPrefix("-") {
            if Double(s) == 0 { s.removeFirst() } else { s = "\u{2212}" + s.dropFirst() }
        }
        return s
    }

    /// Like `label(_:significant:)` without trailing zeros: 0.02, 7, 115.4.
    static func short(_ x: Double, significant: Int = 4) -> String {
        var s = label(x, significant: significant)
        guard s.contains("."), !s.contains("e") else { return s }
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }

    /// A number with `significant` significant digits, for values of any magnitude.
    static func label(_ x: Double, significant: Int = 3) -> String {
        guard x.isFinite else { return x.isNaN ? "NaN" : (x > 0 ? "∞" : "\u{2212}∞") }
        guard x != 0 else { return "0" }
        let magnitude = Int(floor(log10(abs(x))))
        if magnitude >= 6 || magnitude < -4 {
            var s = String(format: "%.\(significant - 1)e", x)
            if s.hasPrefix("-") { s = "\u{2212}" + s.dropFirst() }
            return s
        }
        return label(x, decimals: max(0, significant - 1 - magnitude))
    }
}
