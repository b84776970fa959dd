import Foundation

/// Everything docs/report.md reports, as Swift values; `json` renders it.
public struct Report: Sendable {
    public struct SetInfo: Sendable, Equatable, Codable {
        public var path: String
        public var rows: Int
        public var dim: Int
        public var shards: Int
        public var dtype: String

        public init(path: String, rows: Int, dim: Int, shards: Int, dtype: String) {
            self.path = path
            self.rows = rows
            self.dim = dim
            self.shards = shards
            self.dtype = dtype
        }

        public init(_ set: ShardSet) {
            self.init(path: set.path, rows: set.rows, dim: set.dim, shards: set.shards.count, dtype: set.dtype)
        }

        /// A matrix in memory: the set it was read from where it was, else `name`.
        public init(memory matrix: Embeddings, name: String) {
            if let set = matrix.source, set.rows == matrix.rows {
                self.init(set)
                return
            }
            self.init(path: name, rows: matrix.rows, dim: matrix.dim, shards: 1, dtype: "<f4")
        }
    }

    public struct Inputs: Sendable, Equatable, Codable {
        public var x1: SetInfo
        public var x2: SetInfo
        /// nil for identity pairs.
        public var pairsPath: String?
        public var positives: Int
        public var similarity: Similarity
        public var x1WithoutPositive: Int
        /// What identifies the data read, where it came from files: a part's state file
        /// carries it in its header, and parts merge only when it agrees.
        public var identity: InputIdentity?

        public init(x1: SetInfo, x2: SetInfo, pairsPath: String?, positives: Int, similarity: Similarity, x1WithoutPositive: Int,
                    identity: InputIdentity? = nil) {
            self.x1 = x1
            self.x2 = x2
            self.pairsPath = pairsPath
            self.positives = positives
            self.similarity = similarity
            self.x1WithoutPositive = x1WithoutPositive
            self.identity = identity
        }
    }

    public struct InfoNCE: Sendable {
        public var tau: Double
        public var x1ToX2: Double
        public var x2ToX1: Double
        public var symmetric: Double { (x1ToX2 + x2ToX1) / 2 }
    }

    public struct SigLIP: Sendable {
        public var scale: Double
        public var bias: Double
        public var loss: Double
    }

    public struct Retrieval: Sendable {
        public var queries: Int
        /// recall@k for each k asked, in the order asked.
        public var recall: [(k: Int, value: Double)]
        public var meanRank: Double
        public var medianRank: Double
        public var mrr: Double
        /// With top-k: for each k ≤ K asked.
        public var precision: [(k: Int, value: Double)]?
        public var ndcg: [(k: Int, value: Double)]?
        public var map: [(k: Int, value: Double)]?

        public func recall(at k: Int) -> Double? { recall.first { $0.k == k }?.value }
    }

    public struct Diagnostics: Sendable {
        public var positiveMean: Double
        public var positiveStd: Double
        /// nil when every pair is a positive (one row on each side).
        public var negativeMean: Double?
        public var negativeStd: Double?
        public var alignment: Double
        public var chanceX1ToX2: Double
        public var chanceX2ToX1: Double
        public var uniformityX1: Double? = nil
        public var uniformityX2: Double? = nil
    }

    public struct Engine: Sendable, Codable {
        public var backend: String
        public var threads: Int
        public var tile: TileShape
        public var seconds: Double
        public var gflops: Double
        public var peakRSSBytes: Int
        /// The process's CPU time (user and system) by the end of the run.
        public var cpuSeconds: Double?
    }

    /// Signs of collapse and hubness that need no labels (docs/definitions.md, "Health").
    public struct Health: Sendable {
        /// RankMe of x1 and of x2.
        public var effectiveRank: (x1: Double, x2: Double)?
        /// ‖mean(x1) − mean(x2)‖.
        public var modalityGap: Double?
        public var hubness: Hubness?
    }

    public struct Hubness: Sendable {
        public struct Direction: Sendable {
            /// Of the k-occurrence N_k over the candidates (population skewness).
            public var skewness: Double
            /// The share of candidates with N_k = 0.
            public var neverRetrieved: Double
            public var maxOccurrence: Int
        }

        public var k: Int
        public var x1ToX2: Direction
        public var x2ToX1: Direction
    }

    /// What the parts of a merged run took. No single process ran the whole, so a merged
    /// report gives these instead of one engine's threads, seconds and rate.
    public struct Parts: Sendable {
        public var backend: String
        public var count: Int
        public var cpuSeconds: Double
        public var slowestPartSeconds: Double
        public var peakRSSBytes: Int
    }

    public var inputs: Inputs
    /// `--queries-only`: the run computed each x1 row's K best x2 rows (K here) and nothing
    /// else, so the labelled figures below (losses, retrieval, diagnostics) are not in its
    /// JSON or summary.
    public var queriesOnlyK: Int?
    public var infonce: [InfoNCE]
    /// The decoupled contrastive loss at each τ of `infonce`, in the same shape.
    public var dcl: [InfoNCE]
    public var siglip: [SigLIP]
    public var x1ToX2: Retrieval
    public var x2ToX1: Retrieval
    public var diagnostics: Diagnostics
    public var histogram: Histogram?
    /// With `--health`.
    public var health: Health?
    public var engine: Engine?
    /// A merged run's parts, in place of `engine`.
    public var parts: Parts?
    /// Where the per-query results were written, as given on the command line.
    public var perQueryPath: String?
    /// Why something asked for is not in the report, one line each (the command line prints
    /// them on stderr).
    public var notes: [String]
    /// Which build, machine and time made this report.
    public var provenance = Provenance.current()

    public static let schema = "crosssim.report/1"
}
