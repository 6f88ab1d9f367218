// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks, kept out of the main package so that building or testing Switchyard never builds
// the benchmark tooling. Run: swift package --package-path Benchmarks benchmark
let package = Package(
    name: "switchyard-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Named explicitly: a path dependency's identity is otherwise its directory name, which
        // depends on where the repository is cloned.
        .package(name: "switchyard", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "BalancerBenchmarks",
            dependencies: [
                .product(name: "Balancer", package: "switchyard"),
                .product(name: "DNSWire", package: "switchyard"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "BalancerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
