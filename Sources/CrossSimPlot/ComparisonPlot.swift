import CrossSim
import Foundation

/// The differences of a comparison with their bootstrap intervals, one row per metric, in
/// panels of one unit each (recall and MRR; mean rank; InfoNCE in nats), with 0 marked and,
/// where a tolerance was given, the band within which no verdict is given.
///
/// Each row is a group `class="difference"` with `data-metric`, `data-difference`,
/// `data-lower`, `data-upper` and `data-verdict`, and a `<title>` (a tooltip in browsers).
public enum ComparisonPlot {
    static let width = 1000.0
    static let labelWidth = 200.0
    static let textWidth = 290.0
    static let rowHeight = 24.0
    static let colors: [Comparison.Verdict: String] = [.improved: "#009e73", .regressed: "#d55e00", .unchanged: "#7a7a7a"]

    public static func svg(_ comparison: Comparison) -> String {
        let title = "CrossSim compare: \(comparison.newPath) against \(comparison.basePath)"
        let options = comparison.options
        var subtitle = "difference new − base with \(options.confidenceText) paired bootstrap percentile intervals "
            + "(\(SVG.grouped(options.resamples)) resamples, seed \(options.seed)); "
            + "queries x1 → x2 \(SVG.grouped(comparison.queries.x1ToX2)), x2 → x1 \(SVG.grouped(comparison.queries.x2ToX1))"
        if options.tolerance > 0 { subtitle += "; tolerance ±\(SVG.short(options.tolerance))" }
        var items: [SVGElement] = [
            SVG.text(SVG.fit(title, width: width - 60, size: 18), x: 30, y: 34, size: 18, weight: "bold"),
            SVG.text(SVG.fit(subtitle, width: width - 60, size: 12), x: 30, y: 56, size: 12, fill: "#555555"),
        ]
        let legend = [Comparison.Verdict.improved, .regressed, .unchanged].map {
            LegendItem(mark: .box(colors[$0]!, opacity: 1), text: $0.rawValue)
        }
        items += Legend.layout(legend, x: 30, y: 80, maxX: width - 30).0

        let panels: [(title: String, lowerIsBetter: Bool, metrics: [Comparison.Metric])] = [
            ("recall@k and MRR (higher is better)", false, comparison.metrics.filter {
                if case .recall = $0.metric.kind { return true }
                return $0.metric.kind == .mrr
            }),
            ("mean rank (lower is better)", true, comparison.metrics.filter { $0.metric.kind == .meanRank }),
            ("InfoNCE loss in nats (lower is better)", true, comparison.metrics.filter {
                if case .infonce = $0.metric.kind { return true }
                return false
            }),
        ]
        var y = 104.0
        for panel in panels where !panel.metrics.isEmpty {
            let (elements, height) = self.panel(panel.title, panel.metrics, lowerIsBetter: panel.lowerIsBetter,
                                                tolerance: options.tolerance, top: y)
            items += elements
            y += height + 18
        }
        var document = SVGDocument(width: width, height: y.rounded(.up), title: title,
                                   description: "Differences between two CrossSim reports with paired bootstrap intervals.")
        document.add(items)
        return document.rendered()
    }

    static func panel(_ title: String, _ metrics: [Comparison.Metric], lowerIsBetter: Bool, tolerance: Double,
                      top: Double) -> ([SVGElement], Double) {
        var out = [SVG.text(title, x: 30, y: top + 16, size: 14, weight: "bold")]
        let reach = metrics.flatMap { [abs($0.difference), abs($0.interval.lower), abs($0.interval.upper)] }.max() ?? 0
        let extent = max(reach, tolerance) * 1.1
        let ticks = PlotTicks.nice(-(extent > 0 ? extent : 1), extent > 0 ? extent : 1, count: 8)
        var area = PlotArea(left: 30 + labelWidth, top: top + 40, width: width - 60 - labelWidth - textWidth,
                            height: rowHeight * Double(metrics.count))
        area.xDomain = ticks.values.first!...ticks.values.last!
        let better = lowerIsBetter ? "← better" : "better →"
        out.append(SVG.text(better, x: lowerIsBetter ? area.left : area.right, y: area.top - 8, size: 11,
                            anchor: lowerIsBetter ? .start : .end, fill: "#555555"))
        if tolerance > 0 {
            let low = area.px(max(-tolerance, area.xDomain.lowerBound)), high = area.px(min(tolerance, area.xDomain.upperBound))
            out.append(SVG.rect(x: low, y: area.top, width: high - low, height: area.height, fill: "#eeeeee",
                                [("class", "tolerance-band")]).titled("tolerance ±\(SVG.short(tolerance)): no verdict within it"))
        }
        for t in ticks.values {
            out.append(SVG.line(area.px(t), area.top, area.px(t), area.bottom, stroke: t == 0 ? "#555555" : "#e3e3e3",
                                width: t == 0 ? 1.2 : 1))
        }
        let decimals = PlotTicks.decimals(for: ticks.step)
        for (row, m) in metrics.enumerated() {
            let y = area.top + rowHeight * (Double(row) + 0.5)
            let color = colors[m.verdict]!
            let lower = area.px(m.interval.lower), upper = area.px(m.interval.upper), point = area.px(m.difference)
            let text = "\(signed(m.difference)) [\(signed(m.interval.lower)), \(signed(m.interval.upper))] \(m.verdict.rawValue)"
            let mark = SVG.group([("class", "difference"), ("data-metric", m.name), ("data-difference", SVG.data(m.difference)),
                                  ("data-lower", SVG.data(m.interval.lower)), ("data-upper", SVG.data(m.interval.upper)),
                                  ("data-verdict", m.verdict.rawValue)], [
                SVG.line(lower, y, upper, y, stroke: color, width: 2.5),
                SVG.line(lower, y - 5, lower, y + 5, stroke: color, width: 1.5),
                SVG.line(upper, y - 5, upper, y + 5, stroke: color, width: 1.5),
                SVGElement("circle", [("cx", SVG.num(point)), ("cy", SVG.num(y)), ("r", "4"), ("fill", color)]),
            ]).titled("\(m.name): base \(SVG.short(m.base, significant: 6)), new \(SVG.short(m.new, significant: 6)); \(text)")
            out.append(mark)
            out.append(SVG.text(SVG.fit(m.name, width: labelWidth - 12, size: 12), x: area.left - 10, y: y, size: 12,
                                anchor: .end, centred: true))
            out.append(SVG.text(text, x: area.right + 12, y: y, size: 11.5, fill: color, centred: true))
        }
        out.append(SVG.line(area.left, area.bottom, area.right, area.bottom, stroke: "#444444"))
        out += area.xTicks(ticks.values, decimals: decimals)
        out.append(SVG.text("difference new − base", x: area.left + area.width / 2, y: area.bottom + 36, size: 12,
                            anchor: .middle, fill: "#333333"))
        return (out, area.bottom + 44 - top)
    }

    /// A difference with its sign and four significant digits: +0.007812, −1.25.
    static func signed(_ x: Double) -> String {
        x > 0 ? "+" + SVG.short(x) : SVG.short(x)
    }
}
