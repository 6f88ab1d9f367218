// swift-tools-version:6.0
// libFuzzer targets for what Switchyard reads from the network: DNS answers, client request bytes and
// upstream response bytes. Built apart from the main package because a libFuzzer binary only links with
// `-sanitize=fuzzer`; scripts/fuzz builds and runs them.
import PackageDescription

let package = Package(
    name: "switchyard-fuzz",
    dependencies: [
        .package(name: "switchyard", path: ".."),
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
    ]
)
