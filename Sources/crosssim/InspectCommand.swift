import ArgumentParser
import CrossSim

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe sets: shards, rows, dim, dtype, bytes on disk, norms, and bad rows.")

    @Argument(help: "Sets: shards, directories or .txt manifests.")
    var sets: [String]
    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let inspections = try sets.map(SetInspection.init(path:))
        if json {
            print(JSONValue.array(inspections.map(\.json)).rendered())
        } else {
            print(inspections.map(\.summary).joined(separator: "\n\n"))
        }
    }
}
