/// One figure's results in a part's state (docs/state-format.md, "Sections"). The section
/// alone knows how two parts' results join, how it lies in a state file and what it puts in
/// the report; `PartialState`, `StateFile` and `Report` only iterate over the sections a run
/// asked for.
public protocol StateSection: Sendable, Equatable {
    /// Its name in a state file.
    static var name: String { get }
    /// Whether a run with these options holds it.
    static func isAsked(by options: EvaluationOptions) -> Bool
    /// Why parts holding `self` and `other` cannot merge, or nil when they can.
    func mergeConflict(with other: Self) -> String?
    /// Adds the section of the part that covers the x1 rows right after this one's.
    mutating func append(_ next: Self)
    /// The most bytes `decode` reads for a part of this shape: checked against what a file's
    /// frames hold before anything is allocated.
    static func encodedBytes(_ shape: StateShape) -> Double
    func encode(into writer: inout BinaryWriter)
    /// Reads what `encode` wrote, checking every value the report indexes with.
    static func decode(from reader: BinaryReader, shape: StateShape) throws -> Self
    /// Puts its figures in a report of the whole run.
    func report(into report: inout Report, state: PartialState, options: EvaluationOptions)
}

extension StateSection {
    public func mergeConflict(with other: Self) -> String? { nil }

    func mergeConflict(withAny other: any StateSection) -> String? {
        guard let other = other as? Self else { return "one part holds \(Self.name) and the other does not" }
        return mergeConflict(with: other)
    }

    func appending(_ next: any StateSection) -> any StateSection {
        var joined = self
        joined.append(next as! Self)
        return joined
    }

    func isEqual(to other: any StateSection) -> Bool { (other as? Self) == self }
}

/// What a part's sections are sized by.
public struct StateShape: Sendable {
    public var x1Rows: Int
    public var x2Rows: Int
    /// The sets' dimension.
    public var dim: Int
    /// The part's x1 rows.
    public var rows: Range<Int>
    public var options: EvaluationOptions

    /// The x2 rows a state holds anything for (pairs, positives, column figures): all of
    /// them, none under `--queries-only`.
    public var labelledColumns: Int { options.queriesOnly ? 0 : x2Rows }
}

/// A reader's complaint about a section's values.
struct SectionError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
