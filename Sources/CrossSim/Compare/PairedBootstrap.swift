import Dispatch
import Synchronization

/// The paired bootstrap of docs/command-line.md (compare): each resample draws as many queries
/// as there are, with replacement, and both models are read at the same draws, so a resample's
/// statistic is the mean of the per-query differences new − base at its draws.
///
/// A resample is drawn block by block: how many of its n draws land in each block of queries
/// is a multinomial split (conditional binomials, in block order), and the draws inside a block
/// are uniform over its queries. That is the same distribution as n uniform draws over all
/// queries. The draws are counted per query, and a block's counts of a group of resamples
/// times the block's rows is one matrix product (dgemm), which sums every column at once.
/// Every (resample, block) has its own random stream, and the groups and blocks are fixed by
/// the resample count and the table alone, so the result is the same, bit for bit, whatever
/// the thread count (on one machine: another BLAS kernel may round the products differently).
package struct PairedBootstrap: Sendable {
    /// Per-query differences: `rows` queries of `width` values each, row-major.
    package struct Table: Sendable {
        package let rows: Int
        package let width: Int
        let values: SharedBuffer<Double>

        /// A table of zeros, to be filled with `set`.
        package init(rows: Int, width: Int) {
            precondition(rows > 0 && width > 0)
            self.rows = rows
            self.width = width
            values = SharedBuffer(repeating: 0, count: rows * width)
        }

        package func set(row: Int, column: Int, _ value: Double) { values[row * width + column] = value }
    }

    package var resamples: Int
    package var seed: UInt64
    package var threads: Int

    package init(resamples: Int, seed: UInt64, threads: Int) {
        self.resamples = resamples
        self.seed = seed
        self.threads = max(1, threads)
    }

    /// Resamples counted together: the rows of their counts in one product.
    static let group = 32
    /// Queries per block: a resample's tally of a block (8 KiB) stays in L1 while its draws land.
    static let blockRows = 2048

    /// The mean of every column over each resample: [resamples × width], row-major. `stream`
    /// tells apart tables resampled independently under one seed.
    package func means(of table: Table, stream: UInt64) -> [Double] {
        let (n, width, blockRows, group) = (table.rows, table.width, Self.blockRows, Self.group)
        let blocks = (n + blockRows - 1) / blockRows
        let groups = (resamples + group - 1) / group
        let out = SharedBuffer<Double>(repeating: 0, count: resamples * width)
        let nextGroup = GroupCounter()
        let (seed, resamples, rows) = (self.seed, self.resamples, table.values)
        let work = { @Sendable (_: Int) in
            var draws = [Int](repeating: 0, count: group * blocks)
            // One resample's draws in a block, counted in integers (zero between uses), then
            // the group's counts as rows of a matrix for the product.
            let tally = UnsafeMutablePointer<UInt32>.allocate(capacity: blockRows)
            tally.initialize(repeating: 0, count: blockRows)
            let counts = UnsafeMutablePointer<Double>.allocate(capacity: group * blockRows)
            let sums = UnsafeMutablePointer<Double>.allocate(capacity: group * width)
            defer {
                tally.deallocate()
                counts.deallocate()
                sums.deallocate()
            }
            while true {
                let g = nextGroup.take()
                guard g < groups else { return }
                let first = g * group, count = min(group, resamples - first)
                // How many draws of each resample fall in each block.
                for s in 0..<count {
                    var random = BootstrapRandom(seed: seed, stream, UInt64(first + s), UInt64.max)
                    var left = n
                    for k in 0..<blocks {
                        let size = min(blockRows, n - k * blockRows)
                        let m = k == blocks - 1 ? left : random.binomial(trials: left, probability: Double(size) / Double(n - k * blockRows))
                        draws[s * blocks + k] = m
                        left -= m
                    }
                }
                sums.initialize(repeating: 0, count: count * width)
                for k in 0..<blocks {
                    let size = min(blockRows, n - k * blockRows)
                    for s in 0..<count {
                        var random = BootstrapRandom(seed: seed, stream, UInt64(first + s), UInt64(k))
                        random.count(draws: draws[s * blocks + k], below: size, into: tally)
                        let row = counts + s * size
                        for r in 0..<size { row[r] = Double(tally[r]) }
                        tally.update(repeating: 0, count: size)
                    }
                    BLAS.multiplyAdd(counts, rows.base + k * blockRows * width, into: sums, m: count, n: width, k: size)
                }
                for i in 0..<(count * width) { out[first * width + i] = sums[i] / Double(n) }
            }
        }
        BLAS.withThreads(1) {
            if threads == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: work) }
        }
        return out.array
    }

    /// Hands out groups of resamples to whichever worker is free.
    private final class GroupCounter: Sendable {
        private let next = Atomic<Int>(0)
        func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
    }

    /// The percentile interval at `confidence` of `values` (they are sorted here), with
    /// numpy's default (linear) interpolation between order statistics.
    package static func percentileInterval(_ values: [Double], confidence: Double) -> (lower: Double, upper: Double) {
        let sorted = values.sorted()
        func quantile(_ q: Double) -> Double {
            let position = q * Double(sorted.count - 1)
            let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
            let fraction = position - Double(below)
            return sorted[below] + fraction * (sorted[above] - sorted[below])
        }
        return (quantile((1 - confidence) / 2), quantile((1 + confidence) / 2))
    }
}
