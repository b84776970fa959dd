import CrossSim
import CrossSimPlot
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// The SVG pictures: valid XML, no scripts, and every number drawn equal to the report's or
/// the block's.
final class PlotTests: XCTestCase {
    // MARK: - Parsing

    struct Element {
        var name: String
        var attributes: [String: String]
        var text: String
        /// Names of the enclosing elements, outermost first.
        var path: [String]
        /// Index of the enclosing element in `elements`, if any.
        var parent: Int?

        func double(_ key: String) -> Double? { attributes[key].flatMap(Double.init) }
    }

    final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var stack: [Int] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            elements.append(Element(name: name, attributes: attributes, text: "",
                                    path: stack.map { elements[$0].name }, parent: stack.last))
            stack.append(elements.count - 1)
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let last = stack.last { elements[last].text += string }
        }
    }

    /// Parses `svg`, failing the test when it is not well-formed XML.
    func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Element] {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        let ok = parser.parse()
        XCTAssertTrue(ok, "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
        try XCTSkipUnless(ok)
        return collector.elements
    }

    /// The checks every page must pass: an `<svg>` root with a fixed viewBox, a generic font,
    /// nothing that runs or loads from elsewhere.
    func checkSelfContained(_ elements: [Element], file: StaticString = #filePath, line: UInt = #line) {
        guard let root = elements.first else { return XCTFail("empty document", file: file, line: line) }
        XCTAssertEqual(root.name, "svg", file: file, line: line)
        XCTAssertEqual(root.attributes["xmlns"], "http://www.w3.org/2000/svg", file: file, line: line)
        XCTAssertEqual(root.attributes["font-family"], "sans-serif", file: file, line: line)
        let box = root.attributes["viewBox"]?.split(separator: " ").compactMap { Double($0) } ?? []
        XCTAssertEqual(box.count, 4, file: file, line: line)
        XCTAssertEqual(box.first, 0, file: file, line: line)
        XCTAssertEqual(box.last.map { String($0) }, root.attributes["height"].flatMap(Double.init).map { String($0) },
                       file: file, line: line)
        for e in elements {
            XCTAssertNotEqual(e.name, "script", file: file, line: line)
            XCTAssertNotEqual(e.name, "foreignObject", file: file, line: line)
            for (key, value) in e.attributes {
                XCTAssertFalse(key.lowercased().hasPrefix("on"), "event handler \(key)", file: file, line: line)
                if key == "href" || key.hasSuffix(":href") {
                    XCTAssertTrue(value.hasPrefix("data:") || value.hasPrefix("#"), "external reference \(value)",
                                  file: file, line: line)
                }
            }
            if let family = e.attributes["font-family"] { XCTAssertEqual(family, "sans-serif", file: file, line: line) }
        }
    }

    func elements(_ all: [Element], class name: String) -> [Element] {
        all.filter { $0.attributes["class"] == name }
    }

    // MARK: - Reports

    /// x2 = x1 + noise, so that positives and negatives differ.
    func report(n: Int = 96, dim: Int = 24, seed: UInt64 = 7, bins: Int? = 50, taus: [Double] = [0.05, 0.1, 0.5],
                pairs: Pairs? = nil, x2Rows: Int? = nil, similarity: Similarity = .cosine) throws -> Report {
        var random = TestRandom(seed: seed)
        let a = (0..<(n * dim)).map { _ in Float(random.gaussian()) }
        let rows2 = x2Rows ?? n
        var b: [Float] = []
        for j in 0..<rows2 {
            let owner = pairs.map { Int($0.positiveOf[j]) } ?? j
            for d in 0..<dim { b.append(a[owner * dim + d] + Float(0.9 * random.gaussian())) }
        }
        var options = EvaluationOptions()
        options.histogramBins = bins
        options.temperatures = taus
        options.recallAt = [1, 5, 10]
        options.similarity = similarity
        return try Evaluation(x1: Embeddings(rows: n, dim: dim, values: a), x2: Embeddings(rows: rows2, dim: dim, values: b),
                              pairs: pairs, options: options).report()
    }

    func testSummaryIsValidSelfContainedSVG() throws {
        var report = try report()
        report.inputs.x1.path = "runs/<img & \"text\">'s.npy"
        report.inputs.x2.path = "bad\u{1}control"
        let svg = SummaryPlot.svg(report)
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        let all = try parse(svg)
        checkSelfContained(all)
        // The title names the inputs (escaped in the file, intact once parsed) and N.
        let title = try XCTUnwrap(all.first { $0.name == "title" && $0.path == ["svg"] }).text
        XCTAssertTrue(title.contains("runs/<img & \"text\">'s.npy"), title)
        XCTAssertTrue(title.contains("bad\u{FFFD}control"), title)
        XCTAssertTrue(title.contains("N = 96"), title)
        XCTAssertTrue(all.contains { $0.name == "text" && $0.text.contains("N = 96") })
    }

    func testSummaryHistogramsCarryTheReportsExactCounts() throws {
        let report = try report()
        let histogram = try XCTUnwrap(report.histogram)
        let all = try parse(SummaryPlot.svg(report))
        let bins = elements(all, class: "hist-bin")
        XCTAssertFalse(bins.isEmpty)
        let width = (histogram.upper - histogram.lower) / Double(histogram.bins)
        for (series, counts) in [("positive", histogram.positive), ("negative", histogram.negative)] {
            let drawn = bins.filter { $0.attributes["data-series"] == series }
            var byBin: [Int: UInt64] = [:]
            var area = 0.0
            for bin in drawn {
                let index = try XCTUnwrap(bin.attributes["data-bin"].flatMap(Int.init))
                XCTAssertNil(byBin[index], "bin \(index) drawn twice")
                byBin[index] = try XCTUnwrap(bin.attributes["data-count"].flatMap(UInt64.init))
                area += try XCTUnwrap(bin.double("data-density")) * width
            }
            // Every bin of the report, drawn or (when empty and outside the shown range) not.
            for i in 0..<histogram.bins { XCTAssertEqual(byBin[i] ?? 0, counts[i], "\(series) bin \(i)") }
            XCTAssertEqual(area, 1, accuracy: 1e-9, "\(series) density integrates to 1")
            // Heights are proportional to the density.
            let scale = drawn.compactMap { bar -> Double? in
                guard let d = bar.double("data-density"), d > 0.2, let h = bar.double("height") else { return nil }
                return h / d
            }
            XCTAssertFalse(scale.isEmpty)
            for s in scale { XCTAssertEqual(s, scale[0], accuracy: scale[0] * 0.02) }
        }
        let total = report.histogram!.positive.reduce(0, +) + report.histogram!.negative.reduce(0, +)
        XCTAssertEqual(total, 96 * 96)
        // The axis says the histograms are densities normalised to their own totals.
        XCTAssertTrue(all.contains { $0.name == "text" && $0.text.contains("density") && $0.text.contains("own total") })
    }

    func testSummaryRecallAndLossBarsMatchTheReport() throws {
        let report = try report()
        let all = try parse(SummaryPlot.svg(report))

        let recall = elements(all, class: "recall-bar")
        XCTAssertEqual(recall.count, report.x1ToX2.recall.count + report.x2ToX1.recall.count)
        for (key, retrieval) in [("x1_to_x2", report.x1ToX2), ("x2_to_x1", report.x2ToX1)] {
            for (k, value) in retrieval.recall {
                let bar = try XCTUnwrap(recall.first { $0.attributes["data-direction"] == key && $0.attributes["data-k"] == String(k) })
                XCTAssertEqual(bar.double("data-value"), value, "\(key) recall@\(k)")
            }
        }
        // Recall is drawn on a fixed [0, 1] axis: height / value is the same for every bar.
        let ratios = recall.compactMap { bar -> Double? in
            guard let v = bar.double("data-value"), v > 0.1, let h = bar.double("height") else { return nil }
            return h / v
        }
        XCTAssertFalse(ratios.isEmpty)
        for r in ratios { XCTAssertEqual(r, ratios[0], accuracy: 1) }

        let loss = elements(all, class: "loss-bar")
        XCTAssertEqual(loss.count, 2 * report.infonce.count)
        for l in report.infonce {
            for (key, value) in [("x1_to_x2", l.x1ToX2), ("x2_to_x1", l.x2ToX1)] {
                let bar = try XCTUnwrap(loss.first { $0.attributes["data-direction"] == key && $0.double("data-tau") == l.tau })
                XCTAssertEqual(bar.double("data-value"), value, "\(key) at τ = \(l.tau)")
            }
        }
        // One chance line for identity pairs, at log N, on the same scale as the bars.
        let chance = elements(all, class: "chance-line")
        XCTAssertEqual(chance.count, 1)
        XCTAssertEqual(chance[0].double("data-value"), report.diagnostics.chanceX1ToX2)
        XCTAssertEqual(report.diagnostics.chanceX1ToX2, log(96), accuracy: 1e-12)
        let bar = try XCTUnwrap(loss.max { ($0.double("data-value") ?? 0) < ($1.double("data-value") ?? 0) })
        let barTop = try XCTUnwrap(bar.double("y")), barHeight = try XCTUnwrap(bar.double("height"))
        let bottom = barTop + barHeight
        let lineY = try XCTUnwrap(chance[0].double("y1"))
        XCTAssertEqual((bottom - lineY) / report.diagnostics.chanceX1ToX2, barHeight / bar.double("data-value")!,
                       accuracy: 0.5)
    }

    func testSummaryWithSeveralPositivesDrawsAChanceLinePerDirection() throws {
        // 40 x1 rows, 100 x2 rows: x2 row j belongs to x1 row j % 40.
        let pairs = try Pairs(positiveOf: (0..<100).map { $0 % 40 }, x1Rows: 40)
        let report = try report(n: 40, pairs: pairs, x2Rows: 100)
        let all = try parse(SummaryPlot.svg(report))
        checkSelfContained(all)
        let chance = elements(all, class: "chance-line")
        XCTAssertEqual(chance.count, 2)
        XCTAssertEqual(chance.first { $0.attributes["data-direction"] == "x1_to_x2" }?.double("data-value"), log(100.0))
        XCTAssertEqual(chance.first { $0.attributes["data-direction"] == "x2_to_x1" }?.double("data-value"), log(40.0))
        XCTAssertTrue(all.contains { $0.name == "title" && $0.text.contains("N1 = 40, N2 = 100") })
        let counts = elements(all, class: "hist-bin").filter { $0.attributes["data-series"] == "positive" }
            .compactMap { $0.attributes["data-count"].flatMap(UInt64.init) }
        XCTAssertEqual(counts.reduce(0, +), 100)
    }

    func testSummaryWithoutHistogramSaysSo() throws {
        let report = try report(bins: nil)
        XCTAssertNil(report.histogram)
        let all = try parse(SummaryPlot.svg(report))
        checkSelfContained(all)
        XCTAssertTrue(elements(all, class: "hist-bin").isEmpty)
        XCTAssertTrue(all.contains { $0.name == "text" && $0.text.contains("No histogram") })
        XCTAssertEqual(elements(all, class: "recall-bar").count, 6)
    }

    func testSummaryOfTinyReports() throws {
        for n in [1, 2, 3] {
            let report = try report(n: n, dim: 3, bins: 7, taus: [0.01, 1])
            let all = try parse(SummaryPlot.svg(report))
            checkSelfContained(all)
            let counts = elements(all, class: "hist-bin").compactMap { $0.attributes["data-count"].flatMap(UInt64.init) }
            XCTAssertEqual(counts.reduce(0, +), UInt64(n * n))
            XCTAssertEqual(elements(all, class: "loss-bar").count, 4)
            for e in all { for (key, value) in e.attributes where ["x", "y", "width", "height"].contains(key) {
                XCTAssertNotNil(Double(value), "\(e.name) \(key)=\(value)")
            } }
        }
    }

    func testSummaryIsDeterministic() throws {
        let report = try report(similarity: .dot)
        XCTAssertEqual(SummaryPlot.svg(report), SummaryPlot.svg(report))
        checkSelfContained(try parse(SummaryPlot.svg(report)))
    }

    // MARK: - Heatmaps

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "crosssim-plot-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func writeSet(rows: Int, dim: Int, seed: UInt64, to path: String) throws -> [Float] {
        var random = TestRandom(seed: seed)
        let values = (0..<(rows * dim)).map { _ in Float(random.gaussian()) }
        try values.withUnsafeBufferPointer {
            try NPYWriter.write($0, shape: [rows, dim], element: .float32, to: path)
        }
        return values
    }

    func cells(_ all: [Element]) -> [Element] { elements(all, class: "heatmap-cell") }

    func testHeatmapBlockFromFilesMatchesAFloat64Reference() throws {
        let dir = try temporaryDirectory()
        let dim = 8
        let a = try writeSet(rows: 50, dim: dim, seed: 1, to: dir + "/x1.npy")
        let b = try writeSet(rows: 45, dim: dim, seed: 2, to: dir + "/x2.npy")
        func reference(_ i: Int, _ j: Int, cosine: Bool) -> Double {
            let u = a[(i * dim)..<((i + 1) * dim)].map(Double.init), v = b[(j * dim)..<((j + 1) * dim)].map(Double.init)
            let dot = zip(u, v).map(*).reduce(0, +)
            guard cosine else { return dot }
            return dot / (u.map { $0 * $0 }.reduce(0, +).squareRoot() * v.map { $0 * $0 }.reduce(0, +).squareRoot())
        }
        for similarity in Similarity.allCases {
            let block = try SimilarityBlock(x1: dir + "/x1.npy", x2: dir + "/x2.npy", rows: 10..<20, cols: 5..<17,
                                            similarity: similarity)
            XCTAssertEqual(block.rows, 10..<20)
            XCTAssertEqual(block.cols, 5..<17)
            XCTAssertEqual(block.values.count, 10)
            for i in 0..<10 {
                XCTAssertEqual(block.values[i].count, 12)
                for j in 0..<12 {
                    let expected = reference(10 + i, 5 + j, cosine: similarity == .cosine)
                    XCTAssertEqual(block.values[i][j], expected, accuracy: 1e-6 * max(1, abs(expected)))
                }
            }

            // Every cell drawn once, with its global indices and its exact value, and its
            // value written in it (12×10 ≤ 32×32).
            let all = try parse(block.svg())
            checkSelfContained(all)
            let drawn = cells(all)
            XCTAssertEqual(drawn.count, 10 * 12)
            var seen = Set<[Int]>()
            for cell in drawn {
                let i = try XCTUnwrap(cell.attributes["data-row"].flatMap(Int.init))
                let j = try XCTUnwrap(cell.attributes["data-col"].flatMap(Int.init))
                XCTAssertTrue(seen.insert([i, j]).inserted)
                XCTAssertEqual(cell.double("data-value"), block.values[i - 10][j - 5])
                XCTAssertEqual(cell.attributes["fill"], block.colorScale.color(block.values[i - 10][j - 5]))
            }
            let texts = elements(all, class: "cell-value")
            XCTAssertEqual(texts.count, 10 * 12)
            let written = texts.compactMap { Double($0.text.replacingOccurrences(of: "\u{2212}", with: "-")) }.sorted()
            let expected = block.values.flatMap { $0 }.map { ($0 * 100).rounded() / 100 }.sorted()
            XCTAssertEqual(written.count, expected.count)
            for (w, e) in zip(written, expected) { XCTAssertEqual(w, e, accuracy: 1e-9) }
            // Row and column indices on the axes.
            let labels = Set(all.filter { $0.name == "text" && $0.path.last == "g" && $0.attributes["class"] == nil }.map(\.text))
            for index in [10, 19, 5, 16] { XCTAssertTrue(labels.contains(String(index)), "axis label \(index)") }
        }
    }

    func testHeatmapDefaultBlockIsTheFirst32RowsOrFewer() throws {
        let dir = try temporaryDirectory()
        _ = try writeSet(rows: 40, dim: 4, seed: 3, to: dir + "/x1.npy")
        _ = try writeSet(rows: 20, dim: 4, seed: 4, to: dir + "/x2.npy")
        let block = try SimilarityBlock(x1: dir + "/x1.npy", x2: dir + "/x2.npy")
        XCTAssertEqual(block.rows, 0..<32)
        XCTAssertEqual(block.cols, 0..<20)
        XCTAssertTrue(block.showsValues)
        let all = try parse(block.svg())
        XCTAssertEqual(cells(all).count, 32 * 20)
        XCTAssertEqual(elements(all, class: "cell-value").count, 32 * 20)
    }

    func testHeatmapLargerThan32WritesNoValues() throws {
        var random = TestRandom(seed: 5)
        let values = (0..<40).map { _ in (0..<33).map { _ in random.uniform() * 2 - 1 } }
        let block = SimilarityBlock(values: values, rows: 100..<140, cols: 7..<40, similarity: .cosine)
        XCTAssertFalse(block.showsValues)
        let all = try parse(block.svg())
        checkSelfContained(all)
        let drawn = cells(all)
        XCTAssertEqual(drawn.count, 40 * 33)
        XCTAssertTrue(elements(all, class: "cell-value").isEmpty)
        for cell in drawn {
            let i = try XCTUnwrap(cell.attributes["data-row"].flatMap(Int.init)) - 100
            let j = try XCTUnwrap(cell.attributes["data-col"].flatMap(Int.init)) - 7
            XCTAssertEqual(cell.double("data-value"), values[i][j])
        }
    }

    func testHeatmapColoursAreTheScalesEndsAndMiddle() throws {
        let block = SimilarityBlock(values: [[1, -1, 0], [0.5, -0.5, 2]], rows: 0..<2, cols: 0..<3, similarity: .cosine)
        let scale = block.colorScale
        XCTAssertEqual(scale, .cosine)
        let all = try parse(block.svg())
        func fill(_ i: Int, _ j: Int) -> String? {
            cells(all).first { $0.attributes["data-row"] == String(i) && $0.attributes["data-col"] == String(j) }?.attributes["fill"]
        }
        // The colour bar's gradient runs from the scale's low end to its high end.
        let stops = all.filter { $0.name == "stop" }.compactMap { $0.attributes["stop-color"] }
        XCTAssertEqual(stops.count % 2, 1)
        XCTAssertEqual(fill(0, 0), scale.highColor)
        XCTAssertEqual(fill(0, 0), stops.last)
        XCTAssertEqual(fill(0, 1), scale.lowColor)
        XCTAssertEqual(fill(0, 1), stops.first)
        XCTAssertEqual(fill(0, 2), scale.midColor)
        XCTAssertEqual(fill(0, 2), stops[stops.count / 2])
        XCTAssertEqual(fill(1, 2), scale.highColor, "values beyond the scale take its end")
        XCTAssertNotEqual(fill(1, 0), scale.highColor)
        XCTAssertNotEqual(fill(1, 0), scale.midColor)
        let bar = try XCTUnwrap(elements(all, class: "colorbar").first)
        XCTAssertEqual(bar.double("data-lower"), -1)
        XCTAssertEqual(bar.double("data-upper"), 1)
        XCTAssertNotEqual(scale.lowColor, scale.highColor)

        // Dot: symmetric around 0 at the largest |s| of the block.
        let dot = SimilarityBlock(values: [[2, -4, 0]], rows: 3..<4, cols: 0..<3, similarity: .dot)
        XCTAssertEqual(dot.colorScale.limit, 4)
        let dotAll = try parse(dot.svg())
        let dotCells = cells(dotAll)
        XCTAssertEqual(dotCells.first { $0.attributes["data-col"] == "1" }?.attributes["fill"], dot.colorScale.lowColor)
        XCTAssertEqual(dotCells.first { $0.attributes["data-col"] == "2" }?.attributes["fill"], dot.colorScale.midColor)
        XCTAssertNotEqual(dotCells.first { $0.attributes["data-col"] == "0" }?.attributes["fill"], dot.colorScale.highColor)
        let dotBar = try XCTUnwrap(elements(dotAll, class: "colorbar").first)
        XCTAssertEqual(dotBar.double("data-lower"), -4)
        XCTAssertEqual(dotBar.double("data-upper"), 4)
    }

    func testLargeHeatmapIsOneImageOfTheBlock() throws {
        var random = TestRandom(seed: 6)
        let values = (0..<200).map { _ in (0..<150).map { _ in random.uniform() * 2 - 1 } }
        let block = SimilarityBlock(values: values, rows: 0..<200, cols: 1000..<1150, similarity: .cosine)
        XCTAssertFalse(block.drawsCells)
        let all = try parse(block.svg())
        checkSelfContained(all)
        XCTAssertTrue(cells(all).isEmpty)
        XCTAssertTrue(elements(all, class: "cell-value").isEmpty)
        let image = try XCTUnwrap(elements(all, class: "heatmap-image").first)
        XCTAssertEqual(image.attributes["data-rows"], "200")
        XCTAssertEqual(image.attributes["data-cols"], "150")
        let href = try XCTUnwrap(image.attributes["href"])
        XCTAssertTrue(href.hasPrefix("data:image/png;base64,"))
        let png = try XCTUnwrap(Data(base64Encoded: String(href.dropFirst("data:image/png;base64,".count))))
        let decoded = try XCTUnwrap(PlotTestPNG(png))
        XCTAssertEqual(decoded.width % 150, 0)
        XCTAssertEqual(decoded.height % 200, 0)
        // Each cell's pixels have the colour of its value, to the 255 levels of the image.
        let sx = decoded.width / 150, sy = decoded.height / 200
        for (i, j) in [(0, 0), (199, 149), (57, 93), (120, 4)] {
            let rgb = decoded.pixel(x: j * sx + sx / 2, y: i * sy + sy / 2)
            let expected = block.colorScale.color(values[i][j])
            let channels = stride(from: 1, to: 7, by: 2).map {
                Int(expected[expected.index(expected.startIndex, offsetBy: $0)...].prefix(2), radix: 16)!
            }
            for c in 0..<3 { XCTAssertEqual(Double(rgb[c]), Double(channels[c]), accuracy: 6, "cell \(i), \(j)") }
        }
    }

    func testHeatmapRefusesBadBlocks() throws {
        let dir = try temporaryDirectory()
        _ = try writeSet(rows: 2100, dim: 2, seed: 8, to: dir + "/x1.npy")
        _ = try writeSet(rows: 30, dim: 2, seed: 9, to: dir + "/x2.npy")
        _ = try writeSet(rows: 30, dim: 3, seed: 9, to: dir + "/x3.npy")
        func error(_ body: () throws -> Void) -> InputError? {
            do { try body() } catch let e as InputError { return e } catch { XCTFail("\(error)") }
            return nil
        }
        let big = error { _ = try SimilarityBlock(x1: dir + "/x1.npy", x2: dir + "/x2.npy", rows: 0..<2049) }
        XCTAssertTrue(big?.description.contains("2048") ?? false, "\(String(describing: big))")
        XCTAssertNoThrow(try SimilarityBlock(x1: dir + "/x1.npy", x2: dir + "/x2.npy", rows: 52..<2100, cols: 0..<1))
        let beyond = error { _ = try SimilarityBlock(x1: dir + "/x1.npy", x2: dir + "/x2.npy", cols: 10..<31) }
        XCTAssertTrue(beyond?.description.contains("30 rows") ?? false, "\(String(describing: beyond))")
        XCTAssertNotNil(error { _ = try SimilarityBlock(x1: dir + "/x1.npy", x2: dir + "/x3.npy") })
        XCTAssertNotNil(error { _ = try SimilarityBlock(x1: dir + "/missing.npy", x2: dir + "/x2.npy") })

        XCTAssertEqual(try SimilarityBlock.parseRange("3:10", count: 50), 3..<10)
        XCTAssertEqual(try SimilarityBlock.parseRange(":5", count: 50), 0..<5)
        XCTAssertEqual(try SimilarityBlock.parseRange("7:", count: 50), 7..<50)
        for bad in ["5:5", "9:3", "a:b", "-1:3", "3", "1:2:3"] {
            XCTAssertNotNil(error { _ = try SimilarityBlock.parseRange(bad, count: 50) }, bad)
        }
    }
}



/// Reads back an 8-bit palette PNG whose zlib stream uses stored blocks only, as CrossSim
/// writes them, checking every chunk's CRC.
private struct PlotTestPNG {
    var width = 0, height = 0
    var palette: [[UInt8]] = []
    var pixels: [UInt8] = []

    init?(_ data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
        func u32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        var at = 8
        var zlib: [UInt8] = []
        while at + 12 <= bytes.count {
            let length = u32(at)
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            let body = Array(bytes[(at + 8)..<(at + 8 + length)])
            guard PlotTestPNG.crc(Array(bytes[(at + 4)..<(at + 8)]) + body) == UInt32(u32(at + 8 + length)) else { return nil }
            switch type {
            case "IHDR":
                width = body[0..<4].reduce(0) { $0 << 8 | Int($1) }
                height = body[4..<8].reduce(0) { $0 << 8 | Int($1) }
                guard body[8] == 8, body[9] == 3 else { return nil }
            case "PLTE": palette = stride(from: 0, to: body.count, by: 3).map { Array(body[$0..<($0 + 3)]) }
            case "IDAT": zlib += body
            default: break
            }
            at += 12 + length
        }
        var raw: [UInt8] = []
        var p = 2
        while p < zlib.count - 4 {
            let final = zlib[p] & 1
            guard zlib[p] >> 1 & 3 == 0 else { return nil }
            let n = Int(zlib[p + 1]) | Int(zlib[p + 2]) << 8
            raw += zlib[(p + 5)..<(p + 5 + n)]
            p += 5 + n
            if final == 1 { break }
        }
        guard raw.count == height * (width + 1) else { return nil }
        for row in 0..<height {
            guard raw[row * (width + 1)] == 0 else { return nil }
            pixels += raw[(row * (width + 1) + 1)..<((row + 1) * (width + 1))]
        }
    }

    func pixel(x: Int, y: Int) -> [UInt8] { palette[Int(pixels[y * width + x])] }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }
}
