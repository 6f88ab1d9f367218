import Atomics
import Foundation
import TestSupport

/// What a bounded GET load saw: statuses by count, the backends that answered, and transport errors.
struct LoadReport: Sendable {
    var statuses: [Int: Int] = [:]
    var backends: [String: Int] = [:]
    var errors: [String] = []
    var total: Int { statuses.values.reduce(0, +) + errors.count }
    /// Anything but a 200, or a transport error: what a client would call a failure.
    var failures: Int { total - (statuses[200] ?? 0) }

    mutating func merge(_ other: LoadReport) {
        for (k, v) in other.statuses { statuses[k, default: 0] += v }
        for (k, v) in other.backends { backends[k, default: 0] += v }
        errors += other.errors
    }
}

/// Sends GETs through the proxy from `clients` keep-alive connections, each at most `perClient`
/// requests and never past `deadline`. `done` counts finished requests, so a test can act mid-load.
func runLoad(port: Int, path: String = "/svc", clients: Int, perClient: Int, deadline: Duration,
             done: ManagedAtomic<Int>, pause: Duration = .milliseconds(2)) async throws -> LoadReport {
    let end = ContinuousClock.now + deadline
    return try await withThrowingTaskGroup(of: LoadReport.self) { group in
        for _ in 0..<clients {
            group.addTask {
                try await onThread {
                    var report = LoadReport()
                    var client: TestClient?
                    for _ in 0..<perClient {
                        if ContinuousClock.now > end { break }
                        do {
                            if client == nil { client = try TestClient(port: port, timeoutSeconds: 5) }
                            try client!.send("GET \(path) HTTP/1.1\r\nHost: health.test\r\n\r\n")
                            let response = try client!.readResponse()
                            report.statuses[response.status, default: 0] += 1
                            if let backend = response.header("x-backend") { report.backends[backend, default: 0] += 1 }
                            if response.header("connection")?.lowercased() == "close" { client = nil }
                        } catch {
                            report.errors.append("\(error)")
                            client = nil
                        }
                        done.wrappingIncrement(ordering: .relaxed)
                        Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18)
                    }
                    return report
                }
            }
        }
        var total = LoadReport()
        for try await report in group { total.merge(report) }
        return total
    }
}
