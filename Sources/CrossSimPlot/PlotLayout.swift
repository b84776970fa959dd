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
