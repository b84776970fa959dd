import Foundation

extension Report {
    /// The short human summary `eval` prints on stdout.
    public var summary: String {
        func f(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }
        func set(_ s: SetInfo) -> String { "\(s.path) (\(s.rows) × \(s.dim), \(s.shards) shard\(s.shards == 1 ? "" : "s"), \(s.dtype))" }
        var lines: [String] = []
        lines.append("x1: \(set(inputs.x1))")
        lines.append("x2: \(set(inputs.x2))")
        if let k = queriesOnlyK {
            lines.append("queries only: the \(k) best x2 rows of each of \(inputs.x1.rows) x1 rows; similarity: \(inputs.similarity.rawValue)")
            if let engine = engineLine { lines.append(engine) }
            return lines.joined(separator: "\n")
        }
        let pairs = inputs.pairsPath.map { "\($0) (\(inputs.positives) positives, \(inputs.x1WithoutPositive) x1 rows without one)" } ?? "identity"
        lines.append("pairs: \(pairs); similarity: \(inputs.similarity.rawValue)")
        lines.append("")
        lines.append("InfoNCE (chance: x1→x2 \(f(diagnostics.chanceX1ToX2)), x2→x1 \(f(diagnostics.chanceX2ToX1)))")
        for l in infonce {
            lines.append("  τ = \(l.tau)".padding(toLength: 14, withPad: " ", startingAt: 0)
                + "x1→x2 \(f(l.x1ToX2))  x2→x1 \(f(l.x2ToX1))  symmetric \(f(l.symmetric))")
        }
        for s in siglip {
            lines.append("SigLIP (scale \(s.scale), bias \(s.bias)): \(f(s.loss))")
        }
        lines.append("")
        let ks = x1ToX2.recall.map(\.k)
        lines.append("retrieval".padding(toLength: 10, withPad: " ", startingAt: 0)
            + ks.map { "R@\($0)".leftPadded(8) }.joined() + "mean rank".leftPadded(11) + "median".leftPadded(8) + "MRR".leftPadded(8))
        for (name, r) in [("x1→x2", x1ToX2), ("x2→x1", x2ToX1)] {
            lines.append(name.padding(toLength: 10, withPad: " ", startingAt: 0)
                + r.recall.map { f($0.value).leftPadded(8) }.joined()
                + String(format: "%.1f", r.meanRank).leftPadded(11) + String(format: "%g", r.medianRank).leftPadded(8)
                + f(r.mrr).leftPadded(8))
        }
        lines.append("")
        let d = diagnostics
        var diag = "similarity: positives \(f(d.positiveMean)) ± \(f(d.positiveStd))"
        if let m = d.negativeMean, let s = d.negativeStd { diag += ", negatives \(f(m)) ± \(f(s))" }
        diag += "; alignment \(f(d.alignment))"
        if let u1 = d.uniformityX1, let u2 = d.uniformityX2 { diag += "; uniformity x1 \(f(u1)), x2 \(f(u2))" }
        lines.append(diag)
        if let h = health { lines += h.readings(dim: inputs.x1.dim, rows: (inputs.x1.rows, inputs.x2.rows)) }
        if let engine = engineLine { lines.append(engine) }
        return lines.joined(separator: "\n")
    }

    private var engineLine: String? {
        if let e = engine {
            return String(format: "engine: %@, %d threads, tile %@, %.2f s, %.1f GFLOP/s, peak RSS %.0f MiB",
                          e.backend, e.threads, e.tile.description, e.seconds, e.gflops, Double(e.peakRSSBytes) / 1_048_576)
        } else if let p = parts {
            return String(format: "engine: %@, %d parts, %.1f CPU-seconds, slowest part %.2f s, peak RSS %.0f MiB",
                          p.backend, p.count, p.cpuSeconds, p.slowestPartSeconds, Double(p.peakRSSBytes) / 1_048_576)
        }
        return nil
    }
}

extension Report.Health {
    /// One line per figure, each with how to read it (the summary and the plot page show them).
    public func readings(dim: Int, rows: (Int, Int)) -> [String] {
        var lines: [String] = []
        if let rank = effectiveRank {
            let most = Double(min(dim, rows.0, rows.1))
            lines.append(String(format: "effective rank: x1 %.1f, x2 %.1f of at most %.0f", rank.x1, rank.x2, most)
                + (min(rank.x1, rank.x2) < most / 10 ? " (few directions used: a sign of collapse)" : " (the sets use many directions)"))
        }
        if let gap = modalityGap {
            lines.append(String(format: "modality gap: %.4f (distance between the sets' means: 0 when they share a centre)", gap))
        }
        if let hub = hubness {
            for (name, d) in [("x1→x2", hub.x1ToX2), ("x2→x1", hub.x2ToX1)] {
                lines.append(String(format: "hubness %@ (k = %d): skewness %.2f, %.1f %% never retrieved, most retrieved %d times",
                                    name, hub.k, d.skewness, 100 * d.neverRetrieved, d.maxOccurrence)
                    + (d.skewness > 1 ? " (a few candidates are hubs)" : " (no strong hubs)"))
            }
        }
        return lines
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
