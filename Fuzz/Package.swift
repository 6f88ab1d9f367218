// swift-tools-version:6.0
// libFuzzer targets for what Switchyard reads from the network: DNS answers, client request bytes,
// upstream response bytes, and the client connection handler relaying between the two. Built apart from
// the main package because a libFuzzer binary only links with `-sanitize=fuzzer`; scripts/fuzz builds and
// runs them.
import PackageDescription

let package = Package(
    name: "switchyard-fuzz",
    dependencies: [
        .package(name: "switchyard", path: ".."),
        // The client-connection target drives the handler on EmbeddedChannel and watches its log.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzDNSMessage", dependencies: [
            "FuzzDriver", .product(name: "DNSWire", package: "switchyard"),
        ]),
        .executableTarget(name: "FuzzRequestFramer", dependencies: [
            "FuzzDriver", .product(name: "Proxy", package: "switchyard"),
        ]),
        .executableTarget(name: "FuzzResponseFramer", dependencies: [
            "FuzzDriver", .product(name: "Proxy", package: "switchyard"),
        ]),
        .executableTarget(name: "FuzzClientConnection", dependencies: [
            "FuzzDriver",
            .product(name: "Proxy", package: "switchyard"),
            .product(name: "Balancer", package: "switchyard"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
