import ArgumentParser
import CrossSim
import Foundation

struct DedupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Near-duplicates: every pair of rows whose exact similarity reaches T, within SET or against OTHER.")

    @Argument(help: "The set: a shard, a directory of shards, or a .txt manifest (none with --merge).")
    var set: String?
    @Option(help: "The similarity a pair must reach (exactly: a pair at T is found on every machine).")
    var threshold: Double?
    @Option(help: "Write pairs.npy, similarity.npy, cluster.npy (matched.npy with --against) and keep.npy here.")
    var out: String
    @Option(help: "Pairs of SET rows with rows of this set (a leakage audit) instead of pairs within SET.")
    var against: String?
    @Option(help: "cosine (rows normalised on read) or dot.")
    var similarity: Similarity = .cosine
    @Option(name: .customLong("max-pairs"), parsing: .unconditional, help: "Stop with exit code 2 when more pairs than this reach T.")
    var maxPairs: Int?
    @Option(parsing: .unconditional, help: "Compute only the I-th of K parts of SET's rows (0-based) and write its pairs for --merge.")
    var part: String?
    @Option(parsing: .unconditional, help: "K parts, the index taken from JOB_COMPLETION_INDEX (or SLURM_ARRAY_TASK_ID).")
    var parts: Int?
    @Option(parsing: .upToNextOption, help: "Merge the output directories of all parts of a run into --out.")
    var merge: [String] = []
    @Option(parsing: .unconditional, help: "Tile shape ROWSxCOLS (default 1024x2048).")
    var tile: String?
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).")
    var threads: Int?
    @Option(name: .customLong("memory-limit"), parsing: .unconditional, help: "Hold at most this much (e.g. 2G): SET's rows in panels, the columns streamed from their shards.")
    var memoryLimit: String?
    @Flag(help: "No progress bar.")
    var quiet = false

    func run() throws {
        try OutputPath.checkDirectory(out, option: "--out")
        if !merge.isEmpty {
            guard set == nil, threshold == nil, against == nil, part == nil, parts == nil else {
                throw InputError("--merge takes only the parts' directories and --out: the parts carry the set and the options")
            }
            print(try DedupMerge.run(parts: merge, directory: out).summary)
            return
        }
        guard let set else { throw InputError("dedup needs a SET (or --merge PART…)") }
        guard let threshold else { throw InputError("dedup needs --threshold T") }
        var request = DedupRequest(set: set, against: against, threshold: threshold, directory: out)
        request.similarity = similarity
        request.maxPairs = maxPairs
        request.part = try PartIndex.resolve(part: part, parts: parts,
                                             environment: part == nil && parts == nil ? [:] : ProcessInfo.processInfo.environment)
        request.tile = try tile.map(TileShape.init(parsing:))
        request.threads = threads
        request.memoryLimit = try memoryLimit.map(ByteSize.parse)
        let result = try withRunControl(quiet: quiet) { try request.run(control: $0) }
        print(result.summary)
    }
}
