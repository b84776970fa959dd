import FuzzSupport

/// libFuzzer's entry point (built with -sanitize=fuzzer,address -parse-as-library).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(.pairs, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The `main` SwiftPM gives this executable on Linux: it starts libFuzzer's driver.
@_cdecl("fuzz_pairs_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Harness.main(.pairs, argc, argv)
}
