import CrossSim
import CrossSimPlot
import Foundation

/// The JSON object of options a C caller gives (Sources/CrossSimC/crosssim.h): each key decoded with its
/// type, unknown keys refused, and the values made into `EvaluationOptions` with the checks and
/// messages of the command line.
struct RequestFields: Decodable {
    var similarity: String?
    var tau: [Double]?
    var siglip: [[Double]]?
    var k: [Int]?
    var topK: Int?
    var uniformity: Bool?
    var histogram: Bool?
    var tile: String?
    var threads: Int?
    var plot: String?
    /// In memory: the dtype the caller's values had before they became Float32, for the report.
    var x1DType: String?
    var x2DType: String?
    /// On disk: the memory limit, a part and its state file.
    var memoryLimit: String?
    var part: String?
    var state: String?

    enum CodingKeys: String, CodingKey {
        case similarity, tau, siglip, k, uniformity, histogram, tile, threads, plot, part, state
        case topK = "top_k", x1DType = "x1_dtype", x2DType = "x2_dtype", memoryLimit = "memory_limit"
    }

    /// Keys of every evaluation: what is computed and how.
    static let optionKeys: Set<String> = ["similarity", "tau", "siglip", "k", "top_k", "uniformity", "histogram", "tile", "threads", "plot"]
    static let memoryKeys = optionKeys.union(["x1_dtype", "x2_dtype"])
    static let fileKeys = optionKeys.union(["memory_limit", "part", "state"])

    static func parse(_ text: String, allowed: Set<String>) throws -> RequestFields {
        let data = Data(text.utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data), let keys = (object as? [String: Any])?.keys else {
            throw InputError("bad request: expected a JSON object of options")
        }
        if let unknown = keys.sorted().first(where: { !allowed.contains($0) }) {
            throw InputError("bad request: unknown option '\(unknown)' (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        do {
            return try JSONDecoder().decode(RequestFields.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            let key = context.codingPath.first?.stringValue ?? "?"
            throw InputError("bad option '\(key)': expected \(Self.describe(type)) (\(context.debugDescription))")
        } catch let DecodingError.dataCorrupted(context) {
            throw InputError("bad option '\(context.codingPath.first?.stringValue ?? "?")': \(context.debugDescription)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: return "true or false"
        case is Int.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is String.Type: return "a string"
        default: return "a list"
        }
    }

    /// What is computed and how, checked as the command line checks its options.
    func options() throws -> EvaluationOptions {
        var options = EvaluationOptions()
        if let similarity {
            guard let value = Similarity(rawValue: similarity) else {
                throw InputError("bad similarity '\(similarity)': expected cosine or dot")
            }
            options.similarity = value
        }
        if let tau {
            guard !tau.isEmpty else { throw InputError("bad tau: give at least one temperature") }
            options.temperatures = tau
        }
        if let siglip {
            options.siglip = try siglip.map {
                guard $0.count == 2 else { throw InputError("bad SigLIP term \($0): expected [scale, bias]") }
                return SigLIPTerm(scale: $0[0], bias: $0[1])
            }
        }
        if let k { options.recallAt = k }
        options.topK = topK
        options.uniformity = uniformity ?? false
        options.histogramBins = histogram == true || plot != nil ? SummaryPlot.histogramBins : nil
        options.tile = try tile.map(TileShape.init(parsing:))
        options.threads = threads
        try options.validate()
        return options
    }
}
