import CrossSim
import Foundation

/// A history of reports: one panel per metric, the reports left to right in the order they
/// were made, each point labelled by its date (and time where two share a date). Where the
/// input data changed between neighbours, a dashed line crosses every panel and the axis is
/// marked with the sets that changed; the line does not join points across it.
///
/// Points are `class="trend-point"` with `data-metric`, `data-report` (the path),
/// `data-created` and `data-value`; changes are `class="input-change"` with `data-after` (the
/// index of the first point with the new data) and `data-sets`.
public enum TrendPlot {
    static let width = 1000.0
    static let panelHeight = 150.0
    static let lineColor = "#0072b2"
    static let changeColor = "#cc79a7"

    public static func svg(_ trend: Trend) -> String {
        let points = trend.points
        let dates = points.map { String(Trend.text($0.created).prefix(10)) }
        let labels = points.indices.map { i in
            dates.filter { $0 == dates[i] }.count > 1 ? dates[i] + " " + Trend.text(points[i].created).dropFirst(11).prefix(5) : dates[i]
        }
        let span = dates.first == dates.last ? dates[0] : "\(dates.first!) to \(dates.last!)"
        let title = "CrossSim trend: \(points.count) report\(points.count == 1 ? "" : "s"), \(span)"
        var items: [SVGElement] = [
            SVG.text(SVG.fit(title, width: width - 60, size: 18), x: 30, y: 34, size: 18, weight: "bold"),
            SVG.text("in the order they were made; a dashed line: the input data changed between neighbours "
                     + "(content fingerprints or row counts)", x: 30, y: 56, size: 12, fill: "#555555"),
        ]
        var y = 80.0
        for m in trend.metrics.indices {
            let (elements, height) = panel(trend, metric: m, top: y, dateLabels: m == trend.metrics.count - 1 ? labels : nil)
            items += elements
            y += height + 14
        }
        var document = SVGDocument(width: width, height: y.rounded(.up), title: title,
                                   description: "Metrics of CrossSim reports over time, with changes of input data marked.")
        document.add(items)
        return document.rendered()
    }

    static func panel(_ trend: Trend, metric m: Int, top: Double, dateLabels: [String]?) -> ([SVGElement], Double) {
        let metric = trend.metrics[m], points = trend.points
        var out = [SVG.text(metric.description + (metric.lowerIsBetter ? " (lower is better)" : " (higher is better)"),
                            x: 30, y: top + 16, size: 14, weight: "bold")]
        let values = points.compactMap { $0.values[m] }
        let low = values.min() ?? 0, high = values.max() ?? 1
        let pad = high > low ? (high - low) * 0.12 : max(abs(high) * 0.05, 1e-3)
        let ticks = PlotTicks.nice(low - pad, high + pad, count: 4)
        var area = PlotArea(left: 90, top: top + 30, width: width - 130, height: panelHeight)
        area.xDomain = -0.5...(Double(points.count) - 0.5)
        area.yDomain = ticks.values.first!...ticks.values.last!
        out += area.yGrid(ticks.values, decimals: PlotTicks.decimals(for: ticks.step))

        for change in trend.inputChanges {
            let x = area.px(Double(change.after) - 0.5)
            let sets = change.sets.joined(separator: ", ")
            out.append(SVG.group([("class", "input-change"), ("data-after", String(change.after)), ("data-sets", sets)], [
                SVG.line(x, area.top, x, area.bottom, stroke: changeColor, width: 1.5, dash: "5 4"),
                SVGElement("path", [("d", "M\(SVG.num(x - 5)) \(SVG.num(area.bottom + 7)) L\(SVG.num(x + 5)) \(SVG.num(area.bottom + 7)) "
                                        + "L\(SVG.num(x)) \(SVG.num(area.bottom)) Z"), ("fill", changeColor)]),
                SVG.text("data changed: \(sets)", x: x + 4, y: area.top + 11, size: 10.5, fill: changeColor),
            ]).titled("the input data changed here (\(sets)): \(points[change.after - 1].path) → \(points[change.after].path)"))
        }

        // The line, broken where a report lacks the figure and where the data changed.
        var path = "", drawing = false
        let changes = Set(trend.inputChanges.map(\.after))
        for (i, point) in points.enumerated() {
            if changes.contains(i) { drawing = false }
            guard let value = point.values[m] else { drawing = false; continue }
            path += (drawing ? " L" : (path.isEmpty ? "M" : " M")) + "\(SVG.num(area.px(Double(i)))) \(SVG.num(area.py(value)))"
            drawing = true
        }
        if !path.isEmpty {
            out.append(SVGElement("path", [("d", path), ("fill", "none"), ("stroke", lineColor), ("stroke-width", "1.8")]))
        }
        let showValues = points.count <= 16
        for (i, point) in points.enumerated() {
            guard let value = point.values[m] else { continue }
            let x = area.px(Double(i)), y = area.py(value)
            let created = Trend.text(point.created)
            out.append(SVGElement("circle", [("cx", SVG.num(x)), ("cy", SVG.num(y)), ("r", "3.5"), ("fill", lineColor),
                                             ("class", "trend-point"), ("data-metric", metric.description),
                                             ("data-report", point.path), ("data-created", created),
                                             ("data-value", SVG.data(value))])
                .titled("\(metric): \(SVG.short(value, significant: 6)) (\(point.path), \(created))"))
            if showValues {
                out.append(SVG.text(SVG.short(value, significant: 4), x: x, y: y - 8, size: 10, anchor: .middle, fill: "#333333"))
            }
        }
        out += area.frame
        var height = area.bottom + 12 - top
        if let labels = dateLabels {
            let spacing = area.width / Double(max(points.count, 1))
            let widest = labels.map { SVG.textWidth($0, size: 11) }.max() ?? 0
            let rotate = widest + 6 > spacing
            let every = rotate ? PlotTicks.integerStep(unit: spacing, minimum: 16) : 1
            for (i, label) in labels.enumerated() where i % every == 0 {
                let x = area.px(Double(i))
                out.append(SVG.line(x, area.bottom, x, area.bottom + 4, stroke: "#444444"))
                out.append(rotate
                    ? SVG.text(label, x: x, y: area.bottom + 14, size: 11, anchor: .end, fill: "#444444", rotate: -40)
                    : SVG.text(label, x: x, y: area.bottom + 18, size: 11, anchor: .middle, fill: "#444444"))
            }
            height += rotate ? widest * 0.65 + 16 : 24
        }
        return (out, height)
    }
}
