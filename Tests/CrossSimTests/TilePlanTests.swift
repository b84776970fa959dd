@testable import CrossSim
import XCTest

/// The tile plan's row blocks: every order-dependent sum is folded in their order, so they must
/// depend on the rows and the tile alone.
final class TilePlanTests: XCTestCase {
    /// Every row once, in order; no block above the plan's block; the rows of the last two
    /// blocks in eighths of a block (at least 64 rows); the same ranges at any thread count.
    func testRowBlocksCoverEveryRowOnceAndEndInEighths() {
        for tileRows in [1, 7, 64, 100, 1024, 4096] {
            for rows in Array(1...300) + [1000, 1023, 1024, 1025, 3000, 16384, 65541] {
                let plan = TilePlan(tile: TileShape(rows: tileRows, cols: 8), threads: 1)
                let ranges = plan.rowBlockRanges(for: rows), block = plan.rowBlock(for: rows)
                let at = "\(rows) rows, tile rows \(tileRows)"
                XCTAssertEqual(ranges.first?.lowerBound, 0, at)
                XCTAssertEqual(ranges.last?.upperBound, rows, at)
                XCTAssert(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, at)
                XCTAssert(ranges.allSatisfy { !$0.isEmpty && $0.count <= block }, at)
                let eighth = max(64, (block / 8 + 15) / 16 * 16)
                if eighth < block {
                    let tail = max(0, (rows + block - 1) / block - 2) * block
                    XCTAssert(ranges.filter { $0.lowerBound >= tail }.allSatisfy { $0.count <= eighth }, at)
                    XCTAssertEqual(ranges.filter { $0.lowerBound < tail }.map(\.count),
                                   Array(repeating: block, count: tail / block), at)
                }
                for threads in [2, 7, 256] {
                    XCTAssertEqual(TilePlan(tile: TileShape(rows: tileRows, cols: 8), threads: threads).rowBlockRanges(for: rows),
                                   ranges, at)
                }
            }
        }
    }
}
