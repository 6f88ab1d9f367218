import Foundation
import NIOSSL
import Synchronization
import Testing
import TestSupport

/// `switchyard start --takeover` between real node processes: the new process takes the listening socket over
/// the control socket while requests are in flight and keep-alive clients keep sending, the old one drains and
/// exits, refusals leave the old node serving, and the new one starts warm (ejections and stale DNS answers).
@Suite("takeover: restart and upgrade without a failed request", .serialized, .timeLimit(.minutes(3)))
struct TakeoverTests {
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchyard").path
    }

    /// A scratch directory with a declarative file and the control socket path.
    struct Scratch {
        let directory: URL
        var config: String { directory.appendingPathComponent("switchyard.yaml").path }
        var control: String { directory.appendingPathComponent("control.sock").path }

        init() throws {
            // Unix socket paths are short: keep the directory name short too.
            directory = URL(fileURLWithPath: "/tmp/sy-tk-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        func write(_ text: String) throws { try text.write(toFile: config, atomically: true, encoding: .utf8) }
        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_WORKERS"] = "2"
        environment["SWITCHYARD_ADMIN_LISTEN"] = "127.0.0.1:0"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    static func start(_ scratch: Scratch, proxyListen: String = "127.0.0.1:0", takeover: Bool = false,
                      extra: [String: String] = [:]) throws -> BackgroundProcess {
        var arguments = ["start", "--config", scratch.config, "--control-socket", scratch.control,
                         "--proxy-listen", proxyListen]
        if takeover { arguments.append("--takeover") }
        return try BackgroundProcess(binary, arguments, environment: environment(extra))
    }

    static func port(_ line: String, after marker: String) -> Int? {
        guard let range = line.range(of: marker) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    static func get(_ port: Int, _ path: String) -> TestResponse? {
        guard let client = try? TestClient(port: port) else { return nil }
        guard (try? client.send("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")) != nil else { return nil }
        return try? client.readResponse()
    }

    static func json(_ port: Int, _ path: String) -> Any? {
        guard let response = get(port, path), response.status == 200 else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(response.body))
    }

    /// `ip:port` → health, from the Admin API's `/upstreams/{u}/health`.
    static func health(_ admin: Int, _ upstream: String) -> [String: String] {
        guard let root = json(admin, "/upstreams/\(upstream)/health") as? [String: Any],
              let targets = root["data"] as? [[String: Any]] else { return [:] }
        var out: [String: String] = [:]
        for target in targets {
            let addresses = (target["data"] as? [String: Any])?["addresses"] as? [[String: Any]] ?? []
            for address in addresses {
                if let ip = address["ip"] as? String, let port = address["port"] as? Int {
                    out["\(ip):\(port)"] = address["health"] as? String
                }
            }
        }
        return out
    }

    static func config(backend: Int, extraTarget: String? = nil, passive: Bool = false) -> String {
        var text = """
            _format_version: "3.0"
            upstreams:
              - name: app
                targets:
                  - target: 127.0.0.1:\(backend)

            """
        if let extraTarget { text += "      - target: \(extraTarget)\n" }
        if passive {
            text += """
                    healthchecks:
                      passive:
                        unhealthy:
                          tcp_failures: 1

                """
        }
        text += """
            services:
              - name: app
                host: app
                routes:
                  - name: all
                    paths: ["/"]

            """
        return text
    }

    @Test("a slow request in flight finishes through the old node, keep-alive clients see no error, the old node exits")
    func takeoverUnderLoad() async throws {
        let backend = try await TestBackend.start(name: "b")
        defer { Task { await backend.stop() } }
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write(Self.config(backend: backend.port))
        let old = try Self.start(scratch)
        defer { old.stop() }
        let line = try #require(old.waitForLine(containing: "proxy listening on"), "\(old.stderr)")
        let proxy = try #require(Self.port(line, after: "http://127.0.0.1:"))
        #expect(Self.get(proxy, "/")?.status == 200)

        // Two keep-alive clients sending all along, and one request the backend answers only after the hand-over.
        let load = Mutex<(ok: Int, closesAnnounced: Int, failures: [String])>((0, 0, []))
        let slow = Mutex<TestResponse?>(nil)
        let done = DispatchGroup()
        let flags = StopFlag()
        for _ in 0..<2 {
            done.enter()
            Thread {
                defer { done.leave() }
                var client: TestClient?
                let deadline = ContinuousClock.now + .seconds(30)
                var sent = 0
                while !flags.stopped, ContinuousClock.now < deadline, sent < 5000 {
                    sent += 1
                    if client == nil { client = try? TestClient(port: proxy) }
                    guard let open = client else {
                        load.withLock { $0.failures.append("connect failed") }
                        continue
                    }
                    do {
                        try open.send("GET /keepalive HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        let response = try open.readResponse()
                        load.withLock { $0.ok += response.status == 200 ? 1 : 0 }
                        if response.status != 200 { load.withLock { $0.failures.append("status \(response.status)") } }
                        if response.header("connection")?.lowercased() == "close" {
                            load.withLock { $0.closesAnnounced += 1 }
                            client = nil
                        }
                    } catch {
                        load.withLock { $0.failures.append("keep-alive request failed: \(error)") }
                        client = nil
                    }
                    usleep(5_000)
                }
            }.start()
        }
        done.enter()
        Thread {
            defer { done.leave() }
            slow.withLock { $0 = Self.get(proxy, "/slow?ms=2000") }
        }.start()
        try await Task.sleep(for: .milliseconds(500))

        let new = try Self.start(scratch, takeover: true)
        defer { new.stop() }
        let took = try #require(new.waitForLine(containing: "took over from PID \(old.pid)"), "\(new.stderr)\n\(old.stderr)")
        #expect(took.contains("1 listening sockets"))
        // The old node drains: the slow request finishes, then it exits by itself.
        let status = old.waitForExit(timeout: .seconds(15))
        #expect(status == 0, "old node: \(old.stdout)\n\(old.stderr)")
        #expect(old.stdout.contains("handed over to PID \(new.pid)"))
        try await Task.sleep(for: .milliseconds(500))
        flags.stop()
        await withCheckedContinuation { (resume: CheckedContinuation<Void, Never>) in
            done.notify(queue: .global()) { resume.resume() }
        }
        let response = slow.withLock { $0 }
        #expect(response?.status == 200)
        #expect(response.map { String(decoding: $0.body, as: UTF8.self) } == "slow")
        let result = load.withLock { $0 }
        #expect(result.failures.isEmpty, "\(result.failures.prefix(5))")
        #expect(result.ok > 20)
        // Each keep-alive client was told to reconnect by the old node, at a request boundary.
        #expect(result.closesAnnounced >= 1)
        // The new node serves on the same port.
        #expect(Self.get(proxy, "/")?.status == 200)
    }

    @Test("refused: a configuration the new binary rejects, a stale control socket, a busy port without --takeover")
    func refusals() async throws {
        let backend = try await TestBackend.start(name: "b")
        defer { Task { await backend.stop() } }
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write(Self.config(backend: backend.port))
        let old = try Self.start(scratch)
        defer { old.stop() }
        let line = try #require(old.waitForLine(containing: "proxy listening on"), "\(old.stderr)")
        let proxy = try #require(Self.port(line, after: "http://127.0.0.1:"))

        // A file that does not validate: the new process stops before asking, and the old node goes on.
        let bad = try Scratch()
        defer { bad.remove() }
        try bad.write("_format_version: \"3.0\"\nservices:\n  - name: app\n    host: app\n    port: 99999\n")
        let rejected = try BackgroundProcess(Self.binary, ["start", "--config", bad.config, "--control-socket", scratch.control,
                                                           "--proxy-listen", "127.0.0.1:0", "--takeover"],
                                             environment: Self.environment())
        #expect(rejected.waitForExit(timeout: .seconds(20)).map { $0 != 0 } == true)
        #expect(rejected.stderr.contains("is not a valid configuration"), "\(rejected.stderr)")
        #expect(Self.get(proxy, "/")?.status == 200)
        #expect(!old.stdout.contains("handed over"))

        // A busy port without --takeover: the error names the port and the running node's PID.
        let second = try Self.start(scratch, proxyListen: "127.0.0.1:\(proxy)")
        #expect(second.waitForExit(timeout: .seconds(20)).map { $0 != 0 } == true)
        #expect(second.stderr.contains("port \(proxy) is in use by the switchyard node with PID \(old.pid)"), "\(second.stderr)")
        #expect(second.stderr.contains("--takeover"))
        #expect(Self.get(proxy, "/")?.status == 200)

        // A stale control socket (a socket file nobody listens on): a clear error, nothing started.
        let stale = try Scratch()
        defer { stale.remove() }
        try stale.write(Self.config(backend: backend.port))
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(stale.control.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        try #require(bound == 0)
        let orphan = try Self.start(stale, takeover: true)
        #expect(orphan.waitForExit(timeout: .seconds(20)).map { $0 != 0 } == true)
        #expect(orphan.stderr.contains("stale control socket \(stale.control)"), "\(orphan.stderr)")
        // Started without --takeover, a node replaces the stale socket and answers on it.
        let fresh = try Self.start(stale)
        defer { fresh.stop() }
        #expect(fresh.waitForLine(containing: "proxy listening on") != nil, "\(fresh.stderr)")
        // (It takes the control socket over right after it says it listens.)
        #expect(await waitFor(.seconds(10)) { fresh.stderr.contains("removed a stale control socket") } != nil, "\(fresh.stderr)")
    }

    @Test("warm start: an ejected address stays ejected, and a name served stale while DNS is down is still served")
    func warmState() async throws {
        let backend = try await TestBackend.start(name: "b")
        defer { Task { await backend.stop() } }
        let dead = try await TestBackend.start(name: "dead")
        let deadPort = dead.port
        await dead.stop()
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("warm.svc.test", "A", "127.0.0.1", ttl: 1)
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write(Self.config(backend: backend.port, extraTarget: "127.0.0.1:\(deadPort)", passive: true)
            .replacingOccurrences(of: "127.0.0.1:\(backend.port)", with: "warm.svc.test:\(backend.port)"))
        let extra = ["SWITCHYARD_DNS_SERVERS": dns.server, "SWITCHYARD_DNS_MIN_TTL": "1", "SWITCHYARD_DNS_ERROR_RETRY": "1"]
        let old = try Self.start(scratch, extra: extra)
        defer { old.stop() }
        let line = try #require(old.waitForLine(containing: "proxy listening on"), "\(old.stderr)")
        let proxy = try #require(Self.port(line, after: "http://127.0.0.1:"))
        let admin = try #require(old.waitForLine(containing: "admin API listening on").flatMap { Self.port($0, after: "http://127.0.0.1:") })

        // Traffic finds the dead address and ejects it (one connect failure is the threshold).
        let ejected = await waitFor(.seconds(10)) {
            _ = Self.get(proxy, "/")
            return Self.health(admin, "app")["127.0.0.1:\(deadPort)"] == "UNHEALTHY"
        }
        try #require(ejected != nil, "\(Self.health(admin, "app"))")
        // DNS goes down: the name is served stale.
        try await dns.stopServer()
        let stale = await waitFor(.seconds(15)) {
            guard let names = (Self.json(admin, "/dns") as? [String: Any])?["data"] as? [[String: Any]],
                  let name = names.first(where: { $0["name"] as? String == "warm.svc.test" }) else { return false }
            return name["status"] as? String == "stale"
        }
        try #require(stale != nil)
        #expect(Self.get(proxy, "/")?.status == 200)

        let new = try Self.start(scratch, takeover: true, extra: extra)
        defer { new.stop() }
        let took = try #require(new.waitForLine(containing: "took over from PID \(old.pid)"), "\(new.stderr)")
        #expect(took.contains("1 DNS names"), "\(took)")
        #expect(took.contains("1 address health states"), "\(took)")
        let newAdmin = try #require(Self.port(new.stdout.split(separator: "\n").first { $0.contains("admin API listening on") }.map(String.init) ?? "",
                                              after: "http://127.0.0.1:"))
        #expect(old.waitForExit(timeout: .seconds(15)) == 0)
        // The new process never got a DNS answer, yet serves the name, still stale, and keeps the ejection.
        #expect(Self.health(newAdmin, "app")["127.0.0.1:\(deadPort)"] == "UNHEALTHY")
        let names = (Self.json(newAdmin, "/dns") as? [String: Any])?["data"] as? [[String: Any]] ?? []
        let name = names.first { $0["name"] as? String == "warm.svc.test" }
        #expect(name?["status"] as? String == "stale", "\(names)")
        #expect(name?["records"] as? [String] == ["127.0.0.1"], "\(names)")
        var served = 0
        for _ in 0..<20 where Self.get(proxy, "/")?.status == 200 { served += 1 }
        #expect(served == 20)
    }
}

extension TakeoverTests {
    @Test("state file: a node stopped with an ejected address starts again with it ejected; a file too old is ignored")
    func stateFile() async throws {
        let backend = try await TestBackend.start(name: "b")
        defer { Task { await backend.stop() } }
        let dead = try await TestBackend.start(name: "dead")
        let deadPort = dead.port
        await dead.stop()
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write(Self.config(backend: backend.port, extraTarget: "127.0.0.1:\(deadPort)", passive: true))
        let state = scratch.directory.appendingPathComponent("state.json").path
        let first = try Self.start(scratch, extra: ["SWITCHYARD_STATE_FILE": state])
        let line = try #require(first.waitForLine(containing: "proxy listening on"), "\(first.stderr)")
        let proxy = try #require(Self.port(line, after: "http://127.0.0.1:"))
        let admin = try #require(first.waitForLine(containing: "admin API listening on").flatMap { Self.port($0, after: "http://127.0.0.1:") })
        let ejected = await waitFor(.seconds(10)) {
            _ = Self.get(proxy, "/")
            return Self.health(admin, "app")["127.0.0.1:\(deadPort)"] == "UNHEALTHY"
        }
        try #require(ejected != nil)
        first.stop()

        let second = try Self.start(scratch, extra: ["SWITCHYARD_STATE_FILE": state])
        defer { second.stop() }
        #expect(second.waitForLine(containing: "starting warm from the state file") != nil, "\(second.stdout)")
        let secondAdmin = try #require(second.waitForLine(containing: "admin API listening on").flatMap { Self.port($0, after: "http://127.0.0.1:") })
        // Ejected from the start: no request had to fail on it first.
        #expect(Self.health(secondAdmin, "app")["127.0.0.1:\(deadPort)"] == "UNHEALTHY")
        second.stop()

        // A state file older than dns_stale_ttl is not used.
        try await Task.sleep(for: .milliseconds(2100))
        let third = try Self.start(scratch, extra: ["SWITCHYARD_STATE_FILE": state, "SWITCHYARD_DNS_STALE_TTL": "1"])
        defer { third.stop() }
        let cold = third.waitForLine(containing: "starting cold")
        #expect(cold?.contains("more than dns_stale_ttl") == true, "\(third.stdout)")
    }
}

extension TakeoverTests {
    /// Stops a process this test did not start itself but caused to start (a successor), by its PID.
    static func stopSuccessor(_ pid: pid_t) {
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  !stat.contains(") Z ") else { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
    }

    @Test("SIGHUP with a changed proxy_listen: a successor keeps the listeners still listed (plain and TLS), binds the new one, and the old node exits")
    func settingsChangeOnReload() async throws {
        let backend = try await TestBackend.start(name: "b")
        defer { Task { await backend.stop() } }
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write(Self.config(backend: backend.port))
        let settings = scratch.directory.appendingPathComponent("settings.yaml").path
        let tls = "ssl_cert: \(ProxyTLSListenerTests.certificate)\nssl_cert_key: \(ProxyTLSListenerTests.key)\n"
        try ("proxy_listen: 127.0.0.1:0, 127.0.0.1:0 ssl\n" + tls).write(toFile: settings, atomically: true, encoding: .utf8)
        let old = try BackgroundProcess(Self.binary, ["start", "--config", scratch.config, "--settings", settings,
                                                      "--control-socket", scratch.control], environment: Self.environment())
        defer { old.stop() }
        let line = try #require(old.waitForLine(containing: "proxy listening on"), "\(old.stderr)")
        let first = try #require(Self.port(line, after: "http://127.0.0.1:"))
        let secure = try #require(Self.port(line, after: "https://127.0.0.1:"))

        try ("proxy_listen: 127.0.0.1:0, 127.0.0.1:0 ssl, 127.0.0.2:0\n" + tls).write(toFile: settings, atomically: true, encoding: .utf8)
        old.signal(SIGHUP)
        // The successor writes to the same output as the node that started it.
        // (The old node may exit before its successor prints this, so wait on the output, not on the process.)
        let took = try #require(await poll(within: .seconds(20)) {
            old.stdout.split(separator: "\n").first { $0.contains("took over from PID \(old.pid)") }.map(String.init)
        }?.value, "\(old.stdout)\n\(old.stderr)")
        #expect(took.contains("2 listening sockets"))
        #expect(old.stdout.contains("node settings changed (proxy_listen)"))
        let successorLine = try #require(old.stderr.split(separator: "\n").first { $0.contains("upgrade: successor started") })
        let successor = try #require(Self.port(String(successorLine), after: "pid="))
        defer { Self.stopSuccessor(pid_t(successor)) }
        #expect(old.waitForExit(timeout: .seconds(15)) == 0, "\(old.stderr)")
        // The listener still listed was handed over (same port, never closed); the new one was bound.
        let listening = try #require(old.stdout.split(separator: "\n").last { $0.contains("proxy listening on") }.map(String.init))
        #expect(Self.port(listening, after: "http://127.0.0.1:") == first, "\(listening)")
        #expect(Self.port(listening, after: "https://127.0.0.1:") == secure, "\(listening)")
        let trusted = try NIOSSLCertificate.fromPEMFile(ProxyTLSListenerTests.certificate)
        #expect(try await TLSProbe.get("/", port: secure, serverName: "localhost", trust: trusted).status == 200)
        let second = try #require(Self.port(listening, after: "http://127.0.0.2:"), "\(listening)")
        #expect(Self.get(first, "/")?.status == 200)
        let client = try TestClient(host: "127.0.0.2", port: second)
        try client.send("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(try client.readResponse().status == 200)
    }
}

/// Tells the load threads to stop.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var stopped: Bool { flag.load(ordering: .relaxed) }
    func stop() { flag.store(true, ordering: .relaxed) }
}
