import Foundation

extension Comparison {
    /// The comparison as docs/command-line.md describes it (schema crosssim.compare/1).
    public var json: JSONValue {
        .object([
            ("schema", .string(Self.schema)),
            ("base", .string(basePath)),
            ("new", .string(newPath)),
            ("bootstrap", .integer(options.resamples)),
            ("confidence", .number(options.confidence)),
            ("seed", .integer(Int(options.seed))),
            ("metrics", .array(metrics.map {
                .object([("name", .string($0.name)), ("base", .number($0.base)), ("new", .number($0.new)),
                         ("difference", .number($0.difference)),
                         ("ci", .array([.number($0.interval.lower), .number($0.interval.upper)])),
                         ("verdict", .string($0.verdict.rawValue))])
            })),
            ("queries", .object(rankChanges.map {
                ($0.direction.rawValue, .object([("better", .integer($0.changes.better)), ("worse", .integer($0.changes.worse)),
                                                 ("same", .integer($0.changes.same))]))
            })),
            ("largest_changes", .object(rankChanges.map {
                ($0.direction.rawValue, .array($0.changes.largest.map {
                    .object([("index", .integer($0.index)), ("base_rank", .integer($0.baseRank)), ("new_rank", .integer($0.newRank))])
                }))
            })),
        ])
    }

    /// Writes the JSON atomically.
    public func write(json path: String) throws {
        guard json.isFinite else { throw InternalError("the comparison holds a number that is not finite; nothing was written") }
        try AtomicFile.write(json.rendered() + "\n", to: path)
    }

    /// The table `compare` prints on stdout.
    public var table: String {
        let percent = options.confidenceText
        var lines = [
            "base: \(basePath)",
            "new:  \(newPath)",
            "queries: x1→x2 \(queries.x1ToX2), x2→x1 \(queries.x2ToX1); paired bootstrap: \(options.resamples) resamples, "
                + "\(percent) percentile intervals, seed \(options.seed)"
                + (options.tolerance > 0 ? ", tolerance \(options.tolerance)" : ""),
            "",
        ]
        let nameWidth = max(6, metrics.map(\.name.count).max() ?? 0) + 2
        func value(_ x: Double) -> String { String(format: "%.4f", x) }
        func signed(_ x: Double) -> String { String(format: "%+.4f", x) }
        let rows = metrics.map { m -> [String] in
            [m.name, value(m.base), value(m.new), signed(m.difference), "[\(signed(m.interval.lower)), \(signed(m.interval.upper))]",
             m.verdict.rawValue]
        }
        let header = ["metric", "base", "new", "difference", "\(percent) interval", "verdict"]
        var widths = header.map(\.count)
        for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
        widths[0] = nameWidth
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                c == 0 || c == cells.count - 1 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) : cell.leftPadded(widths[c])
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        lines.append(line(header))
        lines += rows.map(line)
        lines.append("")
        for (direction, changes) in rankChanges {
            var text = "\(direction.rawValue): \(changes.better) queries ranked better, \(changes.worse) worse, \(changes.same) the same"
            if !changes.largest.isEmpty {
                text += "; largest changes (query: base → new rank): "
                    + changes.largest.prefix(5).map { "\($0.index): \($0.baseRank) → \($0.newRank)" }.joined(separator: ", ")
            }
            lines.append(text)
        }
        let regressed = metrics.filter { $0.verdict == .regressed }.map(\.name)
        lines.append(regressed.isEmpty ? "no regression" : "regressed: " + regressed.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
