import CrossSim
import Foundation

/// A rectangle of the page that maps data to pixels: x from `xDomain`, y from `yDomain`
/// (upwards).
struct PlotArea {
    var left: Double
    var top: Double
    var width: Double
    var height: Double
    var xDomain: ClosedRange<Double> = 0...1
    var yDomain: ClosedRange<Double> = 0...1

    var right: Double { left + width }
    var bottom: Double { top + height }

    func px(_ x: Double) -> Double {
        let span = xDomain.upperBound - xDomain.lowerBound
        return left + (x - xDomain.lowerBound) / (span == 0 ? 1 : span) * width
    }

    func py(_ y: Double) -> Double {
        let span = yDomain.upperBound - yDomain.lowerBound
        let clamped = min(max(y, yDomain.lowerBound), yDomain.upperBound)
        return bottom - (clamped - yDomain.lowerBound) / (span == 0 ? 1 : span) * height
    }

    /// Horizontal grid lines with their labels on the left.
    func yGrid(_ ticks: [Double], decimals: Int) -> [SVGElement] {
        var out: [SVGElement] = []
        for t in ticks where yDomain.contains(t) {
            let y = py(t)
            out.append(SVG.line(left, y, right, y, stroke: t == 0 ? "#9a9a9a" : "#e3e3e3"))
            out.append(SVG.text(SVG.label(t, decimals: decimals), x: left - 7, y: y, size: 11, anchor: .end,
                                fill: "#444444", centred: true))
        }
        return out
    }

    /// Vertical ticks and labels under the plot for numeric x values.
    func xTicks(_ ticks: [Double], decimals: Int) -> [SVGElement] {
        var out: [SVGElement] = []
        for t in ticks where xDomain.contains(t) {
            let x = px(t)
            out.append(SVG.line(x, bottom, x, bottom + 5, stroke: "#444444"))
            out.append(SVG.text(SVG.label(t, decimals: decimals), x: x, y: bottom + 18, size: 11, anchor: .middle,
                                fill: "#444444"))
        }
        return out
    }

    /// The axis lines: left and bottom.
    var frame: [SVGElement] {
        [SVG.line(left, top, left, bottom, stroke: "#444444"), SVG.line(left, bottom, right, bottom, stroke: "#444444")]
    }
}

/// A legend entry: a filled box or a (dashed) line, then its text.
struct LegendItem {
    enum Mark { case box(String, opacity: Double), line(String, dash: String?) }
    var mark: Mark
    var text: String
}

enum Legend {
    /// Lays the items out left to right from (x, y), wrapping before `maxX`; returns the
    /// elements and the number of lines used.
    static func layout(_ items: [LegendItem], x: Double, y: Double, maxX: Double, size: Double = 12) -> ([SVGElement], Int) {
        var out: [SVGElement] = []
        var cx = x, cy = y, lines = 1
        for item in items {
            let width = 22 + SVG.textWidth(item.text, size: size)
            if cx > x && cx + width > maxX {
                cx = x
                cy += size + 7
                lines += 1
            }
            switch item.mark {
            case let .box(color, opacity):
                out.append(SVG.rect(x: cx, y: cy - 10, width: 14, height: 12, fill: color,
                                    [("fill-opacity", SVG.num(opacity)), ("stroke", color)]))
            case let .line(color, dash):
                out.append(SVG.line(cx, cy - 4, cx + 16, cy - 4, stroke: color, width: 2, dash: dash))
            }
            out.append(SVG.text(SVG.fit(item.text, width: maxX - cx - 20, size: size), x: cx + 20, y: cy, size: size))
            cx += width + 16
        }
        return (out, lines)
    }
}

/// Axis ticks at round numbers.
enum PlotTicks {
    /// Round tick values covering [lower, upper] with about `count` intervals; the first and
    /// last tick enclose the range.
    static func nice(_ lower: Double, _ upper: Double, count: Int = 5) -> (values: [Double], step: Double) {
        var lo = lower, hi = upper
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let raw = (hi - lo) / Double(max(1, count))
        let magnitude = pow(10, floor(log10(raw)))
        let residual = raw / magnitude
        let step = (residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 2.5 ? 2.5 : residual <= 5 ? 5 : 10) * magnitude
        let first = floor(lo / step + 1e-9), last = ceil(hi / step - 1e-9)
        let values = stride(from: first, through: last, by: 1).map { clean($0 * step) }
        return (values, step)
    }

    /// Decimals that show every multiple of `step` exactly.
    static func decimals(for step: Double) -> Int {
        for d in 0...12 {
            let scaled = step * pow(10, Double(d))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { return d }
        }
        return 12
    }

    /// Removes float noise such as 0.30000000000000004.
    static func clean(_ x: Double) -> Double {
        guard x != 0 else { return 0 }
        let digits = 12 - Int(floor(log10(abs(x))))
        let scale = pow(10, Double(max(0, min(digits, 300))))
        return (x * scale).rounded() / scale
    }

    /// The smallest step among 1, 2, 5, 10, 20, 50, … whose spacing `step·unit` is at least
    /// `minimum`: how often to label integer positions `unit` apart.
    static func integerStep(unit: Double, minimum: Double) -> Int {
        var base = 1
        while true {
            for m in [1, 2, 5] where Double(base * m) * unit >= minimum { return base * m }
            if base > Int.max / 100 { return base }
            base *= 10
        }
    }
}
