/// The result of evaluating a range of x1 rows against all of x2 (docs/state-format.md: "a part"): final
/// values for its rows and mergeable partials for every x2 column, one section per figure
/// the run asked for. An in-memory run is one part; `--memory-limit` merges one per panel;
/// `--part I/K` writes one to disk.
public struct PartialState: Sendable {
    public var x1Rows: Int
    public var x2Rows: Int
    /// The x1 rows this part covers.
    public var rows: Range<Int>
    /// The positive pairs' similarities. Parts computed on other machines agree on them only
    /// within the README's accuracy: a merge keeps the first part's.
    public var positives: Positives
    /// Σ s over all cells (exact: (Σ x1)·(Σ x2) in binary64, without a tile pass).
    public var similaritySum: Double
    /// The figures' sections by name; `PartialState.sectionTypes` gives their order.
    private var sections: [String: any StateSection] = [:]

    public init(x1Rows: Int, x2Rows: Int, rows: Range<Int>, positives: Positives, similaritySum: Double) {
        self.x1Rows = x1Rows
        self.x2Rows = x2Rows
        self.rows = rows
        self.positives = positives
        self.similaritySum = similaritySum
    }

    /// A figure's section, where the run asked for it.
    public subscript<Section: StateSection>(_ type: Section.Type) -> Section? {
        get { sections[Section.name] as? Section }
        set { sections[Section.name] = newValue }
    }

    /// The sections held, in `sectionTypes` order.
    public var orderedSections: [any StateSection] {
        Self.sectionTypes.compactMap { sections[$0.name] }
    }

    mutating func insert(_ section: any StateSection) {
        sections[type(of: section).name] = section
    }

    /// Combines parts that together cover every x1 row exactly once, in any order.
    public static func merge(_ parts: [PartialState]) throws -> PartialState {
        guard !parts.isEmpty else { throw InputError("nothing to merge") }
        let ordered = parts.sorted { $0.rows.lowerBound < $1.rows.lowerBound }
        var merged = ordered[0]
        guard merged.rows.lowerBound == 0 else {
            throw InputError("missing part: no part covers x1 rows 0..<\(merged.rows.lowerBound)")
        }
        for part in ordered.dropFirst() {
            guard part.x1Rows == merged.x1Rows, part.x2Rows == merged.x2Rows,
                  part.positives.positiveOf == merged.positives.positiveOf,
                  merged.mergeConflict(with: part) == nil
            else { throw InputError("parts from different inputs or options") }
            if part.rows.lowerBound < merged.rows.upperBound {
                throw InputError("duplicate part: x1 rows \(part.rows) were already covered")
            }
            if part.rows.lowerBound > merged.rows.upperBound {
                throw InputError("missing part: no part covers x1 rows \(merged.rows.upperBound)..<\(part.rows.lowerBound)")
            }
            merged.append(part)
        }
        guard merged.rows.upperBound == merged.x1Rows else {
            throw InputError("missing part: no part covers x1 rows \(merged.rows.upperBound)..<\(merged.x1Rows)")
        }
        return merged
    }

    /// Why this part and `other` cannot merge section by section, or nil when they can.
    func mergeConflict(with other: PartialState) -> String? {
        guard Set(sections.keys) == Set(other.sections.keys) else { return "the parts hold different figures" }
        for (name, section) in sections {
            if let conflict = section.mergeConflict(withAny: other.sections[name]!) { return conflict }
        }
        return nil
    }

    /// Adds the part that covers the rows right after this one's.
    mutating func append(_ next: PartialState) {
        rows = rows.lowerBound..<next.rows.upperBound
        similaritySum += next.similaritySum
        for (name, section) in sections { sections[name] = section.appending(next.sections[name]!) }
    }
}

extension PartialState: Equatable {
    public static func == (a: PartialState, b: PartialState) -> Bool {
        a.x1Rows == b.x1Rows && a.x2Rows == b.x2Rows && a.rows == b.rows && a.positives == b.positives
            && a.similaritySum == b.similaritySum && Set(a.sections.keys) == Set(b.sections.keys)
            && a.sections.allSatisfy { name, section in section.isEqual(to: b.sections[name]!) }
    }
}
