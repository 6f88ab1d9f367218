// swift-tools-version:6.0
// The Discovery, Balancer and Proxy suites (the code that reads the network and the code every request
// runs), built alone so that scripts/sanitize can run them under AddressSanitizer and ThreadSanitizer
// without instrumenting and building the Admin API, the store and their dependencies as well. The test
// folders are links to the main package's own, so there is one copy of every test.
import PackageDescription

let package = Package(
    name: "switchyard-sanitize",
    dependencies: [
        .package(name: "switchyard", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .testTarget(name: "BalancerTests", dependencies: [
            .product(name: "Balancer", package: "switchyard"),
            .product(name: "DNSWire", package: "switchyard"),
            .product(name: "TestSupport", package: "switchyard"),
            .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "DiscoveryTests", dependencies: [
            .product(name: "Discovery", package: "switchyard"),
            .product(name: "Balancer", package: "switchyard"),
            .product(name: "DNSWire", package: "switchyard"),
            .product(name: "TestSupport", package: "switchyard"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "ProxyTests", dependencies: [
            .product(name: "Proxy", package: "switchyard"),
            .product(name: "Balancer", package: "switchyard"),
            .product(name: "DNSWire", package: "switchyard"),
            .product(name: "TestSupport", package: "switchyard"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
