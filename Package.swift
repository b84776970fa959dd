// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "CrossSim",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CrossSim", targets: ["CrossSim"]),
        .library(name: "CrossSimPlot", targets: ["CrossSimPlot"]),
        .library(name: "CrossSimSynthetic", targets: ["CrossSimSynthetic"]),
        .executable(name: "crosssim", targets: ["crosssim"]),
        // The C ABI that the Python package (python/) loads with ctypes.
        .library(name: "CrossSimC", type: .dynamic, targets: ["CrossSimC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries, found by pkg-config (Debian: libzstd-dev, libopenblas-dev).
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        // Inner loops that Swift cannot compile to AVX2/FMA/F16C without unsafe flags:
        // each kernel is built once per vector level and dispatched at load time.
        .target(name: "CCrossSimKernels"),
        // The library: shards, the tile engine, reducers, part states and the report.
        .target(
            name: "CrossSim",
            dependencies: [
                "CZstd",
                "CCrossSimKernels",
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
            ],
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS]))]),
        // SVG pictures (the summary page of a report, heatmaps of S), on CrossSim's public API.
        .target(name: "CrossSimPlot", dependencies: ["CrossSim"]),
        // Deterministic synthetic sets, for `crosssim synth`, `crosssim bench`, tests and Benchmarks/.
        .target(name: "CrossSimSynthetic", dependencies: ["CrossSim", "CCrossSimKernels"]),
        // `crosssim bench`: the evaluation against one whole-matrix sgemm, over tiles and threads.
        .target(name: "CrossSimBench", dependencies: ["CrossSim", "CrossSimSynthetic"]),
        // The command line: one file per command.
        .executableTarget(
            name: "crosssim",
            dependencies: [
                "CrossSim", "CrossSimPlot", "CrossSimSynthetic", "CrossSimBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // The C ABI: @_cdecl functions over CrossSim, for python/ (Sources/CrossSimC/crosssim.h).
        .target(name: "CrossSimC", dependencies: ["CrossSim", "CrossSimPlot"]),
        // Every suite, XCTest; the CLI tests run the built `crosssim`.
        .testTarget(
            name: "CrossSimTests",
            dependencies: ["CrossSim", "CrossSimPlot", "CrossSimSynthetic", "CCrossSimKernels"]),
    ]
)
