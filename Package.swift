// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "switchyard",
    // Linux only: the resolver's event loop uses eventfd and epoll, so no Apple platform is claimed.
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        .library(name: "Discovery", targets: ["Discovery"]),
        .library(name: "Balancer", targets: ["Balancer"]),
        .library(name: "DNSWire", targets: ["DNSWire"]),
        // For Fuzz/ and Sanitize/, which build the framers and the proxy's suites on their own.
        .library(name: "Proxy", targets: ["Proxy"]),
        .library(name: "TestSupport", targets: ["TestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C
        .systemLibrary(name: "CAres", pkgConfig: "libcares", providers: [.apt(["libc-ares-dev"])]),
        // sendmsg/recvmsg with SCM_RIGHTS, for handing listening sockets to the process that takes a node over.
        .target(name: "CFDPassing"),
        // The Swift runtime's exclusivity-check switch, which a node turns off at start (ExclusivityChecks).
        .target(name: "CSwiftRuntime"),
        // epoll, eventfd and accept4 for the proxy's own event loop (Proxy/Direct).
        .target(name: "CDirectIO"),
        // Pure
        .target(name: "DNSWire"),
        .target(name: "Balancer", dependencies: [
            "DNSWire",
            .product(name: "Atomics", package: "swift-atomics"),
        ]),
        .target(name: "Config", dependencies: [
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Routing", dependencies: ["Config"]),
        // I/O
        .target(name: "Discovery", dependencies: [
            "CAres", "DNSWire", "Balancer",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            // The NOTIFY listener (UDP) and its TSIG check.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Proxy", dependencies: [
            "Balancer", "DNSWire", "CDirectIO",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Store", dependencies: [
            "Config",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Admin", dependencies: [
            "Config", "Store", "Balancer", "DNSWire",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // Wiring
        .target(name: "Gateway", dependencies: [
            "Config", "Routing", "Balancer", "Discovery", "DNSWire", "Proxy", "Admin", "Store", "CFDPassing",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "switchyard", dependencies: [
            "Gateway", "Discovery", "Balancer", "DNSWire", "Config", "Proxy", "Store", "Admin", "CSwiftRuntime",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // Tests
        .target(name: "TestSupport", dependencies: [
            "DNSWire", "Balancer",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Atomics", package: "swift-atomics"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "TestSupport"]),
        .testTarget(name: "BalancerTests", dependencies: [
            "Balancer", "DNSWire", "TestSupport",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "Config", "TestSupport"]),
        .testTarget(name: "DiscoveryTests", dependencies: [
            "Discovery", "Balancer", "DNSWire", "TestSupport",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "GatewayTests", dependencies: [
            "Gateway", "Discovery", "Balancer", "DNSWire", "Config", "Routing", "Proxy", "Admin", "Store", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "ProxyTests", dependencies: [
            "Proxy", "Balancer", "DNSWire", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Atomics", package: "swift-atomics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "HealthTests", dependencies: [
            "Gateway", "Proxy", "Balancer", "Config", "DNSWire", "Discovery", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Atomics", package: "swift-atomics"),
        ]),
        .testTarget(name: "StoreTests", dependencies: [
            "Store", "Config", "TestSupport", .product(name: "Logging", package: "swift-log"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .testTarget(name: "AdminTests", dependencies: [
            "Admin", "Store", "Config", "Balancer", "DNSWire", "Gateway", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "TestSupportTests", dependencies: [
            "TestSupport", "DNSWire", .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
    ]
)
