import CrossSim
import Foundation

/// One SVG page summarising a report: (a) the similarity histograms of positive and negative
/// pairs as densities, (b) recall@k both ways, (c) the InfoNCE loss per τ against chance.
///
/// Every drawn quantity carries its exact value for machines: histogram bins have
/// `class="hist-bin"` with `data-series` (positive|negative), `data-bin` (index into the
/// report's histogram), `data-count` and `data-density`; recall bars `class="recall-bar"` with
/// `data-direction` (x1_to_x2|x2_to_x1), `data-k` and `data-value`; loss bars
/// `class="loss-bar"` with `data-direction`, `data-tau` and `data-value`; chance lines
/// `class="chance-line"` with `data-direction` (one line may stand for both) and
/// `data-value`. Each also has a `<title>` (a tooltip in browsers).
public enum SummaryPlot {
    /// Bins the engine gathers for the histogram panel: width 0.02 over cosine's [−1, 1].
    public static let histogramBins = 100
    static let width = 1000.0
    static let x1Color = "#0072b2"
    static let x2Color = "#009e73"
    static let positiveColor = "#d55e00"
    static let negativeColor = "#7a7a7a"

    public static func svg(_ report: Report) -> String {
        let inputs = report.inputs
        let n1 = inputs.x1.rows, n2 = inputs.x2.rows
        let nText = n1 == n2 ? "N = \(SVG.grouped(n1))" : "N1 = \(SVG.grouped(n1)), N2 = \(SVG.grouped(n2))"
        let titleText = "CrossSim: \(inputs.x1.path) vs \(inputs.x2.path) (\(nText))"

        var items: [SVGElement] = []
        items.append(SVG.text(SVG.fit(titleText, width: width - 60, size: 19), x: 30, y: 36, size: 19, weight: "bold"))
        items.append(SVG.text(SVG.fit(subtitle(inputs), width: width - 60, size: 12.5), x: 30, y: 58, size: 12.5,
                              fill: "#555555"))

        var y = 84.0
        let (histogram, histogramHeight) = histogramPanel(report, top: y)
        items += histogram
        y += histogramHeight + 20
        let (bottom, bottomHeight) = lowerPanels(report, top: y)
        items += bottom
        y += bottomHeight + 16
        if let health = report.health {
            items.append(panelTitle("(d) Health without labels", x: 30, y: y + 18))
            for line in health.readings(dim: inputs.x1.dim, rows: (n1, n2)) {
                y += 18
                items.append(SVG.text(SVG.fit(line, width: width - 60, size: 11.5), x: 30, y: y + 24, size: 11.5, fill: "#555555"))
            }
            y += 40
        }

        var document = SVGDocument(width: width, height: y.rounded(.up), title: titleText,
                                   description: "Similarity histograms, recall@k, InfoNCE loss and health figures from a CrossSim report.")
        document.add(items)
        return document.rendered()
    }

    static func subtitle(_ inputs: Report.Inputs) -> String {
        func set(_ s: Report.SetInfo) -> String {
            "\(SVG.grouped(s.rows)) × \(s.dim) (\(s.shards) shard\(s.shards == 1 ? "" : "s"), \(s.dtype))"
        }
        var parts = ["x1 \(set(inputs.x1))", "x2 \(set(inputs.x2))"]
        if let pairs = inputs.pairsPath {
            var p = "pairs \(pairs): \(SVG.grouped(inputs.positives)) positives"
            if inputs.x1WithoutPositive > 0 { p += ", \(SVG.grouped(inputs.x1WithoutPositive)) x1 rows without one" }
            parts.append(p)
        } else {
            parts.append("identity pairs")
        }
        parts.append(inputs.similarity == .cosine ? "cosine similarity" : "dot-product similarity")
        return parts.joined(separator: " · ")
    }

    static func panelTitle(_ text: String, x: Double, y: Double) -> SVGElement {
        SVG.text(text, x: x, y: y, size: 14.5, weight: "bold")
    }

    // MARK: (a) histograms

    static func histogramPanel(_ report: Report, top: Double) -> ([SVGElement], Double) {
        var out: [SVGElement] = [panelTitle("(a) Similarity of positive and negative pairs", x: 30, y: top + 18)]
        let similarityName = report.inputs.similarity == .cosine ? "cosine similarity" : "dot product"
        guard let h = report.histogram, h.bins > 0 else {
            out.append(SVG.text("No histogram in this report: eval gathers it with --plot or --histogram (give parts --histogram).",
                                x: 30, y: top + 48, size: 13, fill: "#555555"))
            return (out, 60)
        }
        let binWidth = (h.upper - h.lower) / Double(h.bins)
        let positiveTotal = h.positive.reduce(0, +), negativeTotal = h.negative.reduce(0, +)
        let d = report.diagnostics

        // Legend.
        func stats(_ mean: Double?, _ std: Double?) -> String {
            guard let mean, let std else { return "" }
            return "; mean \(SVG.label(mean, significant: 3)) ± \(SVG.label(std, significant: 2))"
        }
        var legend = [
            LegendItem(mark: .box(positiveColor, opacity: 0.55),
                       text: "positive pairs (\(SVG.grouped(positiveTotal))\(stats(d.positiveMean, d.positiveStd)))"),
            LegendItem(mark: .box(negativeColor, opacity: 0.45),
                       text: "negative pairs (\(SVG.grouped(negativeTotal))\(stats(d.negativeMean, d.negativeStd)))"),
        ]
        legend.append(LegendItem(mark: .line("#444444", dash: "5 3"), text: "means"))
        let (legendItems, legendLines) = Legend.layout(legend, x: 80, y: top + 40, maxX: width - 40)
        out += legendItems
        let shift = Double(legendLines - 1) * 19

        // Axes: x over the bins that hold anything, at round ticks; y over the densities.
        let used = (0..<h.bins).filter { h.positive[$0] > 0 || h.negative[$0] > 0 }
        let firstBin = used.first ?? 0, lastBin = used.last ?? (h.bins - 1)
        let dataLow = h.lower + Double(firstBin) * binWidth, dataHigh = h.lower + Double(lastBin + 1) * binWidth
        let pad = (dataHigh - dataLow) * 0.03
        let xTicks = PlotTicks.nice(dataLow - pad, dataHigh + pad, count: 10)
        let xLow = max(h.lower, min(xTicks.values.first!, dataLow)), xHigh = min(h.upper, max(xTicks.values.last!, dataHigh))

        func density(_ count: UInt64, _ total: UInt64) -> Double {
            total == 0 ? 0 : Double(count) / (Double(total) * binWidth)
        }
        var maxDensity = 0.0
        for i in firstBin...lastBin {
            maxDensity = max(maxDensity, density(h.positive[i], positiveTotal), density(h.negative[i], negativeTotal))
        }
        let yTicks = PlotTicks.nice(0, maxDensity > 0 ? maxDensity * 1.04 : 1, count: 5)
        var area = PlotArea(left: 80, top: top + 76 + shift, width: width - 120, height: 220)
        area.xDomain = xLow...xHigh
        area.yDomain = 0...yTicks.values.last!

        out.append(SVG.text("density: each histogram normalised to its own total (area under each = 1)",
                            x: area.left - 50, y: area.top - 12, size: 12, fill: "#333333"))
        out += area.yGrid(yTicks.values, decimals: PlotTicks.decimals(for: yTicks.step))

        for (series, counts, total, color, opacity) in [
            ("negative", h.negative, negativeTotal, negativeColor, 0.45),
            ("positive", h.positive, positiveTotal, positiveColor, 0.55),
        ] {
            guard total > 0 else { continue }
            var bars: [SVGElement] = []
            var outline = ""
            for i in firstBin...lastBin {
                let low = h.lower + Double(i) * binWidth, high = low + binWidth
                let value = density(counts[i], total)
                let x0 = area.px(low), x1 = area.px(high), yTop = area.py(value)
                let name = series == "positive" ? "positive pairs" : "negative pairs"
                bars.append(SVG.rect(x: x0, y: yTop, width: x1 - x0, height: area.bottom - yTop, fill: color, [
                    ("class", "hist-bin"), ("data-series", series), ("data-bin", String(i)),
                    ("data-count", String(counts[i])), ("data-density", SVG.data(value)),
                ]).titled("\(name), s in [\(SVG.label(low, significant: 3)), \(SVG.label(high, significant: 3))): "
                          + "\(SVG.grouped(counts[i])) (density \(SVG.label(value, significant: 3)))"))
                outline += (outline.isEmpty ? "M\(SVG.num(x0)) \(SVG.num(area.bottom))" : "")
                    + " L\(SVG.num(x0)) \(SVG.num(yTop)) L\(SVG.num(x1)) \(SVG.num(yTop))"
            }
            outline += " L\(SVG.num(area.px(h.lower + Double(lastBin + 1) * binWidth))) \(SVG.num(area.bottom))"
            out.append(SVG.group([("fill-opacity", SVG.num(opacity)), ("shape-rendering", "crispEdges"),
                                  ("data-series", series)], bars))
            out.append(SVGElement("path", [("d", outline), ("fill", "none"), ("stroke", color), ("stroke-width", "1.5"),
                                           ("stroke-linejoin", "miter")]))
        }
        for (mean, color) in [(d.negativeMean, negativeColor), (Optional(d.positiveMean), positiveColor)] {
            guard let mean, area.xDomain.contains(mean) else { continue }
            out.append(SVG.line(area.px(mean), area.top, area.px(mean), area.bottom, stroke: color, width: 1.5,
                                dash: "5 3", [("class", "mean-line")]))
        }
        out += area.frame
        out += area.xTicks(xTicks.values, decimals: PlotTicks.decimals(for: xTicks.step))
        let binText = "\(h.bins) bins of width \(SVG.short(binWidth)) over [\(SVG.short(h.lower)), \(SVG.short(h.upper))]"
        out.append(SVG.text("\(similarityName) s (\(binText); exact counts)", x: area.left + area.width / 2,
                            y: area.bottom + 40, size: 12, anchor: .middle, fill: "#333333"))
        return (out, area.bottom + 48 - top)
    }

    // MARK: (b) recall and (c) InfoNCE

    struct Bar {
        var category: Int
        var series: Int
        var value: Double
        var attributes: [(String, String)]
        var title: String
    }

    /// Grouped bars: `categories` groups of `seriesColors.count` bars each. Values are written
    /// above the bars with the most decimals (3 to `minDecimals`) at which every label fits its bar.
    static func bars(_ bars: [Bar], categories: [String], seriesColors: [String], area: PlotArea,
                     minDecimals: Int = 2) -> [SVGElement] {
        var out: [SVGElement] = []
        let groupWidth = area.width / Double(max(1, categories.count))
        let series = Double(seriesColors.count)
        let barWidth = min(46, groupWidth * 0.8 / series)
        let labelSize = 10.0
        let decimals = (minDecimals...3).reversed().first { d in
            bars.allSatisfy { SVG.textWidth(SVG.label($0.value, decimals: d), size: labelSize) <= barWidth - 1 }
        }
        for bar in bars {
            let centre = area.left + groupWidth * (Double(bar.category) + 0.5)
            let x = centre - barWidth * series / 2 + barWidth * Double(bar.series) + 1
            let yTop = area.py(bar.value.isFinite ? bar.value : area.yDomain.upperBound)
            out.append(SVG.rect(x: x, y: yTop, width: barWidth - 2, height: area.bottom - yTop,
                                fill: seriesColors[bar.series], bar.attributes).titled(bar.title))
            if let decimals {
                out.append(SVG.text(SVG.label(bar.value, decimals: decimals), x: x + (barWidth - 2) / 2, y: yTop - 4,
                                    size: labelSize, anchor: .middle, fill: "#333333"))
            }
        }
        // Category labels, thinned when they would collide.
        let widest = categories.map { SVG.textWidth($0, size: 11) }.max() ?? 0
        let every = PlotTicks.integerStep(unit: groupWidth, minimum: widest + 8)
        for (i, name) in categories.enumerated() where i % every == 0 {
            let centre = area.left + groupWidth * (Double(i) + 0.5)
            out.append(SVG.line(centre, area.bottom, centre, area.bottom + 4, stroke: "#444444"))
            out.append(SVG.text(name, x: centre, y: area.bottom + 18, size: 11, anchor: .middle, fill: "#444444"))
        }
        return out
    }

    static func lowerPanels(_ report: Report, top: Double) -> ([SVGElement], Double) {
        var out: [SVGElement] = []
        let leftX = 80.0, leftWidth = 390.0, rightX = 580.0, rightWidth = width - 40 - rightX
        out.append(panelTitle("(b) Recall@k", x: 30, y: top + 18))
        out.append(panelTitle("(c) InfoNCE loss against chance", x: rightX - 50, y: top + 18))

        // Legends first: the taller one sets where both plots start.
        let directions = [LegendItem(mark: .box(x1Color, opacity: 1), text: "x1 → x2"),
                          LegendItem(mark: .box(x2Color, opacity: 1), text: "x2 → x1")]
        let (recallLegend, recallLines) = Legend.layout(directions, x: leftX, y: top + 40, maxX: leftX + leftWidth)
        let d = report.diagnostics
        let sameChance = abs(d.chanceX1ToX2 - d.chanceX2ToX1) <= 1e-12 * max(1, abs(d.chanceX1ToX2))
        let chances: [(direction: String, value: Double, color: String, text: String)] = sameChance
            ? [("both", d.chanceX1ToX2, "#333333", "chance: log N = \(SVG.label(d.chanceX1ToX2, decimals: 3))")]
            : [("x1_to_x2", d.chanceX1ToX2, x1Color, "chance x1 → x2: log N2 = \(SVG.label(d.chanceX1ToX2, decimals: 3))"),
               ("x2_to_x1", d.chanceX2ToX1, x2Color, "chance x2 → x1: log N1 = \(SVG.label(d.chanceX2ToX1, decimals: 3))")]
        let (lossLegend, lossLines) = Legend.layout(
            directions + chances.map { LegendItem(mark: .line($0.color, dash: "6 4"), text: $0.text) },
            x: rightX, y: top + 40, maxX: rightX + rightWidth)
        out += recallLegend + lossLegend
        let shift = Double(max(recallLines, lossLines) - 1) * 19
        let plotTop = top + 86 + shift, plotHeight = 210.0

        // (b) recall@k on a fixed [0, 1] axis.
        var recallArea = PlotArea(left: leftX, top: plotTop, width: leftWidth, height: plotHeight)
        recallArea.yDomain = 0...1
        out.append(SVG.text("recall@k: fraction of queries with rank ≤ k", x: 30, y: plotTop - 22, size: 12,
                            fill: "#333333"))
        out += recallArea.yGrid(stride(from: 0.0, through: 1.0, by: 0.2).map(PlotTicks.clean), decimals: 1)
        let ks = Array(Set(report.x1ToX2.recall.map(\.k) + report.x2ToX1.recall.map(\.k))).sorted()
        var recallBars: [Bar] = []
        for (s, (name, key, retrieval)) in [("x1 → x2", "x1_to_x2", report.x1ToX2), ("x2 → x1", "x2_to_x1", report.x2ToX1)].enumerated() {
            for (k, value) in retrieval.recall {
                recallBars.append(Bar(
                    category: ks.firstIndex(of: k)!, series: s, value: value,
                    attributes: [("class", "recall-bar"), ("data-direction", key), ("data-k", String(k)),
                                 ("data-value", SVG.data(value))],
                    title: "recall@\(k) \(name): \(String(format: "%.4f", value)) (\(SVG.grouped(retrieval.queries)) queries)"))
            }
        }
        if ks.isEmpty {
            out.append(SVG.text("no recall@k in this report", x: recallArea.left + 20, y: recallArea.top + 40, fill: "#555555"))
        }
        out += bars(recallBars, categories: ks.map { String($0) }, seriesColors: [x1Color, x2Color], area: recallArea)
        out += recallArea.frame
        out.append(SVG.text("k", x: recallArea.left + recallArea.width / 2, y: recallArea.bottom + 38, size: 12,
                            anchor: .middle, fill: "#333333"))
        for (i, (name, r)) in [("x1 → x2", report.x1ToX2), ("x2 → x1", report.x2ToX1)].enumerated() {
            let text = "\(name): MRR \(String(format: "%.3f", r.mrr)), median rank \(SVG.short(r.medianRank, significant: 8)), "
                + "mean rank \(SVG.short(r.meanRank, significant: 4)) (\(SVG.grouped(r.queries)) queries)"
            out.append(SVG.text(SVG.fit(text, width: leftWidth + 50, size: 11.5), x: 30, y: recallArea.bottom + 60 + 16 * Double(i),
                                size: 11.5, fill: "#555555"))
        }

        // (c) InfoNCE per τ with the chance line(s).
        let losses = report.infonce
        let finite = losses.flatMap { [$0.x1ToX2, $0.x2ToX1] }.filter(\.isFinite) + chances.map(\.value)
        let yTicks = PlotTicks.nice(0, max(finite.max() ?? 1, 1e-9) * 1.08, count: 5)
        var lossArea = PlotArea(left: rightX, top: plotTop, width: rightWidth, height: plotHeight)
        lossArea.yDomain = 0...yTicks.values.last!
        out.append(SVG.text("loss (nats)", x: rightX - 50, y: plotTop - 22, size: 12, fill: "#333333"))
        out += lossArea.yGrid(yTicks.values, decimals: PlotTicks.decimals(for: yTicks.step))
        var lossBars: [Bar] = []
        for (c, l) in losses.enumerated() {
            for (s, (name, key, value)) in [("x1 → x2", "x1_to_x2", l.x1ToX2), ("x2 → x1", "x2_to_x1", l.x2ToX1)].enumerated() {
                lossBars.append(Bar(
                    category: c, series: s, value: value,
                    attributes: [("class", "loss-bar"), ("data-direction", key), ("data-tau", SVG.data(l.tau)),
                                 ("data-value", SVG.data(value))],
                    title: "InfoNCE \(name) at τ = \(SVG.data(l.tau)): \(String(format: "%.4f", value))"))
            }
        }
        if losses.isEmpty {
            out.append(SVG.text("no InfoNCE in this report", x: lossArea.left + 20, y: lossArea.top + 40, fill: "#555555"))
        }
        out += bars(lossBars, categories: losses.map { String(format: "%g", $0.tau) }, seriesColors: [x1Color, x2Color],
                    area: lossArea)
        for chance in chances {
            let y = lossArea.py(chance.value)
            out.append(SVG.line(lossArea.left, y, lossArea.right, y, stroke: chance.color, width: 1.6, dash: "6 4", [
                ("class", "chance-line"), ("data-direction", chance.direction), ("data-value", SVG.data(chance.value)),
            ]).titled(chance.text))
        }
        out += lossArea.frame
        out.append(SVG.text("temperature τ", x: lossArea.left + lossArea.width / 2, y: lossArea.bottom + 38, size: 12,
                            anchor: .middle, fill: "#333333"))
        if !losses.isEmpty {
            let symmetric = losses.map { "\(String(format: "%.3f", $0.symmetric)) at τ = \(String(format: "%g", $0.tau))" }
            let lines = SVG.wrap(symmetric, separator: ", ", width: rightWidth + 50 - 110, size: 11.5, maxLines: 2)
            for (i, line) in lines.enumerated() {
                out.append(SVG.text((i == 0 ? "symmetric loss: " : "") + line, x: rightX - 50 + (i == 0 ? 0 : 92),
                                    y: lossArea.bottom + 60 + 16 * Double(i), size: 11.5, fill: "#555555"))
            }
        }
        return (out, lossArea.bottom + 80 - top)
    }
}
