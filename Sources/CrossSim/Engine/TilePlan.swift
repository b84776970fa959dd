import Foundation

/// A tile's shape: rows of x1 by rows of x2 per sgemm call.
public struct TileShape: Sendable, Equatable, Codable, CustomStringConvertible {
    public var rows: Int
    public var cols: Int

    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
    }

    /// The sweep's best on the development VM (2 cores of an AVX-512 Xeon) at D = 384 and 768
    /// (see README, "Speed").
    public static let `default` = TileShape(rows: 1024, cols: 2048)

    /// Parses `ROWSxCOLS`, e.g. `512x1024`.
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r > 0, c > 0, r <= 1 << 16, c <= 1 << 16 else {
            throw InputError("bad tile '\(text)': expected ROWSxCOLS such as 512x1024")
        }
        self.init(rows: r, cols: c)
    }

    public var description: String { "\(rows)x\(cols)" }
}

/// How a block of x1 rows against a block of x2 rows is cut into tiles and dealt to workers.
/// Each row block is done by one worker, and sums over row blocks are folded in block order
/// (see `TileConsumer`), so every reduction depends only on the plan: results repeat bit for
/// bit, whatever the threads.
struct TilePlan: Sendable {
    var tile: TileShape
    var threads: Int

    static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

    init(tile: TileShape?, threads: Int?) {
        self.tile = tile ?? .default
        self.threads = max(1, threads ?? Self.defaultThreads)
    }

    /// Rows per block for `rows` rows: the tile's rows, but small enough that every worker
    /// gets a block.
    func rowBlock(for rows: Int) -> Int {
        max(1, min(tile.rows, (rows + threads - 1) / threads))
    }

    /// Partial sums kept for row blocks in flight or finished ahead of a slower one: twice the
    /// workers, so a fast worker can run a few blocks ahead before it waits.
    var slots: Int { 2 * threads }

    func tileCount(rows: Int, cols: Int) -> Int {
        guard rows > 0 && cols > 0 else { return 0 }
        let r = rowBlock(for: rows)
        return ((rows + r - 1) / r) * ((cols + tile.cols - 1) / tile.cols)
    }
}
