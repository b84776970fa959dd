import CrossSim
import Foundation

/// A diverging colour scale symmetric around 0 (ColorBrewer RdBu: blue for −limit, near
/// white for 0, red for +limit), interpolated linearly in sRGB between its 11 anchors, as an
/// SVG linear gradient with the same stops does. Values outside are clamped to the ends.
public struct DivergingColorScale: Sendable, Equatable {
    /// The scale spans [−limit, +limit].
    public var limit: Double

    public init(limit: Double) {
        self.limit = limit.isFinite && limit > 0 ? limit : 1
    }

    /// Cosine similarity's fixed scale, [−1, 1].
    public static let cosine = DivergingColorScale(limit: 1)

    public var lower: Double { -limit }
    public var upper: Double { limit }

    /// The anchors from −limit to +limit.
    static let anchors: [(UInt8, UInt8, UInt8)] = [
        (0x05, 0x30, 0x61), (0x21, 0x66, 0xAC), (0x43, 0x93, 0xC3), (0x92, 0xC5, 0xDE),
        (0xD1, 0xE5, 0xF0), (0xF7, 0xF7, 0xF7), (0xFD, 0xDB, 0xC7), (0xF4, 0xA5, 0x82),
        (0xD6, 0x60, 0x4D), (0xB2, 0x18, 0x2B), (0x67, 0x00, 0x1F),
    ]

    /// Where `value` falls on the scale, 0 at −limit, 1 at +limit.
    public func position(_ value: Double) -> Double {
        guard !value.isNaN else { return 0.5 }
        return min(1, max(0, (value / limit + 1) / 2))
    }

    /// The colour of `value` as `#rrggbb`.
    public func color(_ value: Double) -> String { Self.hex(rgb(position: position(value))) }

    /// The colour at the lower end, the middle (0) and the upper end.
    public var lowColor: String { color(lower) }
    public var midColor: String { color(0) }
    public var highColor: String { color(upper) }

    func rgb(position t: Double) -> (UInt8, UInt8, UInt8) {
        let x = t * Double(Self.anchors.count - 1)
        let i = min(Int(x), Self.anchors.count - 2)
        let f = x - Double(i)
        let a = Self.anchors[i], b = Self.anchors[i + 1]
        func mix(_ p: UInt8, _ q: UInt8) -> UInt8 { UInt8((Double(p) + (Double(q) - Double(p)) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    static func hex(_ c: (UInt8, UInt8, UInt8)) -> String { String(format: "#%02x%02x%02x", c.0, c.1, c.2) }

    /// Dark text on light cells, light text on dark ones.
    func textColor(_ value: Double) -> String {
        let c = rgb(position: position(value))
        let luminance = 0.2126 * Double(c.0) + 0.7152 * Double(c.1) + 0.0722 * Double(c.2)
        return luminance < 140 ? "#ffffff" : "#1a1a1a"
    }

    /// The gradient stops of the scale, bottom (−limit) to top, for a colour bar.
    func gradient(id: String) -> SVGElement {
        let stops = Self.anchors.enumerated().map { i, c in
            SVGElement("stop", [("offset", SVG.num(Double(i) / Double(Self.anchors.count - 1))),
                                ("stop-color", Self.hex(c))])
        }
        return SVGElement("linearGradient", [("id", id), ("x1", "0"), ("y1", "1"), ("x2", "0"), ("y2", "0")],
                          children: stops)
    }
}
