import Dispatch
import TestSupport

/// Runs a blocking call on a Dispatch thread, so tests that wait for processes (BIND, nsupdate) never
/// occupy the few cooperative threads that the watchers under test need to make progress.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

extension TestDNS {
    static func startOffPool() async throws -> TestDNS {
        try await offPool { try TestDNS.start() }
    }

    func add(_ name: String, _ type: String, _ data: String, ttl: Int? = nil) async throws {
        try await offPool { try self.register(name, type, data, ttl: ttl) }
    }

    func remove(_ name: String, _ type: String? = nil, _ data: String? = nil) async throws {
        try await offPool { try self.deregister(name, type, data) }
    }

    func addBatch(_ lines: [String]) async throws {
        try await offPool { try self.registerBatch(lines: lines) }
    }

    func stop() async throws {
        try await offPool { try self.stopServer() }
    }

    func restart() async throws {
        try await offPool { try self.restartServer() }
    }
}
