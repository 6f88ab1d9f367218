import Balancer
import Foundation
import Proxy
import Testing
import TestSupport

extension ProxyIntegrationTests {
    /// The access log's writer under load from two event loops: every request gets exactly one line, and
    /// stopping the server writes what the loops still held (also run under ThreadSanitizer by scripts/sanitize).
    @Suite(.timeLimit(.minutes(1)))
    struct AccessLogWriterTests {
        @Test func everyRequestFromEveryLoopGetsOneLine() async throws {
            let backend = try await TestBackend.start(name: "a")
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString).log").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let log = try AccessLog(destination: .file(path), format: .json)
            let proxy = try await ProxyHarness.start(addresses: [backend.address], workers: 2, accessLog: log)
            let clients = 4
            let perClient = 50
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        guard let connection = try? proxy.client() else { return }
                        for index in 0..<perClient {
                            try? connection.send("GET /hello?c=\(client)&i=\(index) HTTP/1.1\r\nHost: a\r\n\r\n")
                            _ = try? connection.readResponse()
                        }
                    }
                }
            }
            await proxy.stop()
            log.stop()
            await backend.stop()
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == clients * perClient)
            let uris = Set(lines.compactMap { line in
                ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])
                    .flatMap { ($0["request"] as? [String: Any])?["uri"] as? String }
            })
            #expect(uris.count == clients * perClient, "every line parses and names its own request")
            #expect(log.written == clients * perClient)
            #expect(log.dropped == 0)
        }
    }
}
