import Foundation
import Testing
import TestSupport

/// The access log of a real `switchyard start`: the lines for a success, a retry after a connect failure, a 503
/// with no upstream, and a client that hangs up; the request id that leads from a 5xx of Switchyard's own to its
/// error-log line; and reopening the file on SIGUSR1.
@Suite("access log", .serialized, .timeLimit(.minutes(2)))
struct AccessLogTests {
    typealias Node = TakeoverTests

    static func lines(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func uri(_ line: [String: Any]) -> String? { (line["request"] as? [String: Any])?["uri"] as? String }
    static func status(_ line: [String: Any]) -> Int? { (line["response"] as? [String: Any])?["status"] as? Int }

    @Test("success, retry after a connect failure, 503 without an upstream, a client that hangs up; SIGUSR1 reopens")
    func lines() async throws {
        let backend = try await TestBackend.start(name: "b")
        defer { Task { await backend.stop() } }
        let dead = try await TestBackend.start(name: "dead")
        let deadPort = dead.port
        await dead.stop()
        let scratch = try Node.Scratch()
        defer { scratch.remove() }
        try scratch.write("""
            _format_version: "3.0"
            upstreams:
              - name: app
                algorithm: round-robin
                targets:
                  - target: 127.0.0.1:\(deadPort)
                  - target: 127.0.0.1:\(backend.port)
              - name: empty
            services:
              - name: app
                host: app
                routes:
                  - name: app-route
                    paths: ["/app"]
              - name: nothing
                host: empty
                routes:
                  - name: nothing-route
                    paths: ["/nothing"]

            """)
        let log = scratch.directory.appendingPathComponent("access.log").path
        let node = try BackgroundProcess(Node.binary, ["start", "--config", scratch.config, "--control-socket", "off",
                                                       "--proxy-listen", "127.0.0.1:0", "--access-log", log],
                                         environment: Node.environment())
        defer { node.stop() }
        let line = try #require(node.waitForLine(containing: "proxy listening on"), "\(node.stderr)")
        let proxy = try #require(Node.port(line, after: "http://127.0.0.1:"))

        // Round robin over a dead and a live address: some requests try the dead one first, then the live one.
        for index in 0..<6 { #expect(Node.get(proxy, "/app/\(index)")?.status == 200) }
        let unavailable = try #require(Node.get(proxy, "/nothing"))
        #expect(unavailable.status == 503)
        // A client that hangs up while its request waits at the backend.
        var impatient: TestClient? = try TestClient(port: proxy)
        try impatient?.send("GET /app/slow?ms=1500 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await Task.sleep(for: .milliseconds(300))
        impatient = nil  // closes the connection

        let written = await poll(within: .seconds(10)) { () -> [[String: Any]]? in
            let all = Self.lines(log)
            return all.count >= 8 ? all : nil
        }?.value ?? Self.lines(log)
        try #require(written.count >= 8, "\(written.count) lines: \(written)")

        let successes = written.filter { Self.uri($0)?.hasPrefix("/app/") == true && Self.status($0) == 200 }
        #expect(successes.count == 6)
        for success in successes {
            #expect(success["route"] as? String == "app-route")
            #expect(success["service"] as? String == "app")
            #expect(success["upstream"] as? String == "app")
            #expect(success["upstream_status"] as? Int == 200)
            let tries = success["tries"] as? [[String: Any]] ?? []
            #expect(tries.last?["address"] as? String == "127.0.0.1:\(backend.port)")
            #expect(tries.last?["outcome"] as? String == "ok")
            let latencies = success["latencies"] as? [String: Any] ?? [:]
            let total = latencies["total_ms"] as? Double ?? -1
            let upstream = latencies["upstream_total_ms"] as? Double ?? -1
            #expect(total >= upstream && upstream >= 0, "\(latencies)")
            #expect(((success["request"] as? [String: Any])?["id"] as? String)?.isEmpty == false)
        }
        // The retry after a connect failure: two tries, the first refused, flagged UF.
        let retried = successes.filter { ($0["tries"] as? [Any])?.count == 2 }
        #expect(!retried.isEmpty, "\(successes)")
        for line in retried {
            let tries = line["tries"] as? [[String: Any]] ?? []
            #expect(tries.first?["address"] as? String == "127.0.0.1:\(deadPort)")
            #expect(tries.first?["outcome"] as? String == "connect_failed")
            #expect(line["flags"] as? [String] == ["UF"])
        }

        // 503 with no upstream address: flagged UH, and its request id leads to the error log's line.
        let noUpstream = try #require(written.first { Self.uri($0) == "/nothing" })
        #expect(Self.status(noUpstream) == 503)
        #expect(noUpstream["upstream_status"] is NSNull)
        #expect(noUpstream["flags"] as? [String] == ["UH"])
        let id = try #require((noUpstream["request"] as? [String: Any])?["id"] as? String)
        #expect(unavailable.text.contains(id), "the client's 503 carries the id")
        #expect(node.stderr.contains("request_id=\(id)"), "\(node.stderr)")

        // The client that hung up: DC, and nginx's 499.
        let hungUp = try #require(written.first { Self.uri($0) == "/app/slow?ms=1500" }, "\(written)")
        #expect(Self.status(hungUp) == 499)
        #expect((hungUp["flags"] as? [String])?.contains("DC") == true)

        // logrotate: the file is moved, SIGUSR1, and the next line goes to a new file at the path.
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        node.signal(SIGUSR1)
        let reopened = await waitFor(.seconds(10)) {
            _ = Node.get(proxy, "/app/after-rotation")
            return Self.lines(log).contains { Self.uri($0) == "/app/after-rotation" }
        }
        #expect(reopened != nil)
        #expect(!Self.lines(log + ".1").contains { Self.uri($0) == "/app/after-rotation" })
    }
}
