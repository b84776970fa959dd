import CrossSim
import Foundation

/// A block of the similarity matrix S (x1 rows `rows` against x2 rows `cols`), computed in
/// Double from the Float32 rows as read (normalised under cosine), and its SVG heatmap.
///
/// In the SVG, cells are `<rect class="heatmap-cell">` with `data-row`, `data-col` (global
/// indices) and `data-value`, when the block has at most `maxVectorCells` cells; a larger block
/// is one embedded palette PNG (`<image class="heatmap-image">`, 255 colour levels). Blocks of at most 32×32 also write each value in its cell
/// (`<text class="cell-value">`, 2 decimals). The colour bar is `<g class="colorbar">` with
/// `data-lower`/`data-upper`.
public struct SimilarityBlock: Sendable {
    /// Names of the sets, for the title.
    public var x1: String
    public var x2: String
    /// x1 rows (the heatmap's rows) and x2 rows (its columns), as global indices.
    public var rows: Range<Int>
    public var cols: Range<Int>
    public var similarity: Similarity
    /// values[i][j] = s(x1 row rows.lowerBound + i, x2 row cols.lowerBound + j).
    public var values: [[Double]]
    /// Sizes of the whole sets, when known: (rows, dim).
    public var x1Shape: (rows: Int, dim: Int)?
    public var x2Shape: (rows: Int, dim: Int)?

    /// The largest block side that is drawn.
    public static let maxSide = 2048
    /// The side of the default block, and the largest that gets values written in the cells.
    public static let defaultSide = 32
    /// Blocks with more cells are drawn as one image rather than one rectangle per cell.
    public static let maxVectorCells = 128 * 128

    /// Reads the rows of the block from the sets at `x1` and `x2` (only those rows: earlier
    /// rows are streamed past) and computes their similarities. `rows` and `cols` default
    /// to the first min(N, 32) rows of each set.
    public init(x1: String, x2: String, rows: Range<Int>? = nil, cols: Range<Int>? = nil,
                similarity: Similarity = .cosine) throws {
        let set1 = try ShardSet.open(x1), set2 = try ShardSet.open(x2)
        guard set1.dim == set2.dim else {
            throw InputError("dimension mismatch between sets: x1 has D = \(set1.dim), x2 has D = \(set2.dim)", file: x2)
        }
        let rows = try Self.check(rows ?? 0..<min(set1.rows, Self.defaultSide), of: set1, name: "x1", option: "--rows")
        let cols = try Self.check(cols ?? 0..<min(set2.rows, Self.defaultSide), of: set2, name: "x2", option: "--cols")
        let a = try Embeddings.load(set1, rows: rows, similarity: similarity)
        let b = try Embeddings.load(set2, rows: cols, similarity: similarity)
        let values = (0..<rows.count).map { i in (0..<cols.count).map { j in a.exactDot(row: i, b, row: j) } }
        self.init(values: values, rows: rows, cols: cols, similarity: similarity, x1: x1, x2: x2)
        x1Shape = (set1.rows, set1.dim)
        x2Shape = (set2.rows, set2.dim)
    }

    /// A block of values computed elsewhere: `values` has `rows.count` rows of `cols.count`.
    public init(values: [[Double]], rows: Range<Int>, cols: Range<Int>, similarity: Similarity,
                x1: String = "x1", x2: String = "x2") {
        precondition(values.count == rows.count && values.allSatisfy { $0.count == cols.count },
                     "values must be rows.count × cols.count")
        self.values = values
        self.rows = rows
        self.cols = cols
        self.similarity = similarity
        self.x1 = x1
        self.x2 = x2
    }

    /// Parses a row range `A:B` (A ≤ row < B, as in Python); `A:` runs to the end of the set
    /// of `count` rows and `:B` starts at 0.
    public static func parseRange(_ text: String, count: Int, option: String = "--rows") throws -> Range<Int> {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { throw InputError("bad \(option) '\(text)': expected A:B such as 0:32") }
        func bound(_ s: String, _ fallback: Int) throws -> Int {
            if s.isEmpty { return fallback }
            guard let v = Int(s), v >= 0 else {
                throw InputError("bad \(option) '\(text)': expected A:B with whole numbers 0 ≤ A < B")
            }
            return v
        }
        let lower = try bound(parts[0], 0), upper = try bound(parts[1], count)
        guard lower < upper else { throw InputError("bad \(option) '\(text)': the range is empty (need A < B)") }
        return lower..<upper
    }

    static func check(_ range: Range<Int>, of set: ShardSet, name: String, option: String) throws -> Range<Int> {
        let text = "\(range.lowerBound):\(range.upperBound)"
        guard set.rows > 0 else { throw InputError("\(name) has no rows", file: set.path) }
        guard !range.isEmpty, range.lowerBound >= 0 else {
            throw InputError("\(option) \(text) is empty: need A < B")
        }
        guard range.upperBound <= set.rows else {
            throw InputError("\(option) \(text) is beyond \(name)'s \(set.rows) rows (rows 0 to \(set.rows - 1))", file: set.path)
        }
        guard range.count <= maxSide else {
            throw InputError("\(option) \(text) has \(range.count) rows: a heatmap shows at most \(maxSide) × \(maxSide); pick a smaller block")
        }
        return range
    }

    /// Cosine: [−1, 1]. Dot: symmetric around 0 at the block's largest |s|.
    public var colorScale: DivergingColorScale {
        guard similarity == .dot else { return .cosine }
        let largest = values.lazy.flatMap { $0 }.map(abs).filter(\.isFinite).max() ?? 1
        return DivergingColorScale(limit: largest > 0 ? largest : 1)
    }

    /// Whether the SVG writes each value in its cell.
    public var showsValues: Bool { rows.count <= Self.defaultSide && cols.count <= Self.defaultSide }
    /// Whether the SVG draws one rectangle per cell (else one image).
    public var drawsCells: Bool { rows.count * cols.count <= Self.maxVectorCells }

    // MARK: - SVG

    public func svg() -> String {
        let n = rows.count, m = cols.count
        let scale = colorScale
        let showValues = showsValues, vector = drawsCells
        // Cell sizes: square and large enough for the values when they are written, else per
        // axis, whole pixels up to 900 cells and a fraction of a pixel beyond.
        func size(_ count: Int) -> Double {
            count <= 900 ? max(1, min(30, (900 / Double(count)).rounded(.down))) : 900 / Double(count)
        }
        let square = min(56, max(34, (1000 / Double(max(n, m))).rounded(.down)))
        let cellWidth = showValues ? square : size(m), cellHeight = showValues ? square : size(n)
        let valueSize = min(13, max(9.5, square * 0.29))
        let labelSize = 11.0

        let kind = similarity == .cosine ? "Cosine similarity" : "Dot product"
        let title = "\(kind) S = x1[\(rows.lowerBound):\(rows.upperBound)] · x2[\(cols.lowerBound):\(cols.upperBound)]ᵀ"
        func describe(_ name: String, _ set: String, _ shape: (rows: Int, dim: Int)?) -> String {
            "\(name): \(set)" + (shape.map { " (\(SVG.grouped($0.rows)) × \($0.dim))" } ?? "")
        }
        var notes = ["\(n) × \(m) block: x1 rows \(rows.lowerBound) to \(rows.upperBound - 1), x2 rows \(cols.lowerBound) to \(cols.upperBound - 1)."]
        notes.append(similarity == .cosine ? "Colour scale fixed at [−1, 1]."
            : "Colour scale symmetric around 0 at the block's largest |s|.")
        if showValues { notes.append("Values in the cells are rounded to 2 decimals.") }
        if !vector { notes.append("Drawn as one image with 255 colour levels.") }

        // Margins from the labels that go there.
        let widestRow = SVG.textWidth(String(rows.upperBound - 1), size: labelSize)
        let widestCol = SVG.textWidth(String(cols.upperBound - 1), size: labelSize)
        let left = 44 + widestRow + 12
        let top = 136.0
        let plotWidth = cellWidth * Double(m), plotHeight = cellHeight * Double(n)
        let barHeight = max(plotHeight, 220), barWidth = 18.0
        let barLeft = left + plotWidth + 34
        let barTicks = colorBarTicks(scale, height: barHeight)
        let barLabelWidth = barTicks.map { SVG.textWidth($0.text, size: labelSize) }.max() ?? 30
        let pageWidth = max(barLeft + barWidth + 10 + barLabelWidth + 30, 640).rounded(.up)
        let noteLines = SVG.wrap(notes, separator: " ", width: pageWidth - 50, size: 11.5, maxLines: 4)
        let pageHeight = (top + max(plotHeight, barHeight) + 30 + 16 * Double(noteLines.count)).rounded(.up)

        var document = SVGDocument(width: pageWidth, height: pageHeight, title: title,
                                   description: "Heatmap of a block of the similarity matrix computed by CrossSim.")
        document.add(SVG.text(SVG.fit(title, width: pageWidth - 50, size: 18), x: 24, y: 34, size: 18, weight: "bold"))
        document.add(SVG.text(SVG.fit(describe("x1", x1, x1Shape), width: pageWidth - 50, size: 12.5), x: 24, y: 57,
                              size: 12.5, fill: "#555555"))
        document.add(SVG.text(SVG.fit(describe("x2", x2, x2Shape), width: pageWidth - 50, size: 12.5), x: 24, y: 74,
                              size: 12.5, fill: "#555555"))

        // Axes: x2 rows across the top, x1 rows down the left, labelled at round indices.
        document.add(SVG.text("x2 row (column j)", x: left + plotWidth / 2, y: top - 34, size: 12, anchor: .middle,
                              fill: "#333333"))
        document.add(SVG.text("x1 row (row i)", x: 24, y: top + plotHeight / 2, size: 12, anchor: .middle,
                              fill: "#333333", centred: true, rotate: -90))
        var axis: [SVGElement] = []
        let colStep = PlotTicks.integerStep(unit: cellWidth, minimum: widestCol + 8)
        let labelledCols = cols.filter { $0 % colStep == 0 }
        for j in labelledCols.isEmpty ? [cols.lowerBound] : labelledCols {
            let x = left + (Double(j - cols.lowerBound) + 0.5) * cellWidth
            axis.append(SVG.line(x, top - 5, x, top, stroke: "#444444"))
            axis.append(SVG.text(String(j), x: x, y: top - 9, size: labelSize, anchor: .middle, fill: "#444444"))
        }
        let rowStep = PlotTicks.integerStep(unit: cellHeight, minimum: labelSize + 3)
        let labelledRows = rows.filter { $0 % rowStep == 0 }
        for i in labelledRows.isEmpty ? [rows.lowerBound] : labelledRows {
            let y = top + (Double(i - rows.lowerBound) + 0.5) * cellHeight
            axis.append(SVG.line(left - 5, y, left, y, stroke: "#444444"))
            axis.append(SVG.text(String(i), x: left - 8, y: y, size: labelSize, anchor: .end, fill: "#444444", centred: true))
        }
        document.add(SVG.group([("class", "axes")], axis))

        // Cells.
        if vector {
            var cells: [SVGElement] = []
            cells.reserveCapacity(n * m)
            var texts: [SVGElement] = []
            for i in 0..<n {
                for j in 0..<m {
                    let v = values[i][j]
                    var rect = SVG.rect(x: left + Double(j) * cellWidth, y: top + Double(i) * cellHeight,
                                        width: cellWidth, height: cellHeight, fill: scale.color(v), [
                                            ("class", "heatmap-cell"), ("data-row", String(rows.lowerBound + i)),
                                            ("data-col", String(cols.lowerBound + j)), ("data-value", SVG.data(v)),
                                        ])
                    if showValues {
                        rect = rect.titled("x1[\(rows.lowerBound + i)] · x2[\(cols.lowerBound + j)] = \(String(format: "%.4f", v))")
                        texts.append(SVG.text(SVG.label(v, decimals: 2), x: left + (Double(j) + 0.5) * cellWidth,
                                              y: top + (Double(i) + 0.5) * cellHeight, size: valueSize, anchor: .middle,
                                              fill: scale.textColor(v), centred: true, [("class", "cell-value")]))
                    }
                    cells.append(rect)
                }
            }
            document.add(SVG.group([("class", "heatmap"), ("shape-rendering", "crispEdges")], cells))
            if !texts.isEmpty { document.add(SVG.group([("class", "cell-values")], texts)) }
        } else {
            document.add(image(scale: scale, x: left, y: top, cellWidth: cellWidth, cellHeight: cellHeight))
        }
        document.add(SVG.rect(x: left, y: top, width: plotWidth, height: plotHeight, fill: "none",
                              [("stroke", "#444444"), ("stroke-width", "1")]))

        // Colour bar.
        document.defs.append(scale.gradient(id: "crosssim-scale"))
        var bar: [SVGElement] = [
            SVG.rect(x: barLeft, y: top, width: barWidth, height: barHeight, fill: "url(#crosssim-scale)",
                     [("stroke", "#444444"), ("stroke-width", "0.8")]),
            SVG.text(similarity == .cosine ? "cosine" : "dot", x: barLeft + barWidth / 2, y: top - 10, size: 12,
                     anchor: .middle, fill: "#333333"),
        ]
        for tick in barTicks {
            let y = top + (1 - scale.position(tick.value)) * barHeight
            bar.append(SVG.line(barLeft + barWidth, y, barLeft + barWidth + 5, y, stroke: "#444444"))
            bar.append(SVG.text(tick.text, x: barLeft + barWidth + 8, y: y, size: labelSize, fill: "#444444", centred: true))
        }
        document.add(SVG.group([("class", "colorbar"), ("data-lower", SVG.data(scale.lower)),
                                ("data-upper", SVG.data(scale.upper))], bar))

        for (k, line) in noteLines.enumerated() {
            document.add(SVG.text(line, x: 24, y: top + max(plotHeight, barHeight) + 32 + 16 * Double(k), size: 11.5,
                                  fill: "#555555"))
        }
        return document.rendered()
    }

    /// Colour bar ticks: the ends and the round values between them.
    func colorBarTicks(_ scale: DivergingColorScale, height: Double) -> [(value: Double, text: String)] {
        if similarity == .cosine {
            return [-1, -0.5, 0, 0.5, 1].map { ($0, SVG.label($0, decimals: 1)) }
        }
        let ticks = PlotTicks.nice(0, scale.limit, count: 2)
        // Round ticks inside, none closer than 16 pixels to an end label.
        let inner = ticks.values.filter { $0 > 0 && (scale.limit - $0) / scale.limit * height / 2 >= 16 }
        let decimals = PlotTicks.decimals(for: ticks.step)
        var out: [(Double, String)] = [(-scale.limit, SVG.label(-scale.limit, significant: 3))]
        out += inner.reversed().map { (-$0, SVG.label(-$0, decimals: decimals)) }
        out.append((0, "0"))
        out += inner.map { ($0, SVG.label($0, decimals: decimals)) }
        out.append((scale.limit, SVG.label(scale.limit, significant: 3)))
        return out
    }

    /// The block as one palette PNG, a pixel per cell, scaled up without smoothing.
    /// The block as one palette PNG drawn at its size on the page: a cell spans
    /// `cellWidth`×`cellHeight` whole pixels where it is at least one pixel (each pixel
    /// repeated, so that no renderer smooths the cell edges), and one pixel otherwise.
    func image(scale: DivergingColorScale, x: Double, y: Double, cellWidth: Double, cellHeight: Double) -> SVGElement {
        let levels = 255
        let palette = (0..<levels).map { scale.rgb(position: Double($0) / Double(levels - 1)) }
        let repeatX = max(1, Int(cellWidth.rounded(.down))), repeatY = max(1, Int(cellHeight.rounded(.down)))
        let width = cols.count * repeatX, height = rows.count * repeatY
        var indices = [UInt8]()
        indices.reserveCapacity(width * height)
        for row in values {
            var line = [UInt8]()
            line.reserveCapacity(width)
            for v in row {
                let index = UInt8((scale.position(v) * Double(levels - 1)).rounded())
                for _ in 0..<repeatX { line.append(index) }
            }
            for _ in 0..<repeatY { indices += line }
        }
        let png = PNGEncoder.palette(width: width, height: height, indices: indices, palette: palette)
        return SVGElement("image", [
            ("class", "heatmap-image"), ("x", SVG.num(x)), ("y", SVG.num(y)),
            ("width", SVG.num(cellWidth * Double(cols.count))), ("height", SVG.num(cellHeight * Double(rows.count))),
            ("preserveAspectRatio", "none"), ("data-rows", String(rows.count)), ("data-cols", String(cols.count)),
            ("href", "data:image/png;base64," + Data(png).base64EncodedString()),
        ])
    }
}
