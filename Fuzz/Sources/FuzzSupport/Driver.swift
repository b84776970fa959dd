import CLibFuzzerDriver
import Foundation

extension Harness {
    nonisolated(unsafe) private static var driven: Target = .npy

    /// Feeds `data` to the target `main` was started for.
    public static func runDriven(_ data: UnsafeRawBufferPointer) {
        run(driven, data)
    }

    /// `fuzz-readers TARGET [libFuzzer flags and corpus directories]`: one executable for every
    /// target, the first argument naming it. SwiftPM links every executable target on Linux
    /// with `main` defined as `<module>_main` (so that tests can link executables), which hides
    /// libFuzzer's own `main`; the executable defines that symbol and starts libFuzzer's driver
    /// from here, with the target's name taken out of argv.
    public static func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        let names = Target.allCases.map(\.rawValue).joined(separator: " ")
        guard argc >= 2, let argv, let name = argv[1], let target = Target(rawValue: String(cString: name)) else {
            FileHandle.standardError.write(Data("usage: fuzz-readers TARGET [libFuzzer arguments]; TARGET is one of: \(names)\n".utf8))
            return 2
        }
        driven = target
        // argv without the target, NULL-terminated as libFuzzer expects; it lives as long as the run.
        let arguments = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: Int(argc))
        arguments[0] = argv[0]
        for i in 2..<Int(argc) { arguments[i - 1] = argv[i] }
        arguments[Int(argc) - 1] = nil
        var rest: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = arguments
        var count = argc - 1
        return LLVMFuzzerRunDriver(&count, &rest) { data, size in
            Harness.runDriven(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
