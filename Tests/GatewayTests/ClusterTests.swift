import Foundation
import Synchronization
import Testing
import TestSupport

/// Three `switchyard start` processes sharing one real PostgreSQL 15: a write on one node serves on the others,
/// and the database going down stops neither the proxying nor a restart, only writes (503).
@Suite("cluster: three nodes on one PostgreSQL", .serialized, .timeLimit(.minutes(4)))
struct ClusterTests {
    static var binary: String { ConcurrentApplyTests.binary }

    /// A node of the cluster, with its ports.
    struct Node {
        let process: BackgroundProcess
        let proxy: Int
        let admin: Int
    }

    static func startNode(_ name: String, database: String, directory: URL, dns: String) throws -> Node {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_PROXY_LISTEN"] = "127.0.0.1:0"
        environment["SWITCHYARD_ADMIN_LISTEN"] = "127.0.0.1:0"
        environment["SWITCHYARD_DNS_SERVERS"] = dns
        environment["SWITCHYARD_WORKERS"] = "1"
        environment["SWITCHYARD_DATABASE"] = database
        environment["SWITCHYARD_DB_CACHE_FILE"] = directory.appendingPathComponent("\(name)-cache.json").path
        environment["SWITCHYARD_CONTROL_SOCKET"] = "off"
        // Heartbeats (and the fallback poll) every second, so a node is stale after 3 s.
        environment["SWITCHYARD_DB_UPDATE_FREQUENCY"] = "1"
        let process = try BackgroundProcess(binary, ["start"], environment: environment)
        guard let line = process.waitForLine(containing: "proxy listening on"),
              let proxy = ConcurrentApplyTests.ports(in: line, after: "http://127.0.0.1:").first,
              let admin = ConcurrentApplyTests.ports(in: process.stdout, after: "admin API listening on http://127.0.0.1:").first else {
            throw ClusterTestError("node \(name) did not start:\n\(process.stdout)\n\(process.stderr)")
        }
        return Node(process: process, proxy: proxy, admin: admin)
    }

    static func backend(_ port: Int, _ path: String) -> String? {
        guard let response = ConcurrentApplyTests.send(port, "GET", path), response.status == 200 else { return nil }
        return response.header("x-backend")
    }

    @Test("a write on A serves on C; PostgreSQL down: 0 failed requests, writes 503, a restarted node serves from its cache; back: every node catches up")
    func writesPropagateAndTheDatabaseIsNoSinglePointOfFailure() async throws {
        let one = try await TestBackend.start(name: "one")
        let two = try await TestBackend.start(name: "two")
        defer { Task { await one.stop(); await two.stop() } }
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let server = try PostgresServer.start()
        defer { server.stop() }
        try server.createDatabase("cluster")
        let database = server.url(database: "cluster")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        // A node refuses a schema it does not match, and says what to run.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_DATABASE"] = database
        environment["SWITCHYARD_PROXY_LISTEN"] = "127.0.0.1:0"
        let refused = try BackgroundProcess(Self.binary, ["start"], environment: environment)
        #expect(refused.waitForExit(timeout: .seconds(20)) == 1)
        #expect(refused.stderr.contains("switchyard migrations up"), "\(refused.stderr)")
        let migrate = try BackgroundProcess(Self.binary, ["migrations", "up", "--database", database], environment: environment)
        #expect(migrate.waitForExit(timeout: .seconds(20)) == 0, "\(migrate.stderr)")

        let a = try Self.startNode("a", database: database, directory: directory, dns: dns.server)
        let b = try Self.startNode("b", database: database, directory: directory, dns: dns.server)
        var c = try Self.startNode("c", database: database, directory: directory, dns: dns.server)
        defer { a.process.stop(); b.process.stop(); c.process.stop() }

        // A write on A serves on C.
        for (path, body) in [("/services", #"{"name": "one", "url": "http://127.0.0.1:\#(one.port)"}"#),
                             ("/services/one/routes", #"{"name": "one", "paths": ["/one"]}"#)] {
            let answer = ConcurrentApplyTests.send(a.admin, "POST", path, json: body)
            #expect(answer?.status == 201, "\(path): \(answer.map { "\($0.status) \($0.text)" } ?? "no answer")")
        }
        let written = ContinuousClock.now
        let onC = await waitFor(.seconds(5)) { Self.backend(c.proxy, "/one") == "one" }
        #expect(onC != nil, "C never served the route written on A\n\(c.process.stderr.suffix(2000))")
        #expect(await waitFor(.seconds(5)) { Self.backend(b.proxy, "/one") == "one" } != nil)
        let propagation = ContinuousClock.now - written

        // The cluster's view of itself: three nodes, none behind, seen from any node.
        let ids = ["a": a, "b": b, "c": c].mapValues { "\(ProcessInfo.processInfo.hostName):\($0.proxy)" }
        let listed = await waitFor(.seconds(5)) {
            guard let text = ConcurrentApplyTests.send(b.admin, "GET", "/clustering/status")?.text else { return false }
            return ids.values.allSatisfy { text.contains("\"id\":\"\($0)\"") }
                && text.contains("\"nodes\":3") && text.contains("\"behind\":0") && text.contains("\"stale\":0")
        }
        #expect(listed != nil, "\(ConcurrentApplyTests.send(b.admin, "GET", "/clustering/status")?.text ?? "no answer")")

        // Health is per node: an address marked down on B only shows so in every node's cluster-wide view.
        let address = "127.0.0.1:\(one.port)"
        #expect(ConcurrentApplyTests.send(a.admin, "POST", "/upstreams", json: #"{"name": "pool"}"#)?.status == 201)
        #expect(ConcurrentApplyTests.send(a.admin, "POST", "/upstreams/pool/targets",
                                          json: #"{"target": "\#(address)"}"#)?.status == 201)
        #expect(await waitFor(.seconds(5)) {
            ConcurrentApplyTests.send(b.admin, "PUT", "/upstreams/pool/targets/\(address)/unhealthy")?.status == 204
        } != nil)
        var clusterHealth = ""
        let disagreement = await waitFor(.seconds(10)) {
            clusterHealth = ConcurrentApplyTests.send(a.admin, "GET", "/upstreams/pool/health?scope=cluster")?.text ?? ""
            return clusterHealth.contains("\"\(ids["b"] ?? "")\":\"UNHEALTHY\"")
                && clusterHealth.contains("\"\(ids["a"] ?? "")\":\"HEALTHCHECKS_OFF\"")
                && clusterHealth.contains("\"\(ids["c"] ?? "")\":\"HEALTHCHECKS_OFF\"")
                && clusterHealth.contains("\"agreed\":false") && clusterHealth.contains("\"disagreements\":1")
        }
        #expect(disagreement != nil, "\(clusterHealth)")
        #expect(ConcurrentApplyTests.send(a.admin, "GET", "/upstreams/pool/health?scope=everywhere")?.status == 400)

        // Load through all three nodes while the database is down.
        let load = Load(ports: [a.proxy, b.proxy, c.proxy])
        let loadDone = Task.detached {
            let deadline = ContinuousClock.now + .seconds(120)
            var count = 0
            while !load.over.load(ordering: .relaxed), ContinuousClock.now < deadline, count < 100_000 {
                let proxies = load.ports
                let port = proxies[count % proxies.count]
                count += 1
                let served = Self.backend(port, "/one") == "one"
                load.record(served: served, port: port)
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        server.stopServer()
        let outage = ContinuousClock.now

        // Writes answer 503 and say why; reads answer from memory.
        let refusedWrite = ConcurrentApplyTests.send(a.admin, "POST", "/services",
                                                      json: #"{"name": "two", "url": "http://127.0.0.1:\#(two.port)"}"#)
        #expect(refusedWrite?.status == 503, "\(refusedWrite.map { "\($0.status) \($0.text)" } ?? "no answer")")
        #expect(refusedWrite?.text.contains("database") == true)
        #expect(ConcurrentApplyTests.send(a.admin, "GET", "/services/one")?.status == 200)
        #expect(ConcurrentApplyTests.send(a.admin, "GET", "/clustering/status")?.status == 503)
        // /status still answers 200 (a load balancer checking it keeps the serving node) and says why.
        let outageStatus = ConcurrentApplyTests.send(a.admin, "GET", "/status")
        #expect(outageStatus?.status == 200)
        #expect(await waitFor(.seconds(5)) {
            ConcurrentApplyTests.send(a.admin, "GET", "/status")?.text.contains("\"reachable\":false") == true
        } != nil)

        // C restarted while the database is down starts from its cache and serves (the load leaves it while it
        // is stopped: a stopped node refuses connections, which is not what this measures).
        load.set(ports: [a.proxy, b.proxy])
        c.process.stop()
        c = try Self.startNode("c", database: database, directory: directory, dns: dns.server)
        #expect(c.process.stdout.contains("starting from the cache"), "\(c.process.stdout)")
        let status = ConcurrentApplyTests.send(c.admin, "GET", "/status")
        #expect(status?.text.contains("\"from_cache\":true") == true, "\(status?.text ?? "")")
        #expect(await waitFor(.seconds(5)) { Self.backend(c.proxy, "/one") == "one" } != nil)
        load.set(ports: [a.proxy, b.proxy, c.proxy])
        // The database stays down for a minute under load.
        try await Task.sleep(until: outage + .seconds(60))

        try server.startAgain()
        load.over.store(true, ordering: .relaxed)
        await loadDone.value
        let (served, failed) = load.counts
        #expect(failed.isEmpty, "\(failed.count) of \(served + failed.count) requests failed during the outage: \(failed.prefix(5))")
        #expect(served > 100)

        // Back: a write on A reaches B and the restarted C without a restart.
        var accepted: Int?
        let retryUntil = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < retryUntil {
            accepted = ConcurrentApplyTests.send(a.admin, "POST", "/services",
                                                 json: #"{"name": "two", "url": "http://127.0.0.1:\#(two.port)"}"#)?.status
            if accepted == 201 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(accepted == 201)
        #expect(ConcurrentApplyTests.send(a.admin, "POST", "/services/two/routes", json: #"{"paths": ["/two"]}"#)?.status == 201)
        for node in [b, c] {
            #expect(await waitFor(.seconds(10)) { Self.backend(node.proxy, "/two") == "two" } != nil,
                    "\(node.process.stderr.suffix(2000))")
        }
        let caughtUp = ConcurrentApplyTests.send(c.admin, "GET", "/status")
        #expect(caughtUp?.text.contains("\"from_cache\":false") == true)
        // The first C could not leave the table while the database was down: it is listed as stale, the
        // restarted C (another proxy port, so another id) as a member in sync.
        let restartedID = "\(ProcessInfo.processInfo.hostName):\(c.proxy)"
        var view = ""
        let stale = await waitFor(.seconds(10)) {
            view = ConcurrentApplyTests.send(a.admin, "GET", "/clustering/status")?.text ?? ""
            return view.contains("\"id\":\"\(restartedID)\"") && view.contains("\"nodes\":4")
                && view.contains("\"stale\":1") && view.contains("\"behind\":0")
        }
        #expect(stale != nil, "\(view)")
        print("cluster: write on A served on C after \(propagation)")
    }
}

/// Requests sent during the outage, by outcome.
private final class Load: Sendable {
    let over = Atomic<Bool>(false)
    private let outcomes = Mutex((served: 0, failed: [String]()))
    private let targets: Mutex<[Int]>

    init(ports: [Int]) { targets = Mutex(ports) }
    var ports: [Int] { targets.withLock { $0 } }
    func set(ports: [Int]) { targets.withLock { $0 = ports } }

    func record(served: Bool, port: Int) {
        outcomes.withLock { outcomes in
            if served { outcomes.served += 1 } else { outcomes.failed.append("port \(port)") }
        }
    }

    var counts: (served: Int, failed: [String]) { outcomes.withLock { ($0.served, $0.failed) } }
}

struct ClusterTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
