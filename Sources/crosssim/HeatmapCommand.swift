import ArgumentParser
import CrossSim
import CrossSimPlot
import Foundation

struct HeatmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heatmap",
        abstract: "Draw a block of the similarity matrix S as an SVG heatmap.",
        discussion: """
            Rows of the heatmap are x1 rows, columns are x2 rows; ranges are A:B with A ≤ row < B \
            (A: runs to the end, :B starts at 0). The default block is the first min(N, 32) rows \
            and columns; blocks up to 32×32 show their values in the cells, and at most \
            \(SimilarityBlock.maxSide)×\(SimilarityBlock.maxSide) is drawn.
            """)

    @Argument(help: "The first set: a shard, a directory of shards, or a .txt manifest.")
    var x1: String
    @Argument(help: "The second set.")
    var x2: String
    @Option(parsing: .unconditional, help: "x1 rows A:B (default 0:min(N1, 32)).")
    var rows: String?
    @Option(parsing: .unconditional, help: "x2 rows C:D (default 0:min(N2, 32)).")
    var cols: String?
    @Option(help: "cosine (rows normalised on read; colours fixed at [-1, 1]) or dot.")
    var similarity: Similarity = .cosine
    @Option(help: "Write the SVG here.")
    var out: String

    func run() throws {
        try OutputPath.checkFile(out, option: "--out")
        let rowRange = try rows.map { try SimilarityBlock.parseRange($0, count: ShardSet.open(x1).rows, option: "--rows") }
        let colRange = try cols.map { try SimilarityBlock.parseRange($0, count: ShardSet.open(x2).rows, option: "--cols") }
        let block = try SimilarityBlock(x1: x1, x2: x2, rows: rowRange, cols: colRange, similarity: similarity)
        try AtomicFile.write(block.svg(), to: out)
        print("wrote \(out): \(block.similarity.rawValue) similarity of x1[\(block.rows.lowerBound):\(block.rows.upperBound)] "
            + "and x2[\(block.cols.lowerBound):\(block.cols.upperBound)]")
    }
}
