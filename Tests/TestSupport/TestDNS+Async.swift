import Foundation

/// Async forms of the `TestDNS` calls. Each runs the script on its own thread, so a test awaiting
/// it leaves Swift's cooperative pool (two threads on a two-core machine) free for the code under
/// test, such as resolvers and NIO event loops.
extension TestDNS {
    public static func start(zone: String = "svc.test", demo: Bool = false, notify: String? = nil,
                             notifyKey: Bool = false) async throws -> TestDNS {
        try await offPool { try start(zone: zone, demo: demo, notify: notify, notifyKey: notifyKey) }
    }

    public func register(_ name: String, _ type: String, _ data: String, ttl: Int? = nil) async throws {
        try await Self.offPool { try self.register(name, type, data, ttl: ttl) }
    }

    public func deregister(_ name: String, _ type: String? = nil, _ data: String? = nil) async throws {
        try await Self.offPool { try self.deregister(name, type, data) }
    }

    public func registerBatch(lines: [String]) async throws {
        try await Self.offPool { try self.registerBatch(lines: lines) }
    }

    public func stopServer() async throws {
        try await Self.offPool { try self.stopServer() }
    }

    public func restartServer() async throws {
        try await Self.offPool { try self.restartServer() }
    }

    public func lookup(_ name: String, _ type: String, tcp: Bool = false) async throws -> TestDNSAnswer {
        try await Self.offPool { try self.lookup(name, type, tcp: tcp) }
    }

    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
