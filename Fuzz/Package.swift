// swift-tools-version:6.1
// libFuzzer targets for CrossSim's readers: every byte of a shard, manifest, pairs file or
// state file is hostile. A package of its own so that the library, its tests and its users
// never build with sanitizers. Build and run with ../scripts/fuzz.sh; see README.md here.
import PackageDescription

let package = Package(
    name: "CrossSimFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "CrossSim", path: ".."),
    ],
    targets: [
        // The harnesses compress inputs themselves (libzstd's simple API) so that the fuzzer can
        // also explore what lies inside a valid zstd frame.
        .systemLibrary(name: "CZstdFuzz", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // The declaration of libFuzzer's LLVMFuzzerRunDriver (see FuzzSupport/Driver.swift).
        .target(name: "CLibFuzzerDriver"),
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "CrossSim", package: "CrossSim"), "CZstdFuzz", "CLibFuzzerDriver"]),
        // One executable for every reader: `fuzz-readers TARGET ...` (see FuzzSupport/Driver.swift).
        .executableTarget(name: "fuzz-readers", dependencies: ["FuzzSupport"], path: "Sources/FuzzReaders"),
    ]
)
