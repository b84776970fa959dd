// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "CrossSim",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CrossSim", targets: ["CrossSim"]),
        .executable(name: "crosssim", targets: ["crosssim"]),
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
        // each kernel is cloned for x86-64-v3 and dispatched at load time.
        .target(name: "CCrossSimKernels"),
        .target(
            name: "CrossSim",
            dependencies: [
                "CZstd",
                "CCrossSimKernels",
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
            ],
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS]))]),
        .executableTarget(
            name: "crosssim",
            dependencies: [
                "CrossSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "CrossSimTests", dependencies: ["CrossSim", "CCrossSimKernels"]),
    ]
)
