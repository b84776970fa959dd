import FuzzSupport

/// libFuzzer's entry point (built with -sanitize=fuzzer,address -parse-as-library): the
/// reader named by the first argument (see `Harness.main`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.runDriven(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The `main` SwiftPM gives this executable on Linux: it starts libFuzzer's driver.
@_cdecl("fuzz_readers_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Harness.main(argc, argv)
}
