import Foundation

/// Where a gradient run from files goes, written as it is made (docs/gradient.md): x1's rows in
/// order, a panel at a time, then x2's gradient. Into a directory (`x1.grad.npy`, `x2.grad.npy`,
/// `report.json`) or, for a part, into its part file. Every file is committed whole or not at
/// all; a gradient that is not finite is an internal error.
public enum GradientDestination: Sendable {
    case directory(String)
    case part(String)
}

final class GradientOutput {
    static let x1File = "x1.grad.npy", x2File = "x2.grad.npy", reportFile = "report.json"

    private let destination: GradientDestination
    private let report: String
    private let x2Shape: [Int]
    /// The x1 gradient's file (or the part file), open from the start.
    private let file: AtomicFile
    private let zstd: ZstdWriter?
    private let x1Rows: Int
    private var rowsWritten = 0

    /// Opens the outputs of a run of `rows` x1 rows of `header.x1Rows` (the part's, for a part).
    init(_ destination: GradientDestination, header: GradientPartFile.Header) throws {
        self.destination = destination
        report = header.report
        x2Shape = [header.x2Rows, header.dim]
        x1Rows = header.rows.count
        switch destination {
        case .directory(let directory):
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            file = try AtomicFile(path: Self.path(Self.x1File, in: directory))
            zstd = nil
            try file.write(NPYWriter.header(shape: [header.x1Rows, header.dim], element: .float32))
        case .part(let path):
            file = try AtomicFile(path: path)
            // Gradients compress little: the fastest level, for the checksum and the framing.
            zstd = try ZstdWriter(file: file, level: 1)
            try GradientPartFile.start(header).withUnsafeBytes { try zstd!.write($0) }
        }
    }

    static func path(_ name: String, in directory: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// Appends the gradient of the next `count` x1 rows, held as the first rows of `gradient`.
    func append(x1 gradient: Embeddings, count: Int) throws {
        precondition(rowsWritten + count <= x1Rows)
        let values = UnsafeBufferPointer(start: gradient.baseAddress, count: count * gradient.dim)
        try Self.checkFinite(values)
        try write(UnsafeRawBufferPointer(values))
        rowsWritten += count
    }

    /// Writes x2's gradient and the report, and commits everything.
    func finish(dx2: Embeddings) throws {
        precondition(rowsWritten == x1Rows && [dx2.rows, dx2.dim] == x2Shape)
        try Self.checkFinite(UnsafeBufferPointer(dx2.buffer))
        switch destination {
        case .directory(let directory):
            try NPYWriter.write(UnsafeBufferPointer(dx2.buffer), shape: x2Shape, element: .float32, to: Self.path(Self.x2File, in: directory))
            try AtomicFile.write(report + "\n", to: Self.path(Self.reportFile, in: directory))
        case .part:
            try write(UnsafeRawBufferPointer(dx2.buffer))
            try GradientPartFile.magic.withUnsafeBytes { try write($0) }
            try zstd!.finish()
        }
        try file.commit()
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let zstd { try zstd.write(bytes) } else { try file.write(bytes) }
    }

    static func checkFinite(_ values: UnsafeBufferPointer<Float>) throws {
        guard values.allSatisfy(\.isFinite) else {
            throw InternalError("the gradient holds a number that is not finite; nothing was written")
        }
    }
}
