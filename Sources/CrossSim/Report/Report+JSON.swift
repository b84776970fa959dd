extension Report {
    /// The report of docs/report.md. Fields of options not asked for are absent.
    public var json: JSONValue {
        func set(_ s: SetInfo, fingerprint: String?) -> JSONValue {
            var fields: [(String, JSONValue)] = [("path", .string(s.path)), ("rows", .integer(s.rows)), ("dim", .integer(s.dim)),
                                                 ("shards", .integer(s.shards)), ("dtype", .string(s.dtype))]
            if let fingerprint { fields.append(("fingerprint", .string(fingerprint))) }
            return .object(fields)
        }
        func byK(_ values: [(k: Int, value: Double)]) -> JSONValue {
            .object(values.map { (String($0.k), .number($0.value)) })
        }
        func retrieval(_ r: Retrieval) -> JSONValue {
            var fields: [(String, JSONValue)] = [
                ("queries", .integer(r.queries)), ("recall", byK(r.recall)),
                ("mean_rank", .number(r.meanRank)), ("median_rank", .number(r.medianRank)), ("mrr", .number(r.mrr)),
            ]
            if let p = r.precision { fields.append(("precision", byK(p))) }
            if let n = r.ndcg { fields.append(("ndcg", byK(n))) }
            if let m = r.map { fields.append(("map", byK(m))) }
            return .object(fields)
        }
        func losses(_ values: [InfoNCE]) -> JSONValue {
            .array(values.map {
                .object([("tau", .number($0.tau)), ("x1_to_x2", .number($0.x1ToX2)),
                         ("x2_to_x1", .number($0.x2ToX1)), ("symmetric", .number($0.symmetric))])
            })
        }
        let d = diagnostics
        var diagnosticsFields: [(String, JSONValue)] = [
            ("positive_mean", .number(d.positiveMean)), ("positive_std", .number(d.positiveStd)),
        ]
        if let m = d.negativeMean, let s = d.negativeStd {
            diagnosticsFields += [("negative_mean", .number(m)), ("negative_std", .number(s))]
        }
        diagnosticsFields += [
            ("alignment", .number(d.alignment)),
            ("chance", .object([("x1_to_x2", .number(d.chanceX1ToX2)), ("x2_to_x1", .number(d.chanceX2ToX1))])),
        ]
        if let u1 = d.uniformityX1, let u2 = d.uniformityX2 {
            diagnosticsFields.append(("uniformity", .object([("x1", .number(u1)), ("x2", .number(u2))])))
        }
        let identity = inputs.identity
        var pairsFields: [(String, JSONValue)]? = inputs.pairsPath.map { [("path", .string($0)), ("positives", .integer(inputs.positives))] }
        if let identity { pairsFields?.append(("fingerprint", .string(identity.pairsFingerprint))) }
        var build: [(String, JSONValue)] = [("version", .string(provenance.version))]
        if let commit = provenance.commit { build.append(("commit", .string(commit))) }
        let x1 = set(inputs.x1, fingerprint: identity?.x1Fingerprint), x2 = set(inputs.x2, fingerprint: identity?.x2Fingerprint)
        if let k = queriesOnlyK {
            // Unlabelled queries: only what was computed (docs/report.md, "Queries only").
            var fields: [(String, JSONValue)] = [
                ("schema", .string(Self.schema)),
                ("crosssim", .object(build)),
                ("created", .string(provenance.createdText)),
                ("inputs", .object([("x1", x1), ("x2", x2), ("similarity", .string(inputs.similarity.rawValue))])),
                ("queries_only", .object([("queries", .integer(inputs.x1.rows)), ("k", .integer(k))])),
            ]
            if let engine = engineJSON { fields.append(("engine", engine)) }
            fields.append(("machine", machineJSON))
            return .object(fields)
        }
        var fields: [(String, JSONValue)] = [
            ("schema", .string(Self.schema)),
            ("crosssim", .object(build)),
            ("created", .string(provenance.createdText)),
            ("inputs", .object([
                ("x1", x1), ("x2", x2),
                ("pairs", pairsFields.map { .object($0) } ?? .string("identity")),
                ("similarity", .string(inputs.similarity.rawValue)),
                ("x1_without_positive", .integer(inputs.x1WithoutPositive)),
            ])),
            ("infonce", losses(infonce)),
            ("dcl", losses(dcl)),
        ]
        if !siglip.isEmpty {
            fields.append(("siglip", .array(siglip.map {
                .object([("scale", .number($0.scale)), ("bias", .number($0.bias)), ("loss", .number($0.loss))])
            })))
        }
        fields.append(("retrieval", .object([("x1_to_x2", retrieval(x1ToX2)), ("x2_to_x1", retrieval(x2ToX1))])))
        fields.append(("diagnostics", .object(diagnosticsFields)))
        if let h = histogram {
            fields.append(("histogram", .object([
                ("lower", .number(h.lower)), ("upper", .number(h.upper)),
                ("positive", .array(h.positive.map { .integer(Int($0)) })),
                ("negative", .array(h.negative.map { .integer(Int($0)) })),
            ])))
        }
        if let h = health, let rank = h.effectiveRank, let gap = h.modalityGap, let hub = h.hubness {
            func direction(_ d: Hubness.Direction) -> JSONValue {
                .object([("skewness", .number(d.skewness)), ("never_retrieved", .number(d.neverRetrieved)),
                         ("max_occurrence", .integer(d.maxOccurrence))])
            }
            fields.append(("health", .object([
                ("x1", .object([("effective_rank", .number(rank.x1))])),
                ("x2", .object([("effective_rank", .number(rank.x2))])),
                ("modality_gap", .number(gap)),
                ("hubness", .object([("k", .integer(hub.k)), ("x1_to_x2", direction(hub.x1ToX2)),
                                     ("x2_to_x1", direction(hub.x2ToX1))])),
            ])))
        }
        if let path = perQueryPath { fields.append(("per_query", .object([("path", .string(path))]))) }
        if let engine = engineJSON { fields.append(("engine", engine)) }
        fields.append(("machine", machineJSON))
        return .object(fields)
    }

    /// The process's engine, or a merged run's parts.
    private var engineJSON: JSONValue? {
        if let e = engine {
            return .object([
                ("backend", .string(e.backend)), ("threads", .integer(e.threads)),
                ("tile", .array([.integer(e.tile.rows), .integer(e.tile.cols)])),
                ("seconds", .number(e.seconds)), ("gflops", .number(e.gflops)),
                ("peak_rss_bytes", .integer(e.peakRSSBytes)),
            ])
        } else if let p = parts {
            return .object([
                ("backend", .string(p.backend)), ("parts", .integer(p.count)), ("cpu_seconds", .number(p.cpuSeconds)),
                ("slowest_part_seconds", .number(p.slowestPartSeconds)), ("peak_rss_bytes", .integer(p.peakRSSBytes)),
            ])
        }
        return nil
    }

    /// The machine that made the report.
    private var machineJSON: JSONValue {
        let machine = provenance.machine
        return .object([
            ("cpu", .string(machine.cpu)), ("vector_level", .integer(machine.vectorLevel)), ("blas", .string(machine.blas)),
            ("threads", .integer(engine?.threads ?? TilePlan.defaultThreads)),
        ])
    }
}

extension Report {
    /// Writes the JSON report atomically, where a path is given (CrossSimPlot adds the page).
    public func write(json path: String?) throws {
        guard json.isFinite else {
            throw InternalError("the report holds a number that is not finite; nothing was written")
        }
        if let path { try AtomicFile.write(json.rendered() + "\n", to: path) }
    }
}
