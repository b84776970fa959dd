import CLibFuzzerDriver

extension Harness {
    nonisolated(unsafe) private static var driven: Target = .npy

    /// SwiftPM links every executable target on Linux with `main` defined as `<module>_main`
    /// (so that tests can link executables), which hides libFuzzer's own `main`. Each target
    /// therefore defines that symbol and starts libFuzzer's driver from it with this function;
    /// libFuzzer's flags and corpus arguments work as usual.
    public static func main(_ target: Target, _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        driven = target
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            Harness.run(Harness.driven, UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
    }
}
