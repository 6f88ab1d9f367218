import Foundation

/// A fresh database path in a temporary directory, removed by `cleanup`.
struct TempDatabase {
    let directory: URL
    var path: String { directory.appendingPathComponent("switchyard.db").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("switchyard-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func cleanup() {
        try? FileManager.default.removeItem(at: directory)
    }
}

enum Fixtures {
    /// Uses every stored entity kind, with nesting and references by name.
    static let kong = """
        _format_version: "3.0"
        services:
        - name: orders
          host: orders.upstream
          port: 80
          tags: [team-a]
          routes:
          - name: orders-route
            paths: ["/orders"]
            plugins:
            - name: key-auth
        - name: static
          host: 127.0.0.1
          port: 9000
        upstreams:
        - name: orders.upstream
          algorithm: round-robin
          targets:
          - target: 127.0.0.1:9001
            weight: 100
          - target: 127.0.0.1:9002
            weight: 50
        consumers:
        - username: alice
          keyauth_credentials:
          - key: alice-key
        """

    /// Three independent errors: every one must be reported.
    static let invalid = """
        _format_version: "3.0"
        services:
        - name: a
          host: a.example
          port: 70000
        - name: a
          host: b.example
        upstreams:
        - name: pool
          slots: 1
        """
}

/// Which store a shared test runs on.
enum StoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }
}
