/// Bad input: a file that cannot be read as docs/inputs.md defines, or options that do not fit it.
/// The command line maps it to exit code 2.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file at fault, as the user named it (or as a manifest or directory led to it).
    public var file: String?
    /// The row within `file` (0-based), where one row is at fault.
    public var row: Int?
    public var message: String

    public init(_ message: String, file: String? = nil, row: Int? = nil) {
        self.message = message
        self.file = file
        self.row = row
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let row { parts.append("row \(row)") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// A failure of CrossSim itself or of the system under it (out of memory, an I/O error on
/// an output). The command line maps it to exit code 1.
public struct InternalError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The run was stopped on request (SIGINT, SIGTERM) before it finished; nothing was written.
public struct InterruptedError: Error, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "interrupted; no output was written" }
}
