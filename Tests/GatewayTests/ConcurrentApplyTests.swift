import Foundation
import Synchronization
import Testing
import TestSupport

/// `switchyard start` as a process, with two Admin API listeners and a database: 200 Admin writes spread over
/// both listeners from 8 threads, 20 SIGHUPs in between, and requests through the proxy all along. Every
/// change goes through the node's one applier, so afterwards the node serves exactly what the database holds,
/// each upstream has one balancer and it follows DNS, and no request failed.
/// Timing-sensitive (an nsupdate must reach traffic within TTL + 1 s): `scripts/test` runs it on its own.
@Suite("one applier: concurrent Admin writes and SIGHUPs", .serialized, .timeLimit(.minutes(3)))
struct ConcurrentApplyTests {
    static let srv = "_http._tcp.storm.svc.test"
    static let ttl = 2
    static let groups = 50  // 4 writes each: upstream, target, service, route

    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchyard").path
    }

    /// One request on a new connection, with extra headers; nil when the connection or the response failed.
    static func send(_ port: Int, _ method: String, _ path: String, headers: [(String, String)] = [],
                     json: String? = nil) -> TestResponse? {
        guard let client = try? TestClient(port: port) else { return nil }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let json {
            text += "Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
        } else {
            text += "\r\n"
        }
        guard (try? client.send(text)) != nil else { return nil }
        return try? client.readResponse()
    }

    static func ports(in output: String, after marker: String) -> [Int] {
        output.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: marker) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Runs `body` on `count` threads of its own, all at once (the calls below block, and `concurrentPerform`
    /// would run only as many at a time as there are cores), and waits for all of them.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for index in 0..<count {
                group.enter()
                Thread { body(index); group.leave() }.start()
            }
            group.notify(queue: .global()) { done.resume() }
        }
    }

    @Test("200 Admin writes on two listeners and 20 SIGHUPs under load: node equals database, one balancer per upstream follows DNS, 0 failed requests")
    func writesAndReloadsConverge() async throws {
        let base = try await TestBackend.start(name: "base")
        let b1 = try await TestBackend.start(name: "b1")
        let b2 = try await TestBackend.start(name: "b2")
        defer { Task { await base.stop(); await b1.stop(); await b2.stop() } }
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.registerBatch(lines: [
            "update add h1.svc.test. \(Self.ttl) IN A 127.0.0.1",
            "update add \(Self.srv). \(Self.ttl) IN SRV 10 5 \(b1.port) h1.svc.test.",
        ])

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-apply-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_PROXY_LISTEN"] = "127.0.0.1:0"
        environment["SWITCHYARD_ADMIN_LISTEN"] = "127.0.0.1:0, 127.0.0.1:0"
        environment["SWITCHYARD_DNS_SERVERS"] = dns.server
        environment["SWITCHYARD_WORKERS"] = "2"
        environment["SWITCHYARD_DATABASE"] = directory.appendingPathComponent("switchyard.db").path
        let node = try BackgroundProcess(Self.binary, ["start"], environment: environment)
        defer { node.stop() }
        let proxyLine = try #require(node.waitForLine(containing: "proxy listening on"), "\(node.stderr)")
        let proxy = try #require(Self.ports(in: proxyLine, after: "http://127.0.0.1:").first)
        let admins = Self.ports(in: node.stdout, after: "admin API listening on http://127.0.0.1:")
        try #require(admins.count == 2, "\(node.stdout)")
        let pid = node.pid

        // The route the load runs on, in place before the storm.
        for (path, body) in [("/upstreams", #"{"name": "base.upstream"}"#),
                             ("/upstreams/base.upstream/targets", #"{"target": "127.0.0.1:\#(base.port)"}"#),
                             ("/services", #"{"name": "base", "host": "base.upstream"}"#),
                             ("/services/base/routes", #"{"name": "base", "paths": ["/base"]}"#)] {
            #expect(Self.send(admins[0], "POST", path, json: body)?.status == 201, "\(path)")
        }
        let ready = ContinuousClock.now + .seconds(5)
        while Self.send(proxy, "GET", "/base")?.header("x-backend") != "base", ContinuousClock.now < ready {
            try await Task.sleep(for: .milliseconds(20))
        }

        let storm = Storm()
        let groups = Self.groups
        let writers = 8
        let srv = Self.srv
        // Thread 0 sends the SIGHUPs, one after every 10 writes; threads 1-2 are the load; the rest write.
        await Self.onThreads(writers + 3) { thread in
                switch thread {
            case 0:
                for reload in 1...20 {
                    let deadline = ContinuousClock.now + .seconds(30)
                    while storm.written.load(ordering: .relaxed) < reload * 10, ContinuousClock.now < deadline {
                        usleep(1000)
                    }
                    kill(pid, SIGHUP)
                }
            case 1, 2:
                let deadline = ContinuousClock.now + .seconds(60)
                var count = 0
                while !storm.over.load(ordering: .relaxed), ContinuousClock.now < deadline, count < 20_000 {
                    count += 1
                    let response = Self.send(proxy, "GET", "/base")
                    storm.load.withLock { load in
                        if response?.status == 200 { load.served += 1 } else {
                            load.failed.append(response.map { "\($0.status) \($0.text)" } ?? "connection failed")
                        }
                    }
                }
            default:
                for group in stride(from: thread - 3, to: groups, by: writers) {
                    let writes = [
                        ("/upstreams", #"{"name": "u\#(group)"}"#),
                        ("/upstreams/u\(group)/targets", #"{"target": "\#(srv):80"}"#),
                        ("/services", #"{"name": "s\#(group)", "host": "u\#(group)"}"#),
                        ("/services/s\(group)/routes", #"{"name": "r\#(group)", "paths": ["/r\#(group)"]}"#),
                    ]
                    for (index, (path, body)) in writes.enumerated() {
                        let response = Self.send(admins[(group + index) % 2], "POST", path, json: body)
                        if response?.status != 201 {
                            storm.refused.withLock { $0.append("\(path): \(response.map { "\($0.status) \($0.text)" } ?? "no answer")") }
                        }
                        if storm.written.add(1, ordering: .relaxed).newValue == groups * 4 { storm.over.store(true, ordering: .relaxed) }
                    }
                }
            }
        }
        #expect(storm.refused.withLock { $0 }.isEmpty)
        let (served, failed) = storm.load.withLock { ($0.served, $0.failed) }
        #expect(failed.isEmpty, "\(failed.count) of \(served + failed.count) requests failed: \(failed.prefix(5))")
        #expect(served > 0)

        // The node serves the database's latest generation.
        func generations() -> (stored: Int, applied: Int)? {
            guard let status = Self.send(admins[1], "GET", "/status"),
                  let object = try? JSONSerialization.jsonObject(with: Data(status.body)) as? [String: Any],
                  let stored = object["configuration_generation"] as? Int,
                  let server = object["server"] as? [String: Any],
                  let applied = server["proxy_configuration_generation"] as? Int else { return nil }
            return (stored, applied)
        }
        var last = generations()
        let settled = ContinuousClock.now + .seconds(5)
        while last.map({ $0.stored != $0.applied }) ?? true, ContinuousClock.now < settled {
            try await Task.sleep(for: .milliseconds(50))
            last = generations()
        }
        let final = try #require(last)
        #expect(final.stored == final.applied, "database at generation \(final.stored), node at \(final.applied)")
        #expect(final.stored == 4 + groups * 4)

        // Every route written serves, from the SRV record's backend.
        func backends() -> [String?] {
            (0..<groups).map { Self.send(proxy, "GET", "/r\($0)")?.header("x-backend") }
        }
        let before = backends()
        #expect(before.allSatisfy { $0 == "b1" }, "\(before)")

        // Each upstream's balancer follows DNS: the SRV record moves to b2 and every route follows within TTL + 1 s.
        try await dns.registerBatch(lines: [
            "update delete \(Self.srv). SRV",
            "update add \(Self.srv). \(Self.ttl) IN SRV 10 5 \(b2.port) h1.svc.test.",
        ])
        let moved = ContinuousClock.now
        var after = backends()
        while !after.allSatisfy({ $0 == "b2" }), ContinuousClock.now < moved + .seconds(Self.ttl + 1) {
            try await Task.sleep(for: .milliseconds(100))
            after = backends()
        }
        let stuck = after.enumerated().filter { $0.element != "b2" }.map { "r\($0.offset): \($0.element ?? "failed")" }
        #expect(stuck.isEmpty, "routes not following DNS \(ContinuousClock.now - moved) after the change: \(stuck)\n\(node.stderr.suffix(2000))")
    }
}

/// What the storm's threads share.
private final class Storm: Sendable {
    let written = Atomic<Int>(0)
    let refused = Mutex<[String]>([])
    let over = Atomic<Bool>(false)
    let load = Mutex((served: 0, failed: [String]()))
}
