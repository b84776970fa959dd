// swift-tools-version:6.1
// CrossSim's benchmarks: a package of their own, so that library users and the test build
// never compile package-benchmark. Run from this directory:
//   swift package benchmark              (all)
//   swift package benchmark --filter Reader
import PackageDescription

let package = Package(
    name: "CrossSimBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "CrossSim", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CrossSimBenchmarks",
            dependencies: [
                .product(name: "CrossSim", package: "CrossSim"),
                .product(name: "CrossSimSynthetic", package: "CrossSim"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CrossSimBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
