import Foundation
import Testing
import TestSupport

/// The tests' PostgreSQL helper cleans up after a test process that died without its exit handler.
@Suite struct PostgresServerTests {
    /// Whether `pid` has ended: no such process, or a zombie not reaped yet.
    static func isGone(_ pid: pid_t) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let name = text.lastIndex(of: ")") else { return true }
        return text[text.index(after: name)...].split(separator: " ").first == "Z"
    }

    @Test func aServerLeftByADeadTestProcessIsStoppedAndRemoved() async throws {
        let server = try PostgresServer.start()
        defer { server.stop() }
        let postmaster = server.pid
        PostgresServer.reapOrphans()
        #expect(FileManager.default.fileExists(atPath: server.directory), "its owner, this process, still runs")
        #expect(!Self.isGone(postmaster))

        // Its owner is now a process that has exited.
        let exited = try BackgroundProcess("/bin/true", [], environment: [:])
        #expect(exited.waitForExit(timeout: .seconds(10)) == 0)
        try "\(exited.pid) 1".write(toFile: server.directory + "/owner", atomically: true, encoding: .utf8)
        PostgresServer.reapOrphans()
        #expect(!FileManager.default.fileExists(atPath: server.directory))
        #expect(await waitFor(.seconds(10)) { Self.isGone(postmaster) } != nil, "the orphan's postmaster is stopped")
    }
}
